#!/usr/bin/env bash
# The Python packages the tests use (the display and monitor tests drive vemu
# and QEMU with the first two),
# in a virtual environment of their own ($VEMU_PYTHON_ENV, default
# target/python): qemu.qmp (QEMU's QMP client), vncdotool (a VNC client) and
# mpmath (the correctly rounded reference of the x87 transcendentals).
# Prints the environment's python3. Installs only what is missing; needs
# python3-venv (scripts/install-deps.sh).
set -euo pipefail
repo_root=$(cd "$(dirname "$0")/.." && pwd)
"$repo_root/scripts/install-deps.sh" >&2
env_dir=${VEMU_PYTHON_ENV:-$repo_root/target/python}
packages=(qemu.qmp==0.0.6 vncdotool==1.4.2 mpmath==1.3.0)
stamp="$env_dir/.vemu-packages"
if [ ! -x "$env_dir/bin/python3" ] || [ "$(cat "$stamp" 2>/dev/null)" != "${packages[*]}" ]; then
    mkdir -p "$(dirname "$env_dir")"
    # One builder at a time (tests run in parallel).
    exec 9>"$env_dir.lock"
    flock 9
    if [ ! -x "$env_dir/bin/python3" ] || [ "$(cat "$stamp" 2>/dev/null)" != "${packages[*]}" ]; then
        rm -rf "$env_dir"
        python3 -m venv "$env_dir" >&2
        "$env_dir/bin/pip" install -q --disable-pip-version-check "${packages[@]}" >&2
        echo "${packages[*]}" >"$stamp"
    fi
fi
echo "$env_dir/bin/python3"
