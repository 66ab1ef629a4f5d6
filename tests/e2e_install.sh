#!/usr/bin/env bash
# e2e_install.sh — `make install` and what it installs, used the way a user
# would: a CPU-only build (make CUDA=0) installed into a temp PREFIX; a small
# C program (tests/install/probe.c) compiled against it with pkg-config,
# linked shared and static, and run; the installed `saex --version`; no
# cuBLAS / cudart in a CPU-only build; DESTDIR and uninstall. Then
# portability: no AVX-512 instruction outside the run-time dispatched
# kernels (tests/install/isa_scan.py), and, where qemu-user is installed,
# the installed programs and the backend suite run on an emulated Haswell
# (x86-64-v3, no AVX-512; QEMU 7.2+ emulates AVX2 and FMA). The default build ($SAEX's folder), when it has
# CUDA, is installed too and must link cuBLAS and cudart.
set -u
# a fresh make for each build below: nothing inherited from a `make test SAN=1` / NATIVE=1 above us
unset MAKEFLAGS MFLAGS MAKEOVERRIDES MAKELEVEL SAN NATIVE OPT ARCH EXTRA_CFLAGS  # make exports its command-line variables
cd "$(dirname "$0")/.."
SAEX=${SAEX:-build/saex}
BUILD=$(dirname "$SAEX")
fail=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1: $2"; fail=1; }
skip() { echo "SKIP $1: $2"; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
VERSION=$(sed -n 's/^#define SAEX_VERSION "\(.*\)"/\1/p' include/saex.h)
needed() { readelf -d "$1" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' '; }
pc() { PKG_CONFIG_PATH="$1/lib/pkgconfig" pkg-config "${@:2}" saex; }

# ---- 1. CPU-only build, installed into a temp prefix
P=$tmp/cpu
B0=$tmp/build-cpu
if ! make -s --no-print-directory -j2 CUDA=0 BUILD="$B0" PREFIX="$P" install "$B0/tests/test_backend" \
        >"$tmp/make.log" 2>&1; then
    bad "install CUDA=0" "make failed:"; sed 's/^/    /' "$tmp/make.log" | tail -20
    exit 1
fi
missing=
for f in bin/saex lib/libsaex.a lib/libsaex.so "lib/libsaex.so.${VERSION%%.*}" "lib/libsaex.so.$VERSION" \
         include/saex.h lib/pkgconfig/saex.pc; do
    [ -e "$P/$f" ] || missing="$missing $f"
done
[ -z "$missing" ] && ok "install puts saex, libsaex.{a,so}, saex.h, saex.pc under PREFIX" || bad install "missing:$missing"
soname=$(readelf -d "$P/lib/libsaex.so.$VERSION" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
link=$(readlink "$P/lib/libsaex.so")
[ "$soname" = "libsaex.so.${VERSION%%.*}" ] && [ "$link" = "$soname" ] && [ "$(readlink "$P/lib/$soname")" = "libsaex.so.$VERSION" ] \
    && ok "soname $soname, libsaex.so -> $link -> libsaex.so.$VERSION" || bad soname "soname '$soname', libsaex.so -> '$link'"
out=$("$P/bin/saex" --version 2>&1)
[ "$out" = "saex $VERSION" ] && ok "installed saex --version" || bad version "'$out'"

# a CPU-only build neither links nor asks for cuBLAS / cudart
deps="$(needed "$P/lib/libsaex.so.$VERSION") $(needed "$P/bin/saex") $(pc "$P" --static --libs)"
case "$deps" in
    *cublas* | *cudart*) bad "CUDA=0 links no CUDA" "$deps" ;;
    *) ok "CUDA=0: libsaex.so, saex and saex.pc name no cuBLAS / cudart" ;;
esac

# the probe, linked against the shared and the static library via pkg-config
cflags=$(pc "$P" --cflags) libdir=$(pc "$P" --variable=libdir)
if cc -std=c11 -o "$tmp/probe-shared" tests/install/probe.c $cflags $(pc "$P" --libs) 2>"$tmp/cc.log"; then
    ok "probe compiles and links against the installed libsaex.so (pkg-config --cflags --libs saex)"
else
    bad "probe shared" "$(cat "$tmp/cc.log")"
