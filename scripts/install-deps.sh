#!/usr/bin/env bash
# Installs the system packages vemu's tests and demo need on Debian 12:
# nasm (test ROMs), qemu-system-x86 (reference emulator and SeaBIOS),
# qemu-utils (qemu-img and qemu-io, the judges of what the disk image backends
# leave in a file), acpica-tools (iasl, which disassembles the ACPI tables vemu
# builds),
# bochs and vgabios (the second opinion where QEMU 7.2 departs from hardware;
# Bochs needs the VGA BIOS even when nothing is displayed), and what
# scripts/build-guests.sh builds the guest images with: syslinux (its installer,
# which works through mtools), syslinux-common (the MBR and ldlinux.c32),
# isolinux, mtools, dosfstools (mkfs.fat), e2fsprogs (mke2fs, for the ext2
# root file system) and xorriso; tmux, the terminal
# the console tests type into; and python3-venv, for the environment
# scripts/python-deps.sh makes for the QMP and VNC clients the tests use.
# Safe to run again: it only installs what is missing.
set -euo pipefail
need=()
command -v nasm >/dev/null 2>&1 || need+=(nasm)
command -v qemu-system-i386 >/dev/null 2>&1 || need+=(qemu-system-x86)
command -v qemu-img >/dev/null 2>&1 || need+=(qemu-utils)
command -v iasl >/dev/null 2>&1 || need+=(acpica-tools)
command -v bochs >/dev/null 2>&1 || need+=(bochs bochsbios)
[ -e /usr/share/seabios/bios.bin ] || need+=(seabios)
[ -e /usr/share/vgabios/vgabios.bin ] || need+=(vgabios)
command -v syslinux >/dev/null 2>&1 || need+=(syslinux)
[ -e /usr/lib/syslinux/mbr/mbr.bin ] && [ -e /usr/lib/syslinux/modules/bios/ldlinux.c32 ] ||
    need+=(syslinux-common)
[ -e /usr/lib/ISOLINUX/isolinux.bin ] || need+=(isolinux)
command -v mcopy >/dev/null 2>&1 || need+=(mtools)
[ -x /usr/sbin/mkfs.fat ] || command -v mkfs.fat >/dev/null 2>&1 || need+=(dosfstools)
command -v xorriso >/dev/null 2>&1 || need+=(xorriso)
[ -x /sbin/mke2fs ] || command -v mke2fs >/dev/null 2>&1 || need+=(e2fsprogs)
command -v tmux >/dev/null 2>&1 || need+=(tmux)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
