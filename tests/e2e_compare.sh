#!/usr/bin/env bash
# End-to-end tests of `saex compare` on outputs that the demo (examples/)
# produces here: last-token and every-token, results / list / JSON Lines
# forms, paired and unpaired, a failed variation, user fields holding NaN.
# tests/compare_oracle.py recomputes every row from the output independently
# (with SciPy, when .venv-ref has it, the p-values too); bad input must give
# a clear message and a non-zero exit.
# Prints "ok NAME" / "FAIL NAME" / "SKIP NAME" per case; exits 1 on failure.
set -u
. "$(dirname "$0")/harness.sh" e2e_compare
# refuses NAME PATTERN ARGS...: saex compare ARGS must fail with a message matching PATTERN.
refuses() {
    local name=$1 pattern=$2; shift 2
    "$SAEX" compare "$@" --out "$T/refused" >"$T/r.out" 2>"$T/r.err"
    local rc=$?
    if [ $rc -ne 0 ] && grep -qE -- "$pattern" "$T/r.err" && [ ! -e "$T/refused.csv" ]; then ok "$name"
    else fail "$name" "exit $rc, stderr: $(head -c 300 "$T/r.err")"; fi
}
ORACLE="python3 tests/compare_oracle.py"
# SAEX_E2E_SCIPY=1 (and the reference venv): two cases also check the
# p-values against SciPy (minutes: SciPy's permutation test is slow).
ORACLE_P=$ORACLE
if [ "${SAEX_E2E_SCIPY:-0}" = 1 ] && [ -x .venv-ref/bin/python ]; then
    ORACLE_P=".venv-ref/bin/python tests/compare_oracle.py --scipy"
fi

# ------------------------------------------------------------------ inputs
# 16 questions x 3 templates from the demo's questions (results form,
# question_id and language on the result); one variation fails (a token id
# outside the vocabulary), one has an empty response (it succeeds, with no
# response positions: left out of the response-* position modes).
python3 - "$T" <<'EOF'
import json, sys
T = sys.argv[1]
demo = json.load(open("examples/input.json"))
results = []
for k in range(16):
    src = demo["results"][k % len(demo["results"])]
    r = {"question_id": f"q{k:03d}", "language": src["language"], "variations": []}
    for v in src["variations"]:
        v = dict(v, prompt=v["prompt"] + f" (asked {k // len(demo['results']) + 1})")
        r["variations"].append(v)
    results.append(r)
results[3]["variations"][1]["prompt_token_ids"] = [2, 999999]   # fails: not a token id
results[5]["variations"][0]["response"] = ""          # succeeds, no response positions
doc = {"experiment": "e2e", "results": results}
with open(f"{T}/in.json", "w") as f:
    json.dump(doc, f, ensure_ascii=False, indent=1)
flat = [dict(v, question_id=r["question_id"], language=r["language"]) for r in results for v in r["variations"]]
with open(f"{T}/in_list.json", "w") as f:
    json.dump(flat, f, ensure_ascii=False)
with open(f"{T}/in.jsonl", "w") as f:
    f.writelines(json.dumps(v, ensure_ascii=False) + "\n" for v in flat)
EOF
extract() { # extract IN OUT [options]: the demo extraction; status 3 = some variations failed
    local in=$1 out=$2; shift 2
    "$SAEX" extract --input "$in" "${DEMO[@]}" --output "$out" "$@" >"$out.log" 2>&1
    local rc=$?
    [ $rc -eq 0 ] || [ $rc -eq 3 ] || { fail "extract_$(basename "$out")" "exit $rc: $(tail -3 "$out.log")"; exit 1; }
}
extract "$T/in.json" "$T/last.json" --top-k 20
extract "$T/in.json" "$T/all.json" --top-k 8 --save-all-tokens
extract "$T/in_list.json" "$T/list.json" --top-k 20
extract "$T/in.jsonl" "$T/l.jsonl" --top-k 20
# User fields may hold NaN / Infinity (Python's json.dump writes them and saex
# keeps them): the reader must get past them, also when one is cut by the end
# of its first 1 MiB chunk (leading spaces put it there).
python3 - "$T/last.json" "$T" <<'EOF'
import sys
text = open(sys.argv[1], encoding="utf-8").read()
text = text.replace('"correct": "Paris"', '"correct": "Paris", "score": NaN, "w": [-Infinity, Infinity, "NaN"]')
for name, word, cut in (("nan", "NaN", 1), ("inf", "-Infinity", 4)):
    at = text.index(word)  # the first one: after it, the chunk ends `cut` bytes into the word
    pad = (1 << 20) - cut - at
    open(f"{sys.argv[2]}/{name}.json", "w", encoding="utf-8").write(" " * pad + text)
EOF

# ------------------------------------------------------------------ tests
compare() { # compare NAME ARGS...: runs saex compare, output prefix $T/NAME
    local name=$1; shift
    "$SAEX" compare "$@" --out "$T/$name" >"$T/$name.stdout" 2>"$T/$name.stderr" \
        || { fail "$name" "exit $?: $(head -c 400 "$T/$name.stderr")"; return 1; }
}
json_has() { # json_has FILE PYTHON-EXPR (d is the document)
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2"
}

if compare unpaired "$T/last.json"; then
    check unpaired_matches_oracle $ORACLE_P "$T/last.json" "$T/unpaired.csv"
    check unpaired_is_mann_whitney json_has "$T/unpaired.json" \
        'len(d["tests"]) == 3 and all(t["test"] == "mannwhitneyu" and not t["paired"] for t in d["tests"])'
    check failed_variation_counted json_has "$T/unpaired.json" 'd["layers"][0]["failed"] == 1 and d["samples"]["total"] == 48'
    check failed_variation_reported grep -q "skipped 1 failed" "$T/unpaired.stdout"
    check terminal_table grep -qE "^ +1 +[0-9]+ +[0-9]+% ->" "$T/unpaired.stdout"
    check json_valid python3 -m json.tool "$T/unpaired.json"
    check ranked_by_adjusted_p python3 - "$T/unpaired.csv" <<'EOF'
