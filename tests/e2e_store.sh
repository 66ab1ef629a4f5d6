#!/usr/bin/env bash
# End-to-end tests of the run store (issue 13): runs that survive kill -9,
# damaged chunks, changed options, two processes on one shard, a full disk,
# shards merged, and assembly in bounded memory. The reference is always an
# uninterrupted run of the same command: every other way to the output must
# give the same bytes.
# Prints "ok NAME" / "FAIL NAME" / "SKIP NAME" per case; exits 1 on failure.
set -u
cd "$(dirname "$0")/.."
SAEX=${SAEX:-build/saex}
T=$(mktemp -d "${TMPDIR:-/tmp}/saex_store.XXXXXX")
MNT=
cleanup() {
    [ -n "$MNT" ] && umount "$MNT" 2>/dev/null
    jobs -p | xargs -r kill -9 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
failures=0
ok() { echo "ok $1"; }
fail() { echo "FAIL $1${2:+: $2}"; failures=$((failures + 1)); }
skip() { echo "SKIP $1${2:+: $2}"; }

if [ ! -x "$SAEX" ]; then fail binary "$SAEX not built"; exit 1; fi

# An input of 150 variations: the demo's, with varied endings.
python3 - "$T/in.json" <<'EOF'
import copy, json, sys
d = json.load(open("examples/input.json"))
results = []
for n in range(10):
    for r in d["results"]:
        r = copy.deepcopy(r)
        r["question_id"] = "%s_%d" % (r["question_id"], n)
        for v in r["variations"]:
            v["prompt"] += " (case %d)" % n
            v["response"] += " " + "and so on. " * (n % 4)
        results.append(r)
d["results"] = results
json.dump(d, open(sys.argv[1], "w"), indent=1)
EOF
# Small batches (many chunks), every token, top 20: a run of a few seconds.
OPTS=(--input "$T/in.json" --model examples/model --sae examples/sae --target-layer 2 --top-k 20 --save-all-tokens
      --batch-tokens 48 --threads 1)
run() { "$SAEX" extract "${OPTS[@]}" "$@"; }
chunks() { find "$1/chunks" -name 'b*.safetensors' 2>/dev/null | wc -l; }

if ! run --output "$T/ref.json" >"$T/ref.log" 2>&1; then
    fail reference_run "$(tail -3 "$T/ref.log")"; exit 1
fi
NB=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["plan"]["batches"])' "$T/ref.json.saex/manifest.json")

