# saex — build the library (static + shared), the CLI, the tests and the fuzzers.
#
#   make            build/libsaex.a build/libsaex.so build/saex
#   make test       build and run every test (tests/run.sh); SAN=1 under ASan + UBSan
#   make fuzz       build the libFuzzer targets and run each for FUZZ_SECONDS
#   make CUDA=0     leave the CUDA backend out even when nvcc is present: a CPU-only
#                   saex and libsaex that do not link cuBLAS / cudart
#   make install    PREFIX=/usr/local (default), DESTDIR honoured: bin/saex,
#                   lib/libsaex.{a,so*}, include/saex.h, lib/pkgconfig/saex.pc
#   make uninstall  removes what install put there
#   make NATIVE=1   tune every object for this machine's CPU (-march=native);
#                   such a build may not run on another CPU: do not install it
#
# The CUDA backend is built when nvcc is on PATH (or CUDA=1); it only runs
# where a GPU is present, and the CPU backend is always there.
#
# The objects target x86-64-v3 (AVX2, FMA: Intel Haswell / AMD Zen and later),
# so what is built runs on any such CPU. The kernels that gain from AVX-512
# (CPU_ISA_SRC) are compiled a second time for x86-64-v4 and chosen at run
# time (src/backend/cpu_kernels.h; SAEX_CPU_ISA=v3|v4 forces one).

CC      ?= cc
NVCC    ?= nvcc
SAN     ?= 0
ifeq ($(SAN),1)
  BUILD   ?= build-san
  CUDA    ?= 0
  SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  OPT      = -O1
else
  BUILD   ?= build
  SANFLAGS =
  OPT      = -O2
endif
CUDA ?= $(if $(shell command -v $(NVCC) 2>/dev/null),1,0)
NATIVE ?= 0
ifeq ($(NATIVE),1)
  ARCH   ?= -march=native
else
  ARCH   ?= -march=x86-64-v3
endif
ARCH_V4 ?= -march=x86-64-v4 -mprefer-vector-width=512

CFLAGS  = -std=c11 -D_GNU_SOURCE $(OPT) $(ARCH) -g -Wall -Wextra -Wno-unused-parameter -fPIC -fopenmp \
          -Iinclude -Isrc $(SANFLAGS) $(EXTRA_CFLAGS)
LDLIBS  = -ljansson -lyajl -ldnnl -lcrypto -lz -lm -lcurl
LDFLAGS = -fopenmp $(SANFLAGS)

