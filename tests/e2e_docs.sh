#!/usr/bin/env bash
# e2e_docs.sh — the documentation says what the binary does: every option that
# `saex CMD --help` lists is in docs/cli.md, every `saex extract` option is in
# README.ja.md's table, and the two READMEs give the same first two commands
# (set up + demo, set up + tests).
. "$(dirname "$0")/harness.sh" docs

options_of() { "$SAEX" "$@" --help 2>&1 | grep -o -- '--[a-z][a-z0-9-]*' | sort -u; }

for cmd in extract merge status download compare report tokenize; do
    missing=()
    for opt in $(options_of "$cmd"); do
        [ "$opt" = --help ] && continue
        grep -q -- "\`$opt" docs/cli.md || missing+=("$opt")
    done
    if [ ${#missing[@]} -eq 0 ]; then ok "cli_md_documents_$cmd"
    else fail "cli_md_documents_$cmd" "not in docs/cli.md: ${missing[*]}"; fi
done

missing=()
for opt in $(options_of extract); do
    [ "$opt" = --help ] && continue
    grep -q -- "| \`$opt" README.ja.md || missing+=("$opt")
done
if [ ${#missing[@]} -eq 0 ]; then ok readme_ja_lists_every_extract_option
else fail readme_ja_lists_every_extract_option "not in README.ja.md's table: ${missing[*]}"; fi

# The quick-start commands: the lines after "# 1." and "# 2." in the first sh block.
quick() { awk '/^```sh/{n++} n==1 && /^(scripts|make)/' "$1"; }
if [ -n "$(quick README.md)" ] && [ "$(quick README.md)" = "$(quick README.ja.md)" ]; then
    ok readmes_same_quick_start
else
    fail readmes_same_quick_start "README.md: $(quick README.md | tr '\n' ';') README.ja.md: $(quick README.ja.md | tr '\n' ';')"
fi
grep -q 'README.ja.md' README.md && ok readme_links_japanese || fail readme_links_japanese

# The output format section of both READMEs names the status users filter on.
for f in README.md README.ja.md docs/cli.md; do
    grep -q '"status": "success"' "$f" && ok "status_success_in_$f" || fail "status_success_in_$f"
done
exit $((failures > 0))
