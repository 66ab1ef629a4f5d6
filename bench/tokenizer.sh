#!/usr/bin/env bash
# tokenizer.sh — saex vs HF tokenizers throughput on the same mixed
# English / Japanese corpus, in the same run.
#   bench/tokenizer.sh [TOKENIZER] [MB]
# TOKENIZER defaults to $SAEX_GEMMA2_TOKENIZER or ../shared/data/tokenizers/gemma2.
set -eu
cd "$(dirname "$0")/.."
TOK=${1:-${SAEX_GEMMA2_TOKENIZER:-../shared/data/tokenizers/gemma2/tokenizer.json}}
MB=${2:-4}
PY=${PYTHON:-.venv-ref/bin/python}
make -j2 build/libsaex.a >/dev/null
mkdir -p build/bench
cc -std=c11 -D_GNU_SOURCE -O2 -march=native -Iinclude -o build/bench/tokenizer_bench bench/tokenizer_bench.c build/libsaex.a \
   -fopenmp -ljansson -ldnnl -lz -lm
corpus=build/bench/tokenizer_corpus.txt
# A deterministic corpus: paragraphs of English and Japanese words, one per line.
python3 - "$corpus" "$MB" <<'PY'
import random, sys
sys.path.insert(0, "tools")
from gen_tokenizer_cases import rand_text
rng = random.Random(7)
out, size = [], 0
while size < float(sys.argv[2]) * 1e6:
    line = rand_text(rng, rng.randint(20, 200)).replace("\n", " ")
    out.append(line)
    size += len(line.encode()) + 1
open(sys.argv[1], "w", encoding="utf-8").write("\n".join(out))
PY
echo "corpus: $(wc -c <"$corpus") bytes, $(wc -l <"$corpus") lines (mixed English / Japanese)"
taskset -c 0 build/bench/tokenizer_bench "$TOK" "$corpus" 3 2>/dev/null || build/bench/tokenizer_bench "$TOK" "$corpus" 3
if [ -x "$PY" ]; then
    "$PY" bench/tokenizer_hf.py "$TOK" "$corpus" 3
else
    echo "hf:   skipped ($PY not found)"
fi