import csv, sys, itertools
rows = list(csv.DictReader(open(sys.argv[1])))
for key, g in itertools.groupby(rows, key=lambda r: (r["layer"], r["condition_a"], r["condition_b"])):
    g = list(g)
    assert [int(r["rank"]) for r in g] == list(range(1, len(g) + 1)), key
    q = [float(r["p_adjusted"] or "inf") for r in g]
    assert q == sorted(q), key
EOF
fi

if compare paired "$T/last.json" --pair-by question_id; then
    check paired_matches_oracle $ORACLE_P "$T/last.json" "$T/paired.csv" --pair-by question_id
    compare nan "$T/nan.json" --pair-by question_id && check nan_in_user_fields cmp "$T/paired.csv" "$T/nan.csv"
    compare inf "$T/inf.json" --pair-by question_id && check infinity_in_user_fields cmp "$T/paired.csv" "$T/inf.csv"
    # q003's I_like failed: its base and I_dislike have no partner in the tests with I_like.
    check paired_left_out json_has "$T/paired.json" \
        '[(t["n_a"], t["left_out"]) for t in d["tests"]] == [(15, 1), (16, 0), (15, 1)] and d["tests"][0]["paired"]'
fi

# The same data in the three forms: question_id on the result (results form)
# or on the variation (list, JSON Lines) gives the same rows.
if compare list "$T/list.json" --pair-by question_id && compare jsonl "$T/l.jsonl" --pair-by question_id; then
    check list_form_same_rows cmp "$T/paired.csv" "$T/list.csv"
    check jsonl_form_same_rows cmp "$T/paired.csv" "$T/jsonl.csv"
    check forms_named json_has "$T/jsonl.json" 'd["form"] == "jsonl"'
fi

# "ok" (the status older saex versions wrote) reads as "success" does.
sed 's/"status": "success"/"status": "ok"/' "$T/last.json" >"$T/success.json"
if compare success "$T/success.json" --pair-by question_id; then
    check status_ok_accepted cmp "$T/paired.csv" "$T/success.csv"
fi

for p in last prompt-mean prompt-max response-mean response-max; do
    if compare "all_$p" "$T/all.json" --pair-by question_id --positions "$p"; then
        check "every_token_${p}_matches_oracle" $ORACLE "$T/all.json" "$T/all_$p.csv" --pair-by question_id --positions "$p"
    fi
done

if compare baseline "$T/last.json" --baseline I_like; then
    check baseline_tests json_has "$T/baseline.json" \
        '[(t["a"], t["b"]) for t in d["tests"]] == [("I_like", "base"), ("I_like", "I_dislike")]'
    check baseline_matches_oracle $ORACLE "$T/last.json" "$T/baseline.csv"
fi

# Another field, here one that only the results carry.
if compare language "$T/last.json" --by language; then
    check by_result_field json_has "$T/language.json" '[c["name"] for c in d["conditions"]] == ["en", "ja"]'
    check by_result_field_matches_oracle $ORACLE "$T/last.json" "$T/language.csv" --by language
fi

# Default file names beside the output; no temp file left behind.
cp "$T/last.json" "$T/dflt.json"
if "$SAEX" compare "$T/dflt.json" --top 0 >/dev/null 2>&1; then
    check default_names test -s "$T/dflt_compare_template_type.csv" -a -s "$T/dflt_compare_template_type.json"
    check no_temp_files_left sh -c "! ls -a '$T' | grep -q saex-tmp"
else fail default_names "exit $?"; fi

# ------------------------------------------------------------- bad input
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); [r.__setitem__("variations", r["variations"][:1]) for r in d["results"]]; json.dump(d, open(sys.argv[2], "w"))' \
    "$T/last.json" "$T/single.json"
head -c 5000 "$T/last.json" >"$T/truncated.json"
refuses refuses_missing_field 'no variation has a "condition" field.*fields seen: .*template_type' "$T/last.json" --by condition
refuses refuses_single_condition 'single value \("base"\)' "$T/single.json"
refuses refuses_nothing_pairs 'nothing pairs' "$T/last.json" --pair-by prompt
refuses refuses_missing_pair_field 'no variation has a "qid" field' "$T/last.json" --pair-by qid
refuses refuses_duplicate_pairs 'language "en" occurs twice in condition "base"' "$T/last.json" --pair-by language
refuses refuses_missing_layer 'has no layer_7 \(it has layer_2\)' "$T/last.json" --layer 7
refuses refuses_not_saex_output 'is not a saex output.*run saex extract' examples/input.json
refuses refuses_malformed 'truncated.json:[0-9]+:[0-9]+: not valid JSON' "$T/truncated.json"
refuses refuses_positions_on_last_token 'needs an output made with --save-all-tokens' "$T/last.json" --positions prompt-mean
refuses refuses_unknown_baseline '--baseline "neutral" is not a value of "template_type".*"I_like"' "$T/last.json" --baseline neutral
refuses refuses_too_many_conditions '"prompt" has 48 values: 1128 tests per layer.*--baseline' "$T/last.json" --by prompt
refuses refuses_missing_file 'nope.json: No such file' "$T/nope.json"
"$SAEX" compare "$T/last.json" --positions middle >/dev/null 2>"$T/usage.err"
check bad_option_is_usage_error test $? -eq 2

[ $failures -eq 0 ]
