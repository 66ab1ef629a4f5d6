"""HF tokenizers on the same corpus: one text per line, single-threaded
encode, then encode_batch (all threads) for reference.
Usage: tokenizer_hf.py TOKENIZER CORPUS [REPEATS]"""
import os
import sys
import time

os.environ.setdefault("RAYON_NUM_THREADS", str(os.cpu_count()))
from tokenizers import Tokenizer  # noqa: E402

path, corpus = sys.argv[1], sys.argv[2]
repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 3
if os.path.isdir(path):
    path = os.path.join(path, "tokenizer.json")
t0 = time.perf_counter()
tok = Tokenizer.from_file(path)
t_load = time.perf_counter() - t0
data = open(corpus, "rb").read()
lines = data.decode("utf-8").split("\n")
mb = len(data) / 1e6
best, n_tok = 1e30, 0
for _ in range(repeats):
    t = time.perf_counter()
    n_tok = sum(len(tok.encode(s).ids) for s in lines)
    best = min(best, time.perf_counter() - t)
print("hf:   load %.3f s, %.2f MB in %.3f s (best of %d, single thread): %.2f MB/s, %d tokens" % (t_load, mb, best, repeats, mb / best, n_tok))
t = time.perf_counter()
n_b = sum(len(e.ids) for e in tok.encode_batch(lines))
tb = time.perf_counter() - t
print("hf:   encode_batch (%d threads): %.3f s: %.2f MB/s, %d tokens" % (os.cpu_count(), tb, mb / tb, n_b))
