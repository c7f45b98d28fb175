#!/bin/sh
# Runs the benchmark workloads in vemu (JIT) and in qemu-system-i386 (TCG), side
# by side, and prints guest MIPS for both and the ratio vemu/QEMU.
# Arguments go to compare-qemu (try --help): workload names, --runs, --factor ...
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
cd "$root"
cargo build --release --locked -p vemu -p vemu-benches
exec "$root/target/release/compare-qemu" "$@"
