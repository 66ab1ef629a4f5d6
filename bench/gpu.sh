#!/usr/bin/env bash
# The saex GPU check + benchmark, in one call on the GPU machine (H200,
# CUDA 13, python3 with torch + transformers; nothing installed).
#   bash bench/gpu.sh DIR     DIR: what bench/pack_for_gpu.sh put in .device/
# The whole script fits in BUDGET seconds (default 540: a call of the run
# tool has 600): each step's time limit is cut to what is left. What comes
# back from $OUT (default ./gpu-out) is two files: summary.txt (the verdicts
# and the table) and gpu-logs.tar.gz (every log and JSON). Big files go to
# $WORK (default /tmp/saex_gpu).
# Steps:
#   1. the backend suite on the GPU (test_backend) and the HF-fixture model
#      test on CUDA (test_model); if either fails, the script stops there;
#   2. tiny random Gemma-2: saex (f32 and default) vs HF eager;
#   (every saex run is the shipped `saex extract`, through bench/saex_gpu.py)
#   3. gemma-2-9b shapes, 21 random blocks (written on the GPU), 256
#      sequences of 128-768 tokens, layer 20, random 16k JumpReLU SAE,
#      top-50. Tokens and SAE are made first (numpy; the SAE threshold from
#      saex's own residuals), then saex runs, then HF (bf16 baseline +
#      cuBLAS roofline): a failing HF still leaves saex's figure.
# Exits non-zero when a correctness step fails.
set -u
PACK=$(cd "${1:?usage: bash bench/gpu.sh DIR}" && pwd)
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu-out}
WORK=${WORK:-/tmp/saex_gpu}
BUDGET=${BUDGET:-540}
L=$WORK/logs
rm -rf "$L"
mkdir -p "$OUT" "$L"
T0=$(date +%s)
fail=0
SUMMARY=$L/summary.txt
: >"$SUMMARY"
say() { echo "$*" | tee -a "$SUMMARY"; }
step() { echo; echo "=== [$(( $(date +%s) - T0 )) s] $*"; }
note_fail() { say "FAIL $*"; fail=1; }
# lim SECONDS: that limit, or less when the budget has less left (10 s kept for the end)
lim() {
    local left=$(( BUDGET - ($(date +%s) - T0) - 10 ))
    [ "$left" -lt "$1" ] && echo $(( left > 1 ? left : 1 )) || echo "$1"
}
finish() {
    say "gpu.sh: $(( $(date +%s) - T0 )) s of $BUDGET; $([ $fail -eq 0 ] && echo 'all checks passed' || echo 'SOME CHECKS FAILED')"
    cp "$SUMMARY" "$OUT/summary.txt"
    tar -czf "$OUT/gpu-logs.tar.gz" -C "$WORK" logs
}
trap finish EXIT

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
[ -n "$CUBLAS_DIR" ] || say "warning: libcublas.so.13 not found; saex will fail to start"
export SAEX_LD="$PACK/lib:$CUBLAS_DIR"
sx() { LD_LIBRARY_PATH="$SAEX_LD${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$@"; }
{
    echo "cublas: $CUBLAS_DIR"
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
    sx ldd "$PACK/saex" | grep -E 'not found|cublas|cudart|dnnl'
} 2>&1 | tee "$L/env.log"

step "1. backend suite and HF-fixture model test on the GPU"
sx timeout "$(lim 45)" "$PACK/test_backend" >"$L/test_backend.log" 2>&1
rc=$?
grep -E '^(ok|FAIL|SKIP) .*\[cuda\]|^FAIL' "$L/test_backend.log" | tail -40
[ $rc -eq 0 ] || note_fail "test_backend (exit $rc)"
grep -q '^SKIP .*\[cuda\]' "$L/test_backend.log" && note_fail "test_backend skipped CUDA cases: no GPU seen?"
say "test_backend: $(grep -c '^ok .*\[cuda\]' "$L/test_backend.log") CUDA cases ok, $(grep -c '^FAIL' "$L/test_backend.log") failed"
SAEX_TEST_DEVICE=cuda sx timeout "$(lim 30)" "$PACK/test_model" >"$L/test_model.log" 2>&1
rc=$?
grep -E '^(ok|FAIL) .*\[cuda\]|^  .*(f32|bf16|sets differ)' "$L/test_model.log" | tail -30
[ $rc -eq 0 ] || note_fail "test_model on CUDA (exit $rc)"
say "test_model (CUDA): $(grep -c '^ok .*\[cuda\]' "$L/test_model.log") cases ok, $(grep -c '^FAIL' "$L/test_model.log") failed"
if [ $fail -ne 0 ]; then
    say "stopping: the op tests fail, so no figure below would mean anything. Failing cases:"
    grep -h -B4 '^FAIL' "$L/test_backend.log" "$L/test_model.log" | head -60 | tee -a "$SUMMARY"
    exit 1
fi

step "2. correctness vs HF transformers (tiny random Gemma-2)"
C=$WORK/check
timeout "$(lim 60)" python3 bench/gpu_check.py prepare --dir "$C" --device cuda >"$L/check_prepare.log" 2>&1 \
    || note_fail "gpu_check prepare (HF; see check_prepare.log)"
