#!/usr/bin/env bash
# End-to-end tests of `saex extract` on the demo model / SAE (examples/),
# against the HF transformers + SAELens reference (tests/fixtures/e2e/).
# Prints "ok NAME" / "FAIL NAME" / "SKIP NAME" per case; exits 1 on failure.
set -u
cd "$(dirname "$0")/.."
SAEX=${SAEX:-build/saex}
EXP=tests/fixtures/e2e/expected.json
EXP_CHAT=tests/fixtures/e2e/expected_chat.json
CMP="python3 tests/compare_extract.py"
T=$(mktemp -d "${TMPDIR:-/tmp}/saex_e2e.XXXXXX")
trap 'rm -rf "$T"' EXIT
DEMO=(--model examples/model --sae examples/sae --target-layer 2)
failures=0

ok() { echo "ok $1"; }
fail() { echo "FAIL $1${2:+: $2}"; failures=$((failures + 1)); }
skip() { echo "SKIP $1${2:+: $2}"; }
check() { # check NAME COMMAND...: ok when the command succeeds
    local name=$1; shift
    if "$@" >"$T/check.log" 2>&1; then ok "$name"; else fail "$name"; sed 's/^/    /' "$T/check.log" | head -20; fi
}

if [ ! -x "$SAEX" ]; then fail binary "$SAEX not built"; exit 1; fi
for f in examples/input.json examples/model/config.json examples/sae/params.npz "$EXP"; do
    [ -f "$f" ] || { skip e2e_extract "fixture $f missing"; exit 0; }
done
HAVE_SCHEMA=1
python3 -c 'import jsonschema' 2>/dev/null || HAVE_SCHEMA=0
schema() { # schema NAME FILE [jsonl|meta]
    if [ $HAVE_SCHEMA = 0 ]; then skip "$1" "python3 jsonschema not installed"; return; fi
    check "$1" python3 - "$2" "${3:-doc}" <<'EOF'
import json, sys, jsonschema
schema = json.load(open("docs/output.schema.json"))
path, kind = sys.argv[1], sys.argv[2]
if kind == "jsonl":
    sub = dict(schema["$defs"]["variation"], **{"$defs": schema["$defs"]})
    for line in open(path, encoding="utf-8"):
        jsonschema.validate(json.loads(line), sub)
elif kind == "meta":
    jsonschema.validate(json.load(open(path)), dict(schema["$defs"]["meta_file"], **{"$defs": schema["$defs"]}))
else:
    jsonschema.validate(json.load(open(path, encoding="utf-8")), schema)
EOF
}

# ------------------------------------------------------------ against the reference
run_demo() { # run_demo OUT [options...]
    local out=$1; shift
    "$SAEX" extract --input examples/input.json "${DEMO[@]}" --output "$out" "$@" >"$out.stdout" 2>"$out.stderr"
}

if run_demo "$T/f32.json" --top-k 10 --precision f32; then
    check demo_last_token_f32 $CMP "$T/f32.json" "$EXP" --precision f32
    schema schema_results_form "$T/f32.json"
    check demo_summary grep -q "top 5 features" "$T/f32.json.stdout"
    check demo_summary_labels grep -qE '^  q001 I_like +layer_2: [0-9]+:' "$T/f32.json.stdout"
else fail demo_last_token_f32 "exit $?: $(head -3 "$T/f32.json.stderr")"; fi

if run_demo "$T/def.json" --top-k 10; then
    check demo_last_token_default $CMP "$T/def.json" "$EXP" --precision default
else fail demo_last_token_default "$(head -3 "$T/def.json.stderr")"; fi

if run_demo "$T/all.json" --save-all-tokens --top-k 20 --precision f32 --batch-tokens 64; then
    check all_tokens_f32 $CMP "$T/all.json" "$EXP" --precision f32 --all-tokens
    schema schema_all_tokens "$T/all.json"
    check all_tokens_have_text python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
t = d["results"][0]["variations"][0]["sae_activations"]["layer_2"]["activations"]
assert t["token_0"]["token"] == "<bos>", t["token_0"]["token"]
assert all(isinstance(v["token"], str) for v in t.values())' "$T/all.json"
else fail all_tokens_f32 "$(head -3 "$T/all.json.stderr")"; fi

