#!/usr/bin/env python3
"""Writes tests/fixtures/tokenizer/cases.jsonl.gz: texts with the ids and the
decoded text that Hugging Face `tokenizers` gives for the Gemma-2 tokenizer.

Run with the reference venv:
    .venv-ref/bin/python tools/gen_tokenizer_cases.py [TOKENIZER_JSON]
The output is byte-identical on every run (fixed seed, gzip mtime 0).

    tools/gen_tokenizer_cases.py --unicode-table > src/tokenizer_unicode.c
regenerates the Unicode class table the C tokenizer uses.
"""
import gzip
import io
import json
import os
import random
import sys
import unicodedata

DEFAULT_TOK = "/work/shared/data/tokenizers/gemma2/tokenizer.json"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "tokenizer", "cases.jsonl.gz")

BASE = [
    "", " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n ", "a", "A", "ab", "hello", "Hello world", " Hello world",
    "Hello world ", "  leading and trailing  ", "The quick brown fox jumps over the lazy dog.",
    "It's a test, isn't it? Yes: it is; (really) [really] {really}!",
    "I'm here. You're there. We'll see. They'd go. She's done.",
    "Don't stop believing — hold on to that feeling…", "naïve café résumé coöperate façade",
    "ÀÉÎÕÜ àéîõü ßẞ ÆØÅ æøå Œœ", "Ελληνικά κείμενο με τόνους", "Русский текст: съешь же ещё этих мягких французских булок",
    "日本語のテキストです。東京は日本の首都です。", "今日はいい天気ですね！散歩に行きましょう。",
    "ひらがな カタカナ 漢字 ｶﾀｶﾅ（半角）", "中文文本：我爱自然语言处理。", "繁體中文：臺灣、香港。",
    "한국어 텍스트입니다. 안녕하세요!", "العربية: مرحبا بالعالم", "مرحبا، كيف حالك؟ ١٢٣٤٥",
    "हिन्दी पाठ: नमस्ते दुनिया", "क्षत्रिय ज्ञान श्री", "ภาษาไทย: สวัสดีครับ", "עברית: שלום עולם",
    "Tiếng Việt: Xin chào thế giới", "Türkçe: İstanbul ığdır şeker", "ქართული ენა", "Հայերեն", "አማርኛ",
    "தமிழ் மொழி", "বাংলা ভাষা", "ᚠᛇᚻ᛫ᛒᛦᚦ", "𐍈𐌰𐌹𐍃", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕋𝕖𝕩𝕥 𝒮𝒸𝓇𝒾𝓅𝓉",
    "emoji 😀😃😄 🎉🎊", "👍🏻👍🏼👍🏽👍🏾👍🏿", "👨‍👩‍👧‍👦 family", "👩🏽‍💻 coder", "🏳️‍🌈 🏴‍☠️",
    "🇯🇵🇺🇸🇫🇷🇩🇪", "❤️ ❤ ♥️", "#️⃣ 1️⃣ 🔟", "🫠🫡🫶 newer emoji", "e\u0301 a\u0300 o\u0308 n\u0303",
    "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349\u035a\u032f\u031e\u0320\u034dalgo",
    "\u0915\u094d\u0937", "\ufeffBOM at start", "zero\u200bwidth\u200bspace", "non\u00a0breaking\u00a0space",
    "ideographic\u3000space", "soft\u00adhyphen", "line\u2028separator", "tab\there", "tabs\t\t\tthree",
    "\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t",
    "\n" * 40, " " * 40, "▁" * 40, "x" * 300, "ab" * 200, "\u0000", "a\u0000b", "\u0000\u0000\u0000",
    "nul\u0000in\u0000the\u0000middle", "\u0001\u0002\u0003\u001f\u007f", "bell\u0007 escape\u001b[31mred\u001b[0m",
    "0", "1", "12", "123", "1234", "12345", "3.14159", "2.718281828459045", "-42", "+7", "1e10", "6.02e23",
    "1,000,000", "1.000.000,00", "$100.00", "€50", "¥1000", "£3.50", "100%", "0x1F 0b1010 0o777", "١٢٣ ٤٥٦",
    "२०२४", "一二三四五", "①②③", "Ⅷ Ⅻ", "½ ¾ ⅞", "x² + y³ = z⁴", "H₂O CO₂",
    "https://www.example.com/path/to/page?query=1&other=two#frag", "http://localhost:8080/",
    "ftp://files.example.org/pub/file.tar.gz", "mailto:someone@example.com", "user.name+tag@domain.co.uk",
    "www.google.com", "C:\\Windows\\System32\\drivers\\etc\\hosts", "/usr/local/bin/python3 -m venv .venv",
    "# Heading\n\n## Subheading\n\n- item one\n- item two\n\n1. first\n2. second\n",
    "**bold** *italic* `code` ~~strike~~ [link](http://x.y) ![img](a.png)",
    "| a | b |\n|---|---|\n| 1 | 2 |\n", "> quote\n>> nested quote\n",
    "```python\ndef f(x):\n    return x * 2\n```",
    "<html><head><title>T</title></head><body><p class=\"x\">Hi &amp; bye</p></body></html>",
    "<div>\n  <span>nested</span>\n</div>", "<!-- comment --> <br/> <img src='a.png' alt=\"\"/>",
    "&lt;escaped&gt; &quot;quotes&quot; &#39; &#x27; &nbsp;", "<table><tr><td>1</td></tr></table>",
    "<h1>Title</h1><h2>Sub</h2><strong>s</strong><em>e</em><b>b</b><i>i</i><u>u</u><s>s</s>",
    "<code>x</code><sub>2</sub><sup>3</sup><blockquote>q</blockquote>",
    "def main():\n\tif x:\n\t\treturn 1\n\telse:\n\t\treturn 2\n",
    "int main(void) {\n    printf(\"%d\\n\", 42);\n    return 0;\n}\n",
    "for (int i = 0; i < n; i++) {\n        a[i] += b[i] * c;\n}", "    four spaces\n        eight spaces\n",
    "x  =  1;   y   =   2;    z    =    3;", "if (a && b || !c) { return a->b.c[0]; }",
    "SELECT * FROM users WHERE id = 1 AND name LIKE '%bob%';", "{\"key\": [1, 2, 3], \"nested\": {\"a\": null}}",
    "key: value\nlist:\n  - a\n  - b\n", "#!/bin/bash\nset -euo pipefail\necho \"$HOME\" | grep -v '^#'\n",
    "λx. x + 1 ∀x∈ℝ: x² ≥ 0 ∑ᵢ aᵢ ∫₀¹ f(x)dx", "→ ← ↑ ↓ ⇒ ⇔ ∞ ≠ ≤ ≥ ± × ÷",
    "“smart quotes” ‘single’ «guillemets» „German“", "em—dash en–dash - hyphen ‐ ‑ ‒ ―", "……。。、、！？",
    "ALL CAPS TEXT SHOUTING", "MiXeD cAsE tExT", "camelCaseIdentifier snake_case_identifier kebab-case-id",
    "supercalifragilisticexpialidocious", "antidisestablishmentarianism", "Pneumonoultramicroscopicsilicovolcanoconiosis",
    "The year 2024 was followed by 2025.", "Call 555-123-4567 or +1 (800) 555-0199.", "ISBN 978-3-16-148410-0",
    "2024-01-31T12:34:56Z", "12:30 PM", "v1.2.3-beta+build.5", "a/b\\c|d", "@mention #hashtag $cashtag",
    "....", "!!!???", "---", "___", "***", "===", "~~~", "...and so on", "end.", "  \t \n \r  ",
    "<bos>", "<eos>", "<pad>", "<unk>", "<mask>", "<bos><bos>", "<bos> text", "text<eos>", "<start_of_turn>",
    "<start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\nHi there!<end_of_turn>\n",
    "<bos<eos>>", "<<bos>>", "< bos>", "<BOS>", "<bo", "s>", "<unused0><unused99>", "<unused100>", "[@BOS@]",
    "[toxicity=0] hello", "<2mass>", "</s><s>", "<0x41>", "<0xZZ>", "▁", "▁▁", " ▁ ", "▁hello▁world",
]

