#!/usr/bin/env bash
# pyright over the sources. pyright cannot follow setuptools' editable-install finder, and in a checkout
# the dialects/, passes/, tools/ and benchmarks/ folders are not inside spikeir/: build/typecheck/ holds
# the installed package's shape as symlinks (pyproject's package-dir), and pyproject's
# [tool.pyright] extraPaths points there.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${1:-$(command -v python)}
farm=build/typecheck/spikeir
rm -rf build/typecheck
mkdir -p "$farm"
for entry in spikeir/*; do ln -s "../../../$entry" "$farm/$(basename "$entry")"; done
"$python" - <<'PY' | while read -r name folder; do ln -s "../../../$folder" "$farm/$name"; done
import tomllib
for name, folder in tomllib.load(open("pyproject.toml", "rb"))["tool"]["setuptools"]["package-dir"].items():
    if name.startswith("spikeir."):
        print(name.removeprefix("spikeir."), folder)
PY
exec "$(dirname "$python")/pyright" --project pyproject.toml --pythonpath "$python"