if run_demo "$T/alld.json" --save-all-tokens --top-k 20 --exclude-bos; then
    check all_tokens_default_exclude_bos $CMP "$T/alld.json" "$EXP" --precision default --all-tokens --exclude-bos
else fail all_tokens_default_exclude_bos "$(head -3 "$T/alld.json.stderr")"; fi

if [ -f "$EXP_CHAT" ]; then
    if run_demo "$T/chat.json" --chat-template gemma --save-all-tokens --top-k 10 --precision f32; then
        check chat_template_gemma $CMP "$T/chat.json" "$EXP_CHAT" --precision f32 --all-tokens
    else fail chat_template_gemma "$(head -3 "$T/chat.json.stderr")"; fi
else skip chat_template_gemma "$EXP_CHAT missing"; fi

# Given token ids reproduce the separate tokenization exactly.
python3 - "$EXP" "$T/given.json" <<'EOF'
import json, sys
exp = json.load(open(sys.argv[1]))
d = json.load(open("examples/input.json"))
for s in exp["samples"]:
    var = d["results"][s["result_index"]]["variations"][s["variation_index"]]
    var["prompt_token_ids"], var["response_token_ids"] = s["prompt_ids"], s["response_ids"]
json.dump(d, open(sys.argv[2], "w"))
EOF
if "$SAEX" extract --input "$T/given.json" "${DEMO[@]}" --top-k 10 --precision f32 --output "$T/given_out.json" >/dev/null 2>"$T/given.err"; then
    check given_token_ids $CMP "$T/given_out.json" "$EXP" --precision f32
    check given_token_ids_metadata grep -q '"tokenization": "given"' "$T/given_out.json"
else fail given_token_ids "$(head -3 "$T/given.err")"; fi

# Joint tokenization: on the demo texts (prompt ends at a word, response starts
# with a word) the boundary falls where the separate tokenization puts it.
if run_demo "$T/joint.json" --joint-tokenization --top-k 10 --precision f32; then
    check joint_tokenization python3 - "$T/joint.json" "$EXP" <<'EOF'
import json, sys
out, exp = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
n = 0
for s in exp["samples"]:
    la = out["results"][s["result_index"]]["variations"][s["variation_index"]]["sae_activations"]["layer_2"]
    assert la["status"] == "success", la
    assert la["answer_start_position"] >= 1 and la["total_tokens"] > la["answer_start_position"], la
    if la["total_tokens"] == s["total_tokens"]:
        n += 1
        assert la["answer_start_position"] == s["answer_start_position"], (s["result_index"], la)
assert out["sae_extraction_metadata"]["layer_2"]["tokenization"] == "joint"
assert n > 0
EOF
else fail joint_tokenization "$(head -3 "$T/joint.json.stderr")"; fi

# ------------------------------------------------------------------- options
if run_demo "$T/max.json" --max-samples 4 --top-k 5; then
    check max_samples python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
vs = [v for r in d["results"] for v in r["variations"]]
done = [v for v in vs if "sae_activations" in v]
assert len(done) == 4 and vs[:4] == done, len(done)
assert d["sae_extraction_metadata"]["layer_2"]["max_samples"] == 4' "$T/max.json"
else fail max_samples "$(head -3 "$T/max.json.stderr")"; fi

# Flat list and JSON Lines forms give the same activations as the results form.
python3 - "$T" <<'EOF'
import json, sys
d = json.load(open("examples/input.json"))
vs = [v for r in d["results"] for v in r["variations"]]
json.dump(vs, open(sys.argv[1] + "/list.json", "w"), indent=1)
with open(sys.argv[1] + "/lines.jsonl", "w") as f:
    for v in vs:
        f.write(json.dumps(v) + "\n")
with open(sys.argv[1] + "/lines_by_content.txt", "w") as f:
    for v in vs:
        f.write(json.dumps(v) + "\n")
