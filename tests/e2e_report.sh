#!/usr/bin/env bash
# End-to-end tests of `saex report`: the page is made from demo outputs
# (every-token and last-token), then opened in headless Chromium. The test
# reads back the DOM after the page's script ran (--dump-dom) and the
# browser's console (--enable-logging=stderr), and takes a screenshot; it
# checks that the tables and the shaded token text were drawn, that the
# script raised no error, that sorting and filtering work (a test script
# appended to a copy clicks and types), and that a prompt holding
# "</script>" and markup stays text. Without chromium the browser cases SKIP.
# Prints "ok NAME" / "FAIL NAME" / "SKIP NAME" per case; exits 1 on failure.
set -u
. "$(dirname "$0")/harness.sh" e2e_report

# The demo questions, one of them with a hostile prompt.
python3 - "$T" <<'EOF'
import json, sys
d = json.load(open("examples/input.json"))
v = d["results"][0]["variations"][1]
v["prompt"] = 'I really like </script><script>document.body.setAttribute("data-pwned","1")</script> <img src=x onerror="document.body.setAttribute(\'data-pwned\',\'2\')"> & "Rome". What is the capital of France?'
d["results"][0]["question_id"] = 'q001 <b>bold</b>'
json.dump(d, open(f"{sys.argv[1]}/in.json", "w"), ensure_ascii=False, indent=1)
EOF
for mode in all last; do
    extra=(); [ $mode = all ] && extra=(--save-all-tokens)
    if ! "$SAEX" extract --input "$T/in.json" "${DEMO[@]}" --top-k 10 "${extra[@]}" --output "$T/$mode.json" \
        >"$T/$mode.log" 2>&1; then fail "extract_$mode" "$(tail -3 "$T/$mode.log")"; exit 1; fi
done
# A known SAE source in the metadata, as saex writes it for registry SAEs.
python3 - "$T/all.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["sae_extraction_metadata"]["layer_2"]["neuronpedia_id"] = "gemma-2-9b/20-gemmascope-res-16k"
json.dump(d, open(sys.argv[1], "w"), ensure_ascii=False)
EOF

report() { # report NAME ARGS...
    local name=$1; shift
    "$SAEX" report "$@" -o "$T/$name.html" >"$T/$name.out" 2>&1 || { fail "$name" "exit $?: $(head -3 "$T/$name.out")"; return 1; }
}
report report_all "$T/all.json" --pair-by question_id && ok report_all
report report_last "$T/last.json" && ok report_last
"$SAEX" report "$T/all.json" >/dev/null 2>&1
check report_default_name test -s "$T/all_report.html"

# ---------------------------------------------------------- the file itself
H="$T/report_all.html"
check self_contained python3 - "$H" <<'EOF'
import re, sys
html = open(sys.argv[1], encoding="utf-8").read()
# Nothing is loaded from elsewhere: no src= / stylesheet links / imports / fetches.
assert not re.search(r'<(script|img|iframe|link)[^>]*\s(src|href)=', html, re.I), "external resource"
assert "@import" not in html and "fetch(" not in html and "XMLHttpRequest" not in html
# The only URLs are Neuronpedia links.
urls = set(re.findall(r'https?://[^"\s<]+', html))
assert urls and all(u.startswith("https://www.neuronpedia.org/gemma-2-9b/20-gemmascope-res-16k/") for u in urls), urls
EOF
check neuronpedia_links grep -q 'href="https://www.neuronpedia.org/gemma-2-9b/20-gemmascope-res-16k/[0-9]*"' "$H"
check no_links_without_source sh -c "! grep -q neuronpedia.org '$T/report_last.html'"
check markup_escaped python3 - "$H" <<'EOF'
import sys
html = open(sys.argv[1], encoding="utf-8").read()
assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html
# One </script> per script element of the page: the prompt's is escaped.
assert html.count("</script>") == html.count("<script"), (html.count("</script>"), html.count("<script"))
assert "<img src=x" not in html
EOF

# ---------------------------------------------------------------- browser
CHROME=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$CHROME" ]; then
    for c in browser_renders_tables browser_shaded_tokens browser_no_js_errors browser_console_clean \
             browser_hostile_prompt_inert browser_hostile_prompt_as_text browser_console_clean_last browser_sort_filter browser_screenshot browser_detects_errors; do
        skip "$c" "chromium is not installed (scripts/setup.sh installs it)"
    done
    [ $failures -eq 0 ]; exit
fi
# dom FILE OUT: the DOM after scripts ran; the console goes to OUT.console.
dom() {
    timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$T/profile" \
        --enable-logging=stderr --v=0 --virtual-time-budget=5000 --dump-dom "file://$1" >"$2" 2>"$2.console"
}
# console_errors FILE: console messages and uncaught errors that the page produced.
console_errors() { grep -E 'CONSOLE|Uncaught' "$1" || true; }
dom_check() { # dom_check NAME DOM PYTHON-CONDITION (html is the DOM text)
    check "$1" python3 -c 'import sys,re; html=open(sys.argv[1],encoding="utf-8").read(); assert eval(sys.argv[2]), sys.argv[2]' "$2" "$3"
}

