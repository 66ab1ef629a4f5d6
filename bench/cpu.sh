#!/usr/bin/env bash
# cpu.sh — `saex extract` (the shipped binary, through bench/saex_run.py) vs
# the best HF transformers CPU pipeline, plus the oneDNN matmul bound (see
# bench/README.md). Run from anywhere; takes long (minutes
# per point and side) and loads ~10 GB for the 9b point.
#
#   bench/cpu.sh                       both points, 16 samples, last + all modes
#   POINTS=2b N=8 MODES=last bench/cpu.sh
#
# Environment: POINTS ("2b 9b"), N (samples, 16), MODES ("last all"),
# K (top-k, 32), BATCH_TOKENS (4096), THREADS (nproc), PY (the reference venv
# python), SKIP_HF=1 (saex + bound only), MIN_AVAIL_GIB_9B (14).
set -euo pipefail
cd "$(dirname "$0")/.."

POINTS=${POINTS:-"2b 9b"}
N=${N:-16}
MODES=${MODES:-"last all"}
K=${K:-32}
BATCH_TOKENS=${BATCH_TOKENS:-4096}
THREADS=${THREADS:-$(nproc)}
PY=${PY:-.venv-ref/bin/python}
MIN_AVAIL_GIB_9B=${MIN_AVAIL_GIB_9B:-14}
B=build/cpu-bench
C=bench/cache
RUN=$C/run-$(date +%Y%m%d-%H%M%S)
mkdir -p "$B" "$C" "$RUN" bench/results

# ---- build: the saex that ships (CPU only, its own build dir, so a broken full `make` does not stop it)
make -s CUDA=0 BUILD=$B -j2 $B/saex
cc -std=c11 -D_GNU_SOURCE -O2 -march=native -g -Wall -Wextra -fopenmp -Iinclude \
   bench/matmul_bound.c -o $B/matmul_bound -fopenmp -ljansson -ldnnl -lm
# saex_run.py: the workload's ids through `saex extract` (given ids), RESULT line + top-k file
SX=(bench/saex_run.py --saex $B/saex)

result() { grep '^RESULT ' "$1" | tail -1 | cut -d' ' -f2-; }

WL=$C/wl-$N.bin
[ -f "$WL" ] || "$PY" bench/make_workload.py workload --n "$N" --seed 0 --out "$WL"

ROWS=$RUN/rows.jsonl
: >"$ROWS"
for point in $POINTS; do
    case $point in
        2b) shape=2b layer=12 d=2304 ;;
        9b) shape=9b layer=20 d=3584 ;;
        *) echo "cpu.sh: unknown point $point (2b or 9b)" >&2; exit 2 ;;
    esac
    ckpt=$C/ckpt-$shape-$((layer + 1))
    "$PY" bench/make_random_ckpt.py --shape $shape --blocks $((layer + 1)) --out "$ckpt" --seed 0
    if [ "$point" = 9b ]; then
        avail=$(awk '/MemAvailable/ {print int($2 / 1048576)}' /proc/meminfo)
        if [ "$avail" -lt "$MIN_AVAIL_GIB_9B" ]; then
            echo "cpu.sh: skipping 9b: only $avail GiB available (need $MIN_AVAIL_GIB_9B)" >&2
            continue
        fi
    fi
    sae=$C/sae-$shape-$layer/params.npz
    if [ ! -f "$sae" ]; then
        # residuals of the first samples, read with an uncalibrated SAE, calibrate the real one
        "$PY" bench/make_workload.py sae --d-in $d --out $C/sae0-$shape/params.npz
        "$PY" "${SX[@]}" dump --model "$ckpt" --layer $layer --workload "$WL" --sae $C/sae0-$shape/params.npz \
            --threads $THREADS --seqs "${DUMP_SEQS:-2}" --out $C/resid-$shape-$layer.f32
        "$PY" bench/make_workload.py sae --d-in $d --calib $C/resid-$shape-$layer.f32 --out "$sae"
    fi
    for mode in $MODES; do
        tag=$point-$mode
        echo "cpu.sh: $tag: saex" >&2
        "$PY" "${SX[@]}" run --model "$ckpt" --layer $layer --workload "$WL" --sae "$sae" --mode $mode --k $K \
            --batch-tokens $BATCH_TOKENS --threads $THREADS --out $RUN/saex-$tag.txt >$RUN/saex-$tag.log
        s=$(result $RUN/saex-$tag.log)
        h=null a=null
        if [ "${SKIP_HF:-0}" != 1 ]; then
            echo "cpu.sh: $tag: hf" >&2
            "$PY" bench/hf_cpu_baseline.py --model "$ckpt" --layer $layer --workload "$WL" --sae "$sae" --mode $mode \
                --k $K --batch-tokens $BATCH_TOKENS --threads $THREADS --out $RUN/hf-$tag.txt >$RUN/hf-$tag.log
            h=$(result $RUN/hf-$tag.log)
            a=$(python3 bench/compare_topk.py $RUN/saex-$tag.txt $RUN/hf-$tag.txt --workload "$WL" | cut -d' ' -f2-)
        fi
        m=$(python3 -c 'import json,sys; print(round(json.loads(sys.argv[1])["mean_batch_tokens"]))' "$s")
        $B/matmul_bound --model "$ckpt" --layer $layer --m "$m" --threads $THREADS >$RUN/bound-$tag.log
        echo "{\"model\": \"gemma-2-$point L$layer\", \"saex\": $s, \"hf\": $h, \"agree\": $a, \"bound\": $(result $RUN/bound-$tag.log)}" >>"$ROWS"
    done