EOF
same_as_results() { # OUT: every variation's sae_activations equals the f32 results-form run
    python3 - "$T/f32.json" "$1" <<'EOF'
import json, sys
ref = json.load(open(sys.argv[1]))
refv = [v for r in ref["results"] for v in r["variations"]]
text = open(sys.argv[2]).read()
try:
    got = json.loads(text)
except json.JSONDecodeError:
    got = [json.loads(l) for l in text.splitlines() if l.strip()]
assert len(got) == len(refv), (len(got), len(refv))
for a, b in zip(got, refv):
    la, lb = a["sae_activations"]["layer_2"], b["sae_activations"]["layer_2"]
    fa, fb = la["activations"]["last_token"], lb["activations"]["last_token"]
    assert [f["id"] for f in fa["top_k_features"]] == [f["id"] for f in fb["top_k_features"]]
    for x, y in zip(fa["top_k_features"], fb["top_k_features"]):
        assert abs(x["activation"] - y["activation"]) <= 1e-5, (x, y)
    assert {k: v for k, v in a.items() if k != "sae_activations"} == {k: v for k, v in b.items() if k != "sae_activations"}
meta = json.load(open(sys.argv[2] + ".meta.json"))
assert meta["sae_extraction_metadata"]["layer_2"]["top_k_features"] == 10
EOF
}
for form in list.json lines.jsonl lines_by_content.txt; do
    if "$SAEX" extract --input "$T/$form" "${DEMO[@]}" --top-k 10 --precision f32 --output "$T/out_$form" >"$T/form.log" 2>&1; then
        check "form_$form" same_as_results "$T/out_$form"
    else fail "form_$form" "$(head -3 "$T/form.log")"; fi
done
schema schema_list_form "$T/out_list.json"
schema schema_jsonl_lines "$T/out_lines.jsonl" jsonl
schema schema_meta_sidecar "$T/out_lines.jsonl.meta.json" meta

# ------------------------------------------------ input fields survive exactly
# Reals of every kind, 64-bit integers, nested values and escaped strings in
# the input: after extraction every field but sae_* must parse (Python json)
# to the same values, types and key order; activations are shortest float32 text.
cat >"$T/exact.json" <<'EOF'
{"experiment": "exact \u0000 fields", "reals": [0.1, 0.123456789012345, 1e-300, 1.7976931348623157e308, -0.0, 2.5e-8,
  1.0, 1E2, 3.14159265358979323846, 5e-324, 0.30000000000000004, 1e22, -2.2250738585072014e-308, 1.0000000000000002],
 "ints": [9007199254740993, -9223372036854775808, 9223372036854775807, 0, -0, 123],
 "nested": {"b": {"z": [[], {}, [null, true, false]], "a": 1}, "A": "\u00fc\u20ac\ud83d\ude00 \u00e9 ü€😀"},
 "results": [{"question_id": "q3", "score": 0.7, "variations": [
   {"template_type": "I_like", "prompt": "What is the capital of France?", "response": "Paris.", "weight": 1.0000000000000002,
    "esc": "tab\t nl\n cr\r quote\" back\\ nul\u0000 ctl\u0001\u001f slash\/ del\u007f \u2028 end", "z_last": [1e22, 2.5e-8]},
   {"prompt": "Is the earth flat?", "response": "No.", "meta": {"k2": 2.5, "k1": -1}, "question_id": 17}]}],
 "trailing": -1.5e-10}
EOF
printf '%s\n' '{"question_id": "q9", "template_type": "base", "prompt": "Hello there.", "response": "Hi.", "x": [0.1, -0.0, 1e-300, 9007199254740993, "a\u0000b"]}' \
    '{"prompt": "What is 2+2?", "response": "4.", "y": {"deep": [{"v": 1.7976931348623157e308}]}, "s": "\u00e9\t"}' >"$T/exact.jsonl"
