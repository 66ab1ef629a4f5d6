#!/usr/bin/env bash
# End-to-end tests of the edges a user of the Python tool meets (issue 9):
# NaN / Infinity / BOM inputs, bad token ids, signals and broken pipes,
# never overwriting an unnamed file, --verbose, stdin / stdout, messages
# that help (did you mean, Hub ids), the chat template's trimming, metadata
# of chained list / JSON Lines runs.
# Prints "ok NAME" / "FAIL NAME" / "SKIP NAME" per case; exits 1 on failure.
set -u
cd "$(dirname "$0")/.."
SAEX=${SAEX:-build/saex}
T=$(mktemp -d "${TMPDIR:-/tmp}/saex_edges.XXXXXX")
trap 'jobs -p | xargs -r kill -9 2>/dev/null; rm -rf "$T"' EXIT
DEMO=(--model examples/model --sae examples/sae --target-layer 2)
failures=0
ok() { echo "ok $1"; }
fail() { echo "FAIL $1${2:+: $2}"; failures=$((failures + 1)); }
check() { # check NAME COMMAND...: ok when the command succeeds
    local name=$1; shift
    if "$@" >"$T/check.log" 2>&1; then ok "$name"; else fail "$name"; sed 's/^/    /' "$T/check.log" | head -20; fi
}
no_temp() { [ -z "$(find "$1" -name '*saex-tmp*')" ]; }

if [ ! -x "$SAEX" ]; then fail binary "$SAEX not built"; exit 1; fi

# ------------------------------------------------------------ what Python's json.dump writes
python3 - "$T/nan.json" <<'EOF'
import json, sys
d = json.load(open("examples/input.json"))
d["results"][0]["variations"][0]["score"] = float("nan")
d["results"][0]["variations"][1]["bounds"] = [float("-inf"), float("inf"), 0.5]
d["results"][1]["confidence"] = float("nan")
json.dump(d, open(sys.argv[1], "w"), indent=2)   # bare NaN, Infinity, -Infinity, as Python writes them
EOF
if "$SAEX" extract --input "$T/nan.json" "${DEMO[@]}" --top-k 5 --output "$T/nan_out.json" >"$T/nan.log" 2>&1; then
    check nan_infinity_written_back python3 - "$T/nan.json" "$T/nan_out.json" <<'EOF'
import json, math, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
va, vb = a["results"][0]["variations"], b["results"][0]["variations"]
assert math.isnan(vb[0]["score"]) and vb[1]["bounds"] == [-math.inf, math.inf, 0.5], vb[1]["bounds"]
assert math.isnan(b["results"][1]["confidence"])
text = open(sys.argv[2]).read()
assert '"score": NaN' in text and "-Infinity" in text and '"bounds"' in text
assert vb[0]["sae_activations"]["layer_2"]["status"] == "success"
EOF
else fail nan_infinity_written_back "$(tail -2 "$T/nan.log")"; fi

printf '\xEF\xBB\xBF' >"$T/bom.json"; cat examples/input.json >>"$T/bom.json"
if "$SAEX" extract --input "$T/bom.json" "${DEMO[@]}" --top-k 5 --output "$T/bom_out.json" >"$T/bom.log" 2>&1 \
   && python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/bom_out.json"; then ok utf8_bom_accepted
else fail utf8_bom_accepted "$(tail -2 "$T/bom.log")"; fi

# ------------------------------------------------------------ bad token ids fail alone
cat >"$T/ids.json" <<'EOF'
[{"prompt_token_ids": [2, 99999], "response": "x"},
 {"prompt_token_ids": [2, "7"], "response": "x"},
 {"prompt": "What is the capital of France?", "response": "Paris."}]
EOF
"$SAEX" extract --input "$T/ids.json" "${DEMO[@]}" --top-k 5 --output "$T/ids_out.json" >"$T/ids.log" 2>&1; rc=$?
if [ $rc -eq 0 ] && python3 - "$T/ids_out.json" <<'EOF'
import json, sys
st = [v["sae_activations"]["layer_2"] for v in json.load(open(sys.argv[1]))]
assert [s["status"] for s in st] == ["error", "error", "success"], st
assert "99999" in st[0]["reason"] and "not an integer" in st[1]["reason"], st
EOF
then ok bad_token_ids_fail_that_variation_only
else fail bad_token_ids_fail_that_variation_only "rc $rc: $(grep -i error "$T/ids.log" | head -2)"; fi

