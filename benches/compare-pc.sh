#!/bin/sh
# Disk throughput (PIO and DMA, 64 MiB) and boot time (power-on to SYSLINUX's
# prompt) of vemu and qemu-system-i386, side by side. Arguments go to
# compare-pc: `disk` or `boot`, then --runs N ...
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build-guests.sh" >/dev/null
cd "$root"
cargo build --release --locked -p vemu -p vemu-benches
exec "$root/target/release/compare-pc" "$@"