same_fields() { # INPUT OUTPUT: every non-sae_* field parses to the same value, type and key order
    python3 - "$1" "$2" <<'EOF'
import json, sys
def canon(v):  # types and key order explicit; floats by repr (keeps -0.0 apart from 0.0)
    if isinstance(v, bool) or v is None:
        return (type(v).__name__, v)
    if isinstance(v, float):
        return ("float", repr(v))
    if isinstance(v, int):
        return ("int", v)
    if isinstance(v, str):
        return ("str", v)
    if isinstance(v, Obj):
        return ("obj", [(k, canon(x)) for k, x in v])
    return ("list", [canon(x) for x in v])
class Obj(list):
    pass
def load(text):
    try:
        return [json.loads(text, object_pairs_hook=Obj)]
    except json.JSONDecodeError:
        return [json.loads(l, object_pairs_hook=Obj) for l in text.splitlines() if l.strip()]
def strip(v):  # drop the sae_* fields saex adds, at any depth
    if isinstance(v, Obj):
        return Obj((k, strip(x)) for k, x in v if not k.startswith("sae_"))
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v
a = load(open(sys.argv[1], encoding="utf-8").read())
b = load(open(sys.argv[2], encoding="utf-8").read())
ca, cb = canon(strip(a)), canon(strip(b))
if ca != cb:
    sys.exit("differs:\n%s\n%s" % (ca, cb))
n_act = open(sys.argv[2], encoding="utf-8").read().count('"sae_activations"')
assert n_act >= 2, n_act
EOF
}
shortest_activations() { # FILE...: each activation is the shortest decimal of a float32
    python3 - "$@" <<'EOF'
import json, re, struct, sys
f32 = lambda x: struct.unpack("f", struct.pack("f", x))[0]
def shortest(x):
    for p in range(1, 10):
        s = "%.*g" % (p, x)
        if f32(float(s)) == x:
            return s
def digits(t):
    m = re.sub(r"[eE].*", "", t).replace("-", "").replace(".", "").strip("0")
    return len(m) or 1
n = 0
for path in sys.argv[1:]:
    text = open(path, encoding="utf-8").read()
    for t in re.findall(r'"activation": ?([^,}\s]+)', text):
        x = f32(float(t))
        s = shortest(x)
        assert digits(t) <= 9, (path, t)
        assert digits(t) == digits(s) and float(t) == float(s), (path, t, s)
        n += 1
assert n > 0
EOF
}
if "$SAEX" extract --input "$T/exact.json" "${DEMO[@]}" --top-k 5 --output "$T/exact_out.json" >"$T/exact.stdout" 2>"$T/exact.stderr"; then
    check exact_fields_results same_fields "$T/exact.json" "$T/exact_out.json"
    check summary_label_question_template grep -qE '^  q3 I_like +layer_2:' "$T/exact.stdout"
    check summary_label_own_question_id grep -qE '^  17 +layer_2:' "$T/exact.stdout"
else fail exact_fields_results "$(head -3 "$T/exact.stderr")"; fi
if "$SAEX" extract --input "$T/exact.jsonl" "${DEMO[@]}" --top-k 5 --output "$T/exact_out.jsonl" >"$T/exactl.stdout" 2>"$T/exactl.stderr"; then
    check exact_fields_jsonl same_fields "$T/exact.jsonl" "$T/exact_out.jsonl"
    check jsonl_one_line_per_record python3 -c '
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
assert lines[-1] == "" and len(lines) == 3, len(lines)
assert all(json.loads(l)["sae_activations"]["layer_2"]["status"] == "success" for l in lines[:2])' "$T/exact_out.jsonl"
    check summary_label_fallback grep -qE '^  r1 v0 +layer_2:' "$T/exactl.stdout"
    check summary_label_jsonl grep -qE '^  q9 base +layer_2:' "$T/exactl.stdout"
else fail exact_fields_jsonl "$(head -3 "$T/exactl.stderr")"; fi
check activations_shortest_float32 shortest_activations "$T/exact_out.json" "$T/exact_out.jsonl" "$T/f32.json" "$T/all.json"

# A write that fails half-way (file size limit of 200 KiB: the run store's files fit, the
# output does not; SIGXFSZ ignored, so write() gets EFBIG): exit 1, no output, no temp file.
mkdir -p "$T/fsz"
(ulimit -f 200; trap '' XFSZ; exec "$SAEX" extract --input examples/input.json "${DEMO[@]}" --save-all-tokens --top-k 20 \
    --output "$T/fsz/o.json") >/dev/null 2>"$T/fsz.err"
rc=$?
# The run store keeps the batches computed before the failure (that is its job); no
# output and no temp file may be left.
if [ $rc -eq 1 ] && grep -q "writing $T/fsz/o.json: File too large" "$T/fsz.err" && [ -z "$(ls -A "$T/fsz" | grep -v '^o.json.saex$')" ] \
   && [ -z "$(find "$T/fsz" -name '*saex-tmp*')" ]; then
    ok write_error_leaves_nothing
else fail write_error_leaves_nothing "rc $rc, left: $(ls -A "$T/fsz"): $(head -2 "$T/fsz.err")"; fi