# ------------------------------------------------------------ signals and pipes
mkdir -p "$T/pipe"
"$SAEX" extract --input examples/input.json "${DEMO[@]}" --top-k 5 --output "$T/pipe/o.json" 2>"$T/pipe.err" | head -1 >/dev/null
rc=${PIPESTATUS[0]}
if [ "$rc" -eq 0 ] && python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/pipe/o.json" && no_temp "$T/pipe"; then
    ok broken_stdout_pipe_does_not_kill_the_run
else fail broken_stdout_pipe_does_not_kill_the_run "rc $rc: $(tail -2 "$T/pipe.err")"; fi

python3 - "$T/big.json" <<'EOF'
import json, sys
d = json.load(open("examples/input.json"))
vs = [v for r in d["results"] for v in r["variations"]]
json.dump({"results": [{"variations": vs * 60}]}, open(sys.argv[1], "w"))
EOF
# signal_run NAME SIGNAL WANT_RC: a long run gets SIGNAL once it works; no temp file may stay.
signal_run() {
    local name=$1 sig=$2 want=$3 dir=$T/sig_$1
    mkdir -p "$dir"
    "$SAEX" extract --input "$T/big.json" "${DEMO[@]}" --batch-tokens 1 --save-all-tokens --output "$dir/o.json" >/dev/null 2>"$dir.err" &
    local pid=$! n=0
    until [ "$(find "$dir" -name 'b*.safetensors' | wc -l)" -ge 2 ] || [ $n -ge 500 ]; do sleep 0.01; n=$((n + 1)); done
    kill -"$sig" $pid
    wait $pid 2>/dev/null; local rc=$?
    if [ $rc -eq "$want" ] && [ ! -e "$dir/o.json" ] && no_temp "$dir"; then ok "$name"
    else fail "$name" "rc $rc (want $want): $(tail -1 "$dir.err")"; fi
}
signal_run sighup_stops_cleanly HUP 129
signal_run sigterm_stops_cleanly TERM 143
signal_run sigusr1_leaves_no_temp_file USR1 138

# ------------------------------------------------------------ never overwrite an unnamed file
mkdir -p "$T/name"; cp examples/input.json "$T/name/exp.json"
now=$(date +%s)
for dt in 0 1 2 3 4 5 6; do
    f="$T/name/exp_layer2_$(date -d "@$((now + dt))" +%Y%m%d_%H%M%S).json"
    echo "taken $dt" >"$f"
done
taken=("$T"/name/exp_layer2_*.json)
sums=$(cat "${taken[@]}" | md5sum)
if "$SAEX" extract --input "$T/name/exp.json" "${DEMO[@]}" --top-k 3 >"$T/name.log" 2>&1 \
   && [ "$(cat "${taken[@]}" | md5sum)" = "$sums" ] \
   && ls "$T/name" | grep -qE '^exp_layer2_[0-9]{8}_[0-9]{6}_2\.json$' && grep -q "_2.json" "$T/name.log"; then
    ok default_name_never_overwrites
else fail default_name_never_overwrites "$(ls "$T/name") $(tail -2 "$T/name.log")"; fi

# ------------------------------------------------------------ --verbose and the failure list
python3 - "$T/fails.json" <<'EOF'
import json, sys
vs = [{"question_id": "q%02d" % i, "response": "no prompt"} for i in range(14)]
vs.append({"question_id": "good", "prompt": "Hello there.", "response": "Hi."})
json.dump(vs, open(sys.argv[1], "w"))
EOF
"$SAEX" extract --input "$T/fails.json" "${DEMO[@]}" --top-k 3 --output "$T/f1.json" >/dev/null 2>"$T/f1.err"
if grep -q "14 of 15 variations failed" "$T/f1.err" && grep -q "q09: no \"prompt\" field" "$T/f1.err" \
   && ! grep -q "q10:" "$T/f1.err" && grep -q "and 4 more" "$T/f1.err"; then ok failure_list_says_how_many_more
else fail failure_list_says_how_many_more "$(tail -4 "$T/f1.err")"; fi
"$SAEX" extract --input "$T/fails.json" "${DEMO[@]}" --top-k 3 --verbose --output "$T/f2.json" >/dev/null 2>"$T/f2.err"
if grep -q "q13: error: no \"prompt\" field" "$T/f2.err" && grep -q "good: [0-9]* tokens" "$T/f2.err" \
   && grep -q "  q13: no \"prompt\" field" "$T/f2.err" && ! grep -q "more" "$T/f2.err"; then ok verbose_lists_every_variation_and_failure
else fail verbose_lists_every_variation_and_failure "$(tail -4 "$T/f2.err")"; fi

