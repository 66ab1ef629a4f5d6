#!/usr/bin/env bash
# Runs every test binary and the end-to-end scripts, adds up their case
# lines and prints "N passed, N failed, N skipped". Exits 1 if anything failed.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
pass=0 fail=0 skip=0 broken=()
log=$(mktemp)
run_one() {
    local name=$1; shift
    echo "== $name"
    "$@" >"$log" 2>&1
    local rc=$?
    cat "$log"
    local p f s
    p=$(grep -c '^ok ' "$log"); f=$(grep -c '^FAIL ' "$log"); s=$(grep -c '^SKIP ' "$log")
    pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
    if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAIL $name (exit $rc without a failing case: crashed?)"
        fail=$((fail + 1))
    fi
    [ $rc -ne 0 ] && broken+=("$name")
}
for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    run_one "$(basename "$t")" "$t"
done
for s in tests/e2e_*.sh; do
    [ -f "$s" ] || continue
    run_one "$(basename "$s")" env SAEX="$BUILD/saex" bash "$s"
done
rm -f "$log"
echo
[ ${#broken[@]} -gt 0 ] && echo "failing: ${broken[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
