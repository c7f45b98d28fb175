#!/usr/bin/env bash
# Builds the guest images vemu is tested and demonstrated with, from Debian 12
# packages, into $VEMU_GUEST_DIR (default target/guests); the images are never
# committed. Each boots through the BIOS with SYSLINUX/ISOLINUX talking on COM1
# (115200 baud), as `qemu-system-i386 -display none -serial stdio -no-reboot IMAGE`
# shows (under -nographic, SeaBIOS also mirrors the screen to COM1, so part of
# the boot loader's lines appear twice):
#
#   hd-syslinux.img   64 MiB hard disk (130 cylinders x 16 heads x 63 sectors):
#                     SYSLINUX's MBR; partition 1, active, FAT16 from sector 2048
#                     with SYSLINUX; partition 2, ext2: the root file system
#                     (busybox, its init, a shell on ttyS0 and on tty1). SYSLINUX
#                     entries: "linux" (the default: Debian's linux-image-686),
#                     "linux-pae" (linux-image-686-pae), each with its initramfs,
#                     and "mini", the test kernel. The initramfs loads the IDE,
#                     SCSI disk/CD and file-system modules from the same kernel
#                     package (ata_piix, libata, scsi_mod, sd_mod, sr_mod, ext4
#                     for ext2, isofs and what they depend on, and ACPI's power
#                     button driver), mounts the root
#                     named by root= (/dev/sda2) and switches to it; init prints
#                     "VEMU-GUEST-READY" and starts the shells ("vemu:/# ").
#   fd-syslinux.img   1.44 MB floppy, FAT12 with SYSLINUX. Debian's kernel (5.7 MB)
#                     does not fit on any floppy, so the only entry loads the test
#                     kernel of our own (test-roms/boot/minikernel.asm, a Linux
#                     boot protocol image) and a 512 KiB initrd, and the kernel
#                     checks that both arrived whole, byte for byte, and prints
#                     "PASS": that shows the boot loader loading a kernel and an
#                     initrd better than a kernel too small to be real would.
#   cd-isolinux.iso   ISO 9660 with ISOLINUX, El Torito without emulation (boot
#                     load size 4, boot info table); the same entries as the disk,
#                     whose second partition is still the root file system (boot
#                     with -cdrom cd-isolinux.iso -hda hd-syslinux.img -boot d).
#   vmlinuz-686, vmlinuz-686-pae, initrd-686.img, initrd-686-pae.img
#                     the same kernels and initramfs images, for -kernel/-initrd
#                     (-append "root=/dev/sda2 console=ttyS0" -hda hd-syslinux.img).
#
# It also runs scripts/build-boot-tests.sh (the boot-sector test images).
#
# Inputs: Debian's i386 packages linux-image-686 and linux-image-686-pae (the
# kernel packages they depend on) and busybox-static, fetched once with apt-get from the mirrors this
# machine's apt is set up for (a private apt state for i386 in a temporary
# folder: the host's dpkg and apt configuration are left alone) and kept, with
# the versions and URLs, in debian/ under the output folder; of the kernel
# packages (52 MB each) only the kernels and the modules the guests load are kept. Pass --refresh (or set VEMU_GUEST_REFRESH=1) to fetch
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
# The kernel flavours, and the modules their initramfs loads (by module name;
# what they depend on comes along).
flavors=(686 686-pae)
initramfs_modules=(ata_piix sd_mod sr_mod ext4 isofs crc32c_generic button)
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
    local update_log flavor kernel_pkgs=()
    update_log=$(apt-get "${apt_opts[@]}" -qq update 2>&1) || true
    for flavor in "${flavors[@]}"; do
        local kernel_pkg
        kernel_pkg=$(apt-cache "${apt_opts[@]}" depends "linux-image-$flavor" 2>/dev/null |
            awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
        if [ -z "$kernel_pkg" ]; then
            printf '%s\n' "$update_log" >&2
            echo "build-guests: linux-image-$flavor (i386) does not resolve from this machine's apt sources" >&2
            exit 1
        fi
        kernel_pkgs+=("$kernel_pkg")
    done
    (cd "$fetched" &&
        apt-get "${apt_opts[@]}" --print-uris download "${kernel_pkgs[@]}" busybox-static > uris &&
        apt-get "${apt_opts[@]}" -qq download "${kernel_pkgs[@]}" busybox-static)
    for flavor in "${flavors[@]}"; do
        local deb
        deb=$(ls "$fetched"/linux-image-*-"${flavor}"_*.deb)
        deb_member "$deb" './boot/vmlinuz-*' "$fetched/vmlinuz-$flavor"
        if [ "$(dd if="$fetched/vmlinuz-$flavor" bs=1 skip=514 count=4 status=none)" != "HdrS" ]; then
            echo "build-guests: the kernel in $deb is not a bzImage" >&2
            exit 1
        fi
        extract_modules "$deb" "$fetched/modules-$flavor"
    done
    deb_member "$fetched"/busybox-static_*.deb './bin/busybox' "$fetched/busybox"
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
    mv "$fetched"/vmlinuz-* "$fetched"/modules-* "$fetched/busybox" "$fetched/packages.txt" "$debian/"
    rm -rf "$apt_dir" "$fetched"
}

