#!/usr/bin/env bash
# e2e_compare_store.sh — saex compare / report read a run store (OUTPUT.saex/)
# as they read the JSON output: the same rows and the same page, in bounded
# memory; a store with a shard missing, or moved away from its input, gets a
# clear message.
. "$(dirname "$0")/harness.sh" compare_store

python3 - "$T" <<'EOF2'
import json, sys
T = sys.argv[1]
d = json.load(open("examples/input.json"))
res = []
for k in range(6):
    for r in d["results"]:
        res.append(dict(r, question_id=f"q{k}_{r.get('question_id', '')}",
                        variations=[dict(v, prompt=v["prompt"] + f" ({k})") for v in r["variations"]]))
res[1]["variations"][0]["prompt_token_ids"] = [2, 999999]   # fails
res[2]["variations"][1]["response"] = ""                    # no response positions
json.dump({"results": res}, open(f"{T}/in.json", "w"))
for n in (1, 4):
    json.dump({"results": res * 6 * n}, open(f"{T}/mem{n}.json", "w"))
EOF2
if ! "$SAEX" extract --input "$T/in.json" "${DEMO[@]}" --top-k 8 --save-all-tokens --output "$T/out.json" >"$T/x.log" 2>&1; then
    fail extract "$(tail -3 "$T/x.log")"; exit 1
fi
# The JSON written by compare names its source ("input"): the rest must agree.
same_json() { python3 - "$1" "$2" <<'EOF2'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
a.pop("input", None), b.pop("input", None)
sys.exit(a != b)
EOF2
}
for p in last prompt-max response-mean; do
    "$SAEX" compare "$T/out.json" --pair-by question_id --positions $p --out "$T/j_$p" --top 0 >/dev/null 2>&1
    if "$SAEX" compare "$T/out.json.saex" --pair-by question_id --positions $p --out "$T/s_$p" --top 0 >"$T/s.log" 2>&1; then
        check "store_same_csv_$p" cmp "$T/j_$p.csv" "$T/s_$p.csv"
        check "store_same_json_$p" same_json "$T/j_$p.json" "$T/s_$p.json"
    else fail "store_same_csv_$p" "$(tail -3 "$T/s.log")"; fi
done
"$SAEX" report "$T/out.json" --pair-by question_id -o "$T/j.html" >/dev/null 2>&1
if "$SAEX" report "$T/out.json.saex" --pair-by question_id -o "$T/s.html" >"$T/r.log" 2>&1; then
    check store_same_report cmp <(sed 's/out\.json\.saex/out.json/g' "$T/s.html") "$T/j.html"
else fail store_same_report "$(tail -3 "$T/r.log")"; fi
"$SAEX" compare "$T/out.json.saex" --top 0 >/dev/null 2>&1
check store_default_names test -f "$T/out_compare_template_type.csv"

# Moved away from its input: --input gives it; a wrong file is refused.
mkdir "$T/moved" && mv "$T/out.json.saex" "$T/moved/" && mv "$T/in.json" "$T/moved/"
if "$SAEX" compare "$T/moved/out.json.saex" --top 0 >/dev/null 2>"$T/e.log"; then fail store_input_missing "exit 0"
else check store_input_missing grep -q "in.json" "$T/e.log"; fi
"$SAEX" compare "$T/moved/out.json.saex" --input "$T/moved/in.json" --pair-by question_id --out "$T/m" --top 0 \
    >/dev/null 2>&1
check store_input_option cmp "$T/m.csv" "$T/j_last.csv"
if "$SAEX" compare "$T/moved/out.json.saex" --input examples/input.json --top 0 >/dev/null 2>"$T/e.log"; then
    fail store_other_input_refused "exit 0"
else check store_other_input_refused grep -qE "another input|a document of" "$T/e.log"; fi
if "$SAEX" compare "$T/j_last.json" --input examples/input.json --top 0 >/dev/null 2>"$T/e.log"; then
    fail store_input_for_a_file_refused "exit 0"
else check store_input_for_a_file_refused grep -q "is for a run store" "$T/e.log"; fi

# A shard missing: refused, naming it.
"$SAEX" extract --input "$T/moved/in.json" "${DEMO[@]}" --top-k 8 --batch-tokens 256 --output "$T/sh.json" \
    --shard 0/2 >/dev/null 2>&1
if "$SAEX" compare "$T/sh.json.saex" --top 0 >/dev/null 2>"$T/e.log"; then fail store_missing_shard "exit 0"
else check store_missing_shard grep -q "shard 1 of 2" "$T/e.log"; fi

# Memory: compare over a store of every token (top 50) and one 4x bigger.
# The input document is held (jansson), so allow for it and nothing more.
peak() { # peak RSS (KiB) of saex compare over the store of $1
    "$SAEX" extract --input "$1" "${DEMO[@]}" --top-k 50 --save-all-tokens --output "$1.out.json" >/dev/null 2>&1 || return 1
    rm -f "$1.out.json"  # compare reads the store alone
    python3 - "$SAEX" "$1.out.json.saex" "$1" <<'EOF2'
import os, resource, subprocess, sys
env = dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=0")
subprocess.run([sys.argv[1], "compare", sys.argv[2], "--input", sys.argv[3], "--positions", "response-mean",
                "--out", sys.argv[3] + ".cmp", "--top", "0"], check=True, capture_output=True, env=env)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
EOF2
}
m1=$(peak "$T/mem1.json") && m4=$(peak "$T/mem4.json")
s1=$(du -sk "$T/mem1.json.out.json.saex" | cut -f1) s4=$(du -sk "$T/mem4.json.out.json.saex" | cut -f1)
in1=$(stat -c %s "$T/mem1.json") in4=$(stat -c %s "$T/mem4.json")
if [ -n "${m1:-}" ] && [ -n "${m4:-}" ] && [ $((m4 - m1)) -lt $(( (in4 - in1) * 20 / 1024 + 4096 )) ]; then
    ok store_memory_bounded
else fail store_memory_bounded "peak ${m1:-?} KiB -> ${m4:-?} KiB for stores of $s1 -> $s4 KiB"; fi
echo "    compare peak RSS ${m1:-?} KiB (store $s1 KiB) -> ${m4:-?} KiB (store $s4 KiB)"
exit $((failures > 0))