# ------------------------------------------------------------ stdin and stdout
"$SAEX" extract --input examples/input.json "${DEMO[@]}" --top-k 5 --output "$T/file.json" >/dev/null 2>&1
if "$SAEX" extract --input - "${DEMO[@]}" --top-k 5 --output - <examples/input.json >"$T/piped.json" 2>"$T/piped.err" \
   && cmp -s "$T/file.json" "$T/piped.json"; then ok stdin_to_stdout_same_bytes
else fail stdin_to_stdout_same_bytes "$(tail -2 "$T/piped.err")"; fi
if "$SAEX" extract --input - "${DEMO[@]}" --top-k 5 <examples/input.json >"$T/piped2.json" 2>/dev/null \
   && cmp -s "$T/file.json" "$T/piped2.json"; then ok stdin_defaults_to_stdout
else fail stdin_defaults_to_stdout; fi

# ------------------------------------------------------------ messages that help
"$SAEX" extract --input examples/input.json "${DEMO[@]}" --save-all-token >/dev/null 2>"$T/dym.err"; rc=$?
if [ $rc -eq 2 ] && grep -q "did you mean --save-all-tokens" "$T/dym.err"; then ok unknown_option_did_you_mean
else fail unknown_option_did_you_mean "rc $rc: $(cat "$T/dym.err")"; fi
HF_HUB_CACHE=$T/empty_cache "$SAEX" extract --input examples/input.json --model examples/model --offline \
    --sae-release gemma-scope-27b-pt-res --sae-id layer_20/width_16k/canonical --target-layer 20 >/dev/null 2>"$T/27b.err"; rc=$?
if [ $rc -eq 1 ] && grep -q "gemma-scope-27b-pt-res-canonical" "$T/27b.err" && grep -qE "layers? .*10.*22.*34|10, 22, 34" "$T/27b.err"; then
    ok python_readme_27b_example_explained
else fail python_readme_27b_example_explained "rc $rc: $(head -4 "$T/27b.err")"; fi
HF_HUB_CACHE=$T/empty_cache "$SAEX" extract --input examples/input.json --model google/gemma-2-9b-it --offline >/dev/null 2>"$T/hf.err"
if grep -q "hf download google/gemma-2-9b-it" "$T/hf.err" && ! grep -q "huggingface-cli" "$T/hf.err"; then ok hint_says_hf_download
else fail hint_says_hf_download "$(head -4 "$T/hf.err")"; fi

# ------------------------------------------------------------ Gemma's chat template trims the message
python3 - "$T/pad.json" "$T/trim.json" <<'EOF'
import json, sys
d = json.load(open("examples/input.json"))
vs = [v for r in d["results"] for v in r["variations"]][:3]
pad = [dict(v, prompt="  \n" + v["prompt"] + " \t\n") for v in vs]
json.dump(pad, open(sys.argv[1], "w"))
json.dump(vs, open(sys.argv[2], "w"))
EOF
if "$SAEX" extract --input "$T/pad.json" "${DEMO[@]}" --chat-template gemma --top-k 5 --output "$T/pad_out.json" >/dev/null 2>&1 \
   && "$SAEX" extract --input "$T/trim.json" "${DEMO[@]}" --chat-template gemma --top-k 5 --output "$T/trim_out.json" >/dev/null 2>&1; then
    check chat_template_trims_the_prompt python3 -c '
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
for x, y in zip(a, b):
    assert x["sae_activations"] == y["sae_activations"], "padding changed the features"' "$T/pad_out.json" "$T/trim_out.json"
else fail chat_template_trims_the_prompt; fi

# ------------------------------------------------------------ chained list / JSON Lines runs keep metadata
python3 -c 'import json; d=json.load(open("examples/input.json")); json.dump([v for r in d["results"] for v in r["variations"]], open("'"$T"'/list.json","w"))'
"$SAEX" extract --input "$T/list.json" --model examples/model --sae examples/sae --target-layer 1 --top-k 3 --output "$T/l1.json" >/dev/null 2>&1
"$SAEX" extract --input "$T/l1.json" --model examples/model --sae examples/sae --target-layer 2 --top-k 3 --output "$T/l2.json" >/dev/null 2>&1
check second_run_keeps_first_layers_metadata python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))["sae_extraction_metadata"]
assert sorted(m) == ["layer_1", "layer_2"], sorted(m)
v = json.load(open(sys.argv[2]))[0]["sae_activations"]
assert sorted(v) == ["layer_1", "layer_2"]' "$T/l2.json.meta.json" "$T/l2.json"

[ $failures -eq 0 ]
