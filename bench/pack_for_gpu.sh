#!/usr/bin/env bash
# Builds saex with CUDA here and copies what bench/gpu.sh needs on the GPU
# machine into .device/ (git-ignored): the CLI, the backend suite, the model
# test, and lib/ with every shared library they load that is not
# part of a base Ubuntu system. cuBLAS is too big to carry (libcublasLt is
# 540 MB); gpu.sh finds the GPU machine's own (torch ships it).
#   bench/pack_for_gpu.sh            then: run tool, carry [".device"], command `bash bench/gpu.sh .device`
set -euo pipefail
cd "$(dirname "$0")/.."
command -v nvcc >/dev/null || { echo "pack_for_gpu: nvcc is not on PATH" >&2; exit 1; }
# Own build folder inside .device (git-ignored). The default build targets
# x86-64-v3 with AVX-512 kernels chosen at run time, so it runs on the GPU
# machine's CPU whatever it is.
B=.device/build
BINS=(saex test_backend test_model)
find .device -maxdepth 1 -type f -delete 2>/dev/null || true
rm -rf .device/lib
[ -d build/gpu-objs ] && [ ! -d $B ] && mkdir -p .device && mv build/gpu-objs $B
rm -f $B/libsaex.a  # ar rcs keeps stale members
make -j2 CUDA=1 BUILD=$B $B/saex $B/tests/test_backend $B/tests/test_model
LDLIBS=$(make -s CUDA=1 -f Makefile -f - <<<'print-ldlibs: ; @echo $(LDLIBS)' print-ldlibs)
mkdir -p .device/lib
cp $B/saex $B/tests/test_backend $B/tests/test_model .device/
for b in "${BINS[@]}"; do strip --strip-debug ".device/$b"; done

# Libraries a base Ubuntu 24.04 has (glibc, the GCC runtime), and cuBLAS,
# which gpu.sh takes from the GPU machine; everything else is carried.
system_lib() {
    case "$1" in
        linux-vdso.so.* | ld-linux-x86-64.so.* | libc.so.* | libm.so.* | libdl.so.* | libpthread.so.* | librt.so.* | \
        libstdc++.so.* | libgcc_s.so.* | libcublas.so.* | libcublasLt.so.*) return 0 ;;
    esac
    return 1
}
# every "name => path" of ldd (awk reads its whole input: no SIGPIPE for ldd)
deps() { ldd "$@" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | sort -u; }
libdnnl=$(deps .device/saex | awk '$1 ~ /^libdnnl/ {print $2}')
deps "${BINS[@]/#/.device/}" ${libdnnl:+"$libdnnl"} | while read -r name path; do
    system_lib "$name" || cp -L "$path" ".device/lib/$name"
done

# Check: with only .device/lib added, every non-system library resolves
# inside it, and nothing is "not found" (cuBLAS aside: not carried).
bad=0
for f in "${BINS[@]/#/.device/}" .device/lib/*; do
    while read -r line; do
        name=${line%% *}
        case "$line" in
            *"not found"*) system_lib "$name" || { echo "pack_for_gpu: $f: $name not found" >&2; bad=1; } ;;
            *" => /"*) path=$(echo "$line" | awk '{print $3}')
                system_lib "$name" || [ "$(dirname "$path")" = "$PWD/.device/lib" ] || [ "$(dirname "$path")" = .device/lib ] ||
                    { echo "pack_for_gpu: $f: $name resolves to $path, outside .device/lib" >&2; bad=1; } ;;
        esac
    done < <(LD_LIBRARY_PATH=$PWD/.device/lib ldd "$f" 2>/dev/null | sed 's/^[[:space:]]*//')
done
[ $bad -eq 0 ] || { echo "pack_for_gpu: .device/lib is incomplete" >&2; exit 1; }
ls -la .device/lib; ls .device
# the objects stay here, out of the carried folder (the carry limit is 64 MiB)
mkdir -p build
rm -rf build/gpu-objs && mv .device/build build/gpu-objs
du -sh .device
