#!/usr/bin/env bash
# Installs what saex needs to build and test, from Debian's packages.
#   scripts/setup.sh          build + test dependencies
#   scripts/setup.sh --ref    also the Python reference stack (tools/requirements.txt)
#                             in .venv-ref/, for regenerating fixtures and benchmarks
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=(build-essential pkg-config libjansson-dev libyajl-dev libdnnl-dev zlib1g-dev libssl-dev clang libclang-rt-14-dev python3 python3-jsonschema)
pkgs+=(chromium)  # tests/e2e_report.sh checks the report page in a real browser
pkgs+=(qemu-user)  # tests/e2e_install.sh runs saex on an emulated x86-64-v3 CPU
pkgs+=(slurm-wlm munge)  # a throw-away single-node Slurm cluster for tests/e2e_slurm.sh
pkgs+=(libcurl4-openssl-dev)  # Hub downloads (src/hub)
pkgs+=(python3-dev python3-venv python3-pip git) # the Python package: its extension, tests/e2e_python.sh's venv, the clone test
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