tail -2 "$L/check_prepare.log"
for p in f32 default; do
    sx timeout "$(lim 20)" python3 bench/saex_gpu.py check --saex "$PACK/saex" --model "$C/tiny" --sae "$C/sae/params.npz" \
        --precision $p --layers 1,3 --k 32 --out "$C/saex_$p.safetensors" >"$L/check_saex_$p.log" 2>&1 \
        || note_fail "saex extract check $p (see check_saex_$p.log)"
done
timeout "$(lim 15)" python3 bench/gpu_check.py compare --dir "$C" --f32 "$C/saex_f32.safetensors" \
    --bf16 "$C/saex_default.safetensors" 2>&1 | tee "$L/check_compare.log" | tee -a "$SUMMARY"
[ "${PIPESTATUS[0]}" -eq 0 ] || note_fail "correctness vs HF"

step "3a. random gemma-2-9b checkpoint (21 blocks, on the GPU), tokens, SAE"
M=$WORK/gemma2-9b-21
B=$WORK/bench
mkdir -p "$B"
timeout "$(lim 120)" python3 bench/make_random_ckpt.py --shape 9b --blocks 21 --out "$M" --device cuda --seed 1 \
    >"$L/make_ckpt.log" 2>&1 || note_fail "make_random_ckpt (see make_ckpt.log)"
timeout "$(lim 10)" python3 bench/gpu_check.py tokens --model "$M" --out "$B/tokens.bin" 2>&1 | tee "$L/tokens.log"
# the SAE threshold: 2.5 x the rms of saex's own layer-20 residuals
timeout "$(lim 15)" python3 bench/gpu_check.py sae --d-in 3584 --width 16384 --out "$B/sae0/params.npz" >"$L/sae.log" 2>&1
sx timeout "$(lim 35)" python3 bench/saex_gpu.py check --saex "$PACK/saex" --model "$M" --sae "$B/sae0/params.npz" \
    --layers 20 --k 1 --out "$B/calib.safetensors" >>"$L/sae.log" 2>&1 \
    || note_fail "saex extract on the 9b checkpoint (see sae.log)"
timeout "$(lim 15)" python3 bench/gpu_check.py sae --d-in 3584 --width 16384 --out "$B/sae/params.npz" \
    --calibrate "$B/calib.safetensors" --layer 20 2>&1 | tee -a "$L/sae.log"

# peak GPU memory of a phase: nvidia-smi samples every 100 ms
mem_start() { nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 >"$L/mem_$1.txt" 2>/dev/null & MEMPID=$!; }
mem_stop() { kill "$MEMPID" 2>/dev/null; wait "$MEMPID" 2>/dev/null; sort -n "$L/mem_$1.txt" | tail -1; }

step "3b. saex (CUDA, default precision)"
mem_start saex
sx timeout "$(lim 75)" python3 bench/saex_gpu.py bench --saex "$PACK/saex" --model "$M" --sae "$B/sae/params.npz" \
    --tokens "$B/tokens.bin" --layer 20 --k 50 --batch-tokens 32768 --topk-out "$B/saex_topk.bin" --json "$L/saex.json" \
    2>&1 | tee "$L/saex.log" | tee -a "$SUMMARY"
[ "${PIPESTATUS[0]}" -eq 0 ] || note_fail "saex benchmark"
SAEX_MIB=$(mem_stop saex)

step "3c. HF transformers bf16 baseline + cuBLAS roofline"
mem_start hf
timeout "$(lim 110)" python3 bench/hf_gpu_baseline.py --model "$M" --work "$B" --tokens "$B/tokens.bin" \
    --sae "$B/sae/params.npz" --layer 20 --k 50 --batch-tokens 32768 --json "$L/hf.json" --roofline "$L/roofline.json" \
    2>&1 | grep -v 'Loading weights' | tee "$L/hf.log" | tail -5
[ -f "$L/hf.json" ] || say "HF baseline: no result (see hf.log in the archive); saex's figure above stands alone"
HF_MIB=$(mem_stop hf)
python3 -c "import json,sys; json.dump({'hf_peak_gib': float(sys.argv[1] or 0)/1024, 'saex_peak_gib': float(sys.argv[2] or 0)/1024}, open(sys.argv[3],'w'))" \
    "${HF_MIB:-0}" "${SAEX_MIB:-0}" "$L/mem.json"

step "3d. results"
if [ -f "$L/saex.json" ] && [ -f "$L/hf.json" ] && [ -f "$L/roofline.json" ]; then
    timeout "$(lim 10)" python3 bench/gpu_check.py overlap --work "$B" --saex "$L/saex.json" 2>&1 | tee -a "$SUMMARY"
    python3 bench/gpu_check.py table --saex "$L/saex.json" --hf "$L/hf.json" --roofline "$L/roofline.json" \
        --mem "$L/mem.json" 2>&1 | tee -a "$SUMMARY"
else
    say "no table: saex.json $([ -f "$L/saex.json" ] && echo present || echo missing), hf.json $([ -f "$L/hf.json" ] && echo present || echo missing)"
    [ -f "$L/saex.json" ] && say "saex: $(cat "$L/saex.json")"
fi
exit $fail
