# harness.sh — sourced by end-to-end scripts (tests/e2e_compare.sh,
# tests/e2e_report.sh): a scratch folder $T removed at exit, the demo's
# model options, and the case lines that tests/run.sh adds up.
#   . tests/harness.sh TAG
cd "$(dirname "$0")/.."
SAEX=${SAEX:-build/saex}
T=$(mktemp -d "${TMPDIR:-/tmp}/saex_$1.XXXXXX")
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