TEMPLATES = [
    "{}", "x{}y", " {} ", "hello {}world", "{}{}", "a\n{}\nb", "日本{}語", "{} {}", "\t{}\t", "<{}>",
]

ENGLISH = ("the of and to in is was for that on as with by he at from his it an were are which this be or "
           "has had not first one their its new after but who they have her she two been other when there all "
           "during into school time may years more most only over city some world would where later up such used "
           "many can state about national out known university united then made").split()
JAPANESE = list("あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをん"
                "日本語東京大学今年会社時間自分問題経済政治社会文化技術世界国際")


def rand_text(rng, n):
    parts = []
    for _ in range(n):
        r = rng.random()
        if r < 0.5:
            parts.append(rng.choice(ENGLISH))
        elif r < 0.8:
            parts.append("".join(rng.choice(JAPANESE) for _ in range(rng.randint(1, 6))))
        else:
            parts.append(rng.choice([".", ",", "!", "?", "\n", "  ", "\t", "123", "(", ")", "、", "。"]))
    return " ".join(parts)


def rand_codepoints(rng, n):
    out = []
    while len(out) < n:
        r = rng.random()
        if r < 0.3:
            cp = rng.randint(0x20, 0x7E)
        elif r < 0.6:
            cp = rng.randint(0x80, 0xFFFF)
        elif r < 0.8:
            cp = rng.randint(0x10000, 0x10FFFF)
        else:
            cp = rng.choice([0, 9, 10, 13, 32, 0x2581, 0x200D, 0xFE0F, 0x301])
        if 0xD800 <= cp <= 0xDFFF:
            continue
        out.append(chr(cp))
    return "".join(out)