if dom "$H" "$T/dom.html"; then
    dom_check browser_renders_tables "$T/dom.html" \
        'html.count("<table") >= 10 and len(re.findall(r"<tr data-padj=", html)) >= 20 and "Most frequent features" in html'
    dom_check browser_shaded_tokens "$T/dom.html" \
        'len(re.findall(r"<span class=\"tok[^\"]*\"[^>]*background-color: rgba\(255, 140, 0", html)) >= 20 and "view-tokens" in html'
    dom_check browser_no_js_errors "$T/dom.html" \
        're.search(r"<body[^>]*data-ready=\"1\"", html) and re.search(r"<div id=\"js-errors\" hidden=\"\"></div>", html)'
    check browser_console_clean test -z "$(console_errors "$T/dom.html.console")"
    dom_check browser_hostile_prompt_inert "$T/dom.html" '"data-pwned" not in html.split("<body",1)[1].split(">",1)[0]'
else fail browser_dom "chromium exit $?: $(tail -3 "$T/dom.html.console")"; fi

# The last-token page shows prompt snippets: the hostile one as plain text.
if dom "$T/report_last.html" "$T/dom_last.html"; then
    dom_check browser_hostile_prompt_as_text "$T/dom_last.html" \
        '"data-pwned" not in html.split("<body",1)[1].split(">",1)[0] and "like &lt;/script&gt;&lt;script&gt;document.body" in html'
    check browser_console_clean_last test -z "$(console_errors "$T/dom_last.html.console")"
else fail browser_dom_last "chromium exit $?"; fi

# Sorting and filtering, driven by a test script appended to a copy of the page.
cat >"$T/selftest.js" <<'EOF'
(function () {
  var t = document.querySelector("table[id^=test]"), out = [];
  var feat = function () {
    return Array.prototype.map.call(t.tBodies[0].rows, function (r) { return +r.cells[1].getAttribute("data-v"); });
  };
  t.tHead.rows[0].cells[1].click();
  var a = feat();
  out.push(a.every(function (v, i) { return !i || a[i - 1] <= v; }) ? "asc" : "no-asc");
  t.tHead.rows[0].cells[1].click();
  var d = feat();
  out.push(d.every(function (v, i) { return !i || d[i - 1] >= v; }) ? "desc" : "no-desc");
  var inp = document.querySelector(".filters[data-table='" + t.id + "'] input.text");
  inp.value = String(d[0]);
  inp.dispatchEvent(new Event("input"));
  var vis = Array.prototype.filter.call(t.tBodies[0].rows, function (r) { return !r.hidden; });
  out.push(vis.length >= 1 && vis.length < t.tBodies[0].rows.length ? "filtered" : "no-filter");
  document.body.setAttribute("data-selftest", out.join(","));
})();
EOF
append_script() { # append_script PAGE SCRIPT OUT: the page with SCRIPT run after its own
    python3 -c 'import sys; p=open(sys.argv[1],encoding="utf-8").read(); s=open(sys.argv[2]).read()
i=p.rindex("</body>"); open(sys.argv[3],"w",encoding="utf-8").write(p[:i]+"<script>"+s+"</script>"+p[i:])' "$@"
}
append_script "$H" "$T/selftest.js" "$T/selftest.html"
if dom "$T/selftest.html" "$T/selftest.dom"; then
    dom_check browser_sort_filter "$T/selftest.dom" '"data-selftest=\"asc,desc,filtered\"" in html'
else fail browser_sort_filter "chromium exit $?"; fi

# The checks catch a broken page: the same page with a script error.
echo 'undefinedFunction();' >"$T/broken.js"
append_script "$H" "$T/broken.js" "$T/broken.html"
if dom "$T/broken.html" "$T/broken.dom"; then
    check browser_detects_errors sh -c "grep -q 'undefinedFunction' '$T/broken.dom' && [ -n \"\$(grep -E 'CONSOLE|Uncaught' '$T/broken.dom.console')\" ]"
else fail browser_detects_errors "chromium exit $?"; fi

if timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$T/profile" \
    --hide-scrollbars --window-size=1280,1600 --virtual-time-budget=5000 --screenshot="$T/shot.png" "file://$H" \
    >"$T/shot.log" 2>&1; then
    check browser_screenshot python3 -c 'import sys; b=open(sys.argv[1],"rb").read(); assert b[:8]==b"\x89PNG\r\n\x1a\n" and len(b) > 50000, len(b)' "$T/shot.png"
    [ -n "${SAEX_REPORT_SCREENSHOT:-}" ] && cp "$T/shot.png" "$SAEX_REPORT_SCREENSHOT"
else fail browser_screenshot "chromium exit $?: $(tail -3 "$T/shot.log")"; fi

[ $failures -eq 0 ]
