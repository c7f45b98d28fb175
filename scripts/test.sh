#!/usr/bin/env bash
# The project's test command: installs what the tests need, then runs every check
# CI runs (formatting, lints, unit tests, guest tests against QEMU and Bochs).
set -euo pipefail
cd "$(dirname "$0")/.."
# Cargo, nasm and the reference emulators all read or write /dev/null. On a machine
# where it became a plain file (nasm deletes its output file when a source fails to
# assemble, so `nasm bad.asm -o /dev/null` removes the device and the next writer
# creates a file), rustc reads old junk as its input and the build fails far from
# the cause: say so plainly instead.
if [ ! -c /dev/null ]; then
    echo "scripts/test.sh: /dev/null is not a character device on this machine; restore it (as root: rm /dev/null && mknod -m 666 /dev/null c 1 3)" >&2
    exit 1
fi
scripts/install-deps.sh
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# The last lines cargo prints belong to the last test binary (often doc tests, 0 of
# them); end with the totals over every binary.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --locked 2>&1 | tee "$log"
awk '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, i }' "$log"
