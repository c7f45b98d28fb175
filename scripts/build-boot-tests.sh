#!/usr/bin/env bash
# Builds the boot-sector test images from test-roms/boot/ (see each .asm for what
# it checks and how to run it) into $VEMU_GUEST_DIR (default target/guests):
#   boot-fd.img        1.44 MB floppy, floppy.asm
#   boot-hd.img        hard disk of 16 cylinders x 16 heads x 63 sectors, harddisk.asm
#   boot-hd-write.img  hard disk of 2 cylinders, hdwrite.asm (counts its boots on itself)
#   boot-cd.iso        El Torito CD booting cdrom.asm without emulation
#   boot-display.img   1.44 MB floppy, display.asm (scripts/display-test.py drives it)
#   boot-drawbench.img 1.44 MB floppy, drawbench.asm (benches/display-bench.sh runs it)
#   boot-acpi.img      1.44 MB floppy, acpi.asm (emu-frontend/tests/acpi.rs runs it)
# Every sector the program does not occupy holds the position pattern the
# programs check (test-roms/boot/boot.inc). Needs nasm, perl and xorriso
# (scripts/install-deps.sh); no network. Does nothing when the images are up to
# date (scripts/guest-lib.sh).
set -euo pipefail
# shellcheck source=scripts/guest-lib.sh
source "$(dirname "$0")/guest-lib.sh"
cd "$repo_root"
"$repo_root/scripts/install-deps.sh"

src=test-roms/boot
key=$(cache_key scripts/build-boot-tests.sh scripts/guest-lib.sh "$src"/*.asm "$src"/*.inc -- \
    "$(nasm -v)" "$(xorriso -version 2>/dev/null | head -n 1)")
images=(boot-fd.img boot-hd.img boot-hd-write.img boot-cd.iso boot-display.img boot-drawbench.img boot-acpi.img)

lock_guest_dir boot-tests
if stamp_current boot-tests "$key"; then
    echo "build-boot-tests: up to date in $guest_dir"
    exit 0
fi
started=$SECONDS
work=$(mktemp -d "$guest_dir/.build-boot-tests.XXXXXX")
trap 'rm -rf "$work"' EXIT

assemble() { # SOURCE OUTPUT
    nasm -f bin -Werror -i "$src/" "$src/$1" -o "$2"
}

# disk_image PROGRAM IMAGE SECTORS: the pattern over the whole disk, the program
# over its first sectors.
disk_image() {
    assemble "$1" "$work/$1.bin"
    write_pattern "$work/$2" 0 "$3"
    dd if="$work/$1.bin" of="$work/$2" conv=notrunc status=none
}

disk_image floppy.asm boot-fd.img 2880
disk_image harddisk.asm boot-hd.img $((16 * 16 * 63))
disk_image hdwrite.asm boot-hd-write.img $((2 * 16 * 63))
disk_image display.asm boot-display.img 2880
disk_image drawbench.asm boot-drawbench.img 2880
disk_image acpi.asm boot-acpi.img 2880

# The CD's boot file: the program's two stages (3 CD sectors), then the pattern
# up to 16 CD sectors (64 units of 512 bytes), as cdrom.asm expects.
mkdir "$work/cd"
assemble cdrom.asm "$work/cdrom.bin"
write_pattern "$work/cd/boot.bin" 0 64
dd if="$work/cdrom.bin" of="$work/cd/boot.bin" conv=notrunc status=none
xorriso -as mkisofs -quiet -o "$work/boot-cd.iso" -V VEMU_BOOT_TEST \
    -b boot.bin -c boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table \
    "$work/cd" 2>/dev/null

for image in "${images[@]}"; do
    mv "$work/$image" "$guest_dir/$image"
done
stamp_write boot-tests "$key" "${images[@]}"
echo "build-boot-tests: ${images[*]} in $guest_dir ($((SECONDS - started)) s)"
