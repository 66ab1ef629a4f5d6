#!/usr/bin/env python3
"""isa_scan.py — which functions of an object, archive, library or program
use AVX-512, from objdump's disassembly (tests/e2e_install.sh).

    isa_scan.py FILE...     prints "FILE FUNCTION COUNT" per function that has
                            AVX-512 instructions; exits 1 if any of them is
                            outside the dispatched kernels, whose names carry
                            the _v4 suffix (src/backend/cpu_kernels.h).

An instruction counts as AVX-512 when it is EVEX-encoded (first opcode byte
0x62 after any segment / address-size prefix: in 64-bit mode that byte is
always EVEX), uses a zmm register, or uses an opmask register k0..k7.
"""
import re
import subprocess
import sys

PREFIXES = {0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x67}
FUNC = re.compile(r"^[0-9a-f]+ <(.+)>:$")
MEMBER = re.compile(r"^In archive .*:$|^(\S+):\s+file format")


def avx512_functions(path):
    out = subprocess.run(["objdump", "-d", "-w", path], capture_output=True, text=True, check=True).stdout
    member, func, hits = path, None, {}
    for line in out.splitlines():
        m = MEMBER.match(line)
        if m:
            member = m.group(1) or member
            continue
        m = FUNC.match(line)
        if m:
            func = m.group(1)
            continue
        parts = line.split("\t")
        if len(parts) < 3 or func is None:
            continue
        try:
            code = [int(b, 16) for b in parts[1].split()]
        except ValueError:
            continue
        i = 0
        while i < len(code) and code[i] in PREFIXES:
            i += 1
        ins = parts[2]
        if (i < len(code) and code[i] == 0x62) or "zmm" in ins or re.search(r"%k[0-7]\b", ins):
            key = (member, func)
            hits[key] = hits.get(key, 0) + 1
    return hits


def main():
    bad = 0
    for path in sys.argv[1:]:
        hits = avx512_functions(path)
        dispatched = 0
        for (member, func), n in sorted(hits.items()):
            ok = "_v4" in func
            dispatched += ok
            bad += not ok
            print(f"{'  ' if ok else 'OUTSIDE '}{member} {func} {n}")
        print(f"{path}: {dispatched} dispatched functions use AVX-512, {sum(1 for k in hits if '_v4' not in k[1])} others")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