CPU_ISA_SRC := src/backend/cpu_kernels.c src/backend/cpu_attention.c
LIB_SRC := $(filter-out $(CPU_ISA_SRC),$(wildcard src/*.c) $(wildcard src/backend/cpu*.c)) \
           $(wildcard src/pipeline/*.c) $(wildcard src/hub/*.c) $(wildcard src/analysis/*.c)
CLI_SRC := $(wildcard src/cli/*.c)
TEST_SRC := $(wildcard tests/test_*.c)
TESTS   := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRC))

ifeq ($(CUDA),1)
  CUDA_HOME ?= $(patsubst %/bin/,%,$(dir $(shell command -v $(NVCC))))
  NVFLAGS  = -O3 -std=c++17 -Xcompiler -fPIC -Iinclude -Isrc \
             -gencode arch=compute_90,code=sm_90 -gencode arch=compute_80,code=sm_80 \
             -gencode arch=compute_90,code=compute_90
  LIB_OBJ_CUDA = $(BUILD)/src/backend/cuda.o
  LDLIBS  += -L$(CUDA_HOME)/lib64 -L$(CUDA_HOME)/targets/x86_64-linux/lib -lcublas -lcudart -lstdc++ \
             -Wl,-rpath,$(CUDA_HOME)/lib64
  CFLAGS  += -DSAEX_HAVE_CUDA=1
else
  LIB_SRC += src/backend/cuda_none.c
  LIB_OBJ_CUDA =
endif

LIB_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRC)) $(LIB_OBJ_CUDA) \
           $(patsubst %.c,$(BUILD)/%_v3.o,$(CPU_ISA_SRC)) $(patsubst %.c,$(BUILD)/%_v4.o,$(CPU_ISA_SRC))
CLI_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(CLI_SRC))

.PHONY: all test fuzz clean install uninstall
all: $(BUILD)/libsaex.a $(BUILD)/libsaex.so $(BUILD)/saex

HEADERS := $(wildcard include/*.h src/*.h src/*/*.h)
$(BUILD)/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# The per-ISA kernels: the same source twice, every name suffixed _v3 / _v4.
$(BUILD)/src/backend/%_v3.o: src/backend/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DCPU_ISA=v3 -c $< -o $@
$(BUILD)/src/backend/%_v4.o: src/backend/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(ARCH_V4) -DCPU_ISA=v4 -c $< -o $@

$(BUILD)/src/backend/cuda.o: src/backend/cuda.cu $(HEADERS)
	@mkdir -p $(dir $@)
	$(NVCC) $(NVFLAGS) -c $< -o $@

# rm first: ar would keep members of an earlier build (cuda_none.o beside cuda.o).
$(BUILD)/libsaex.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libsaex.so: $(LIB_OBJ)
	$(CC) -shared $(LDFLAGS) -Wl,-soname,$(SONAME) -o $@ $^ $(LDLIBS)

$(BUILD)/saex: $(CLI_OBJ) $(BUILD)/libsaex.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# tests/naive_ref.c: the double-precision reference ops, linked into every test.
$(BUILD)/tests/naive_ref.o: tests/naive_ref.c tests/naive_ref.h $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -c $< -o $@

$(BUILD)/tests/%: tests/%.c tests/test.h $(BUILD)/tests/naive_ref.o $(BUILD)/libsaex.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -o $@ $< $(BUILD)/tests/naive_ref.o $(BUILD)/libsaex.a $(LDFLAGS) $(LDLIBS)

# bench/json_write.c: output JSON assembly rate (positions/s), new writer vs tests/jw_oracle.h.
$(BUILD)/bench/json_write: bench/json_write.c tests/jw_oracle.h $(BUILD)/libsaex.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -o $@ $< $(BUILD)/libsaex.a $(LDFLAGS) $(LDLIBS)

test: all $(TESTS)
	BUILD=$(BUILD) tests/run.sh

# ---- fuzzing (clang + libFuzzer) ----
FUZZ_SECONDS ?= 20
FUZZ_SRC := $(wildcard fuzz/fuzz_*.c)
FUZZ_BIN := $(patsubst fuzz/%.c,build-fuzz/%,$(FUZZ_SRC))
# Each target links only the reader it exercises.
FUZZ_DEPS_safetensors := src/safetensors.c src/error.c
FUZZ_DEPS_npz := src/npz.c src/error.c
FUZZ_DEPS_tokenizer := $(wildcard src/tokenizer*.c) src/error.c
.SECONDEXPANSION:
build-fuzz/fuzz_%: fuzz/fuzz_%.c $$(FUZZ_DEPS_$$*)
	@mkdir -p build-fuzz
	clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Isrc -o $@ $< \
	  $(FUZZ_DEPS_$*) -ljansson -lz -lm
fuzz: $(FUZZ_BIN)
	FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh

# ---- install: PREFIX (/usr/local), DESTDIR (staging root for packagers) ----
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
VERSION := $(shell sed -n 's/^\#define SAEX_VERSION "\(.*\)"/\1/p' include/saex.h)
SONAME  := libsaex.so.$(firstword $(subst ., ,$(VERSION)))

# saex.pc: static linking needs what libsaex links (LDLIBS, so cuBLAS and
# cudart in a CUDA build) and the OpenMP runtime it was compiled with.
define SAEX_PC
prefix=$(PREFIX)
libdir=$(LIBDIR)
includedir=$(INCLUDEDIR)

Name: saex
Description: Gemma-2 sparse-autoencoder (Gemma Scope JumpReLU) feature extraction
Version: $(VERSION)
Cflags: -I$${includedir}
Libs: -L$${libdir} -lsaex
Libs.private: $(LDLIBS) -lgomp -lpthread
endef
export SAEX_PC

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 755 $(BUILD)/saex $(DESTDIR)$(BINDIR)/saex
	install -m 644 $(BUILD)/libsaex.a $(DESTDIR)$(LIBDIR)/libsaex.a
	install -m 755 $(BUILD)/libsaex.so $(DESTDIR)$(LIBDIR)/libsaex.so.$(VERSION)
	ln -sf libsaex.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libsaex.so
	install -m 644 include/saex.h $(DESTDIR)$(INCLUDEDIR)/saex.h
	printf '%s\n' "$$SAEX_PC" > $(DESTDIR)$(PKGCONFIGDIR)/saex.pc

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/saex $(DESTDIR)$(LIBDIR)/libsaex.a $(DESTDIR)$(LIBDIR)/libsaex.so \
	      $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libsaex.so.$(VERSION) \
	      $(DESTDIR)$(INCLUDEDIR)/saex.h $(DESTDIR)$(PKGCONFIGDIR)/saex.pc

clean:
	rm -rf build build-san build-fuzz
