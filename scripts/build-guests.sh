#!/usr/bin/env bash
# Builds the guest images vemu is tested and demonstrated with, from Debian 12
# packages, into $VEMU_GUEST_DIR (default target/guests); the images are never
# committed. Each boots through the BIOS with SYSLINUX/ISOLINUX talking on COM1
# (115200 baud), as `qemu-system-i386 -display none -serial stdio -no-reboot IMAGE`
# shows (under -nographic, SeaBIOS also mirrors the screen to COM1, so part of
# the boot loader's lines appear twice):
#
#   hd-syslinux.img   32 MiB hard disk (65 cylinders x 16 heads x 63 sectors):
#                     SYSLINUX's MBR, one active FAT16 partition from sector 2048
#                     with SYSLINUX. Default entry "linux": Debian's i386 kernel
#                     (linux-image-686) and a busybox initrd whose /init prints
#                     "VEMU-GUEST-OK" and powers off. Entry "mini": the test kernel.
#   fd-syslinux.img   1.44 MB floppy, FAT12 with SYSLINUX. Debian's kernel (5.7 MB)
#                     does not fit on any floppy, so the only entry loads the test
#                     kernel of our own (test-roms/boot/minikernel.asm, a Linux
#                     boot protocol image) and a 512 KiB initrd, and the kernel
#                     checks that both arrived whole, byte for byte, and prints
#                     "PASS": that shows the boot loader loading a kernel and an
#                     initrd better than a kernel too small to be real would.
#   cd-isolinux.iso   ISO 9660 with ISOLINUX, El Torito without emulation (boot
#                     load size 4, boot info table); the same entries as the disk.
#
# It also runs scripts/build-boot-tests.sh (the boot-sector test images).
#
# Inputs: Debian's i386 packages linux-image-686 (the kernel package it depends
# on) and busybox-static, fetched once with apt-get from the mirrors this
# machine's apt is set up for (a private apt state for i386 in a temporary
# folder: the host's dpkg and apt configuration are left alone) and kept, with
# the versions and URLs, in debian/ under the output folder; the kernel package
# itself (52 MB) is not kept. Pass --refresh (or set VEMU_GUEST_REFRESH=1) to fetch
# the current versions again. SYSLINUX, ISOLINUX, mtools, dosfstools and xorriso
# come from the host (scripts/install-deps.sh installs them). Nothing needs root
# but install-deps.sh.
#
# The images are rebuilt when this script, guest-lib.sh, the test kernel's
# sources, the fetched packages or the host tools' versions change, or an image
# is missing or was changed; otherwise the script does nothing.
set -euo pipefail
# shellcheck source=scripts/guest-lib.sh
source "$(dirname "$0")/guest-lib.sh"
cd "$repo_root"

refresh=${VEMU_GUEST_REFRESH:-0}
for arg in "$@"; do
    case $arg in
        --refresh) refresh=1 ;;
        *) echo "usage: $0 [--refresh]" >&2; exit 2 ;;
    esac
done

scripts/install-deps.sh
scripts/build-boot-tests.sh

lock_guest_dir guests
debian="$guest_dir/debian"
temporary=()
trap 'rm -rf "${temporary[@]}"' EXIT

# ---- Debian's i386 kernel and busybox ------------------------------------------

# deb_member DEB PATH OUT: one file out of a package, without unpacking the rest
# (GNU tar stops reading at the archive's end marker, so dpkg-deb may report a
# broken pipe for the padding after it: tar's own status and the checks on the
# result decide).
deb_member() {
    { dpkg-deb --fsys-tarfile "$1" 2>/dev/null || true; } |
        tar -xO --wildcards "$2" > "$3"
    [ -s "$3" ] || { echo "build-guests: $2 not found in $1" >&2; exit 1; }
}

