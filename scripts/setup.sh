#!/usr/bin/env bash
# Create (or reuse) the virtual environment and install spikeir with its test tools.
# torch is installed first and pinned, so pip takes the local CPU build instead of a CUDA one.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${VIRTUAL_ENV:-}" ]; then
    [ -x .venv/bin/python ] || python3 -m venv .venv
    # shellcheck disable=SC1091
    . .venv/bin/activate
fi
python -m pip install -q --disable-pip-version-check "torch==2.13.0"
python -m pip install -q --disable-pip-version-check -e ".[test]" --config-settings editable_mode=strict
