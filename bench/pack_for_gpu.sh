#!/usr/bin/env bash
# Builds saex with CUDA here and copies what bench/gpu.sh needs on the GPU
# machine into .device/ (git-ignored): the CLI, the GPU op test, the driver
# and the shared libraries Ubuntu 24.04 may lack. cuBLAS is too big to carry
# (libcublasLt is 540 MB); gpu.sh finds the GPU machine's own (torch ships it).
#   bench/pack_for_gpu.sh            then: run tool, carry [".device"], command `bash bench/gpu.sh .device`
set -euo pipefail
cd "$(dirname "$0")/.."
command -v nvcc >/dev/null || { echo "pack_for_gpu: nvcc is not on PATH" >&2; exit 1; }
# Own build folder inside .device (git-ignored), without -march=native: the
# GPU machine's CPU is not this one.
B=.device/build
find .device -maxdepth 1 -type f -delete 2>/dev/null || true
rm -rf .device/lib
[ -d build/gpu-objs ] && [ ! -d $B ] && mkdir -p .device && mv build/gpu-objs $B
rm -f $B/libsaex.a  # ar rcs keeps stale members
make -j2 CUDA=1 BUILD=$B OPT=-O2 $B/saex $B/tests/test_cuda_host
LDLIBS="-ljansson -ldnnl -lz -lm -L/usr/local/cuda/lib64 -lcublas -lcudart -lstdc++"
mkdir -p $B/bench .device/lib
cc -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Iinclude -o $B/bench/gpu_driver bench/gpu_driver.c \
   $B/libsaex.a -fopenmp $LDLIBS
cp $B/saex $B/tests/test_cuda_host $B/bench/gpu_driver .device/
strip --strip-debug .device/saex .device/test_cuda_host .device/gpu_driver
# every non-system library the binaries (and libdnnl) load, except cuBLAS
for lib in libdnnl.so.2 libjansson.so.4 libOpenCL.so.1 libgomp.so.1 libcudart.so.13 libz.so.1; do
    path=$( (ldd .device/gpu_driver; ldd "$(ldd .device/gpu_driver | awk '/libdnnl/ {print $3}')") \
            | awk -v l="$lib" '$1 == l {print $3; exit}')
    [ -n "$path" ] || { echo "pack_for_gpu: $lib not found by ldd" >&2; exit 1; }
    cp -L "$path" .device/lib/
done
du -sh .device
ls -la .device/lib; ls .device
# the objects stay here, out of the carried folder (the carry limit is 64 MiB)
rm -rf build/gpu-objs && mv .device/build build/gpu-objs
du -sh .device
