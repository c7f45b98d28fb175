#!/usr/bin/env bash
# Boots a real disk image in vemu: a 1.44 MB floppy that scripts/build-guests.sh
# makes from Debian 12's packages (SYSLINUX on a FAT12 file system, with the
# project's test kernel and an initrd; Debian's own kernel does not fit on a
# floppy). SeaBIOS boots it,
# SYSLINUX loads the kernel and the initrd through the BIOS, and the kernel
# checks that both arrived whole and powers the machine off through QEMU's
# debug-exit port; the console is this terminal (Ctrl-A x quits early).
# Extra arguments go to `vemu run` (try --engine interp, or -snapshot).
# The other images (a SYSLINUX hard disk and an ISOLINUX CD with Debian's
# kernel) are in target/guests: `target/release/vemu run target/guests/hd-syslinux.img`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build-guests.sh
cargo build --release --locked -p vemu
status=0
target/release/vemu run -nographic -no-reboot -fda target/guests/fd-syslinux.img "$@" || status=$?
# The test kernel ends through isa-debug-exit with 0, which vemu (as QEMU)
# reports as exit status (0 << 1) | 1.
if [ "$status" -eq 1 ]; then
    exit 0
fi
exit "$status"