fi
static_libs=$(pc "$P" --static --libs | sed "s|-lsaex|$libdir/libsaex.a|")
if cc -std=c11 -o "$tmp/probe-static" tests/install/probe.c $cflags $static_libs 2>"$tmp/cc.log"; then
    ok "probe links statically (pkg-config --static --libs saex, libsaex.a)"
else
    bad "probe static" "$(cat "$tmp/cc.log")"
fi
case "$(needed "$tmp/probe-shared")" in *libsaex.so.0*) ok "shared probe needs libsaex.so.0" ;; *) bad "shared probe" "$(needed "$tmp/probe-shared")" ;; esac
case "$(needed "$tmp/probe-static")" in *libsaex*) bad "static probe" "needs $(needed "$tmp/probe-static")" ;; *) ok "static probe needs no libsaex.so" ;; esac
r_shared=$(LD_LIBRARY_PATH="$P/lib" "$tmp/probe-shared" examples/model examples/sae 2>&1)
r_static=$("$tmp/probe-static" examples/model examples/sae 2>&1)
if echo "$r_shared" | grep -q "^saex $VERSION: .* active" && [ "$r_shared" = "$r_static" ]; then
    ok "both probes run the demo model + SAE and agree: $(echo "$r_static" | sed -n 2p)"
else
    bad "probe runs" "shared: $r_shared / static: $r_static"
fi

# DESTDIR stages under another root; uninstall removes everything
make -s --no-print-directory CUDA=0 BUILD="$B0" PREFIX=/opt/saex DESTDIR="$tmp/stage" install >/dev/null 2>&1
[ -x "$tmp/stage/opt/saex/bin/saex" ] && grep -q '^prefix=/opt/saex$' "$tmp/stage/opt/saex/lib/pkgconfig/saex.pc" \
    && ok "DESTDIR: files under DESTDIR/PREFIX, saex.pc names PREFIX" || bad destdir "$(find "$tmp/stage" | head)"
make -s --no-print-directory CUDA=0 BUILD="$B0" PREFIX="$tmp/again" install >/dev/null 2>&1
make -s --no-print-directory CUDA=0 BUILD="$B0" PREFIX="$tmp/again" uninstall >/dev/null 2>&1
left=$(find "$tmp/again" -type f -o -type l)
[ -z "$left" ] && ok "uninstall removes what install put" || bad uninstall "left: $left"

# ---- 2. no AVX-512 outside the dispatched kernels
if python3 tests/install/isa_scan.py "$P/lib/libsaex.a" "$P/lib/libsaex.so.$VERSION" "$P/bin/saex" "$tmp/probe-static" \
        >"$tmp/scan.log" 2>&1; then
    ok "isa_scan: $(grep -c '^  ' "$tmp/scan.log") AVX-512 functions, all dispatched (_v4); none elsewhere"
else
    bad "isa_scan" "$(grep -v '^  ' "$tmp/scan.log")"
fi
# the scanner sees AVX-512 where it is (a control that must be flagged)
printf 'typedef float v16 __attribute__((vector_size(64)));\nvoid add(v16 *a, const v16 *b) { *a += *b; }\n' >"$tmp/ctl.c"
if cc -O2 -mavx512f -c "$tmp/ctl.c" -o "$tmp/ctl.o" && ! python3 tests/install/isa_scan.py "$tmp/ctl.o" >/dev/null 2>&1; then
    ok "isa_scan flags an undispatched AVX-512 function (control)"
else
    bad "isa_scan control" "an -mavx512f object passed"
fi

# ---- 3. on an x86-64-v3 CPU without AVX-512 (QEMU user mode, Haswell)
# Haswell without TSX, less the system features user-mode TCG warns about
QEMU="qemu-x86_64 -cpu Haswell-noTSX,-pcid,-x2apic,-tsc-deadline,-invpcid"
if ! command -v qemu-x86_64 >/dev/null; then
    skip "haswell" "qemu-x86_64 not installed (Debian qemu-user; scripts/setup.sh installs it)"
elif ! $QEMU /bin/true 2>/dev/null; then
    skip "haswell" "qemu-x86_64 cannot run /bin/true here"