# ------------------------------------------------------------ the layout
check_layout() {
    python3 - "$T/ref.json.saex" "$NB" <<'EOF'
import json, os, struct, sys
d, nb = sys.argv[1], int(sys.argv[2])
m = json.load(open(d + "/manifest.json"))
assert m["format"] == "saex run store" and m["version"] == 1
assert m["run"]["top_k"] == 20 and m["run"]["save_all_tokens"] is True and m["run"]["layers"] == [2]
assert len(m["input"]["sha256"]) == 64 and m["input"]["samples"] == 150
assert sorted(os.listdir(d + "/chunks")) == ["b%06d.safetensors" % b for b in range(nb)]
assert os.path.exists(d + "/shards/0-of-1.done")
# a chunk is safetensors that numpy-free Python reads: header + the documented tensors
raw = open(d + "/chunks/b000000.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
h = json.loads(raw[8:8 + n])
for t in ("sample", "status", "pos_off", "position", "token", "layer_2.ids", "layer_2.act", "layer_2.n_active"):
    assert t in h, t
assert h["layer_2.ids"]["shape"][1] == 20 and h["__metadata__"]["format"] == "saex run-store chunk"
EOF
}
if check_layout >"$T/layout.log" 2>&1 && [ "$NB" -ge 20 ]; then ok store_layout
else fail store_layout "$NB batches; $(tail -3 "$T/layout.log")"; fi

# Running the same command again: every batch is there, the output is written again, identical.
rm -f "$T/ref2.json"
if cp -r "$T/ref.json.saex" "$T/ref2.json.saex" && run --output "$T/ref2.json" >"$T/again.log" 2>&1 \
   && grep -q "resuming" "$T/again.log" && cmp -s "$T/ref.json" "$T/ref2.json"; then ok rerun_complete_store_same_bytes
else fail rerun_complete_store_same_bytes "$(tail -3 "$T/again.log")"; fi

# ------------------------------------------------------------ kill -9
# kill_at NAME CONDITION: start the run, wait until CONDITION holds (polled),
# kill -9, check nothing but the store and dead temp files is left.
kill_at() {
    local name=$1 cond=$2
    "$SAEX" extract "${OPTS[@]}" --output "$T/k.json" >"$T/k_$name.log" 2>&1 &
    local pid=$! n=0
    until eval "$cond" || ! kill -0 $pid 2>/dev/null || [ $n -ge 600 ]; do sleep 0.01; n=$((n + 1)); done
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
    echo "$name: $(chunks "$T/k.json.saex") of $NB chunks" >>"$T/kills"
}
rm -rf "$T/k.json" "$T/k.json.saex"
kill_at at_start 'true'
kill_at after_manifest '[ -e "$T/k.json.saex/manifest.json" ]'
kill_at after_first_chunk '[ "$(chunks "$T/k.json.saex")" -ge 1 ]'
kill_at mid_run '[ "$(chunks "$T/k.json.saex")" -ge $((NB / 2)) ]'
kill_at writing_output 'ls -a "$T" | grep -q "^\.k\.json\.saex-tmp"'
left_output=$([ -e "$T/k.json" ] && echo yes || echo no)
if run --output "$T/k.json" >"$T/k_final.log" 2>&1 && cmp -s "$T/ref.json" "$T/k.json" \
   && [ -z "$(find "$T" -name '*saex-tmp*')" ]; then
    ok kill9_at_five_points_then_rerun_identical
else fail kill9_at_five_points_then_rerun_identical "$(tr '\n' ';' <"$T/kills") $(tail -2 "$T/k_final.log")"; fi
sed 's/^/    /' "$T/kills"
[ "$left_output" = no ] && ok kill9_no_partial_output || fail kill9_no_partial_output "$T/k.json existed before the final run"

# ------------------------------------------------------------ damaged chunks
cp -r "$T/ref.json.saex" "$T/d.json.saex"
python3 - "$T/d.json.saex/chunks/b000003.safetensors" "$T/d.json.saex/chunks/b000005.safetensors" <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[-10] ^= 0xFF                       # one bit pattern in the activations
open(p, "wb").write(b)
q = sys.argv[2]
open(q, "r+b").truncate(len(open(q, "rb").read()) // 2)   # a torn file
EOF
if run --output "$T/d.json" >"$T/d.log" 2>&1 && grep -q "b000003.safetensors is damaged" "$T/d.log" \
   && grep -q "b000005.safetensors" "$T/d.log" && cmp -s "$T/ref.json" "$T/d.json"; then
    ok damaged_chunks_detected_and_recomputed
else fail damaged_chunks_detected_and_recomputed "$(grep -i 'damaged\|error' "$T/d.log" | head -3)"; fi
# A damaged chunk found while merging (not at resume) stops the merge, naming it.
cp -r "$T/ref.json.saex" "$T/m.json.saex"
python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[-4]^=1; open(p,"wb").write(b)' "$T/m.json.saex/chunks/b000001.safetensors"
"$SAEX" merge "$T/m.json.saex" --output "$T/m.json" >"$T/m.log" 2>&1; rc=$?
if [ $rc -eq 1 ] && grep -q "b000001.safetensors is damaged" "$T/m.log" && [ ! -e "$T/m.json" ]; then ok merge_refuses_damaged_chunk
else fail merge_refuses_damaged_chunk "rc $rc: $(head -3 "$T/m.log")"; fi

# ------------------------------------------------------------ another run in the same place
run --output "$T/ref.json" --top-k 5 >"$T/c1.log" 2>&1; rc=$?
if [ $rc -eq 1 ] && grep -q "holds another run" "$T/c1.log" && grep -q "top_k: 20 in the store, 5 now" "$T/c1.log"; then
    ok changed_option_refused_naming_it
else fail changed_option_refused_naming_it "rc $rc: $(head -4 "$T/c1.log")"; fi
cp "$T/in.json" "$T/in2.json"; sed -i 's/case 3/case three/' "$T/in2.json"
"$SAEX" extract "${OPTS[@]:2}" --input "$T/in2.json" --output "$T/ref.json" >"$T/c2.log" 2>&1; rc=$?
if [ $rc -eq 1 ] && grep -q "input sha256 (the input file changed)" "$T/c2.log"; then ok changed_input_refused
else fail changed_input_refused "rc $rc: $(head -4 "$T/c2.log")"; fi
cp -r "$T/ref.json.saex" "$T/f.json.saex"
if run --output "$T/f.json" --top-k 5 --fresh >"$T/fresh.log" 2>&1 && grep -q "removed the previous run" "$T/fresh.log" \
   && python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["run"]["top_k"] == 5' "$T/f.json.saex/manifest.json"; then
    ok fresh_starts_over
else fail fresh_starts_over "$(tail -3 "$T/fresh.log")"; fi

# ------------------------------------------------------------ one shard, two processes
rm -rf "$T/l.json" "$T/l.json.saex"
"$SAEX" extract "${OPTS[@]}" --output "$T/l.json" --batch-tokens 1 >"$T/l1.log" 2>&1 &
pid=$!
n=0; until [ "$(chunks "$T/l.json.saex")" -ge 1 ] || [ $n -ge 500 ]; do sleep 0.01; n=$((n + 1)); done
run --output "$T/l.json" --batch-tokens 1 >"$T/l2.log" 2>&1; rc=$?
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
if [ $rc -eq 1 ] && grep -q "being computed by another process (pid $pid" "$T/l2.log"; then ok second_process_refused_by_lock
else fail second_process_refused_by_lock "rc $rc: $(head -3 "$T/l2.log")"; fi

# ------------------------------------------------------------ shards and merge
rm -rf "$T/s.saex"
if run --run-dir "$T/s.saex" --shard 1/3 >"$T/s1.log" 2>&1 && run --run-dir "$T/s.saex" --shard 0/3 >"$T/s0.log" 2>&1; then
    "$SAEX" merge "$T/s.saex" --output "$T/s.json" >"$T/sm1.log" 2>&1; rc=$?
    if [ $rc -eq 1 ] && grep -q "shard 2 of 3: 0 of" "$T/sm1.log" && ! grep -q "shard 0 of 3" "$T/sm1.log" && [ ! -e "$T/s.json" ]; then
        ok merge_lists_missing_shard
    else fail merge_lists_missing_shard "rc $rc: $(head -4 "$T/sm1.log")"; fi
    "$SAEX" status "$T/s.saex" >"$T/st.log" 2>&1
    if grep -qE '^  0 +done' "$T/st.log" && grep -qE '^  2 +missing' "$T/st.log"; then ok status_per_shard
    else fail status_per_shard "$(cat "$T/st.log")"; fi
    run --run-dir "$T/s.saex" --shard 2/3 >"$T/s2.log" 2>&1
    if "$SAEX" merge "$T/s.saex" --output "$T/s.json" >"$T/sm2.log" 2>&1 && cmp -s "$T/ref.json" "$T/s.json"; then
        ok three_shards_merged_identical
    else fail three_shards_merged_identical "$(head -3 "$T/sm2.log")"; fi
else fail three_shards_merged_identical "$(tail -2 "$T/s0.log" "$T/s1.log")"; fi
run --run-dir "$T/s.saex" --shard 0/2 >"$T/sx.log" 2>&1; rc=$?
if [ $rc -eq 1 ] && grep -q "shards: 3 in the store, 2 now" "$T/sx.log"; then ok other_shard_count_refused
else fail other_shard_count_refused "rc $rc: $(head -3 "$T/sx.log")"; fi

# ------------------------------------------------------------ residual dumps from the store
if run --output "$T/r.json" --dump-residuals "$T/r1.safetensors" >"$T/r.log" 2>&1 \
   && "$SAEX" merge "$T/r.json.saex" --output "$T/r2.json" --dump-residuals "$T/r2.safetensors" >"$T/r2.log" 2>&1 \
   && cmp -s "$T/r1.safetensors" "$T/r2.safetensors" && cmp -s "$T/ref.json" "$T/r.json"; then
    ok residuals_streamed_from_store
else fail residuals_streamed_from_store "$(tail -2 "$T/r.log" "$T/r2.log")"; fi

# ------------------------------------------------------------ a full disk
MNT=$T/small
mkdir -p "$MNT"
if mount -t tmpfs -o size=400k tmpfs "$MNT" 2>/dev/null; then
    run --output "$MNT/o.json" >"$T/full.log" 2>&1; rc=$?
    have=$(chunks "$MNT/o.json.saex")
    if [ $rc -eq 1 ] && grep -q "No space left on device" "$T/full.log" && [ "$have" -ge 1 ] && [ ! -e "$MNT/o.json" ] \
       && [ -z "$(find "$MNT" -name '*saex-tmp*')" ]; then ok full_disk_fails_cleanly
    else fail full_disk_fails_cleanly "rc $rc, $have chunks: $(grep -i error "$T/full.log" | head -2)"; fi
    mount -o remount,size=64m "$MNT"
    if run --output "$MNT/o.json" >"$T/full2.log" 2>&1 && grep -q "resuming.*: $have of $NB batches already done" "$T/full2.log" \
       && cmp -s "$T/ref.json" "$MNT/o.json"; then ok full_disk_keeps_what_was_written
    else fail full_disk_keeps_what_was_written "$(grep -E 'resuming|error' "$T/full2.log" | head -2)"; fi
    umount "$MNT"; MNT=
else
    skip full_disk_fails_cleanly "cannot mount a small tmpfs here (not root?)"
fi

# ------------------------------------------------------------ bounded memory
# Assembling the JSON from the store: peak memory must not grow with the
# number of positions. Same store size x1 and x4 (all tokens, top 50); the
# input document itself grows x4 too, so allow for it and nothing more.
python3 - "$T" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1] + "/in.json"))
for k in (1, 4):
    json.dump({"results": d["results"] * k}, open("%s/mem%d.json" % (sys.argv[1], k), "w"))
