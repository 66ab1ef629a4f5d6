"""Writes tests/fixtures/npz/{savez,savez_compressed}.npz with real numpy, so
tests/test_npz.c checks the reader against numpy's own zip/npy output.

Run from the repo root with the reference venv:
    .venv-ref/bin/python tools/make_npz_fixtures.py
The arrays are formulas that tests/test_npz.c recomputes; keep them in sync.
"""
import os

import numpy as np

OUT = os.path.join("tests", "fixtures", "npz")


def arrays():
    return {
        "W_enc": ((np.arange(48).reshape(6, 8) - 20) / 16).astype(np.float32),
        "b_enc": np.linspace(-1, 1, 8).astype(np.float32),
        "threshold": np.arange(8) * 0.1,  # float64: the reader narrows it
        "scalar": np.float32(3.5),
        "empty": np.zeros((0, 4), np.float32),
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    np.savez(os.path.join(OUT, "savez.npz"), **arrays())
    np.savez_compressed(os.path.join(OUT, "savez_compressed.npz"), **arrays())
    # Sanity: numpy reads back what it wrote.
    for name in ("savez.npz", "savez_compressed.npz"):
        with np.load(os.path.join(OUT, name)) as f:
            assert sorted(f.files) == sorted(arrays()), f.files


if __name__ == "__main__":
    main()
