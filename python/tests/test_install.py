"""The package installs from a clean clone with the README's command into a
fresh venv, and `python -m build` makes an sdist and a wheel that installs
and imports. Both start from `git clone` of this checkout, so they test its
last commit. They need the package index (PyPI) for numpy and setuptools:
without it they are skipped. SAEX_PY_SKIP_INSTALL=1 skips them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import venv
from pathlib import Path

import pytest

from conftest import EXAMPLES, FIXTURES, ROOT

pytestmark = pytest.mark.skipif(os.environ.get("SAEX_PY_SKIP_INSTALL") == "1", reason="SAEX_PY_SKIP_INSTALL=1")

# What a user does first: open a tokenizer and an SAE and use them.
SMOKE = f"""
import numpy as np, saex, sys
assert "site-packages" in saex.__file__, saex.__file__
tok = saex.Tokenizer({str(EXAMPLES / "model")!r})
assert tok.decode(tok.encode("Hello world"), skip_special=True) == "Hello world"
with saex.SAE({str(FIXTURES / "tiny_a/sae_l2")!r}) as sae:
    act = sae.encode(np.ones((3, sae.d_in), np.float32))
print("smoke ok", saex.__version__, act.shape)
"""

ENV = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONDONTWRITEBYTECODE="1")


def _run(cmd, cwd=None):
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env=ENV, capture_output=True, text=True)


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """A clean clone of this checkout's last commit."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout (or no git): nothing to clone")
    dest = tmp_path_factory.mktemp("install") / "clone"
    r = _run(["git", "clone", "-q", ROOT, dest])
    assert r.returncode == 0, r.stderr
    return dest


@pytest.fixture(scope="module")
def fresh_venv(clone) -> Path:
    """A new venv with numpy only (shared by both tests: each installs saex over the other's)."""
    d = clone.parent / "venv"
    venv.create(d, with_pip=True)
    r = _run([d / "bin/pip", "install", "-q", "numpy"])
    if r.returncode != 0:
        pytest.skip(f"cannot install numpy into a fresh venv (no package index?): {r.stderr.strip()[-300:]}")
    return d


def _smoke(env_dir, cwd):
    r = _run([env_dir / "bin/python", "-c", SMOKE], cwd=cwd)
    assert r.returncode == 0 and "smoke ok" in r.stdout, r.stdout + r.stderr


def test_clean_clone_installs_with_the_readme_command(clone, fresh_venv):
    r = _run([fresh_venv / "bin/pip", "install", "."], cwd=clone)  # python/README.md: `pip install .`
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    _smoke(fresh_venv, clone.parent)
    # numpy is the only dependency it brought (pip and setuptools come with every venv)
    r = _run([fresh_venv / "bin/pip", "list", "--format=freeze"])
    names = {line.split("==")[0].lower() for line in r.stdout.split()} - {"pip", "setuptools"}
    assert names == {"numpy", "saex"}, names


def test_python_m_build_makes_a_wheel_that_installs(clone, fresh_venv):
    pytest.importorskip("build")
    dist = clone.parent / "dist"
    r = _run([sys.executable, "-m", "build", "--outdir", dist, clone])
    if r.returncode != 0 and "Could not find a version" in r.stdout + r.stderr:
        pytest.skip("no package index for the isolated build environment")
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    wheels, sdists = list(dist.glob("saex-*.whl")), list(dist.glob("saex-*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, list(dist.iterdir())
    with tarfile.open(sdists[0]) as t:
        names = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
    for need in ("Makefile", "include/saex.h", "src/sae.c", "src/backend/cpu.c", "python/ext/module.c",
                 "python/saex/__init__.py", "setup.py", "pyproject.toml"):
        assert need in names, need
    r = _run([fresh_venv / "bin/pip", "install", "--force-reinstall", "--no-deps", wheels[0]])
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    _smoke(fresh_venv, clone.parent)
