#!/usr/bin/env bash
# Create (or reuse) the virtual environment and install spikeir with its test tools.
# torch is installed first and pinned (constraints.txt), so pip takes the CPU build instead of a CUDA one.
# The editable install maps dialects/, passes/, tools/ into spikeir: a new module there needs no reinstall.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${VIRTUAL_ENV:-}" ]; then
    [ -x .venv/bin/python ] || python3 -m venv .venv
    # shellcheck disable=SC1091
    . .venv/bin/activate
fi
python -m pip install -q --disable-pip-version-check -c constraints.txt torch
python -m pip install -q --disable-pip-version-check -c constraints.txt -e ".[test,sweep,peers]"