# extract_modules DEB OUT: the modules the initramfs loads, with everything they
# depend on (each module's own "depends=" list), into OUT, and their load order
# (dependencies first) into OUT/order.
extract_modules() {
    local deb=$1 out=$2 tree
    tree=$(mktemp -d "$guest_dir/.modules.XXXXXX")
    temporary+=("$tree")
    { dpkg-deb --fsys-tarfile "$deb" 2>/dev/null || true; } | tar -x -C "$tree" --wildcards './lib/modules/*.ko'
    declare -A file_of=() seen=()
    local f name
    while IFS= read -r f; do
        name=$(basename "$f" .ko)
        file_of[${name//-/_}]=$f
    done < <(find "$tree" -name '*.ko')
    local order=()
    visit() {
        local name=${1//-/_} deps dep
        [ -z "${seen[$name]:-}" ] || return 0
        seen[$name]=1
        [ -n "${file_of[$name]:-}" ] || { echo "build-guests: module $1 is not in $deb" >&2; exit 1; }
        deps=$(grep -a -o -m 1 'depends=[A-Za-z0-9_,-]*' "${file_of[$name]}" | head -n 1 | cut -d= -f2)
        for dep in ${deps//,/ }; do
            visit "$dep"
        done
        order+=("$name")
    }
    for name in "${initramfs_modules[@]}"; do
        visit "$name"
    done
    mkdir -p "$out"
    for name in "${order[@]}"; do
        cp "${file_of[$name]}" "$out/$name.ko"
    done
    printf '%s\n' "${order[@]}" > "$out/order"
    rm -rf "$tree"
}

# Whether the kept inputs are all there, with every module the initramfs loads.
inputs_complete() {
    local flavor name
    [ -s "$debian/packages.txt" ] && [ -s "$debian/busybox" ] || return 1
    for flavor in "${flavors[@]}"; do
        [ -s "$debian/vmlinuz-$flavor" ] && [ -s "$debian/modules-$flavor/order" ] || return 1
        for name in "${initramfs_modules[@]}"; do
            grep -qx "$name" "$debian/modules-$flavor/order" || return 1
        done
    done
}

if [ "$refresh" = 1 ] || ! inputs_complete; then
    fetch_debian_inputs
fi

# ---- up to date? --------------------------------------------------------------

src=test-roms/boot
host_versions=$(dpkg-query -W -f '${Package} ${Version}\n' syslinux syslinux-common isolinux \
    mtools dosfstools xorriso e2fsprogs 2>/dev/null || true)
key=$(cache_key scripts/build-guests.sh scripts/guest-lib.sh "$src/minikernel.asm" "$src/boot.inc" \
    "$debian/busybox" "$debian"/vmlinuz-* "$debian"/modules-*/* -- "$host_versions" "$(nasm -v)")
images=(hd-syslinux.img fd-syslinux.img cd-isolinux.iso)
for flavor in "${flavors[@]}"; do
    images+=("vmlinuz-$flavor" "initrd-$flavor.img")
done
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

# The initramfs images: gzip'd cpio (newc) archives written here, so that the
# device node needs no root.
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

# The initramfs's /init: load the drivers, find the root file system, switch to it.
cat > "$work/init" <<'INIT'
#!/bin/sh
# /init of vemu's initramfs: Debian builds the IDE, SCSI disk and CD drivers and
# ext2 (ext4's driver) as modules; load them, mount the root file system named
# by root= and hand over to its /sbin/init.
export PATH=/bin
busybox mount -t proc proc /proc
busybox mount -t sysfs sysfs /sys
busybox mount -t devtmpfs devtmpfs /dev
echo "vemu-initramfs: $(busybox uname -r), loading $(busybox wc -l < /lib/modules/order) modules"
for m in $(busybox cat /lib/modules/order); do
    busybox insmod "/lib/modules/$m.ko" || echo "vemu-initramfs: insmod $m failed"
done
root=/dev/sda2
for arg in $(busybox cat /proc/cmdline); do
    case $arg in root=*) root=${arg#root=} ;; esac
done
tries=0
until [ -b "$root" ] || [ $tries -ge 100 ]; do
    busybox sleep 0.1
    tries=$((tries + 1))
done
busybox mkdir -p /newroot
if busybox mount -t ext2 -o rw "$root" /newroot 2>/dev/null; then
    echo "vemu-initramfs: root $root mounted"
    busybox mount --move /dev /newroot/dev
    busybox umount /proc /sys
    exec busybox switch_root /newroot /sbin/init
fi
echo "VEMU-GUEST-FAIL: no root file system on $root; a shell in the initramfs:"
exec busybox sh
INIT

for flavor in "${flavors[@]}"; do
    modules="$debian/modules-$flavor"
    {
        cpio_entry . 040755
        cpio_entry bin 040755
        cpio_entry bin/busybox 100755 "$debian/busybox"
        cpio_entry bin/sh 120777 -l busybox
        cpio_entry dev 040755
        cpio_entry dev/console 020600 -c 5 1
        cpio_entry proc 040755
        cpio_entry sys 040755
        cpio_entry lib 040755
        cpio_entry lib/modules 040755
        cpio_entry lib/modules/order 100644 "$modules/order"
        while IFS= read -r m; do
            cpio_entry "lib/modules/$m.ko" 100644 "$modules/$m.ko"
        done < "$modules/order"
        cpio_entry init 100755 "$work/init"
        cpio_entry TRAILER!!! 0
    } | gzip -9 -n > "$payload/initrd-$flavor.img"
    cp "$debian/vmlinuz-$flavor" "$payload/vmlinuz-$flavor"
done

# ---- the root file system ---------------------------------------------------------

# busybox's init runs /etc/init.d/rcS, then a shell on the serial console and one
# on the first virtual console (the VGA screen); poweroff and reboot go through
# its shutdown actions.
rootfs="$work/rootfs"
mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc/init.d,dev,proc,sys,tmp,root,mnt}
install -m 755 "$debian/busybox" "$rootfs/bin/busybox"
ln -s busybox "$rootfs/bin/sh"
ln -s ../bin/busybox "$rootfs/sbin/init"
cat > "$rootfs/etc/inittab" <<'EOF'
::sysinit:/etc/init.d/rcS
ttyS0::respawn:-/bin/sh
tty1::respawn:-/bin/sh
::ctrlaltdel:/bin/busybox reboot
::shutdown:/bin/busybox sync
::shutdown:/bin/busybox umount -a -r
EOF
cat > "$rootfs/etc/init.d/rcS" <<'EOF'
#!/bin/sh
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -o remount,rw /
hostname vemu
echo "VEMU-GUEST-READY: Linux $(uname -r) on $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1), root $(sed -n 's|^\(/dev/[^ ]*\) / .*|\1|p' /proc/mounts)"
EOF
chmod 755 "$rootfs/etc/init.d/rcS"
cat > "$rootfs/etc/profile" <<'EOF'
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
export PS1='vemu:\w# '
cd /root
EOF
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\n' > "$rootfs/etc/group"

# ---- hd-syslinux.img ------------------------------------------------------------

# The boot loader's configuration, the same on every medium but for the
# entries: SYSLINUX and ISOLINUX talk on COM1 at 115200 baud (and read it), do
# not write the screen, and boot the default after one second at "boot:". The
# kernels talk on both the screen and COM1 (the last console= is /dev/console),
# and not quietly: SYSLINUX leaves out its "Loading ..." lines for a quiet one.
linux_append="root=/dev/sda2 console=tty0 console=ttyS0,115200"
loader_config() { # DEFAULT ENTRY...
    local default=$1
    shift
    printf 'SERIAL 0 115200\nCONSOLE 0\nPROMPT 1\nTIMEOUT 10\nDEFAULT %s\n' "$default"
    for entry in "$@"; do
        case $entry in
            linux) printf 'LABEL linux\n  LINUX /vmlinuz-686\n  INITRD /initrd-686.img\n  APPEND %s\n' "$linux_append" ;;
            linux-pae) printf 'LABEL linux-pae\n  LINUX /vmlinuz-686-pae\n  INITRD /initrd-686-pae.img\n  APPEND %s\n' "$linux_append" ;;
            mini) printf 'LABEL mini\n  LINUX /minikern\n  INITRD /minird\n  APPEND vemu.test=minikernel\n' ;;
        esac
    done
}

heads=16 sectors=63
cylinder=$((heads * sectors))
hd_sectors=$((130 * cylinder))
boot_start=2048
boot_end=$((84 * cylinder))     # partition 1 ends with cylinder 83 (about 41 MiB)
root_start=$boot_end
hd="$work/hd-syslinux.img"

le32() { printf "\\\\x%02x\\\\x%02x\\\\x%02x\\\\x%02x" $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
chs() { # LBA: the 3 bytes of a partition entry's CHS address (16 heads, 63 sectors)
    local c=$(($1 / (heads * sectors))) h=$(($1 / sectors % heads)) s=$(($1 % sectors + 1))
    printf "\\\\x%02x\\\\x%02x\\\\x%02x" $h $((s | (c >> 2 & 0xc0))) $((c & 255))
}
part_entry() { # SLOT BOOTFLAG TYPE FIRST END(exclusive)
    # shellcheck disable=SC2059 # the format is the entry, escapes made by chs and le32
    printf "\\x$2$(chs "$4")\\x$3$(chs $(($5 - 1)))$(le32 "$4")$(le32 $(($5 - $4)))" |
        dd of="$hd" bs=1 seek=$((446 + 16 * $1)) conv=notrunc status=none
}
truncate -s $((hd_sectors * 512)) "$hd"
dd if=/usr/lib/syslinux/mbr/mbr.bin of="$hd" conv=notrunc status=none
# Whole cylinders, the last partition up to the end of the disk, so that CHS
# geometry guessed from the table is the 16/63 the disk is built for.
part_entry 0 80 06 $boot_start $boot_end
part_entry 1 00 83 $root_start $hd_sectors
printf '\x55\xaa' | dd of="$hd" bs=1 seek=510 conv=notrunc status=none
# (mkfs.fat notes that the file is larger than the partition: it is meant to be.)
mkfs.fat -F 16 -n VEMUGUEST -i 56454d55 -g $heads/$sectors -h $boot_start --offset=$boot_start \
    "$hd" $(((boot_end - boot_start) / 2)) 2> >(grep -v '^Warning: block count mismatch' >&2) > /dev/null
syslinux --offset $((boot_start * 512)) --install "$hd"
loader_config linux linux linux-pae mini > "$work/syslinux.cfg"
mcopy -i "$hd@@$((boot_start * 512))" "$work/syslinux.cfg" "$payload"/vmlinuz-* "$payload"/initrd-* \
    "$payload/minikern" "$payload/minird" ::/
# The root file system, made from the folder (no root needed), fixed UUID and time.
truncate -s $(((hd_sectors - root_start) * 512)) "$work/root.ext2"
E2FSPROGS_FAKE_TIME=1700000000 mke2fs -q -t ext2 -L vemuroot -U 56454d55-0000-4000-8000-000000000002 \
    -E root_owner=0:0 -d "$rootfs" "$work/root.ext2"
dd if="$work/root.ext2" of="$hd" bs=512 seek=$root_start conv=notrunc status=none

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
loader_config linux linux linux-pae mini > "$iso/isolinux/isolinux.cfg"
cp "$payload"/vmlinuz-* "$payload"/initrd-* "$payload/minikern" "$payload/minird" "$iso/"
xorriso -as mkisofs -quiet -o "$work/cd-isolinux.iso" -V VEMU_GUEST -R \
    -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table \
    "$iso" 2>/dev/null

# ---- for -kernel ------------------------------------------------------------------

mv "$payload"/vmlinuz-* "$payload"/initrd-* "$work/"

for image in "${images[@]}"; do
    mv "$work/$image" "$guest_dir/$image"
done
stamp_write guests "$key" "${images[@]}"
echo "build-guests: ${images[*]} in $guest_dir ($((SECONDS - started)) s); from:"
sed 's/^/    /' "$debian/packages.txt"
