#!/usr/bin/env bash
# Boots every guest image under qemu-system-i386 and checks what it says, to show
# the images are good (what vemu must then print the same way):
#   boot-fd.img, boot-hd.img, boot-cd.iso   last line "PASS", isa-debug-exit value 0
#   boot-hd-write.img                       on a copy: boots 1 and 2 find 0 and 1 earlier
#                                           boots; with -snapshot, boots 3 and 4 both find 2
#   fd-syslinux.img                         SYSLINUX loads the test kernel: "PASS", value 0
#   hd-syslinux.img, cd-isolinux.iso        SYSLINUX/ISOLINUX load Debian's kernel, which
#                                           runs the initrd's /init: "VEMU-GUEST-OK"
# Builds the images first (scripts/build-guests.sh). Takes about half a minute.
# Prints one line per check and a closing "N passed, N failed" line.
set -uo pipefail
# shellcheck source=scripts/guest-lib.sh
source "$(dirname "$0")/guest-lib.sh"
"$repo_root/scripts/build-guests.sh" >/dev/null || exit 1

logs=$(mktemp -d "${TMPDIR:-/tmp}/vemu-guests.XXXXXX")
trap 'rm -rf "$logs"' EXIT
passed=0 failed=0

# qemu LOG SECONDS ARGS...: one run, serial on stdout into LOG; prints the exit status.
qemu() {
    local log=$1 seconds=$2
    shift 2
    timeout "$seconds" qemu-system-i386 -display none -serial stdio -no-reboot -net none \
        -device isa-debug-exit,iobase=0xf4,iosize=0x01 "$@" < /dev/null > "$log" 2>&1
    echo $?
}

# verdict NAME OK LOG: counts and reports a check; on failure shows the log's end.
verdict() {
    if [ "$2" = 1 ]; then
        passed=$((passed + 1))
        echo "$1: ok"
    else
        failed=$((failed + 1))
        echo "$1: FAILED"
        tail -n 8 "$3" | sed 's/^/    /'
    fi
}

# last_line_pass NAME SECONDS ARGS...: exit status 1 (value 0) and a last line PASS.
last_line_pass() {
    local name=$1 seconds=$2 rc ok=0
    shift 2
    rc=$(qemu "$logs/$name.log" "$seconds" "$@")
    [ "$rc" = 1 ] && [ "$(tr -d '\r' < "$logs/$name.log" | tail -n 1)" = PASS ] && ok=1
    verdict "$name" $ok "$logs/$name.log"
}

g=$guest_dir
last_line_pass boot-fd 20 -drive file="$g/boot-fd.img",if=floppy,format=raw
last_line_pass boot-hd 20 -drive file="$g/boot-hd.img",format=raw
last_line_pass boot-cd 20 -drive file="$g/boot-cd.iso",media=cdrom,format=raw -boot d

cp "$g/boot-hd-write.img" "$logs/write.img"
write_ok=1
for boot in 1:0: 2:1: 3:2:-snapshot 4:2:-snapshot; do
    IFS=: read -r n before snapshot <<< "$boot"
    rc=$(qemu "$logs/write-$n.log" 20 -drive "file=$logs/write.img,format=raw" ${snapshot:+"$snapshot"})
    if [ "$rc" != 1 ] || ! tr -d '\r' < "$logs/write-$n.log" |
        grep -qx "write test: boots recorded before this one: $before"; then
        write_ok=0
        break
    fi
done
verdict "boot-hd-write (persists without -snapshot, not with it)" $write_ok "$logs/write-$n.log"

last_line_pass fd-syslinux 60 -drive file="$g/fd-syslinux.img",if=floppy,format=raw

for image in hd-syslinux.img cd-isolinux.iso; do
    case $image in
        *.iso) drive=(-drive "file=$g/$image,media=cdrom,format=raw" -boot d) ;;
        *) drive=(-drive "file=$g/$image,format=raw") ;;
    esac
    qemu "$logs/$image.log" 120 "${drive[@]}" > /dev/null
    ok=0
    tr -d '\r' < "$logs/$image.log" | grep -qx VEMU-GUEST-OK && ok=1
    verdict "${image%.*} (Linux to /init)" $ok "$logs/$image.log"
done

echo "guests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
