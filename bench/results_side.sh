#!/usr/bin/env bash
# results_side.sh — the results side of `saex extract` at scale (issue 13):
# the demo model over 1,000 / 2,000 / 4,000 variations of ~86 tokens with
# --save-all-tokens --top-k 50 (and top-k 10 and 1 at 4,000), each a fresh
# run. Per run, from saex's own timing lines: the model side (tokens/s), the
# run store (positions/s), the JSON output (positions/s, MB), the whole run,
# and the peak RSS, so that one sees whether memory grows with the dataset;
# then the same JSON assembled from the run store into /dev/null (`saex
# merge --output -`), the output's CPU cost without the disk.
# A CPU-only build (make CUDA=0) is measured too: the CUDA libraries alone
# cost memory at start.
#   bench/results_side.sh            writes bench/results/results_side-DATE.txt
#   SIZES="1000 4000" bench/results_side.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-"1000 2000 4000"}
T=$(mktemp -d "${TMPDIR:-/tmp}/saex_results_side.XXXXXX")
trap 'rm -rf "$T"' EXIT
make -s -j2 build/saex
builds="build/saex"
if command -v nvcc >/dev/null; then
    make -s -j2 CUDA=0 BUILD=build/cpu-only build/cpu-only/saex
    builds="build/saex build/cpu-only/saex"
fi
out=bench/results/results_side-$(date +%Y-%m-%d).txt
mkdir -p bench/results

# ~86 tokens per variation: the demo's questions, a longer response, numbered.
python3 bench/make_results_workload.py "$T" $SIZES

run() { # run BINARY N K: one line of figures
    local bin=$1 n=$2 k=$3 o=$T/out.json
    rm -rf "$o" "$o.saex"
    python3 - "$bin" "$T/in$n.json" "$o" "$k" "$T/log" <<'PY'
import resource, subprocess, sys, time
bin, inp, out, k, log = sys.argv[1:]
t = time.perf_counter()
with open(log, "w") as f:
    subprocess.run([bin, "extract", "--input", inp, "--output", out, "--model", "examples/model", "--sae",
                    "examples/sae", "--target-layer", "2", "--top-k", k, "--save-all-tokens", "--device", "cpu"],
                   check=True, stdout=subprocess.DEVNULL, stderr=f)
secs, rss = time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
# The same JSON assembled again from the run store into /dev/null: the CPU
# side of the output, without this machine's disk (whose page cache takes
# ~75-90 MB/s here, which is what bounds the output of a large run).
t = time.perf_counter()
subprocess.run([bin, "merge", out + ".saex", "--output", "-"], check=True, stdout=subprocess.DEVNULL,
               stderr=subprocess.DEVNULL)
print(secs, rss, time.perf_counter() - t)
PY
}

{
    echo "# saex extract --save-all-tokens, demo model (examples/), $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "# machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
    printf "%-22s %6s %3s %8s %10s %10s %12s %12s %9s %14s %8s %9s\n" build variations k tokens "model tok/s" \
        "store pos/s" "JSON pos/s" "JSON MB/s" "JSON MB" "->null pos/s" "total s" "peak MiB"
    for bin in $builds; do
        for n in $SIZES; do
            for k in 50 $([ "$n" = "${SIZES##* }" ] && echo 10 1); do
                read -r secs rss null < <(run "$bin" "$n" "$k")
                python3 - "$bin" "$n" "$k" "$secs" "$rss" "$null" "$T/log" <<'PY'
import re, sys
bin, n, k, secs, rss, null, log = sys.argv[1:]
text = open(log).read()
tok, tok_s = re.search(r"extracted \d+ samples, (\d+) tokens in [\d.]+ s \([\d.]+ samples/s, (\d+) tok/s\)", text).groups()
pos, store_s = re.search(r"timing: model \+ SAE [\d.]+ s, (\d+) positions kept in ([\d.]+) s", text).groups()
json_s, mb = re.search(r"timing: wrote .* in ([\d.]+) s \(([\d.]+) MB\)", text).groups()
pos = int(pos)
print(f"{bin:22s} {n:>6s} {k:>3s} {tok:>8s} {tok_s:>10s} {pos / max(float(store_s), 1e-3):10.0f} "
      f"{pos / float(json_s):12.0f} {float(mb) / float(json_s):12.0f} {float(mb):9.1f} "
      f"{pos / float(null):14.0f} {float(secs):8.2f} "
      f"{int(rss) / 1024:9.0f}")
PY
            done
        done
    done
} | tee "$out"
echo "results_side.sh: wrote $out" >&2