else
    out=$($QEMU "$P/bin/saex" --version 2>&1)
    [ "$out" = "saex $VERSION" ] && ok "haswell: installed saex --version" || bad "haswell saex" "$out"
    r_emu=$($QEMU "$tmp/probe-static" examples/model examples/sae 2>&1)
    # same features; values to the rounding of oneDNN's AVX2 vs AVX-512 kernels
    if [ "$(echo "$r_emu" | sed -n 2p)" = "$(echo "$r_static" | sed -n 2p)" ] && python3 - "$r_emu" "$r_static" <<'PY'
import sys
a, b = ([float(v) for v in s.splitlines()[2].split()[1:]] for s in sys.argv[1:3])
sys.exit(0 if max(abs(x - y) for x, y in zip(a, b)) <= 1e-3 else 1)
PY
    then
        ok "haswell: the static probe gives the same top features ($(echo "$r_emu" | sed -n 3p))"
    else
        bad "haswell probe" "emulated: $r_emu / native: $r_static"
    fi
    out=$(SAEX_CPU_ISA=v4 $QEMU "$tmp/probe-static" examples/model examples/sae 2>&1)
    case "$out" in *"lacks AVX-512"*) ok "haswell: SAEX_CPU_ISA=v4 is refused with a message" ;; *) bad "haswell v4 forced" "$out" ;; esac
    SAEX_TEST_QUICK=1 $QEMU "$B0/tests/test_backend" >"$tmp/tb.log" 2>&1
    rc=$?
    if [ $rc -eq 0 ] && grep -q "(auto: x86-64-v3)" "$tmp/tb.log" && grep -q "^SKIP .*\[cpu-v4\]" "$tmp/tb.log"; then
        ok "haswell: test_backend picks v3, $(grep -c '^ok .*\[cpu-v3\]' "$tmp/tb.log") cpu-v3 cases pass"
    else
        bad "haswell test_backend" "exit $rc: $(grep -E '^FAIL|auto:' "$tmp/tb.log" | head -5)"
    fi
    # the installed saex on the demo, default precision (bf16 weights: oneDNN 2.x has no bf16 matmul
    # without AVX-512, so this runs the backend's f32 fallback), against the HF + SAELens reference
    if $QEMU "$P/bin/saex" extract --input examples/input.json --model examples/model --sae examples/sae \
            --target-layer 2 --top-k 10 --output "$tmp/emu.json" >"$tmp/emu.log" 2>&1 &&
        python3 tests/compare_extract.py "$tmp/emu.json" tests/fixtures/e2e/expected.json --precision default \
            >"$tmp/cmp.log" 2>&1; then
        ok "haswell: installed saex extract (bf16 model) matches the HF reference"
    else
        bad "haswell extract" "$(tail -3 "$tmp/emu.log") $(head -5 "$tmp/cmp.log")"
    fi
fi

# ---- 4. the default build, when it has CUDA: its install links cuBLAS and cudart
if [ ! -e "$BUILD/src/backend/cuda.o" ]; then
    skip "install with CUDA" "$BUILD has no CUDA backend (nvcc absent or CUDA=0)"
elif [ "$(basename "$BUILD")" != build ] || ! make -q --no-print-directory CUDA=1 BUILD="$BUILD" all 2>/dev/null; then
    skip "install with CUDA" "$BUILD is not an up-to-date default build"
else
    PC=$tmp/cuda
    make -s --no-print-directory CUDA=1 BUILD="$BUILD" PREFIX="$PC" install >/dev/null 2>&1
    deps="$(needed "$PC/lib/libsaex.so.$VERSION")"
    libs="$(pc "$PC" --static --libs)"
    case "$deps" in
        *libcublas*libcudart*) case "$libs" in *-lcublas*-lcudart*) ok "CUDA build: libsaex.so and saex.pc link cuBLAS and cudart" ;;
                               *) bad "CUDA pc" "$libs" ;; esac ;;
        *) bad "CUDA build" "NEEDED: $deps" ;;
    esac
    if cc -std=c11 -o "$tmp/probe-cuda" tests/install/probe.c $(pc "$PC" --cflags --libs) 2>"$tmp/cc.log" &&
        [ "$(LD_LIBRARY_PATH="$PC/lib" "$tmp/probe-cuda" examples/model examples/sae 2>&1)" = "$r_static" ]; then
        ok "CUDA build: the probe links and runs on the CPU"
    else
        bad "CUDA probe" "$(cat "$tmp/cc.log")"
    fi
fi
exit $fail
