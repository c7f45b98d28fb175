# shellcheck shell=bash
# guest-lib.sh: what build-guests.sh and build-boot-tests.sh share; sourced, not run.
#
# Both scripts write into one folder, $VEMU_GUEST_DIR (default target/guests in
# the repository), and keep a stamp file per script there: a key (a hash of
# everything the images are made from) and the SHA-256 of each image made. A
# run whose key matches and whose images are all present and unchanged does
# nothing; anything else rebuilds that script's images. An image a test changed
# (booted without -snapshot) is therefore rebuilt by the next run: tests copy
# the images they write to.

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# mkfs.fat lives in /usr/sbin, which a user's PATH on Debian leaves out.
PATH=$PATH:/usr/sbin:/sbin
guest_dir=$(realpath -m "${VEMU_GUEST_DIR:-$repo_root/target/guests}")

# write_pattern FILE FIRST_UNIT COUNT [AT]: the position pattern of
# test-roms/boot/boot.inc for 512-byte units FIRST_UNIT .. FIRST_UNIT+COUNT-1,
# written at byte AT*512 of FILE (AT defaults to FIRST_UNIT; the file is created
# or extended as needed, the rest of it is left alone).
write_pattern() {
    perl -e '
        my ($first, $count) = @ARGV;
        my $out = "";
        for my $n ($first * 128 .. ($first + $count) * 128 - 1) {
            $out .= pack("V", (($n * 0x9E3779B1) & 0xffffffff) ^ 0x56454D55);
        }
        print $out;' "$2" "$3" |
        dd of="$1" bs=512 seek="${4:-$2}" conv=notrunc status=none
}

# cache_key FILE... -- WORD...: a hash over the contents of the files and the words.
cache_key() {
    local files=() words=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do files+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    words=("$@")
    { sha256sum "${files[@]}" | cut -d' ' -f1; printf '%s\n' "${words[@]}"; } | sha256sum | cut -d' ' -f1
}

# stamp_current NAME KEY: true when the stamp NAME in guest_dir holds KEY and every
# image it lists is there with the hash it lists.
stamp_current() {
    local stamp="$guest_dir/.stamp-$1"
    [ -f "$stamp" ] || return 1
    [ "$(head -n 1 "$stamp")" = "key $2" ] || return 1
    (cd "$guest_dir" && tail -n +2 "$stamp" | sha256sum --status -c - 2>/dev/null)
}

# stamp_write NAME KEY IMAGE...: records KEY and the images' hashes (names relative
# to guest_dir).
stamp_write() {
    local name=$1 key=$2
    shift 2
    { echo "key $key"; (cd "$guest_dir" && sha256sum "$@"); } > "$guest_dir/.stamp-$name.tmp"
    mv "$guest_dir/.stamp-$name.tmp" "$guest_dir/.stamp-$name"
}

# lock_guest_dir NAME: holds an exclusive lock for this script's images until the
# script exits, so that tests starting the build at the same time wait for one
# another instead of writing the same files.
lock_guest_dir() {
    mkdir -p "$guest_dir"
    exec 9> "$guest_dir/.lock-$1"
    flock 9
}
