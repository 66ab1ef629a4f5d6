"""setup.py — the build steps of the saex Python package (metadata: pyproject.toml).

build_ext first builds libsaex.a with the project's Makefile, then links it
statically into the extension saex._lib, with the libraries the Makefile
links (LDFLAGS + LDLIBS, read from the Makefile, not repeated here).

Environment:
  SAEX_CUDA=1 | 0   build the CUDA backend or not (unset: the Makefile decides,
                    i.e. CUDA when nvcc is on PATH)
  SAEX_JOBS=N       make -j N (default: the cores this process may use)
  SAEX_MAKE_ARGS    more make arguments, e.g. "OPT=-O2" for a build without -march=native
"""

import os
import re
import shlex
import subprocess

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))


def saex_version():
    with open(os.path.join(ROOT, "include", "saex.h"), encoding="utf-8") as f:
        return re.search(r'#define SAEX_VERSION "([^"]+)"', f.read()).group(1)


def make_env():
    """The environment for make: without the variables an enclosing make
    (`make test SAN=1`) passes down, which would turn on its sanitizers here."""
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"):
        env.pop(k, None)
    return env


def make_args():
    cuda = os.environ.get("SAEX_CUDA", "").strip()
    if cuda not in ("", "0", "1"):
        raise RuntimeError(f"SAEX_CUDA={cuda!r}: expected 0 or 1 (or unset: CUDA when nvcc is on PATH)")
    args = ["SAN=0"] + ([f"CUDA={cuda}"] if cuda else [])
    return args + shlex.split(os.environ.get("SAEX_MAKE_ARGS", ""))


def run_make(args, capture=False):
    cmd = ["make", "-C", ROOT, "--no-print-directory"] + args
    try:
        r = subprocess.run(cmd, env=make_env(), check=False, text=True,
                           stdout=subprocess.PIPE if capture else None)
    except FileNotFoundError:
        raise RuntimeError("building saex needs GNU make and a C compiler: run scripts/setup.sh") from None
    if r.returncode != 0:
        raise RuntimeError(f"`{shlex.join(cmd)}` failed (exit {r.returncode}); the packages libsaex needs "
                           "(jansson, oneDNN, OpenSSL, zlib) come from scripts/setup.sh")
    return r.stdout


def makefile_vars(args, names):
    """Values of Makefile variables, as make computes them for these arguments."""
    out = run_make(["-s", "--eval=saex-print-%: ; @echo '$($*)'"] + args
                   + [f"saex-print-{n}" for n in names], capture=True)
    lines = out.splitlines()
    if len(lines) != len(names):
        raise RuntimeError(f"could not read {names} from the Makefile (got {out!r})")
    return dict(zip(names, lines))


class BuildWithLibsaex(build_ext):
    """build_ext that builds and links libsaex first."""

    def build_extension(self, ext):
        args = make_args()
        cuda = makefile_vars(args, ["CUDA"])["CUDA"] == "1"
        # Its own build folder per CUDA setting: never mixes with `make`'s build/.
        build = os.path.join("build", "python-cuda" if cuda else "python-cpu")
        args = args + [f"CUDA={int(cuda)}", f"BUILD={build}"]
        jobs = os.environ.get("SAEX_JOBS") or str(len(os.sched_getaffinity(0)))
        lib = f"{build}/libsaex.a"
        run_make([f"-j{jobs}"] + args + [lib])
        link = makefile_vars(args, ["LDFLAGS", "LDLIBS"])
        ext.extra_objects = [os.path.join(ROOT, lib)]
        # After the archive on the command line; libsaex's own symbols stay hidden.
        ext.extra_link_args = (shlex.split(link["LDFLAGS"]) + shlex.split(link["LDLIBS"])
                               + ["-Wl,--exclude-libs,ALL"])
        ext.define_macros = [("SAEX_EXT_CUDA", "1" if cuda else "0")]
        self.force = True  # the CUDA macro and the archive are not in setuptools' dependency check
        super().build_extension(ext)


setup(
    version=saex_version(),
    ext_modules=[
        Extension(
            "saex._lib",
            sources=sorted(f"python/ext/{f}" for f in os.listdir(os.path.join(ROOT, "python", "ext"))
                           if f.endswith(".c")),
            depends=["python/ext/ext.h", "include/saex.h"],
            include_dirs=["include", "python/ext"],
            extra_compile_args=["-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter",
                                "-Wno-missing-field-initializers"],
        )
    ],
    cmdclass={"build_ext": BuildWithLibsaex},
)
