#!/usr/bin/env bash
# Runs each build-fuzz/fuzz_<name> for $FUZZ_SECONDS (default 20) on a scratch
# copy of its seed corpus fuzz/corpus/<name>/ or fuzz/corpus/fuzz_<name>/
# (with fuzz/corpus/<name>.dict
# when present). Prints "ok fuzz_<name>" or "FAIL fuzz_<name>" per target and
# exits non-zero if any target crashed. Crash inputs are kept in
# build-fuzz/artifacts/<name>/.
set -u
cd "$(dirname "$0")/.."
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
failed=0 ran=0
for bin in build-fuzz/fuzz_*; do
    [ -x "$bin" ] || continue
    name=${bin#build-fuzz/fuzz_}
    scratch=$(mktemp -d)
    for seeds in "fuzz/corpus/$name" "fuzz/corpus/fuzz_$name"; do
        [ -d "$seeds" ] && cp -r "$seeds/." "$scratch/"
    done
    art="build-fuzz/artifacts/$name"
    mkdir -p "$art"
    dict=()
    [ -f "fuzz/corpus/$name.dict" ] && dict=("-dict=fuzz/corpus/$name.dict")
    log="build-fuzz/fuzz_$name.log"
    "$bin" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -artifact_prefix="$art/" "${dict[@]}" "$scratch" >"$log" 2>&1
    rc=$?
    ran=$((ran + 1))
    stats=$(grep -E '^(#[0-9]+|Done)' "$log" | tail -1)
    if [ $rc -eq 0 ]; then
        echo "ok fuzz_$name ($stats)"
    else
        echo "FAIL fuzz_$name (exit $rc; see $log and $art/)"
        grep -E 'ERROR|SUMMARY|runtime error' "$log" | head -5
        failed=1
    fi
    rm -rf "$scratch"
done
[ $ran -gt 0 ] || { echo "FAIL fuzz: no build-fuzz/fuzz_* binaries"; exit 1; }
exit $failed
