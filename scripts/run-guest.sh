#!/usr/bin/env bash
# Runs vemu on a real guest: Debian's SeaBIOS (the BIOS QEMU uses) powers on
# the PC, sets it up, looks for something to boot on the serial console and,
# with no disk attached, reports "No bootable device" and asks for a reboot,
# which ends the run (as qemu-system-i386 -bios /usr/share/seabios/bios.bin
# -nographic -no-reboot -boot reboot-timeout=0 does). Extra arguments go to
# `vemu run` (try --engine interp, or --reboot-timeout -1 to wait for ever).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo build --release --locked -p vemu
exec target/release/vemu run --bios /usr/share/seabios/bios.bin --no-reboot --reboot-timeout 0 "$@"
