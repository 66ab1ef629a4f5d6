"""Shared helpers for tools/make_fixtures.py: determinism, random tensors,
file writers whose bytes do not depend on the clock."""

import contextlib
import json
import os
import time
import zipfile

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import torch  # noqa: E402


def setup_determinism():
    # One thread: CPU matmul blocking (and so the last bits of every sum)
    # can depend on the thread count; one thread makes reruns bit-identical.
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(0)


def versions():
    import safetensors
    import sae_lens
    import tokenizers
    import transformers

    return {
        "generator": "tools/make_fixtures.py",
        "torch": torch.__version__.split("+")[0],
        "transformers": transformers.__version__,
        "sae_lens": sae_lens.__version__,
        "safetensors": safetensors.__version__,
        "tokenizers": tokenizers.__version__,
        "numpy": np.__version__,
    }


def generator(seed):
    g = torch.Generator(device="cpu")
    g.manual_seed(seed)
    return g


def randn(g, shape, std):
    return torch.randn(*shape, generator=g, dtype=torch.float32) * std


def save_safetensors(path, tensors, metadata=None):
    """tensors: name -> torch tensor. Keys are written sorted (safetensors
    sorts by dtype then name itself; the dict order does not matter)."""
    from safetensors.torch import save_file

    os.makedirs(os.path.dirname(path), exist_ok=True)
    save_file({k: v.contiguous() for k, v in tensors.items()}, path, metadata=metadata)
    _sort_metadata(path)


def _sort_metadata(path):
    """safetensors keeps __metadata__ in a hash map, so its key order changes
    from run to run. Rewrite the header with the keys sorted; the header keeps
    its length (same keys, same values), so the data offsets stay valid."""
    import struct

    with open(path, "r+b") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        raw = f.read(n)
        text = raw.decode("utf-8").rstrip(" ")
        hdr = json.loads(text, object_pairs_hook=lambda kv: dict(kv))
        if "__metadata__" not in hdr:
            return
        meta = hdr.pop("__metadata__")
        text_rest = json.dumps(hdr, separators=(",", ":"), ensure_ascii=False)
        meta_text = json.dumps(dict(sorted(meta.items())), separators=(",", ":"), ensure_ascii=False)
        new = '{"__metadata__":' + meta_text + "," + text_rest[1:]
        assert len(new.encode()) == len(text.encode()), "metadata rewrite changed the header length"
        assert json.loads(new) == json.loads(text)
        f.seek(8)
        f.write(new.encode().ljust(n, b" "))


class _FixedClock:
    """Stands in for the `time` module inside zipfile while numpy writes an
    npz, so every member gets the same timestamp (1980-01-01) and reruns give
    identical bytes. numpy's own writer does everything else."""

    @staticmethod
    def time():
        return 315532800.0  # 1980-01-01T00:00:00Z, the earliest zip date

    @staticmethod
    def localtime(t=None):
        return time.gmtime(315532800)

    def __getattr__(self, name):
        return getattr(time, name)


@contextlib.contextmanager
def fixed_zip_clock():
    saved = zipfile.time
    zipfile.time = _FixedClock()
    try:
        yield
    finally:
        zipfile.time = saved


def save_npz(path, arrays, compressed):
    """Gemma Scope params.npz through numpy's own savez / savez_compressed."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with fixed_zip_clock():
        if compressed:
            np.savez_compressed(path, **arrays)
        else:
            np.savez(path, **arrays)


def write_json(path, obj, indent=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=indent)
        f.write("\n")


def f32(x):
    """A float32 value as the Python float of exactly that value (its repr is
    what the JSON fixtures hold)."""
    return float(np.float32(x))