def corpus(tok_json):
    rng = random.Random(20240601)
    texts = list(BASE)
    added = [a["content"] for a in tok_json["added_tokens"]]
    for i, a in enumerate(added):  # every added token, in a context
        texts.append(TEMPLATES[i % len(TEMPLATES)].replace("{}", a))
    pieces = [p for p in tok_json["model"]["vocab"].keys()]
    for _ in range(150):  # random concatenations of vocabulary pieces
        k = rng.randint(1, 12)
        texts.append("".join(rng.choice(pieces) for _ in range(k)).replace("▁", rng.choice(["▁", " "])))
    for _ in range(120):  # random code points, BMP and astral
        texts.append(rand_codepoints(rng, rng.randint(1, 40)))
    for _ in range(60):
        texts.append(rand_text(rng, rng.randint(5, 80)))
    for i in range(4):  # long inputs, >= 50 KB
        t = rand_text(rng, 9000)
        if i == 1:
            t = t.replace("\n", " ")  # one long newline-free segment
        if i == 2:
            t += "<eos>" + "  \t" * 500 + "<bos>" + rand_codepoints(rng, 2000)
        texts.append(t)
    return texts


def unicode_table():
    def word(cp):
        cat = unicodedata.category(chr(cp))
        if cat[0] in "LM" or cat in ("Nd", "Nl", "Pc") or cp in (0x200C, 0x200D):
            return True
        # Other_Alphabetic characters outside categories L / M (circled and squared letters)
        return 0x24B6 <= cp <= 0x24E9 or 0x1F130 <= cp <= 0x1F149 or 0x1F150 <= cp <= 0x1F169 or 0x1F170 <= cp <= 0x1F189

    ranges = []
    for cp in range(0x110000):
        if word(cp):
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1][1] = cp
            else:
                ranges.append([cp, cp])
    out = ["/* tokenizer_unicode.c — the two Unicode classes the added-token rules need,",
           " * as Rust's regex crate defines them: \\s (White_Space) for lstrip / rstrip",
           " * and \\w (Alphabetic, marks, decimal digits, connector punctuation, join",
           " * controls) for single_word. Generated from Unicode %s by" % unicodedata.unidata_version,
           " * `tools/gen_tokenizer_cases.py --unicode-table`; do not edit by hand. */",
           '#include "tokenizer.h"', "",
           "int tok_is_space(uint32_t cp) {",
           "    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||",
           "           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;",
           "}", "", "static const uint32_t word_ranges[][2] = {"]
    line = "   "
    for a, b in ranges:
        item = " {0x%X, 0x%X}," % (a, b)
        if len(line) + len(item) > 118:
            out.append(line)
            line = "   "
        line += item
    out.append(line)
    out += ["};", "", "int tok_is_word(uint32_t cp) {",
            "    size_t lo = 0, hi = sizeof word_ranges / sizeof word_ranges[0];",
            "    while (lo < hi) { /* binary search for the range holding cp */",
            "        size_t mid = (lo + hi) / 2;", "        if (cp < word_ranges[mid][0]) hi = mid;",
            "        else if (cp > word_ranges[mid][1]) lo = mid + 1;", "        else return 1;", "    }",
            "    return 0;", "}", ""]
    sys.stdout.write("\n".join(out))


def main():
    if "--unicode-table" in sys.argv:
        unicode_table()
        return
    from tokenizers import Tokenizer
    path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_TOK
    tok = Tokenizer.from_file(path)
    with open(path, encoding="utf-8") as f:
        tj = json.load(f)
    texts = corpus(tj)
    buf = io.StringIO()
    for t in texts:
        ids = tok.encode(t, add_special_tokens=True).ids
        nobos = tok.encode(t, add_special_tokens=False).ids
        rec = {"text": t, "ids": ids}
        if nobos != ids[1:]:
            rec["ids_nobos"] = nobos
        rec["decode"] = tok.decode(ids, skip_special_tokens=False)
        rec["decode_skip"] = tok.decode(ids, skip_special_tokens=True)
        buf.write(json.dumps(rec, ensure_ascii=False) + "\n")
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "wb") as f:
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=9) as g:
            g.write(buf.getvalue().encode("utf-8"))
    print("%d cases -> %s (%d bytes)" % (len(texts), OUT, os.path.getsize(OUT)))


if __name__ == "__main__":
    main()
