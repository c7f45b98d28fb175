#!/usr/bin/env bash
# Runs test ROMs under the reference emulators: QEMU always, Bochs when the ROM
# holds checks QEMU 7.2 gets wrong ("%ifndef QEMU") or when --bochs is given.
# Usage: test-roms/run-reference.sh [--bochs] rom.asm...
# A ROM passes when it prints a last line "PASS" (and, under QEMU, exits with 1).
set -u
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d "${TMPDIR:-/tmp}/vemu-roms.XXXXXX")
trap 'rm -rf "$out"' EXIT
force_bochs=0
[ "${1:-}" = "--bochs" ] && { force_bochs=1; shift; }
status=0
for src in "$@"; do
    name=$(basename "$src" .asm)
    nasm -f bin -i "$here/lib/" -DQEMU "$src" -o "$out/$name.qemu.bin" || { echo "$name: nasm failed"; status=1; continue; }
    nasm -f bin -i "$here/lib/" "$src" -o "$out/$name.bin" || { echo "$name: nasm failed"; status=1; continue; }
    extra=()
    grep -q '^; qemu-args:' "$src" && read -r -a extra <<<"$(sed -n 's/^; qemu-args://p' "$src")"
    grep -q '^; cpu:' "$src" && extra+=(-cpu "$(sed -n 's/^; cpu: *//p' "$src")")
    log=$(timeout 30 qemu-system-i386 -bios "$out/$name.qemu.bin" -device isa-debug-exit,iobase=0xf4,iosize=0x01 \
        -debugcon stdio -display none "${extra[@]}" 2>&1)
    rc=$?
    if [ $rc -eq 1 ] && [ "$(printf '%s\n' "$log" | tail -n 1)" = "PASS" ]; then
        echo "$name: qemu PASS"
    else
        echo "$name: qemu FAIL (exit $rc)"; printf '%s\n' "$log" | tail -n 5 | sed 's/^/    /'; status=1
    fi
    if [ $force_bochs -eq 1 ] || grep -q '^%ifndef QEMU' "$src"; then
        cat > "$out/$name.bochsrc" <<RC
megs: 32
romimage: file=$out/$name.bin
display_library: rfb, options="timeout=0"
port_e9_hack: enabled=1
log: /dev/null
panic: action=fatal
error: action=report
cpu: count=1, ips=50000000, ignore_bad_msrs=0
speaker: enabled=0
sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy
plugin_ctrl: speaker=0, sb16=0, es1370=0
RC
        printf 'c\nc\nc\nc\nquit\n' > "$out/bochs.cmds"
        blog=$(timeout 60 bochs -q -f "$out/$name.bochsrc" -rc "$out/bochs.cmds" 2>&1 | grep -v '^[0-9]\{11\}[a-z]\[\|^ALSA\|^=\+$\|^ *Bochs\|Built from\|Timestamp\|^Next at\|^(0)\|^\[\|^Bochs is exiting\|^<bochs')
        if printf '%s\n' "$blog" | grep -qx "PASS"; then
            echo "$name: bochs PASS"
        else
            echo "$name: bochs FAIL"; printf '%s\n' "$blog" | tail -n 5 | sed 's/^/    /'; status=1
        fi
    fi
done
exit $status
