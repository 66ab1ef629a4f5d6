#!/usr/bin/env bash
# e2e_python.sh — the saex Python package (pyproject.toml, python/): installs
# the working tree into .venv-test/ (made on first use with numpy, pytest,
# build, setuptools, wheel) and runs python/tests, one ok / FAIL / SKIP line
# per test case.
#   PYTHON=python3.12       the interpreter for the venv [python3]
#   SAEX_PY_SKIP_INSTALL=1  skip the clean-clone and wheel tests (they need PyPI)
set -u
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=.venv-test
REQS="numpy pytest build setuptools>=64 wheel"
if ! "$PY" -c 'import ensurepip, os, sysconfig; assert os.path.isfile(os.path.join(sysconfig.get_paths()["include"], "Python.h"))' 2>/dev/null; then
    echo "SKIP python: $PY without venv/ensurepip or Python.h (scripts/setup.sh installs python3-venv python3-dev)"
    exit 0
fi
if [ ! -x $VENV/bin/python ] || [ "$(cat $VENV/.reqs 2>/dev/null)" != "$REQS" ]; then
    rm -rf $VENV
    if ! { "$PY" -m venv $VENV && $VENV/bin/pip install -q --disable-pip-version-check $REQS; }; then
        echo "SKIP python: could not make $VENV with $REQS (no package index?)"
        rm -rf $VENV
        exit 0
    fi
    echo "$REQS" >$VENV/.reqs
fi
log=$(mktemp) xml=$(mktemp)
trap 'rm -f "$log" "$xml"' EXIT
# The working tree as it is; no build isolation (the venv has setuptools), so no network after the first run.
if ! $VENV/bin/pip install -q --disable-pip-version-check --no-build-isolation --no-deps --force-reinstall . >"$log" 2>&1; then
    cat "$log"
    echo "FAIL python: pip install of the working tree"
    exit 1
fi
# The tests compare with `saex extract` built exactly as the package's libsaex
# was (same folder, flags and backend): a sanitizer build's other -O level
# may round an activation differently.
pybuild=$(ls -td build/python-cpu build/python-cuda 2>/dev/null | head -1)
if [ -n "$pybuild" ]; then
    cuda=0; [ "$pybuild" = build/python-cuda ] && cuda=1
    if env -u MAKEFLAGS -u MAKELEVEL -u SAN make -s --no-print-directory -j2 SAN=0 CUDA=$cuda BUILD="$pybuild" \
            "$pybuild/saex" >"$log" 2>&1; then
        export SAEX="$PWD/$pybuild/saex"
    else
        cat "$log"; echo "FAIL python: make $pybuild/saex"; exit 1
    fi
fi
$VENV/bin/python -m pytest python/tests -q -p no:cacheprovider --junitxml="$xml" >"$log" 2>&1
rc=$?
[ $rc -ne 0 ] && cat "$log"
$VENV/bin/python - "$xml" <<'PY'
import sys
import xml.etree.ElementTree as ET
for tc in ET.parse(sys.argv[1]).iter("testcase"):
    name = f"python {tc.get('classname', '').rsplit('.', 1)[-1]}::{tc.get('name')}"
    skipped = tc.find("skipped")
    if tc.find("failure") is not None or tc.find("error") is not None:
        print(f"FAIL {name}")
    elif skipped is not None:
        print(f"SKIP {name}: {skipped.get('message', '')}")
    else:
        print(f"ok   {name}")
PY
[ $rc -eq 0 ]
