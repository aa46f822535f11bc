#!/usr/bin/env bash
# Prints the uv command to use, installing uv from PyPI when the machine has none.
set -euo pipefail
if command -v uv >/dev/null 2>&1; then command -v uv; exit 0; fi
if python3 -m uv --version >/dev/null 2>&1; then echo "python3 -m uv"; exit 0; fi
echo "ensure-uv: installing uv from PyPI" >&2
python3 -m pip install --quiet "uv==0.13.9" >&2
if command -v uv >/dev/null 2>&1; then command -v uv; else echo "python3 -m uv"; fi
