#!/bin/sh
# What showing the screen costs the guest: the drawing guest
# (test-roms/boot/drawbench.asm) with no viewer and with a VNC client reading
# every update, guest MIPS of both and their ratio, in one run.
# Arguments go to display-bench (try --help): --runs, --engine.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
VEMU_GUEST_DIR="$root/target/guests" "$root/scripts/build-boot-tests.sh"
cd "$root"
cargo build --release --locked -p vemu-benches --bin display-bench
exec "$root/target/release/display-bench" --image "$root/target/guests/boot-drawbench.img" "$@"
