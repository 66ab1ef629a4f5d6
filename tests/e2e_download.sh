#!/usr/bin/env bash
# End-to-end tests of Hub downloads: `saex download`, and `saex extract`
# fetching what the cache lacks, against tests/hub_emulator.py (127.0.0.1
# only: the real Hub is never contacted). Covers the cache layout, shard
# selection, gated repos, dropped connections, sha256 mismatches, 429/503
# retries, missing repos, no network, a full disk, kill -9 and Ctrl-C
# followed by a resuming run, and offline runs from the filled cache.
# Prints "ok NAME" / "FAIL NAME" / "SKIP NAME" per case; exits 1 on failure.
set -u
cd "$(dirname "$0")/.."
SAEX=${SAEX:-build/saex}
EXP=tests/fixtures/e2e/expected.json
CMP="python3 tests/compare_extract.py"
T=$(mktemp -d "${TMPDIR:-/tmp}/saex_dl.XXXXXX")
failures=0
ok() { echo "ok $1"; }
fail() { echo "FAIL $1${2:+: $2}"; failures=$((failures + 1)); }
skip() { echo "SKIP $1${2:+: $2}"; }

if [ ! -x "$SAEX" ]; then fail binary "$SAEX not built"; exit 1; fi
python3 tests/hub_emulator.py --port-file "$T/ports" 2>"$T/emulator.log" &
EMU=$!
trap 'kill $EMU 2>/dev/null; wait $EMU 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 100); do [ -s "$T/ports" ] && break; sleep 0.1; done
if [ ! -s "$T/ports" ]; then fail emulator "did not start: $(cat "$T/emulator.log")"; exit 1; fi
read -r HP CP <"$T/ports"
H=http://127.0.0.1:$HP
# Only the emulator; no token, cache or offline flag from the caller's environment.
unset HF_TOKEN HUGGING_FACE_HUB_TOKEN HF_HUB_OFFLINE HF_HUB_CACHE HF_TOKEN_PATH
export HF_ENDPOINT=$H HF_HOME=$T/hfhome HF_HUB_DOWNLOAD_TIMEOUT=5
mkdir -p "$HF_HOME"
GOOD=hf_emulator_valid_token
MODEL_SHA=$(sha256sum examples/model/model.safetensors | cut -d' ' -f1)

# http_get PATH: a plain HTTP/1.0 GET to the emulator through bash's /dev/tcp (no process started).
http_get() {
    local body
    exec 3<>"/dev/tcp/127.0.0.1/$HP" || return 1
    printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$1" >&3
    body=$(cat <&3)
    exec 3<&-
    printf '%s' "${body#*$'\r\n\r\n'}"
}
ctl() { http_get "/_control?$1" >/dev/null; }
# requests PYTHON-EXPRESSION: evaluates it over the emulator's log (`log`: a list of
# {server, method, path, range, auth, t}, control requests left out) and prints it.
requests() {
    http_get /_log >"$T/log.json"
    python3 -c '
import json, sys
log = [e for e in json.load(open(sys.argv[1])) if not e["path"].startswith(("/_log", "/_control"))]
print(eval("(" + sys.argv[2] + ")"))' "$T/log.json" "$1"
}
dl() { # dl CACHE NAME [args...]: saex download into CACHE; stdout/stderr in $T/NAME.{out,err}; returns its status
    local cache=$1 name=$2; shift 2
    HF_HUB_CACHE=$cache "$SAEX" download "$@" >"$T/$name.out" 2>"$T/$name.err"
}
blobs() { ls "$1/models--$2/blobs" 2>/dev/null | tr '\n' ' '; }
reset() { ctl op=reset; }

# ------------------------------------------------------------- a model and an SAE
reset
C1=$T/c1
if dl "$C1" model google/gemma-2-2b; then
    snap=$(cat "$T/model.out")
    if python3 - "$C1/models--google--gemma-2-2b" "$snap" "$MODEL_SHA" <<'EOF'
