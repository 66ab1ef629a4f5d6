#!/usr/bin/env bash
# Installs what saex needs to build and test, from Debian's packages.
#   scripts/setup.sh          build + test dependencies
#   scripts/setup.sh --ref    also the Python reference stack (tools/requirements.txt)
#                             in .venv-ref/, for regenerating fixtures and benchmarks
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=(build-essential pkg-config libjansson-dev libyajl-dev chromium libdnnl-dev zlib1g-dev libssl-dev clang libclang-rt-14-dev python3 python3-jsonschema)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
    SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
if [ "${1:-}" = "--ref" ]; then
    [ -x .venv-ref/bin/python ] || python3 -m venv .venv-ref
    .venv-ref/bin/pip install -q -r tools/requirements.txt
fi
