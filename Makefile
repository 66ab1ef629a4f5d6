# saex — build the library (static + shared), the CLI, the tests and the fuzzers.
#
#   make            build/libsaex.a build/libsaex.so build/saex
#   make test       build and run every test (tests/run.sh); SAN=1 under ASan + UBSan
#   make fuzz       build the libFuzzer targets and run each for FUZZ_SECONDS
#   make CUDA=0     leave the CUDA backend out even when nvcc is present
#
# The CUDA backend is built when nvcc is on PATH (or CUDA=1); it only runs
# where a GPU is present, and the CPU backend is always there.

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
  OPT      = -O2 -march=native
endif
CUDA ?= $(if $(shell command -v $(NVCC) 2>/dev/null),1,0)

CFLAGS  = -std=c11 -D_GNU_SOURCE $(OPT) -g -Wall -Wextra -Wno-unused-parameter -fPIC -fopenmp \
          -Iinclude -Isrc $(SANFLAGS) $(EXTRA_CFLAGS)
LDLIBS  = -ljansson -lyajl -ldnnl -lcrypto -lz -lm
LDFLAGS = -fopenmp $(SANFLAGS)

LIB_SRC := $(wildcard src/*.c) $(wildcard src/backend/cpu*.c) \
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

LIB_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRC)) $(LIB_OBJ_CUDA)
CLI_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(CLI_SRC))

.PHONY: all test fuzz clean
all: $(BUILD)/libsaex.a $(BUILD)/libsaex.so $(BUILD)/saex

$(BUILD)/%.o: %.c $(wildcard include/*.h src/*.h src/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/src/backend/cuda.o: src/backend/cuda.cu src/backend/backend.h include/saex.h
	@mkdir -p $(dir $@)
	$(NVCC) $(NVFLAGS) -c $< -o $@

# rm first: ar would keep members of an earlier build (cuda_none.o beside cuda.o).
$(BUILD)/libsaex.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libsaex.so: $(LIB_OBJ)
	$(CC) -shared $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/saex: $(CLI_OBJ) $(BUILD)/libsaex.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/%.c tests/test.h $(BUILD)/libsaex.a
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

clean:
	rm -rf build build-san build-fuzz
