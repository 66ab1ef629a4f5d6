#!/usr/bin/env bash
# e2e_tokenize.sh — `saex tokenize` end to end: ids, --no-bos, --tokens,
# --jsonl, stdin, and the exit codes for bad usage (2) and bad data (1).
# The Gemma-2 tokenizer comes from $SAEX_GEMMA2_TOKENIZER or
# ../shared/data/tokenizers/gemma2; examples/model is used when it is absent.
set -u
SAEX=${SAEX:-build/saex}
fail=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1: $2"; fail=1; }
if [ ! -x "$SAEX" ]; then echo "FAIL tokenize: no saex binary at $SAEX"; exit 1; fi
if ! "$SAEX" tokenize --help >/dev/null 2>&1; then echo "SKIP tokenize: '$SAEX tokenize' is not wired in yet"; exit 0; fi
TOK=${SAEX_GEMMA2_TOKENIZER:-../shared/data/tokenizers/gemma2/tokenizer.json}
if [ ! -f "$TOK" ]; then
    TOK=examples/model/tokenizer.json
    if [ ! -f "$TOK" ]; then echo "SKIP tokenize: no tokenizer.json found"; exit 0; fi
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# ids: a JSON array that starts with BOS; --no-bos drops exactly that one id
out=$("$SAEX" tokenize --tokenizer "$TOK" --text "Hello world, this is saex.") || bad ids "exit $?"
nob=$("$SAEX" tokenize --tokenizer "$TOK" --no-bos --text "Hello world, this is saex.") || bad nobos "exit $?"
python3 - "$out" "$nob" <<'PY' && ok "ids and --no-bos" || bad ids "$out / $nob"
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert isinstance(a, list) and all(isinstance(x, int) for x in a) and len(a) >= 3, a
assert a[1:] == b, (a, b)
PY

# stdin gives the same ids as --text; a directory path works like the file
printf 'Hello world, this is saex.' | "$SAEX" tokenize --tokenizer "$(dirname "$TOK")" >"$tmp/stdin.json" || bad stdin "exit $?"
[ "$(cat "$tmp/stdin.json")" = "$out" ] && ok "stdin and directory path" || bad stdin "$(cat "$tmp/stdin.json") vs $out"

# --tokens: ids and token strings of equal length
tk=$("$SAEX" tokenize --tokenizer "$TOK" --tokens --text "Hello world") || bad tokens "exit $?"
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert len(d["ids"])==len(d["tokens"])>=2 and all(isinstance(t,str) for t in d["tokens"]), d' "$tk" \
    && ok "--tokens" || bad tokens "$tk"

# --jsonl: one output line per input line, in order, NUL bytes kept
printf '%s\n' '{"text": "first line"}' '{"text": "a\u0000b"}' '{"text": ""}' '{"text": "Hello world, this is saex."}' >"$tmp/in.jsonl"
"$SAEX" tokenize --tokenizer "$TOK" --jsonl <"$tmp/in.jsonl" >"$tmp/out.jsonl" || bad jsonl "exit $?"
python3 - "$tmp/out.jsonl" "$out" <<'PY' && ok "--jsonl" || bad jsonl "$(cat "$tmp/out.jsonl")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 4, rows
assert rows[3]["ids"] == json.loads(sys.argv[2]), rows[3]
assert len(rows[2]["ids"]) == 1, rows[2]          # empty text: BOS only
assert len(rows[1]["ids"]) >= 3, rows[1]          # a, NUL, b
PY

# usage errors exit 2, data errors exit 1, each with a message on stderr
"$SAEX" tokenize --text x >/dev/null 2>"$tmp/e1"; rc=$?
[ $rc -eq 2 ] && [ -s "$tmp/e1" ] && ok "missing --tokenizer exits 2" || bad usage "rc $rc"
"$SAEX" tokenize --tokenizer "$TOK" --bogus >/dev/null 2>"$tmp/e2"; rc=$?
[ $rc -eq 2 ] && grep -q bogus "$tmp/e2" && ok "unknown flag exits 2" || bad usage2 "rc $rc"
"$SAEX" tokenize --tokenizer "$tmp/nope.json" --text x >/dev/null 2>"$tmp/e3"; rc=$?
[ $rc -eq 1 ] && grep -q nope.json "$tmp/e3" && ok "missing tokenizer exits 1" || bad missing "rc $rc $(cat "$tmp/e3")"
echo '{"model": 5}' >"$tmp/bad.json"
"$SAEX" tokenize --tokenizer "$tmp/bad.json" --text x >/dev/null 2>"$tmp/e4"; rc=$?
[ $rc -eq 1 ] && grep -q 'bad.json' "$tmp/e4" && ok "malformed tokenizer exits 1" || bad malformed "rc $rc $(cat "$tmp/e4")"
printf 'ab\xffcd' | "$SAEX" tokenize --tokenizer "$TOK" >/dev/null 2>"$tmp/e5"; rc=$?
[ $rc -eq 1 ] && grep -q 'offset 2' "$tmp/e5" && ok "invalid UTF-8 exits 1 with the offset" || bad utf8 "rc $rc $(cat "$tmp/e5")"
printf 'not json\n' | "$SAEX" tokenize --tokenizer "$TOK" --jsonl >/dev/null 2>"$tmp/e6"; rc=$?
[ $rc -eq 1 ] && grep -q 'line 1' "$tmp/e6" && ok "bad --jsonl line exits 1" || bad jsonl_bad "rc $rc $(cat "$tmp/e6")"
exit $fail