# Several layers from one forward pass; the demo SAE (no layer recorded in
# params.npz) serves as layer 1's SAE too; a SAELens SAE that says layer 2 is refused for layer 1.
if "$SAEX" extract --input examples/input.json --model examples/model --sae examples/sae --layers 1,2 --top-k 10 \
        --precision f32 --output "$T/layers.json" >"$T/layers.log" 2>&1; then
    check layers_two $CMP "$T/layers.json" "$EXP" --precision f32 --layer 2
    check layers_two_meta python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert sorted(d["sae_extraction_metadata"]) == ["layer_1", "layer_2"]
v = d["results"][0]["variations"][0]["sae_activations"]
assert sorted(v) == ["layer_1", "layer_2"] and v["layer_1"]["status"] == "success"
assert v["layer_1"] != v["layer_2"]' "$T/layers.json"
else fail layers_two "$(head -3 "$T/layers.log")"; fi
if [ -f examples/sae_saelens/cfg.json ]; then
    "$SAEX" extract --input examples/input.json --model examples/model --sae examples/sae_saelens --layers 1,2 \
        --output "$T/layers_bad.json" >/dev/null 2>"$T/layers_bad.err"
    rc=$?
    if [ $rc -eq 1 ] && grep -q "layer 2" "$T/layers_bad.err" && grep -q "layer is 1" "$T/layers_bad.err" && [ ! -e "$T/layers_bad.json" ]; then
        ok layers_sae_for_other_layer_refused
    else fail layers_sae_for_other_layer_refused "rc $rc: $(head -2 "$T/layers_bad.err")"; fi
fi

# --dump-residuals: parse the safetensors header with the stdlib.
if run_demo "$T/dump.json" --top-k 5 --dump-residuals "$T/resid.safetensors" --save-all-tokens; then
    check dump_residuals python3 - "$T/resid.safetensors" "$EXP" <<'EOF'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
hdr = json.loads(raw[8:8 + n])
exp = json.load(open(sys.argv[2]))
rows = sum(s["total_tokens"] for s in exp["samples"])
t = hdr["blocks.2.hook_resid_post"]
assert t["dtype"] == "F32" and t["shape"] == [rows, 64], t
for name in ("sample_index", "position", "result_index", "variation_index"):
    assert hdr[name]["dtype"] == "I32" and hdr[name]["shape"] == [rows], (name, hdr[name])
o = 8 + n + hdr["position"]["data_offsets"][0]
pos = struct.unpack("<%di" % rows, raw[o:o + 4 * rows])
assert pos[0] == 0 and pos[1] == 1, pos[:4]
o = 8 + n + hdr["sample_index"]["data_offsets"][0]
si = struct.unpack("<%di" % rows, raw[o:o + 4 * rows])
assert list(si) == sorted(si) and si[-1] == len(exp["samples"]) - 1
o = 8 + n + t["data_offsets"][0]
first = struct.unpack("<64f", raw[o:o + 256])
assert any(abs(x) > 0 for x in first)
EOF
else fail dump_residuals "$(head -3 "$T/dump.json.stderr")"; fi

