#!/usr/bin/env bash
# The project's test command: installs what the tests need, then runs every check
# CI runs (formatting, lints, unit tests, guest tests against QEMU and Bochs).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