fetch_debian_inputs() {
    local apt_dir fetched
    apt_dir=$(mktemp -d "$guest_dir/.apt.XXXXXX")
    fetched=$(mktemp -d "$guest_dir/.debian.XXXXXX")
    temporary+=("$apt_dir" "$fetched")
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial"
    : > "$apt_dir/status"
    local apt_opts=(
        -o APT::Architecture=i386 -o APT::Architectures::=i386
        -o Dir::State::Lists="$apt_dir/lists" -o Dir::State::status="$apt_dir/status"
        -o Dir::Cache="$apt_dir" -o Dir::Cache::archives="$apt_dir/archives"
        -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=
        -o Debug::NoLocking=1 -o APT::Get::List-Cleanup=0
    )
    [ "$(id -u)" -ne 0 ] || apt_opts+=(-o APT::Sandbox::User=root)
    echo "build-guests: fetching Debian's i386 packages"
    # A mirror that is out of step for one suite (security, updates) is not
    # fatal: what matters is that the two packages below resolve. apt's messages
    # are shown only when they do not.
    local update_log kernel_pkg
    update_log=$(apt-get "${apt_opts[@]}" -qq update 2>&1) || true
    kernel_pkg=$(apt-cache "${apt_opts[@]}" depends linux-image-686 2>/dev/null |
        awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
    if [ -z "$kernel_pkg" ]; then
        printf '%s\n' "$update_log" >&2
        echo "build-guests: linux-image-686 (i386) does not resolve from this machine's apt sources" >&2
        exit 1
    fi
    (cd "$fetched" &&
        apt-get "${apt_opts[@]}" --print-uris download "$kernel_pkg" busybox-static > uris &&
        apt-get "${apt_opts[@]}" -qq download "$kernel_pkg" busybox-static)
    deb_member "$fetched"/linux-image-*.deb './boot/vmlinuz-*' "$fetched/vmlinuz"
    deb_member "$fetched"/busybox-static_*.deb './bin/busybox' "$fetched/busybox"
    if [ "$(dd if="$fetched/vmlinuz" bs=1 skip=514 count=4 status=none)" != "HdrS" ]; then
        echo "build-guests: the kernel in $kernel_pkg is not a bzImage" >&2
        exit 1
    fi
    # ELF, 32-bit, machine 3 (i386).
    if [ "$(od -A n -t x1 -N 5 "$fetched/busybox" | tr -d ' \n')" != 7f454c4601 ] ||
        [ "$(od -A n -t x1 -j 18 -N 2 "$fetched/busybox" | tr -d ' \n')" != 0300 ]; then
        echo "build-guests: busybox from busybox-static:i386 is not an i386 ELF binary" >&2
        exit 1
    fi
    {
        for deb in "$fetched"/*.deb; do
            # shellcheck disable=SC2016 # dpkg-deb's fields, not the shell's
            dpkg-deb --showformat '${Package} ${Version} ${Architecture}\n' -W "$deb"
        done
        awk '{ gsub("\047", "", $1); print "  " $1, $3, $4 }' "$fetched/uris"
    } > "$fetched/packages.txt"
    rm -rf "$debian"
    mkdir -p "$debian"
    mv "$fetched/vmlinuz" "$fetched/busybox" "$fetched/packages.txt" "$debian/"
    rm -rf "$apt_dir" "$fetched"
}

if [ "$refresh" = 1 ] || [ ! -s "$debian/packages.txt" ] || [ ! -s "$debian/vmlinuz" ] ||
    [ ! -s "$debian/busybox" ]; then
    fetch_debian_inputs
fi

# ---- up to date? --------------------------------------------------------------

src=test-roms/boot
host_versions=$(dpkg-query -W -f '${Package} ${Version}\n' syslinux syslinux-common isolinux \
    mtools dosfstools xorriso 2>/dev/null || true)
key=$(cache_key scripts/build-guests.sh scripts/guest-lib.sh "$src/minikernel.asm" "$src/boot.inc" \
    "$debian/vmlinuz" "$debian/busybox" -- "$host_versions" "$(nasm -v)")
images=(hd-syslinux.img fd-syslinux.img cd-isolinux.iso)
if stamp_current guests "$key"; then
    echo "build-guests: up to date in $guest_dir"
    exit 0
fi
started=$SECONDS
work=$(mktemp -d "$guest_dir/.build-guests.XXXXXX")
temporary+=("$work")
payload="$work/payload"
mkdir "$payload"

# ---- the payloads ---------------------------------------------------------------

# The test kernel and its initrd: the sizes are passed to the kernel, which checks
# the pattern over all of both. The kernel's pattern, appended to its code, counts
# its units from KERNEL_FIRST_UNIT (65536) in minikernel.asm.
kernel_units=512     # 256 KiB of pattern after the kernel's code
initrd_units=1024    # 512 KiB initrd
nasm -f bin -Werror -i "$src/" -DKERNEL_UNITS=$kernel_units -DINITRD_UNITS=$initrd_units \
    "$src/minikernel.asm" -o "$payload/minikern"
write_pattern "$payload/minikern" 65536 $kernel_units $(($(stat -c %s "$payload/minikern") / 512))
write_pattern "$payload/minird" 0 $initrd_units

cp "$debian/vmlinuz" "$payload/vmlinuz"

# The Linux initrd: a gzip'd cpio (newc) archive written here, so that the
# device node needs no root: busybox, /bin/sh, /dev/console and /init.
cpio_ino=0
cpio_entry() { # NAME MODE(octal) [FILE | -l TARGET | -c MAJOR MINOR]
    local name=$1 mode=$((8#$2)) size=0 major=0 minor=0 nlink=1 data=""
    case ${3:-} in
        -l) data=$4; size=${#4} ;;
        -c) major=$4; minor=$5 ;;
        "") ;;
        *) size=$(stat -c %s "$3") ;;
    esac
    [ $((mode & 8#170000)) -eq $((8#040000)) ] && nlink=2
    cpio_ino=$((cpio_ino + 1))
    local namesize=$((${#name} + 1))
    printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
        $cpio_ino $mode 0 0 $nlink 0 "$size" 0 0 "$major" "$minor" $namesize 0
    printf '%s\0' "$name"
    head -c $(((4 - (110 + namesize) % 4) % 4)) /dev/zero
    case ${3:-} in
        -l) printf '%s' "$data" ;;
        -c | "") ;;
        *) cat "$3" ;;
    esac
    head -c $(((4 - size % 4) % 4)) /dev/zero
}
cat > "$work/init" <<'INIT'
#!/bin/sh
# /init of vemu's test initrd: Linux reached user space; say so on the console
# and power off.
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
echo "vemu-guest: /init is running on $(/bin/busybox uname -s -r -m)"
echo "vemu-guest: command line: $(/bin/busybox cat /proc/cmdline)"
echo "VEMU-GUEST-OK"
/bin/busybox poweroff -f
INIT
{
    cpio_entry . 040755
    cpio_entry bin 040755
    cpio_entry bin/busybox 100755 "$debian/busybox"
    cpio_entry bin/sh 120777 -l busybox
    cpio_entry dev 040755
    cpio_entry dev/console 020600 -c 5 1
    cpio_entry proc 040755
    cpio_entry sys 040755
    cpio_entry init 100755 "$work/init"
    cpio_entry TRAILER!!! 0
} | gzip -9 -n > "$payload/initrd.img"

# The boot loader's configuration, the same on every medium but for the
# entries: SYSLINUX and ISOLINUX talk on COM1 at 115200 baud (and read it), do
# not write the screen, and boot the default after one second at "boot:".
loader_config() { # DEFAULT ENTRY...
    local default=$1
    shift
    printf 'SERIAL 0 115200\nCONSOLE 0\nPROMPT 1\nTIMEOUT 10\nDEFAULT %s\n' "$default"
    for entry in "$@"; do
        case $entry in
            linux) printf 'LABEL linux\n  LINUX /vmlinuz\n  INITRD /initrd.img\n  APPEND console=ttyS0,115200 panic=-1\n' ;;
            mini) printf 'LABEL mini\n  LINUX /minikern\n  INITRD /minird\n  APPEND vemu.test=minikernel\n' ;;
        esac
    done
}

# ---- hd-syslinux.img ------------------------------------------------------------

heads=16 sectors=63
hd_sectors=$((65 * heads * sectors))
part_start=2048
part_sectors=$((hd_sectors - part_start))
hd="$work/hd-syslinux.img"

le32() { printf "\\\\x%02x\\\\x%02x\\\\x%02x\\\\x%02x" $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
chs() { # LBA: the 3 bytes of a partition entry's CHS address (16 heads, 63 sectors)
    local c=$(($1 / (heads * sectors))) h=$(($1 / sectors % heads)) s=$(($1 % sectors + 1))
    printf "\\\\x%02x\\\\x%02x\\\\x%02x" $h $((s | (c >> 2 & 0xc0))) $((c & 255))
}
truncate -s $((hd_sectors * 512)) "$hd"
dd if=/usr/lib/syslinux/mbr/mbr.bin of="$hd" conv=notrunc status=none
# One partition: active, FAT16 (type 06), whole cylinders up to the end of the disk,
# so that CHS geometry guessed from the table is the 16/63 the disk is built for.
# shellcheck disable=SC2059 # the format is the entry, escapes made by chs and le32
printf "\\x80$(chs $part_start)\\x06$(chs $((hd_sectors - 1)))$(le32 $part_start)$(le32 $part_sectors)" |
    dd of="$hd" bs=1 seek=446 conv=notrunc status=none
printf '\x55\xaa' | dd of="$hd" bs=1 seek=510 conv=notrunc status=none
mkfs.fat -F 16 -n VEMUGUEST -i 56454d55 -g $heads/$sectors -h $part_start --offset=$part_start \
    "$hd" $((part_sectors / 2)) > /dev/null
syslinux --offset $((part_start * 512)) --install "$hd"
loader_config linux linux mini > "$work/syslinux.cfg"
mcopy -i "$hd@@$((part_start * 512))" "$work/syslinux.cfg" "$payload/vmlinuz" "$payload/initrd.img" \
    "$payload/minikern" "$payload/minird" ::/

# ---- fd-syslinux.img ------------------------------------------------------------

fd="$work/fd-syslinux.img"
mkfs.fat -C -F 12 -n VEMUFLOPPY -i 56454d56 "$fd" 1440 > /dev/null
syslinux --install "$fd"
loader_config mini mini > "$work/syslinux-fd.cfg"
mcopy -i "$fd" "$work/syslinux-fd.cfg" ::/syslinux.cfg
mcopy -i "$fd" "$payload/minikern" "$payload/minird" ::/

# ---- cd-isolinux.iso ------------------------------------------------------------

iso="$work/iso"
mkdir -p "$iso/isolinux"
cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$iso/isolinux/"
loader_config linux linux mini > "$iso/isolinux/isolinux.cfg"
cp "$payload/vmlinuz" "$payload/initrd.img" "$payload/minikern" "$payload/minird" "$iso/"
xorriso -as mkisofs -quiet -o "$work/cd-isolinux.iso" -V VEMU_GUEST -R \
    -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table \
    "$iso" 2>/dev/null

for image in "${images[@]}"; do
    mv "$work/$image" "$guest_dir/$image"
done
stamp_write guests "$key" "${images[@]}"
echo "build-guests: ${images[*]} in $guest_dir ($((SECONDS - started)) s); from:"
sed 's/^/    /' "$debian/packages.txt"