# ------------------------------------------------- registry + HF cache resolution
HUB=$T/hub
mk_repo() { # mk_repo REPO_DIRNAME -> prints the snapshot folder
    mkdir -p "$HUB/$1/refs" "$HUB/$1/snapshots/0123abcd"
    printf '0123abcd' >"$HUB/$1/refs/main"
    echo "$HUB/$1/snapshots/0123abcd"
}
snap=$(mk_repo models--google--gemma-2-2b)
for f in examples/model/*; do ln -s "$PWD/$f" "$snap/"; done
ssnap=$(mk_repo models--google--gemma-scope-2b-pt-res)
mkdir -p "$ssnap/layer_2/width_16k/average_l0_141"
ln -s "$PWD/examples/sae/params.npz" "$ssnap/layer_2/width_16k/average_l0_141/params.npz"
REG=(--input examples/input.json --model google/gemma-2-2b --sae-release gemma-scope-2b-pt-res-canonical
     --sae-id layer_2/width_16k/canonical --target-layer 2 --top-k 10 --precision f32)
if HF_HUB_CACHE=$HUB "$SAEX" extract "${REG[@]}" --output "$T/reg.json" >"$T/reg.log" 2>&1; then
    check registry_hf_cache $CMP "$T/reg.json" "$EXP" --precision f32
    check registry_metadata python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))["sae_extraction_metadata"]["layer_2"]
assert m["sae_repo"] == "google/gemma-scope-2b-pt-res" and m["sae_folder"] == "layer_2/width_16k/average_l0_141", m
assert m["sae_id"] == "layer_2/width_16k/canonical" and m["sae_release"] == "gemma-scope-2b-pt-res-canonical"
assert m["neuronpedia_id"] == "gemma-2-2b/2-gemmascope-res-16k" and m["model"] == "google/gemma-2-2b"' "$T/reg.json"
else fail registry_hf_cache "$(head -5 "$T/reg.log")"; fi
mkdir -p "$T/hfhome"; ln -s "$HUB" "$T/hfhome/hub"
if env -u HF_HUB_CACHE HF_HOME=$T/hfhome "$SAEX" extract "${REG[@]}" --sae-id 'layer_{L}/width_16k/canonical' --output "$T/reg2.json" >"$T/reg2.log" 2>&1; then
    ok registry_hf_home_and_L_pattern
else fail registry_hf_home_and_L_pattern "$(head -5 "$T/reg2.log")"; fi
# not in the cache (and offline: tests/e2e_download.sh covers downloads): the message names the path tried and the download command
HF_HUB_CACHE=$HUB "$SAEX" extract "${REG[@]}" --offline --sae-id layer_3/width_16k/canonical --target-layer 3 --output "$T/nf.json" >/dev/null 2>"$T/nf.err"
rc=$?
if [ $rc -eq 1 ] && grep -qF "hf download google/gemma-scope-2b-pt-res --include 'layer_3/width_16k/average_l0_59/*'" "$T/nf.err" \
   && grep -qF "$ssnap/layer_3/width_16k/average_l0_59/params.npz" "$T/nf.err" && [ ! -e "$T/nf.json" ]; then
    ok registry_not_found_message
else fail registry_not_found_message "rc $rc: $(cat "$T/nf.err")"; fi
HF_HUB_OFFLINE=1 HF_HUB_CACHE=$T/empty "$SAEX" extract --input examples/input.json --model google/gemma-2-9b-it --output "$T/nf2.json" >/dev/null 2>"$T/nf2.err"
rc=$?
if [ $rc -eq 1 ] && grep -qF "$T/empty/models--google--gemma-2-9b-it" "$T/nf2.err" && grep -qF "hf download google/gemma-2-9b-it" "$T/nf2.err"; then
    ok model_not_found_message
else fail model_not_found_message "rc $rc: $(cat "$T/nf2.err")"; fi
HF_HUB_CACHE=$HUB "$SAEX" extract "${REG[@]}" --sae-id layer_3/width_16k/canonical --output "$T/nf3.json" >/dev/null 2>"$T/nf3.err"
rc=$?
if [ $rc -eq 1 ] && grep -q "layer 3" "$T/nf3.err" && grep -q "target layer is 2" "$T/nf3.err"; then
    ok registry_layer_mismatch_refused
else fail registry_layer_mismatch_refused "rc $rc: $(cat "$T/nf3.err")"; fi

# --------------------------------------------------------------- bad inputs
# bad NAME WANT_RC PATTERN INPUT [options...]: the run fails with WANT_RC, stderr
# matches PATTERN, the input is byte-identical, nothing is left in the output folder.
bad() {
    local name=$1 want=$2 pat=$3 input=$4; shift 4
    local outdir=$T/bad_$name
    mkdir -p "$outdir"
    cp "$input" "$T/before"
    "$SAEX" extract --input "$input" "$@" >"$outdir.stdout" 2>"$outdir.stderr"
    local rc=$?
    local left
    left=$(ls -A "$outdir")
    if [ $rc -ne "$want" ]; then fail "bad_$name" "exit $rc, expected $want: $(head -3 "$outdir.stderr")"
    elif ! grep -qE "$pat" "$outdir.stderr"; then fail "bad_$name" "message does not match /$pat/: $(head -3 "$outdir.stderr")"
    elif ! cmp -s "$input" "$T/before"; then fail "bad_$name" "input modified"
    elif [ $want -ne 3 ] && [ $want -ne 0 ] && [ -n "$left" ]; then fail "bad_$name" "left files: $left"
    elif ls -A "$(dirname "$input")" | grep -q 'saex-tmp'; then fail "bad_$name" "temp file left"
    else ok "bad_$name"; fi
}
mkdir -p "$T/in"
IN=$T/in/input.json
cp examples/input.json "$IN"
printf '{"results": [ {"variations": [ {"prompt": "a", }\n ] } ] }\n' >"$T/in/malformed.json"
bad malformed_json 1 'malformed\.json:1:[0-9]+: malformed JSON' "$T/in/malformed.json" "${DEMO[@]}" --output "$T/bad_malformed_json/o.json"
echo '{"experiment": "x"}' >"$T/in/shape.json"
bad wrong_shape 1 'no "results" list' "$T/in/shape.json" "${DEMO[@]}" --output "$T/bad_wrong_shape/o.json"
echo '42' >"$T/in/scalar.json"
bad scalar_top_level 1 'neither an object' "$T/in/scalar.json" "${DEMO[@]}" --output "$T/bad_scalar_top_level/o.json"
echo '{"results": [{"variations": []}]}' >"$T/in/empty.json"
bad no_variations 1 'no variations' "$T/in/empty.json" "${DEMO[@]}" --output "$T/bad_no_variations/o.json"
long=$(python3 -c 'print(" ".join(["word"] * 400))')
cat >"$T/in/vars.json" <<EOF
{"results": [{"variations": [
  {"response": "no prompt here"},
  {"prompt": 42, "response": "a number"},
  {"prompt": "Hello there.", "response": ""},
  {"prompt": "Hello there.", "response": "$long"},
  {"prompt": "What is the capital of France?", "response": "Paris."}
]}]}
EOF
bad variation_errors_strict 3 'failed' "$T/in/vars.json" "${DEMO[@]}" --strict --output "$T/bad_variation_errors_strict/o.json"
bad variation_errors 0 '3 of 5 variations failed' "$T/in/vars.json" "${DEMO[@]}" --output "$T/bad_variation_errors/o.json"
check variation_error_reasons python3 -c '
import json, sys
vs = json.load(open(sys.argv[1]))["results"][0]["variations"]
st = [v["sae_activations"]["layer_2"] for v in vs]
assert [s["status"] for s in st] == ["error", "error", "success", "error", "success"], st
assert "prompt" in st[0]["reason"] and "not a string" in st[1]["reason"]
assert st[2]["total_tokens"] == st[2]["answer_start_position"], st[2]  # an empty response is only the prompt
assert "too long" in st[3]["reason"], st[3]' "$T/bad_variation_errors/o.json"
schema schema_with_errors "$T/bad_variation_errors/o.json"
mkdir -p "$T/nocfg"; cp examples/model/tokenizer.json "$T/nocfg/"
bad model_without_config 1 'config\.json' "$IN" --model "$T/nocfg" --sae examples/sae --target-layer 2 --output "$T/bad_model_without_config/o.json"
if [ -f examples/sae_saelens/cfg.json ]; then
    bad sae_other_layer 1 'for layer 2, but the target layer is 1' "$IN" --model examples/model --sae examples/sae_saelens --target-layer 1 --output "$T/bad_sae_other_layer/o.json"
fi
bad top_k_0 2 'top-k: 0 is out of range' "$IN" "${DEMO[@]}" --top-k 0 --output "$T/bad_top_k_0/o.json"
bad top_k_negative 2 'top-k: -1 is out of range' "$IN" "${DEMO[@]}" --top-k -1 --output "$T/bad_top_k_negative/o.json"
bad top_k_wider_than_sae 1 'wider than the SAE' "$IN" "${DEMO[@]}" --top-k 513 --output "$T/bad_top_k_wider_than_sae/o.json"
bad top_k_not_a_number 2 'not an integer' "$IN" "${DEMO[@]}" --top-k ten --output "$T/bad_top_k_not_a_number/o.json"
bad max_samples_0 2 'max-samples: 0 is out of range' "$IN" "${DEMO[@]}" --max-samples 0 --output "$T/bad_max_samples_0/o.json"
bad output_missing_folder 1 'does not exist' "$IN" "${DEMO[@]}" --output "$T/bad_output_missing_folder/no/such/o.json"
bad output_is_input 1 'is the input file' "$IN" "${DEMO[@]}" --output "$IN"
bad output_is_input_other_spelling 1 'is the input file' "$IN" "${DEMO[@]}" --output "$T/in/../in/./input.json"
bad unknown_hook 2 'hook-name blocks\.2\.hook_mlp_out is not supported' "$IN" "${DEMO[@]}" --hook-name blocks.2.hook_mlp_out --output "$T/bad_unknown_hook/o.json"
bad hook_other_layer 2 'is for layer 5' "$IN" "${DEMO[@]}" --hook-name blocks.5.hook_resid_post --output "$T/bad_hook_other_layer/o.json"
bad output_under_proc 1 'cannot create' "$IN" "${DEMO[@]}" --output /proc/saex_out.json
touch "$T/a_file"
bad output_file_as_folder 1 'not a folder' "$IN" "${DEMO[@]}" --output "$T/a_file/o.json"
bad unknown_option 2 'unknown option --frobnicate' "$IN" "${DEMO[@]}" --frobnicate
bad missing_sae 1 'no such file' "$IN" --model examples/model --sae "$T/nothing" --target-layer 2 --output "$T/bad_missing_sae/o.json"
bad unknown_release 1 'not a known Gemma Scope' "$IN" --model examples/model --sae-release nope --target-layer 2 --output "$T/bad_unknown_release/o.json"
"$SAEX" extract >/dev/null 2>"$T/noin.err"; rc=$?
if [ $rc -eq 2 ] && grep -q 'input is required' "$T/noin.err"; then ok bad_no_input; else fail bad_no_input "rc $rc"; fi

# ------------------------------------------------------------------- Ctrl-C
# A long input, tiny batches; SIGINT shortly after the start: exit 130, no
# output and no temp file; the batches done so far stay in the run store, and
# the same command again finishes the run (tests/e2e_store.sh checks the bytes).
python3 - "$T/in/big.json" <<'EOF'
import json, sys
d = json.load(open("examples/input.json"))
vs = [v for r in d["results"] for v in r["variations"]]
json.dump({"results": [{"variations": vs * 40}]}, open(sys.argv[1], "w"))
EOF
mkdir -p "$T/sigint"
"$SAEX" extract --input "$T/in/big.json" "${DEMO[@]}" --batch-tokens 1 --save-all-tokens --output "$T/sigint/o.json" >/dev/null 2>"$T/sigint.err" &
pid=$!
for _ in $(seq 100); do grep -q 'loaded model' "$T/sigint.err" 2>/dev/null && break; sleep 0.05; done
kill -INT $pid 2>/dev/null
wait $pid; rc=$?
if [ $rc -eq 0 ]; then skip sigint "the run finished before the signal"
elif [ $rc -eq 130 ] && [ ! -e "$T/sigint/o.json" ] && [ -z "$(find "$T/sigint" -name '*saex-tmp*')" ] \
     && grep -q 'run the same command again' "$T/sigint.err"; then ok sigint
else fail sigint "rc $rc, left: $(find "$T/sigint" -name '*saex-tmp*') $(tail -2 "$T/sigint.err")"; fi
if "$SAEX" extract --input "$T/in/big.json" "${DEMO[@]}" --batch-tokens 1 --save-all-tokens --output "$T/sigint/o.json" >/dev/null 2>"$T/sigint2.err" \
   && grep -q 'resuming' "$T/sigint2.err" && [ -s "$T/sigint/o.json" ]; then ok sigint_then_resume
else fail sigint_then_resume "$(tail -3 "$T/sigint2.err")"; fi

# ------------------------------------------------------------- help, version
check help_top "$SAEX" --help
check help_extract sh -c "'$SAEX' extract --help | grep -q -- --save-all-tokens"
check version sh -c "'$SAEX' --version | grep -q '^saex [0-9]'"
"$SAEX" nonsense >/dev/null 2>&1; rc=$?
if [ $rc -eq 2 ]; then ok unknown_command; else fail unknown_command "rc $rc"; fi

# Default output name: beside the input, <stem>_layer<L>_<timestamp>.json
mkdir -p "$T/defname"; cp examples/input.json "$T/defname/exp.json"
if "$SAEX" extract --input "$T/defname/exp.json" "${DEMO[@]}" --top-k 3 >/dev/null 2>&1 \
   && ls "$T/defname" | grep -qE '^exp_layer2_[0-9]{8}_[0-9]{6}\.json$'; then ok default_output_name
else fail default_output_name "$(ls "$T/defname")"; fi

[ $failures -eq 0 ]