EOF
peak_merge() { # peak RSS (KiB) of saex merge of a finished run of INPUT
    "$SAEX" extract "${OPTS[@]:2}" --input "$1" --top-k 50 --batch-tokens 1024 --output "$1.out.json" >/dev/null 2>&1 || return 1
    python3 - "$SAEX" "$1.out.json.saex" "$1.merged.json" <<'EOF'
import os, resource, subprocess, sys
# Under AddressSanitizer, freed memory sits in a quarantine (256 MB by default)
# and would read as growth: measure the allocator's live memory instead.
env = dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=0")
subprocess.run([sys.argv[1], "merge", sys.argv[2], "--output", sys.argv[3]], check=True, capture_output=True, env=env)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
EOF
}
m1=$(peak_merge "$T/mem1.json") && m4=$(peak_merge "$T/mem4.json")
s1=$(stat -c %s "$T/mem1.json.merged.json" 2>/dev/null || echo 0); s4=$(stat -c %s "$T/mem4.json.merged.json" 2>/dev/null || echo 0)
in1=$(stat -c %s "$T/mem1.json"); in4=$(stat -c %s "$T/mem4.json")
# The input tree costs well under 20 bytes of memory per input byte.
if [ -n "${m1:-}" ] && [ -n "${m4:-}" ] && [ $((m4 - m1)) -lt $(( (in4 - in1) * 20 / 1024 + 2048 )) ]; then
    ok merge_memory_bounded
else fail merge_memory_bounded "peak ${m1:-?} KiB -> ${m4:-?} KiB for outputs of $s1 -> $s4 bytes"; fi
echo "    merge peak RSS ${m1:-?} KiB (output $s1 B) -> ${m4:-?} KiB (output $s4 B)"

[ $failures -eq 0 ]