import hashlib, os, sys
repo, snap, model_sha = sys.argv[1:]
commit = open(os.path.join(repo, "refs", "main")).read()
assert len(commit) == 40 and snap == os.path.join(repo, "snapshots", commit), (commit, snap)
names = sorted(os.listdir(snap))
assert names == ["config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
                 "tokenizer_config.json"], names
for n in names:
    p = os.path.join(snap, n)
    t = os.readlink(p)
    assert t.startswith("../../blobs/") and os.path.isfile(p), (n, t)
    assert open(p, "rb").read() == open(os.path.join("examples/model", n), "rb").read(), n
assert os.readlink(os.path.join(snap, "model.safetensors")) == "../../blobs/" + model_sha
assert not [b for b in os.listdir(os.path.join(repo, "blobs")) if not b[0].isalnum()], os.listdir(os.path.join(repo, "blobs"))
EOF
    then ok download_model_cache_layout; else fail download_model_cache_layout; fi
else fail download_model_cache_layout "$(cat "$T/model.err")"; fi

if dl "$C1" sae --sae-release gemma-scope-2b-pt-res-canonical --sae-id layer_2/width_16k/canonical &&
   p=$(cat "$T/sae.out") && [[ $p == */snapshots/*/layer_2/width_16k/average_l0_141/params.npz ]] &&
   cmp -s "$p" examples/sae/params.npz &&
   [ "$(find "$C1/models--google--gemma-scope-2b-pt-res/snapshots" -type l | wc -l)" = 1 ]; then
    ok download_sae_folder_only
else fail download_sae_folder_only "$(cat "$T/sae.err")"; fi

reset
if dl "$C1" again google/gemma-2-2b && [ "$(requests 'len(log)')" = 0 ]; then ok cached_model_needs_no_request
else fail cached_model_needs_no_request "$(requests 'log')"; fi

# ---------------------------------------------------- saex extract and the cache
REG=(--input examples/input.json --model google/gemma-2-2b --sae-release gemma-scope-2b-pt-res-canonical
     --sae-id layer_2/width_16k/canonical --target-layer 2 --top-k 10 --precision f32)
reset
if HF_HUB_CACHE=$C1 HF_HUB_OFFLINE=1 HF_ENDPOINT=http://127.0.0.1:9 "$SAEX" extract "${REG[@]}" --output "$T/off.json" \
       >"$T/off.log" 2>&1 && $CMP "$T/off.json" "$EXP" --precision f32 >>"$T/off.log" 2>&1 &&
   [ "$(requests 'len(log)')" = 0 ]; then
    ok extract_offline_from_downloaded_cache
else fail extract_offline_from_downloaded_cache "$(tail -5 "$T/off.log")"; fi

reset
if HF_HUB_CACHE=$T/c2 "$SAEX" extract "${REG[@]}" --output "$T/on.json" >"$T/on.log" 2>&1 &&
   $CMP "$T/on.json" "$EXP" --precision f32 >>"$T/on.log" 2>&1 &&
   [ -e "$T/c2/models--google--gemma-2-2b/refs/main" ] && [ -e "$T/c2/models--google--gemma-scope-2b-pt-res/refs/main" ]; then
    ok extract_downloads_what_is_missing
else fail extract_downloads_what_is_missing "$(tail -5 "$T/on.log")"; fi

reset
HF_HUB_CACHE=$T/c3 "$SAEX" extract "${REG[@]}" --offline --output "$T/nf.json" >/dev/null 2>"$T/nf.err"
rc=$?
if [ $rc = 1 ] && grep -qF "$T/c3/models--google--gemma-2-2b/refs/main" "$T/nf.err" &&
   grep -qF "saex download google/gemma-2-2b --target-layer 2" "$T/nf.err" && grep -qF "hf download google/gemma-2-2b" "$T/nf.err" &&
   grep -q "network is off" "$T/nf.err" && [ ! -e "$T/nf.json" ] && [ "$(requests 'len(log)')" = 0 ]; then
    ok extract_offline_empty_cache_message
else fail extract_offline_empty_cache_message "rc $rc: $(cat "$T/nf.err")"; fi
HF_HUB_CACHE=$C1 HF_HUB_OFFLINE=1 "$SAEX" extract "${REG[@]}" --sae-id layer_3/width_16k/canonical --target-layer 3 \
    --output "$T/nf2.json" >/dev/null 2>"$T/nf2.err"
rc=$?
if [ $rc = 1 ] && grep -qF "saex download --sae-release gemma-scope-2b-pt-res-canonical --sae-id layer_3/width_16k/canonical" "$T/nf2.err" &&
   grep -qF "hf download google/gemma-scope-2b-pt-res --include 'layer_3/width_16k/average_l0_59/*'" "$T/nf2.err" &&
   grep -qF "/layer_3/width_16k/average_l0_59/params.npz" "$T/nf2.err"; then
    ok extract_offline_sae_missing_message
else fail extract_offline_sae_missing_message "rc $rc: $(cat "$T/nf2.err")"; fi

# ------------------------------------------------------------ shard selection
reset
C4=$T/c4
TB=tests/fixtures/tiny_b
S1=$(sha256sum $TB/model-00001-of-00003.safetensors | cut -d' ' -f1)
S2=$(sha256sum $TB/model-00002-of-00003.safetensors | cut -d' ' -f1)
S3=$(sha256sum $TB/model-00003-of-00003.safetensors | cut -d' ' -f1)
if dl "$C4" shards test-org/tiny-sharded --target-layer 2; then
    b=$(blobs "$C4" test-org--tiny-sharded)
    if [[ $b == *$S1* && $b == *$S2* && $b != *$S3* ]] && grep -qF "skipping 1 shard (472.2 KB)" "$T/shards.err" &&
       [ ! -e "$(cat "$T/shards.out")/model-00003-of-00003.safetensors" ] &&
       [ "$(requests 'sum(1 for e in log if "model-00003-of" in e["path"])')" = 0 ]; then
        ok shards_only_blocks_0_to_L
    else fail shards_only_blocks_0_to_L "blobs: $b; $(cat "$T/shards.err")"; fi
else fail shards_only_blocks_0_to_L "$(cat "$T/shards.err")"; fi
if HF_HUB_CACHE=$C4 HF_HUB_OFFLINE=1 "$SAEX" download test-org/tiny-sharded --target-layer 3 >/dev/null 2>"$T/sh3.err"; then
    fail shards_deeper_layer_needs_more "offline succeeded without shard 3"
elif dl "$C4" sh4 test-org/tiny-sharded --target-layer 3 && [[ $(blobs "$C4" test-org--tiny-sharded) == *$S3* ]] &&
     grep -q "1 file downloaded" "$T/sh4.err"; then
    ok shards_deeper_layer_needs_more
else fail shards_deeper_layer_needs_more "$(cat "$T/sh3.err" "$T/sh4.err")"; fi

# ------------------------------------------------------------------- gated repos
reset
dl "$T/g" g401 test-org/gated-model
rc=$?
if [ $rc = 1 ] && grep -q "HTTP 401" "$T/g401.err" && grep -q "export HF_TOKEN=" "$T/g401.err" &&
   grep -qF "$H/test-org/gated-model" "$T/g401.err"; then ok gated_401_says_set_hf_token
else fail gated_401_says_set_hf_token "rc $rc: $(cat "$T/g401.err")"; fi
HF_TOKEN=hf_wrong dl "$T/g" g403 test-org/gated-model
rc=$?
if [ $rc = 1 ] && grep -q "HTTP 403" "$T/g403.err" && grep -q "accept the license on $H/test-org/gated-model" "$T/g403.err"; then
    ok gated_403_says_accept_the_license
else fail gated_403_says_accept_the_license "rc $rc: $(cat "$T/g403.err")"; fi
reset
if HF_TOKEN=$GOOD dl "$T/g" gok test-org/gated-model &&
   [ "$(requests 'all(e["auth"] == "Bearer hf_emulator_valid_token" for e in log if e["server"] == "hub") and
                   any(e["server"] == "cdn" for e in log) and not any(e["auth"] for e in log if e["server"] == "cdn")')" = True ]; then
    ok gated_token_sent_to_hub_not_to_redirect
else fail gated_token_sent_to_hub_not_to_redirect "$(cat "$T/gok.err") $(requests 'log')"; fi
echo "$GOOD" >"$HF_HOME/token"
if dl "$T/g2" gfile test-org/gated-model; then ok token_from_hf_home_file
else fail token_from_hf_home_file "$(cat "$T/gfile.err")"; fi
rm -f "$HF_HOME/token"

# ------------------------------------------------------------- faults, resuming
reset
ctl "op=fault&kind=drop&path=model.safetensors&after=200000"
if dl "$T/c5" drop google/gemma-2-2b &&
   [ "$(requests 'any(e["server"] == "cdn" and e["range"] == "bytes=200000-" for e in log)')" = True ] &&
   cmp -s "$(cat "$T/drop.out")/model.safetensors" examples/model/model.safetensors; then
    ok dropped_connection_resumes_with_range
else fail dropped_connection_resumes_with_range "$(cat "$T/drop.err")"; fi

reset
ctl "op=fault&kind=corrupt&path=model.safetensors"
dl "$T/c6" bad google/gemma-2-2b
rc=$?
R6=$T/c6/models--google--gemma-2-2b
if [ $rc = 1 ] && grep -q "do not match the file's sha256" "$T/bad.err" && [ ! -e "$R6/blobs/$MODEL_SHA" ] &&
   [ ! -e "$R6/blobs/$MODEL_SHA.incomplete" ] && ! ls "$R6"/snapshots/*/model.safetensors >/dev/null 2>&1 &&
   [ ! -e "$R6/refs/main" ] && dl "$T/c6" bad2 google/gemma-2-2b; then
    ok sha256_mismatch_deleted_then_refetched
else fail sha256_mismatch_deleted_then_refetched "rc $rc: $(cat "$T/bad.err")"; fi

reset
ctl "op=fault&kind=status&path=config.json&code=429&retry_after=1&times=2"
if dl "$T/c7" r429 google/gemma-2-2b &&
   [ "$(requests '[round(b["t"] - a["t"], 1) >= 0.9 for a, b in zip(h, h[1:])] if (h := [e for e in log if e["method"] == "HEAD" and e["path"].endswith("/config.json")]) else 0')" = "[True, True]" ] &&
   grep -q "HTTP 429; retrying in 1 s" "$T/r429.err"; then
    ok retry_429_honours_retry_after
else fail retry_429_honours_retry_after "$(cat "$T/r429.err")"; fi

reset
ctl "op=fault&kind=status&path=model.safetensors&code=503&where=get&times=1"
if dl "$T/c8" r503 google/gemma-2-2b && grep -q "HTTP 503; retrying" "$T/r503.err"; then ok retry_503_on_the_file
else fail retry_503_on_the_file "$(cat "$T/r503.err")"; fi

reset
dl "$T/c9" nf google/no-such-model
rc=$?
dl "$T/c9" nfrev google/gemma-2-2b --revision v9
rc2=$?
dl "$T/c9" nfinc google/gemma-2-2b --include 'nothing*'
rc3=$?
if [ $rc = 1 ] && grep -q "repository google/no-such-model not found" "$T/nf.err" &&
   [ $rc2 = 1 ] && grep -q "revision not found in google/gemma-2-2b" "$T/nfrev.err" &&
   [ $rc3 = 1 ] && grep -q "no file of google/gemma-2-2b at main matches 'nothing\*'" "$T/nfinc.err"; then
    ok not_found_repo_revision_file
else fail not_found_repo_revision_file "$(cat "$T/nf.err" "$T/nfrev.err" "$T/nfinc.err")"; fi

PORT_CLOSED=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
HF_ENDPOINT=http://127.0.0.1:$PORT_CLOSED dl "$T/c10" nonet google/gemma-2-2b
rc=$?
if [ $rc = 1 ] && grep -q "cannot reach http://127.0.0.1:$PORT_CLOSED" "$T/nonet.err" && grep -q "HF_HUB_OFFLINE=1" "$T/nonet.err"; then
    ok no_network_message
else fail no_network_message "rc $rc: $(cat "$T/nonet.err")"; fi

# A full disk: the partial file is /dev/full (every write fails with ENOSPC).
reset
dl "$T/c11" cfg google/gemma-2-2b --include config.json
ln -s /dev/full "$T/c11/models--google--gemma-2-2b/blobs/$MODEL_SHA.incomplete"
dl "$T/c11" full google/gemma-2-2b
rc=$?
if [ $rc = 1 ] && grep -q "the disk is full (no space left on device)" "$T/full.err" &&
   ! ls "$T"/c11/models--google--gemma-2-2b/snapshots/*/model.safetensors >/dev/null 2>&1; then
    ok disk_full_message
else fail disk_full_message "rc $rc: $(cat "$T/full.err")"; fi
ctl "op=fault&kind=huge&path=model.safetensors&times=-1"
dl "$T/c12" huge google/gemma-2-2b
rc=$?
if [ $rc = 1 ] && grep -q "not enough disk space in" "$T/huge.err" && grep -q "1.0 PB more are needed" "$T/huge.err"; then
    ok disk_space_checked_before_downloading
else fail disk_space_checked_before_downloading "rc $rc: $(cat "$T/huge.err")"; fi

# kill -9 in the middle of a slow download, then a run that resumes it.
reset
ctl "op=fault&kind=slow&rate=150000"
R13=$T/c13/models--google--gemma-2-2b
HF_HUB_CACHE=$T/c13 "$SAEX" download google/gemma-2-2b >/dev/null 2>"$T/k9.err" &
pid=$!
part=$R13/blobs/$MODEL_SHA.incomplete
for _ in $(seq 200); do [ -f "$part" ] && [ "$(stat -c %s "$part")" -gt 100000 ] && break; sleep 0.05; done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
had=$(stat -c %s "$part" 2>/dev/null || echo 0)
linked=$(ls "$R13"/snapshots/*/model.safetensors 2>/dev/null | wc -l)
reset
if [ "$had" -gt 100000 ] && [ "$had" -lt 618872 ] && [ "$linked" = 0 ] && [ ! -e "$R13/refs/main" ] &&
   dl "$T/c13" k9b google/gemma-2-2b && [ "$(requests '[e["range"] for e in log if e["range"]]')" = "['bytes=$had-']" ] &&
   cmp -s "$(cat "$T/k9b.out")/model.safetensors" examples/model/model.safetensors && [ ! -e "$part" ]; then
    ok kill9_then_rerun_resumes
else fail kill9_then_rerun_resumes "had $had linked $linked: $(cat "$T/k9.err" "$T/k9b.err" 2>/dev/null)"; fi

# Ctrl-C: exit 130, the partial file kept.
reset
ctl "op=fault&kind=slow&rate=150000"
HF_HUB_CACHE=$T/c14 "$SAEX" download google/gemma-2-2b >/dev/null 2>"$T/int.err" &
pid=$!
part=$T/c14/models--google--gemma-2-2b/blobs/$MODEL_SHA.incomplete
for _ in $(seq 200); do [ -f "$part" ] && [ "$(stat -c %s "$part")" -gt 50000 ] && break; sleep 0.05; done
kill -INT $pid
wait $pid
rc=$?
reset
if [ $rc = 130 ] && [ -s "$part" ] && grep -q "interrupted after .* bytes; .*incomplete is kept" "$T/int.err"; then
    ok ctrl_c_keeps_partial_file
else fail ctrl_c_keeps_partial_file "rc $rc: $(cat "$T/int.err")"; fi

# Two processes after the same files (a Slurm array on one cache): one downloads, the other waits for its lock.
reset
ctl "op=fault&kind=slow&rate=400000"
HF_HUB_CACHE=$T/c16 "$SAEX" download google/gemma-2-2b >"$T/two1.out" 2>"$T/two1.err" &
p1=$!
HF_HUB_CACHE=$T/c16 "$SAEX" download google/gemma-2-2b >"$T/two2.out" 2>"$T/two2.err" &
p2=$!
wait $p1
rc1=$?
wait $p2
rc2=$?
if [ $rc1 = 0 ] && [ $rc2 = 0 ] && cmp -s "$T/two1.out" "$T/two2.out" &&
   [ "$(requests 'sum(1 for e in log if e["server"] == "cdn" and "model.safetensors" in e["path"])')" = 1 ] &&
   cmp -s "$(cat "$T/two1.out")/model.safetensors" examples/model/model.safetensors; then
    ok concurrent_downloads_share_one_transfer
else fail concurrent_downloads_share_one_transfer "rc $rc1 $rc2: $(cat "$T/two1.err" "$T/two2.err")"; fi
reset

# --include on any repository
if dl "$T/c15" inc google/gemma-scope-2b-pt-res --include 'layer_3/*' &&
   [ "$(find "$T/c15" -path '*/snapshots/*' -type l | sed 's#.*/snapshots/[0-9a-f]*/##')" = "layer_3/width_16k/average_l0_59/params.npz" ]; then
    ok include_pattern
else fail include_pattern "$(cat "$T/inc.err")"; fi

if "$SAEX" download --help | grep -q "saex download MODEL_ID" && ! "$SAEX" download 2>/dev/null; then ok download_help_and_usage
else fail download_help_and_usage; fi

# ---------------------------------------------------- huggingface_hub reads it
PY=${SAEX_REF_PYTHON:-.venv-ref/bin/python}  # or any python with huggingface_hub
if [ -x $PY ] && $PY -c 'import huggingface_hub' 2>/dev/null; then
    if $PY - "$C1" "$H" <<'EOF' >"$T/scan.log" 2>&1
import os, sys, warnings
from huggingface_hub import scan_cache_dir, try_to_load_from_cache
cache = sys.argv[1]
with warnings.catch_warnings():
    warnings.simplefilter("error")
    info = scan_cache_dir(cache)
assert not info.warnings, info.warnings
repos = {r.repo_id: r for r in info.repos}
assert set(repos) == {"google/gemma-2-2b", "google/gemma-scope-2b-pt-res"}, repos
m = repos["google/gemma-2-2b"]
(rev,) = m.revisions
assert rev.refs == frozenset({"main"}) and len(rev.files) == 5 and m.nb_files == 5, rev
p = try_to_load_from_cache("google/gemma-2-2b", "model.safetensors", cache_dir=cache)
assert p and open(p, "rb").read() == open("examples/model/model.safetensors", "rb").read(), p
print("scan_cache_dir: %d repos, no warnings" % len(info.repos))
EOF
    then ok huggingface_hub_scan_cache_dir; else fail huggingface_hub_scan_cache_dir "$(cat "$T/scan.log")"; fi
    # and the other way: files huggingface_hub downloaded, read by saex offline
    if $PY - "$T/py" <<'EOF' >"$T/pydl.log" 2>&1 &&
from huggingface_hub import snapshot_download
import sys
snapshot_download("google/gemma-2-2b", cache_dir=sys.argv[1])
snapshot_download("google/gemma-scope-2b-pt-res", allow_patterns=["layer_2/*"], cache_dir=sys.argv[1])
EOF
       HF_HUB_CACHE=$T/py HF_HUB_OFFLINE=1 "$SAEX" extract "${REG[@]}" --output "$T/py.json" >>"$T/pydl.log" 2>&1 &&
       $CMP "$T/py.json" "$EXP" --precision f32 >>"$T/pydl.log" 2>&1; then
        ok saex_reads_huggingface_hub_downloads
    else fail saex_reads_huggingface_hub_downloads "$(tail -5 "$T/pydl.log")"; fi
else
    skip huggingface_hub_scan_cache_dir "no .venv-ref with huggingface_hub (scripts/setup.sh --ref)"
    skip saex_reads_huggingface_hub_downloads "no .venv-ref with huggingface_hub"
fi

[ $failures -eq 0 ]
