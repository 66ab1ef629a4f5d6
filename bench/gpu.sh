#!/usr/bin/env bash
# The saex GPU check + benchmark, in one call on the GPU machine (H200,
# CUDA 13, python3 with torch + transformers; nothing installed).
#   bash bench/gpu.sh DIR     DIR: what bench/pack_for_gpu.sh put in .device/
# Steps (logs and JSON under $OUT, default ./gpu-out; big files under $WORK,
# default /tmp/saex_gpu):
#   1. test_cuda_host: every backend op vs a host computation       (~10 s)
#   2. tiny random Gemma-2: saex (f32 and default) vs HF eager      (~40 s)
#   3. gemma-2-9b shapes, 21 random blocks (written on the GPU), 256
#      sequences of 128-768 tokens, layer 20, random 16k JumpReLU SAE,
#      top-50: HF bf16 baseline + cuBLAS roofline, then saex   (~3-5 min)
# Exits non-zero when a correctness step fails; the table is printed anyway.
set -u
PACK=$(cd "${1:?usage: bash bench/gpu.sh DIR}" && pwd)
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu-out}
WORK=${WORK:-/tmp/saex_gpu}
mkdir -p "$OUT" "$WORK"
T0=$(date +%s)
fail=0
step() { echo; echo "=== [$(( $(date +%s) - T0 )) s] $*"; }
note_fail() { echo "FAIL $*"; fail=1; }

# cuBLAS from the GPU machine: torch's bundled CUDA libraries, or a system CUDA
CUBLAS_DIR=$(python3 - <<'PY' 2>/dev/null
import glob, os, site
roots = site.getsitepackages() + ["/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib", "/usr/lib/x86_64-linux-gnu"]
for r in roots:
    hits = glob.glob(os.path.join(r, "libcublas.so.13")) + glob.glob(os.path.join(r, "nvidia", "**", "libcublas.so.13"), recursive=True)
    if hits:
        print(os.path.dirname(hits[0])); break
PY
)
[ -n "$CUBLAS_DIR" ] || echo "warning: libcublas.so.13 not found; saex will fail to start"
export SAEX_LD="$PACK/lib:$CUBLAS_DIR"
sx() { LD_LIBRARY_PATH="$SAEX_LD${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$@"; }
{
    echo "cublas: $CUBLAS_DIR"
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
    sx ldd "$PACK/gpu_driver" | grep -E 'not found|cublas|cudart|dnnl'
} 2>&1 | tee "$OUT/env.log"

step "1. GPU op test (build/tests/test_cuda_host)"
sx timeout 120 "$PACK/test_cuda_host" 2>&1 | tee "$OUT/test_cuda_host.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || note_fail "test_cuda_host"
grep -q '^SKIP' "$OUT/test_cuda_host.log" && note_fail "test_cuda_host skipped cases: no GPU seen?"

step "2. correctness vs HF transformers (tiny random Gemma-2)"
C=$WORK/check
timeout 240 python3 bench/gpu_check.py prepare --dir "$C" --device cuda > "$OUT/check_prepare.log" 2>&1 \
    || note_fail "gpu_check prepare (see check_prepare.log)"
tail -2 "$OUT/check_prepare.log"
for p in f32 default; do
    sx timeout 60 "$PACK/gpu_driver" check --model "$C/tiny" --sae "$C/sae/params.npz" --device cuda --precision $p \
        --layers 1,3 --k 32 --out "$C/saex_$p.safetensors" 2>&1 | tee "$OUT/check_saex_$p.log"
    [ "${PIPESTATUS[0]}" -eq 0 ] || note_fail "gpu_driver check $p"
done
timeout 60 python3 bench/gpu_check.py compare --dir "$C" --f32 "$C/saex_f32.safetensors" \
    --bf16 "$C/saex_default.safetensors" 2>&1 | tee "$OUT/check_compare.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || note_fail "correctness vs HF"

step "3a. random gemma-2-9b checkpoint, 21 blocks (on the GPU)"
B=$WORK/bench
timeout 300 python3 bench/make_random_ckpt.py --shape 9b --blocks 21 --out "$WORK/gemma2-9b-21" --device cuda --seed 1 \
    2>&1 | tee "$OUT/make_ckpt.log"

# peak GPU memory of a phase: nvidia-smi samples every 100 ms
mem_start() { nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 > "$OUT/mem_$1.txt" 2>/dev/null & MEMPID=$!; }
mem_stop() { kill "$MEMPID" 2>/dev/null; wait "$MEMPID" 2>/dev/null; sort -n "$OUT/mem_$1.txt" | tail -1; }

step "3b. HF transformers bf16 baseline + cuBLAS roofline"
mem_start hf
timeout 300 python3 bench/hf_gpu_baseline.py --model "$WORK/gemma2-9b-21" --work "$B" --layer 20 --samples 256 \
    --min-len 128 --max-len 768 --seed 7 --k 50 --sae-width 16384 --batch-tokens 32768 \
    --json "$OUT/hf.json" --roofline "$OUT/roofline.json" 2>&1 | grep -v 'Loading weights' | tee "$OUT/hf.log"
HF_MIB=$(mem_stop hf)

step "3c. saex (CUDA, default precision)"
mem_start saex
sx timeout 240 "$PACK/gpu_driver" bench --model "$WORK/gemma2-9b-21" --sae "$B/sae/params.npz" --tokens "$B/tokens.bin" \
    --device cuda --layer 20 --k 50 --batch-tokens 32768 --topk-out "$B/saex_topk.bin" --json "$OUT/saex.json" \
    2>&1 | tee "$OUT/saex.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || note_fail "saex benchmark"
SAEX_MIB=$(mem_stop saex)
python3 -c "import json,sys; json.dump({'hf_peak_gib': float(sys.argv[1] or 0)/1024, 'saex_peak_gib': float(sys.argv[2] or 0)/1024}, open(sys.argv[3],'w'))" \
    "${HF_MIB:-0}" "${SAEX_MIB:-0}" "$OUT/mem.json"

step "3d. results"
python3 bench/gpu_check.py overlap --work "$B" --saex "$OUT/saex.json" 2>&1 | tee -a "$OUT/saex.log"
python3 bench/gpu_check.py table --saex "$OUT/saex.json" --hf "$OUT/hf.json" --roofline "$OUT/roofline.json" \
    --mem "$OUT/mem.json" 2>&1 | tee "$OUT/table.txt"
echo
echo "gpu.sh: $(( $(date +%s) - T0 )) s; $([ $fail -eq 0 ] && echo 'all checks passed' || echo 'SOME CHECKS FAILED')"
exit $fail