done

OUT=bench/results/cpu-$(date +%Y-%m-%d).md
python3 - "$ROWS" "$OUT" "$N" <<'EOF'
import json, platform, subprocess, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
cpu = subprocess.run(["sh", "-c", "lscpu | sed -n 's/^Model name: *//p'"], capture_output=True, text=True).stdout.strip()
gib = lambda kb: f"{kb / 2**20:.2f} GiB"
lines = [f"# saex CPU benchmark ({cpu}, {rows[0]['saex']['threads'] if rows else '?'} threads, {sys.argv[3]} samples)", "",
         "| model | mode | tokens | saex tok/s | HF tok/s | ratio | matmul-bound tok/s | saex % of bound | "
         "saex peak RSS | HF peak RSS | weight bytes | RSS/weights | top-k overlap (last prompt tok) |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
for r in rows:
    s, h, a, b = r["saex"], r["hf"], r["agree"], r["bound"]
    hf_tok = f"{h['tok_s']:.2f}" if h else "-"
    agree = f"{a['overlap_last_mean']:.3f} (min {a['overlap_last_min']:.2f})" if a else "-"
    ratio = f"{s['tok_s'] / h['tok_s']:.2f}x" if h else "-"
    lines.append(f"| {r['model']} | {s['mode']} | {s['tokens']} | {s['tok_s']:.2f} | {hf_tok} | {ratio} | "
                 f"{b['tok_s']:.2f} | {100 * s['tok_s'] / b['tok_s']:.0f}% | {gib(s['maxrss_kb'])} | "
                 f"{gib(h['maxrss_kb']) if h else '-'} | {s['weight_bytes'] / 2**30:.2f} GiB | "
                 f"{s['maxrss_kb'] * 1024 / s['weight_bytes']:.2f} | {agree} |")
lines += ["", "Targets: saex >= 1.5x HF; >= 60% of the matmul bound; peak RSS <= 1.15 x weight bytes; overlap >= 0.9.", ""]
for r in rows:
    s, h, a, b = r["saex"], r["hf"], r["agree"], r["bound"]
    ok = lambda c: "met" if c else "NOT met"
    t = [f"- {r['model']} {s['mode']}:"]
    if h: t.append(f"ratio {ok(s['tok_s'] >= 1.5 * h['tok_s'])};")
    t.append(f"bound {ok(s['tok_s'] >= 0.6 * b['tok_s'])};")
    t.append(f"RSS {ok(s['maxrss_kb'] * 1024 <= 1.15 * s['weight_bytes'])};")
    if a: t.append(f"agreement {ok(a['overlap_last_mean'] >= 0.9)}.")
    t.append(f"saex load {s['load_s']:.1f} s, model + SAE {s['forward_s']:.1f} s, {s['batches']} batches; "
             f"bound {b['gflops']:.0f} GFLOP/s at M={b['m']}, {b['gflop_per_token']:.2f} GFLOP/token"
             + (f"; HF load {h['load_s']:.1f} s, {h['padded_tokens']} padded tokens, attn {h['attn']}" if h else ""))
    lines.append(" ".join(t))
open(sys.argv[2], "a").write("\n".join(lines) + "\n\n")
print("\n".join(lines))
EOF
echo "cpu.sh: table appended to $OUT; logs in $RUN" >&2
