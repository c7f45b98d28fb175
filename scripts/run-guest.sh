#!/usr/bin/env bash
# Runs vemu on a guest: builds vemu and boots the Multiboot test kernel.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo build --release --locked -p vemu
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
nasm -f bin emu-frontend/tests/guests/multiboot.asm -o "$out/kernel.elf"
exec target/release/vemu run --kernel "$out/kernel.elf" --append "hello=world" -m 32 "$@"
