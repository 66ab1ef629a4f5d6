#!/usr/bin/env bash
# e2e_compare_store.sh — saex compare / report read a run store (OUTPUT.saex/)
# as they read the JSON output: the same CSV, JSON and page (every-token and
# last-token stores, each position mode, labels of every JSON kind), the same
# messages for bad requests, in bounded memory; a store with a shard missing,
# or moved away from its input, gets a clear message.
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
for i, r in enumerate(res):  # labels of every JSON kind: the store must spell them as the output does
    for j, v in enumerate(r["variations"]):
        v["temperature"] = [0.1, 0.30000000000000004, 1e300][(i + j) % 3]
        v["greedy"] = j % 2 == 0
        v["seed"] = [7, 12345678901234567][i % 2]
        v["run"] = "one"                                   # a single condition
json.dump({"results": res}, open(f"{T}/in.json", "w"))
flat = [dict(v, question_id=r["question_id"]) for r in res for v in r["variations"]]
json.dump(flat, open(f"{T}/list.json", "w"))
open(f"{T}/lines.jsonl", "w").write("".join(json.dumps(v) + "\n" for v in flat))
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
# same_rows NAME OUTPUT OPTIONS...: compare on OUTPUT and on OUTPUT.saex
# write the same CSV and JSON.
same_rows() {
    local name=$1 out=$2; shift 2
    "$SAEX" compare "$out" "$@" --out "$T/j_$name" --top 0 >/dev/null 2>&1
    if "$SAEX" compare "$out.saex" "$@" --out "$T/s_$name" --top 0 >"$T/s.log" 2>&1; then
        check "store_same_csv_$name" cmp "$T/j_$name.csv" "$T/s_$name.csv"
        check "store_same_json_$name" same_json "$T/j_$name.json" "$T/s_$name.json"
    else fail "store_same_csv_$name" "$(tail -3 "$T/s.log")"; fi
}
# same_report NAME OUTPUT OPTIONS...: the same page, but for its source's name
same_report() {
    local name=$1 out=$2 base; shift 2
    base=$(basename "$out" | sed 's/\./\\./g')
    "$SAEX" report "$out" "$@" -o "$T/j_$name.html" >/dev/null 2>&1
    if "$SAEX" report "$out.saex" "$@" -o "$T/s_$name.html" >"$T/r.log" 2>&1; then
        check "store_same_report_$name" cmp <(sed "s/$base\.saex/$base/g" "$T/s_$name.html") "$T/j_$name.html"
    else fail "store_same_report_$name" "$(tail -3 "$T/r.log")"; fi
}
# Every token saved: each position mode.
for p in last prompt-mean prompt-max response-mean response-max; do
    same_rows "every_$p" "$T/out.json" --pair-by question_id --positions $p
done
same_rows every_unpaired "$T/out.json" --positions response-max
same_report every "$T/out.json" --pair-by question_id
same_report every_response "$T/out.json" --positions response-mean
for by in temperature greedy seed; do same_rows "by_$by" "$T/out.json" --by $by; done

# The last prompt token only: the rows and the page; other positions refused alike.
"$SAEX" extract --input "$T/in.json" "${DEMO[@]}" --top-k 8 --output "$T/last.json" >"$T/x.log" 2>&1 ||
    fail extract_last "$(tail -3 "$T/x.log")"
same_rows last_paired "$T/last.json" --pair-by question_id
same_rows last_unpaired "$T/last.json"
same_report last "$T/last.json" --pair-by question_id

# The list and JSON Lines forms (their metadata beside the output).
for f in list.json lines.jsonl; do
    if "$SAEX" extract --input "$T/$f" "${DEMO[@]}" --top-k 8 --save-all-tokens --output "$T/o_$f" >"$T/x.log" 2>&1; then
        same_rows "form_$f" "$T/o_$f" --pair-by question_id --positions prompt-mean
        same_rows "form_${f}_by_temperature" "$T/o_$f" --by temperature
        same_report "form_$f" "$T/o_$f"
    else fail "extract_$f" "$(tail -3 "$T/x.log")"; fi
done

# Bad requests get the message they get on the JSON output, naming the store.
same_error() { # same_error NAME OUTPUT OPTIONS...
    local name=$1 out=$2; shift 2
    "$SAEX" compare "$out" "$@" --top 0 --out "$T/e" >/dev/null 2>"$T/ej.log"
    local rj=$?
    "$SAEX" compare "$out.saex" "$@" --top 0 --out "$T/e" >/dev/null 2>"$T/es.log"
    local rs=$?
    if [ $rj -ne 1 ] || [ $rs -ne 1 ]; then fail "store_refuses_$name" "exit $rj (JSON), $rs (store)"
    else check "store_refuses_$name" cmp <(sed "s|$out\.saex|$out|g" "$T/es.log") "$T/ej.log"; fi
}
same_error no_group_field "$T/last.json" --by nosuch
same_error no_pair_field "$T/last.json" --pair-by nosuch
same_error single_condition "$T/last.json" --by run
same_error nothing_pairs "$T/last.json" --by prompt --pair-by question_id
same_error missing_layer "$T/last.json" --layer 5
same_error unknown_baseline "$T/last.json" --baseline nosuch
same_error positions_on_last_token "$T/last.json" --positions prompt-mean
"$SAEX" compare "$T/out.json.saex" --top 0 >/dev/null 2>&1
check store_default_names test -f "$T/out_compare_template_type.csv"

