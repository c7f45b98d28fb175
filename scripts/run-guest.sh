#!/usr/bin/env bash
# Boots a real disk image in vemu to a shell: the 64 MiB hard disk that
# scripts/build-guests.sh makes from Debian 12's packages (SYSLINUX, Debian's
# i386 kernel linux-image-686 with an initramfs that loads Debian's IDE, disk
# and file-system modules, and an ext2 root file system with busybox). SeaBIOS
# boots it, SYSLINUX loads the kernel, the kernel mounts the root and its init
# starts a shell on the serial console, which is this terminal. `poweroff` in
# the shell ends the run (ACPI power-off, exit status 0); Ctrl-A x quits at any
# time, Ctrl-A h lists the escapes. Writes go to a throw-away overlay
# (-snapshot); extra arguments go to `vemu run` (try --engine interp, or
# -cpu pentium4,+nx with "linux-pae" typed at SYSLINUX's boot: prompt).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build-guests.sh
cargo build --release --locked -p vemu
exec target/release/vemu run -nographic -snapshot target/guests/hd-syslinux.img "$@"
