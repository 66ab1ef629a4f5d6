#!/usr/bin/env bash
# rss_by_layer.sh — shows that saex reads only the blocks it runs: runs the
# same checkpoint and workload at two target layers and compares the peak
# resident memory of `saex extract` with the bytes of the blocks in between. (Weights
# are used in place from the mmap, so they become resident during the first
# batch, not at load.)
#   bench/rss_by_layer.sh [CKPT_DIR] [LOW] [HIGH]
# Defaults: the cached 2b checkpoint of bench/cpu.sh (13 blocks), layers 3 and 12.
# Needs bench/cpu.sh to have run once (checkpoint, workload, SAE, build/cpu-bench/saex).
set -euo pipefail
cd "$(dirname "$0")/.."
CKPT=${1:-bench/cache/ckpt-2b-13}
LO=${2:-3}
HI=${3:-12}
D=build/cpu-bench/saex
[ -x "$D" ] || { echo "run bench/cpu.sh first (it builds $D)"; exit 1; }
rss() { # peak RSS (KiB) of a `saex extract` run at layer $1
    python3 bench/saex_run.py run --saex "$D" --model "$CKPT" --layer "$1" --workload bench/cache/wl-2.bin \
        --sae bench/cache/sae-2b-12/params.npz --mode last --out /dev/null |
        sed -n 's/^RESULT //p' | python3 -c 'import json,sys; print(json.load(sys.stdin)["maxrss_kb"])'
}
r_lo=$(rss "$LO")
r_hi=$(rss "$HI")
# Bytes of one block, from the checkpoint's own header: every tensor of model.layers.0.
per_block=$(python3 - "$CKPT" <<'PY'
import json, struct, sys, glob, os
total = 0
for f in glob.glob(os.path.join(sys.argv[1], "*.safetensors")):
    with open(f, "rb") as fh:
        n = struct.unpack("<Q", fh.read(8))[0]
        h = json.loads(fh.read(n))
    for k, v in h.items():
        if k.startswith("model.layers.0."):
            total += v["data_offsets"][1] - v["data_offsets"][0]
print(total)
PY
)
blocks=$((HI - LO))
echo "peak RSS: layer $LO: $((r_lo / 1024)) MiB, layer $HI: $((r_hi / 1024)) MiB"
echo "difference: $(((r_hi - r_lo) / 1024)) MiB for $blocks more blocks of $((per_block / 1048576)) MiB each = $((blocks * per_block / 1048576)) MiB"