# Moved away from its input: --input gives it; a wrong file is refused.
mkdir "$T/moved" && mv "$T/out.json.saex" "$T/moved/" && mv "$T/in.json" "$T/moved/"
if "$SAEX" compare "$T/moved/out.json.saex" --top 0 >/dev/null 2>"$T/e.log"; then fail store_input_missing "exit 0"
else check store_input_missing grep -q "in.json.*give --input" "$T/e.log"; fi
"$SAEX" compare "$T/moved/out.json.saex" --input "$T/moved/in.json" --pair-by question_id --out "$T/m" --top 0 \
    >/dev/null 2>&1
check store_input_option cmp "$T/m.csv" "$T/j_every_last.csv"
if "$SAEX" compare "$T/moved/out.json.saex" --input examples/input.json --top 0 >/dev/null 2>"$T/e.log"; then
    fail store_other_input_refused "exit 0"
else check store_other_input_refused grep -qE "another input|a document of" "$T/e.log"; fi
if "$SAEX" compare "$T/j_every_last.json" --input examples/input.json --top 0 >/dev/null 2>"$T/e.log"; then
    fail store_input_for_a_file_refused "exit 0"
else check store_input_for_a_file_refused grep -q "is for a run store" "$T/e.log"; fi

# A shard missing: refused, naming it.
"$SAEX" extract --input "$T/moved/in.json" "${DEMO[@]}" --top-k 8 --batch-tokens 256 --output "$T/sh.json" \
    --shard 0/2 >/dev/null 2>&1
if "$SAEX" compare "$T/sh.json.saex" --top 0 >/dev/null 2>"$T/e.log"; then fail store_missing_shard "exit 0"
else check store_missing_shard grep -q "shard 1 of 2" "$T/e.log"; fi

# Memory: compare and report over a store of every token (top 50) and one 4x
# bigger. The input document is held (jansson), so allow for it and nothing
# more. Under AddressSanitizer (SAEX_SAN=1, or a binary built with it) its
# shadow memory and quarantine would be measured instead: skipped.
if [ "${SAEX_SAN:-0}" = 1 ] || grep -q __asan_init "$SAEX" 2>/dev/null; then
    skip store_memory_bounded "AddressSanitizer build: peak RSS is no measure of saex's"
    exit $((failures > 0))
fi
store_for() { # store_for INPUT: extract every token of INPUT; its store alone is left
    "$SAEX" extract --input "$1" "${DEMO[@]}" --top-k 50 --save-all-tokens --output "$1.out.json" >/dev/null 2>&1 &&
        rm -f "$1.out.json"
}
peak() { # peak RSS (KiB) of: saex ARGS...
    python3 - "$SAEX" "$@" <<'EOF2'
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, capture_output=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
EOF2
}
if store_for "$T/mem1.json" && store_for "$T/mem4.json"; then
    in1=$(stat -c %s "$T/mem1.json") in4=$(stat -c %s "$T/mem4.json")
    s1=$(du -sk "$T/mem1.json.out.json.saex" | cut -f1) s4=$(du -sk "$T/mem4.json.out.json.saex" | cut -f1)
    allow=$(( (in4 - in1) * 20 / 1024 + 4096 ))  # KiB: the bigger input document, parsed
    for cmd in compare report; do
        out=(--out "$T/mem.cmp" --top 0)
        [ $cmd = report ] && out=(-o "$T/mem.html")
        m1=$(peak "$cmd" "$T/mem1.json.out.json.saex" --input "$T/mem1.json" --positions response-mean "${out[@]}")
        m4=$(peak "$cmd" "$T/mem4.json.out.json.saex" --input "$T/mem4.json" --positions response-mean "${out[@]}")
        if [ -n "$m1" ] && [ -n "$m4" ] && [ $((m4 - m1)) -lt $allow ]; then ok "store_memory_bounded_$cmd"
        else fail "store_memory_bounded_$cmd" "peak ${m1:-?} KiB -> ${m4:-?} KiB, allowed growth $allow KiB"; fi
        echo "    $cmd peak RSS ${m1:-?} KiB (store $s1 KiB) -> ${m4:-?} KiB (store $s4 KiB)"
    done
else fail store_memory_bounded "saex extract failed"; fi
exit $((failures > 0))
