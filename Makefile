# tinyembed - build, test, install.
#
#   make deps             install what the build and make test need (Debian/Ubuntu; tools/deps.sh)
#   make deps-all         that and what the optional targets below need
#   make quickstart       download all-MiniLM-L6-v2, convert it, embed and search (needs the network)
#   make                  library, binary and test programs (gcc; CC=clang works too)
#   make test             build, make test models, run every test
#   make check            the inner loop: build, C tests, the quick shell tests (under 3 minutes)
#   make sanitize         C tests (a slice) and parser-feeding shell tests under AddressSanitizer + UBSan
#   make tsan             the threaded C tests and the server's and embed's shell tests under ThreadSanitizer (clang)
#   make static           a fully static build/tinyembed
#   make memtest          embed under ulimit -v (model + 24 MB) with --max-memory 16M
#   make shared           build/libtinyembed.so (only the public te_* API exported), for bindings/python
#   make test-arm         static AArch64 (NEON) and ARMv7 builds; golden tests under qemu-user
#   make amalgamation     build/amalgamation/tinyembed.c + tinyembed.h: the library as one C file
#   make test-amalgamation  it compiles alone (gcc, clang) and passes the embedding goldens
#   make test-scaling     parallel --pipe byte-identical; two servers behind nginx, one killed mid-load
#   make fuzz             run every libFuzzer target for FUZZ_SECONDS each (clang; -j2: two at a time)
#   make fuzz-slice       each target from its seeds, a fixed seed and number of runs (CI's deterministic slice)
#   make tokdiff          the tokenizer against Hugging Face tokenizers on TOKDIFF_N (1,000,000) inputs
#   make valgrind         every C test program under valgrind memcheck
#   make soak             RSS flat over SOAK_N (1,000,000) texts in process and server requests
#   make loadtest         the server under wrk (64 connections, reloads meanwhile), RSS, idle CPU
#   make bench-cache      the server with and without --cache-mb, half the texts repeating
#   make install PREFIX=/usr/local [DESTDIR=...]
#   make model NAME=sentence-transformers/all-MiniLM-L6-v2   download + convert (needs network)
#   make BLAS=openblas    big GEMMs through OpenBLAS's cblas_sgemm (libopenblas-dev); optional

BUILD    ?= build
REF      ?= ../shared/ref
TESTDATA ?= build/testdata
PREFIX   ?= /usr/local
PYTHON   ?= python3

VERSION := $(shell sed -n 's/^\#define TE_VERSION_STRING "\(.*\)"/\1/p' include/tinyembed.h)
# The commit results files name (docs/RESULTS.md): 12 hex digits, "-dirty" with
# uncommitted changes, empty outside a git checkout.
GIT_COMMIT := $(shell c=$$(git rev-parse --short=12 HEAD 2>/dev/null) && { git diff --quiet HEAD -- 2>/dev/null || c="$$c-dirty"; echo "$$c"; })

WARN     = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith -Wvla
CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=c11 $(WARN) $(CFLAGS) $(EXTRA_CFLAGS) -D_GNU_SOURCE -pthread -Iinclude -MMD -MP
ALL_LDFLAGS = $(LDFLAGS) $(EXTRA_LDFLAGS) -pthread
LIBS     = -lm
ifeq ($(BLAS),openblas)
EXTRA_CFLAGS += -DTE_BLAS
LIBS     += -lopenblas
else ifneq ($(BLAS),)
$(error BLAS=$(BLAS) is not supported (use BLAS=openblas))
endif

LIB_SRC   := $(wildcard src/*.c src/kernels/*.c)
TOOL_SRC  := $(wildcard tools/*/*.c)
TEST_SRC  := $(wildcard tests/test_*.c)
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
TOOL_OBJ  := $(TOOL_SRC:%.c=$(BUILD)/obj/%.o)
TEST_BIN  := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
FUZZ_TARGETS := http temb safetensors torch convert json tokenizer tidx requests
FUZZ_REPLAY := $(FUZZ_TARGETS:%=$(BUILD)/tests/test_fuzz_%)

.PHONY: all deps deps-all check quickstart fuzz-slice test sanitize tsan static shared memtest install clean model testdata test-arm test-scaling bench-search test-blas amalgamation test-amalgamation fuzz tokdiff valgrind soak loadtest
all: $(BUILD)/libtinyembed.a $(BUILD)/tinyembed $(TEST_BIN) $(FUZZ_REPLAY) $(BUILD)/tests/tokdiff $(BUILD)/tests/soak

deps:
	@sh tools/deps.sh
deps-all:
	@sh tools/deps.sh --all

# Download all-MiniLM-L6-v2 (needs the network), convert it, embed, compare, index and search.
quickstart: $(BUILD)/tinyembed
	@sh tools/quickstart.sh $(BUILD)

# Rebuild everything when the compiler or flags change.
$(BUILD)/.flags: FORCE
	@mkdir -p $(BUILD)
	@echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)' | cmp -s - $@ || echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)' > $@
FORCE:

# The library sees its internal headers; the programs (tools/cli, tools/serve
# and what they share, tools/common) only the public ones and their own.
$(BUILD)/obj/src/%.o: src/%.c $(BUILD)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Isrc -c $< -o $@
$(BUILD)/obj/tools/%.o: tools/%.c $(BUILD)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itools/common -c $< -o $@

# results.c alone knows the commit, so a new commit rebuilds one file.
$(BUILD)/.commit: FORCE
	@mkdir -p $(BUILD)
	@echo '$(GIT_COMMIT)' | cmp -s - $@ || echo '$(GIT_COMMIT)' > $@
$(BUILD)/obj/tools/common/results.o: tools/common/results.c $(BUILD)/.flags $(BUILD)/.commit
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itools/common -DTE_GIT_COMMIT='"$(GIT_COMMIT)"' -c $< -o $@

$(BUILD)/libtinyembed.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/tinyembed: $(TOOL_OBJ) $(BUILD)/libtinyembed.a
	$(CC) $(ALL_LDFLAGS) -o $@ $(TOOL_OBJ) $(BUILD)/libtinyembed.a $(LIBS)

# Tests may use internal headers (src/, tools/) and link the library; a test
# of a tool's module also links that module (TEST_OBJS).
TEST_INC = -Isrc -Itests -Itools/common -Itools/serve -Itools/cli
$(BUILD)/tests/%: tests/%.c tests/harness.h $(BUILD)/libtinyembed.a $(BUILD)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(TEST_INC) -o $@ $< $(TEST_OBJS) $(BUILD)/libtinyembed.a $(ALL_LDFLAGS) $(LIBS)

$(BUILD)/tests/test_http: TEST_OBJS = $(BUILD)/obj/tools/serve/http.o
$(BUILD)/tests/test_http: $(BUILD)/obj/tools/serve/http.o
SERVE_OBJS = $(addprefix $(BUILD)/obj/tools/serve/,serve_api.o serve_requests.o serve_tokens.o serve_job.o serve_batch.o serve_answer.o serve_chunks.o serve_cache.o serve_score.o serve_multi.o serve_metrics.o serve_status.o http.o) \
	$(addprefix $(BUILD)/obj/tools/common/,svg.o results.o registry_json.o strbuf.o cli.o self_exe.o chunk.o precision.o)
$(BUILD)/tests/test_serve_api: TEST_OBJS = $(SERVE_OBJS)
$(BUILD)/tests/test_serve_api: $(SERVE_OBJS)

# The fault-injection test replaces the allocator for the whole link.
$(BUILD)/tests/test_faults: ALL_LDFLAGS += -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=aligned_alloc

# Test models: generated once from the reference generator, then converted by
# the binary under test.
HF := $(TESTDATA)/hf
$(HF)/tiny-mean/model.safetensors:
	$(PYTHON) $(REF)/gen_model.py $(HF)/tiny-mean --seed 1 >/dev/null
$(HF)/tiny-cls/model.safetensors:
	$(PYTHON) $(REF)/gen_model.py $(HF)/tiny-cls --pooling cls --seed 2 >/dev/null
$(HF)/minilm-mean/model.safetensors:
	$(PYTHON) $(REF)/gen_model.py $(HF)/minilm-mean --hidden 384 --layers 6 --heads 12 --inter 1536 --max-pos 512 --max-seq 256 --seed 3 >/dev/null
# 100 tokens at hidden size 8 (also the fuzz seeds' model): test_faults converts it once per allocation point.
$(HF)/micro/model.safetensors: tests/fuzz/make_seeds.py
	$(PYTHON) tests/fuzz/make_seeds.py --micro $(HF)/micro $(REF)
$(HF)/tiny-f16/model.safetensors:
	$(PYTHON) $(REF)/gen_model.py $(HF)/tiny-f16 --seed 1 --dtype f16 >/dev/null
$(HF)/tiny-bf16/model.safetensors:
	$(PYTHON) $(REF)/gen_model.py $(HF)/tiny-bf16 --seed 1 --dtype bf16 --prefix bert. >/dev/null

# The other architectures and heads (../shared/ref/arch/README.md: the goldens' generator arguments).
$(HF)/distilbert-sst2/model.safetensors:
	$(PYTHON) $(REF)/arch/gen_arch.py $(HF)/distilbert-sst2 --arch distilbert --head seqcls --labels 2 --seed 11 >/dev/null
$(HF)/ce-minilm/model.safetensors:
	$(PYTHON) $(REF)/arch/gen_arch.py $(HF)/ce-minilm --arch bert --head seqcls --labels 1 --seed 12 >/dev/null
$(HF)/mpnet-mean/model.safetensors:
	$(PYTHON) $(REF)/arch/gen_arch.py $(HF)/mpnet-mean --arch mpnet --seed 13 >/dev/null
$(HF)/nomic-mean/model.safetensors:
	$(PYTHON) $(REF)/arch/gen_arch.py $(HF)/nomic-mean --arch nomic_bert --seed 14 >/dev/null
# Longer contexts, for tests/data/arch_long_*.jsonl (tests/data/make_arch_long.sh).
$(HF)/mpnet-long/model.safetensors:
	$(PYTHON) $(REF)/arch/gen_arch.py $(HF)/mpnet-long --arch mpnet --max-pos 1026 --max-seq 1024 --seed 31 >/dev/null
$(HF)/nomic-long/model.safetensors:
	$(PYTHON) $(REF)/arch/gen_arch.py $(HF)/nomic-long --arch nomic_bert --max-seq 1024 --seed 32 >/dev/null

# ModernBERT and Qwen3-Embedding (../shared/ref/arch/README-modern.md).
$(HF)/modernbert-cls/model.safetensors:
	$(PYTHON) $(REF)/arch/gen_modern.py $(HF)/modernbert-cls --model gte-modernbert --seed 21 >/dev/null
$(HF)/modernbert-mean/model.safetensors:
	$(PYTHON) $(REF)/arch/gen_modern.py $(HF)/modernbert-mean --model modernbert-embed --seed 22 >/dev/null
$(HF)/modernbert-rerank/model.safetensors:
	$(PYTHON) $(REF)/arch/gen_modern.py $(HF)/modernbert-rerank --model gte-reranker-modernbert --seed 23 >/dev/null
$(HF)/qwen3-embed/model.safetensors:
	$(PYTHON) $(REF)/arch/gen_modern.py $(HF)/qwen3-embed --model qwen3-embedding --seed 24 >/dev/null

# The XLM-RoBERTa family (../shared/ref/arch/README-xlmr.md). Debian's python3
# (with python3-torch, make deps) writes bge-m3's .pt heads and the .bin checkpoint.
TORCH_PYTHON ?= /usr/bin/python3
$(HF)/xlmr-e5/model.safetensors:
	$(PYTHON) $(REF)/arch/gen_xlmr.py $(HF)/xlmr-e5 --kind e5 --seed 21 >/dev/null
$(HF)/xlmr-minilm/model.safetensors:
	$(PYTHON) $(REF)/arch/gen_xlmr.py $(HF)/xlmr-minilm --kind minilm --seed 22 >/dev/null
$(HF)/rerank-m3/model.safetensors:
	$(PYTHON) $(REF)/arch/gen_xlmr.py $(HF)/rerank-m3 --kind rerank --seed 24 >/dev/null
# bge-m3 comes with its heads (sparse_linear.pt, colbert_linear.pt, written last): a folder the
# generator could not finish is removed, never taken for a model without heads.
$(HF)/bgem3/model.safetensors:
	$(TORCH_PYTHON) $(REF)/arch/gen_xlmr.py $(HF)/bgem3 --kind bgem3 --seed 23 >/dev/null || { rm -rf $(HF)/bgem3; exit 1; }
# The same weights as bge-m3's main revision ships them: pytorch_model.bin alone.
$(HF)/bgem3-bin/pytorch_model.bin:
	$(TORCH_PYTHON) $(REF)/arch/gen_xlmr.py $(HF)/bgem3-bin --kind bgem3 --seed 23 --weights bin >/dev/null \
		|| { rm -rf $(HF)/bgem3-bin; exit 1; }
$(BUILD)/testdata/bgem3-bin.temb: $(HF)/bgem3-bin/pytorch_model.bin $(BUILD)/tinyembed
	$(BUILD)/tinyembed convert $(HF)/bgem3-bin $@
$(BUILD)/testdata/bgem3-bin-int8.temb: $(HF)/bgem3-bin/pytorch_model.bin $(BUILD)/tinyembed
	$(BUILD)/tinyembed convert --dtype int8 $(HF)/bgem3-bin $@

# A one-layer BERT around each real SentencePiece tokenizer of ../shared/ref/tokenizers, to tokenize with it.
UNIGRAM_TOKS := unigram-xlmr unigram-xlmr-legacy unigram-xlmr-v5 unigram-pegasus unigram-nfkc-ja
$(HF)/carrier-%/model.safetensors:
	$(PYTHON) $(REF)/arch/gen_xlmr.py $(HF)/carrier-$* --kind carrier --tokenizer $(REF)/tokenizers/$* --seed 1 >/dev/null
# ... and around the stages no public file has (tests/data/unigram/make_variants.py).
VARIANT_TOKS := unigram-bytefallback unigram-albert unigram-nfkc-roberta
$(TESTDATA)/tokenizers/.made: tests/data/unigram/make_variants.py
	$(PYTHON) tests/data/unigram/make_variants.py $(REF)/tokenizers $(TESTDATA)/tokenizers && touch $@
$(VARIANT_TOKS:%=$(HF)/carrier-%/model.safetensors): $(HF)/carrier-%/model.safetensors: $(TESTDATA)/tokenizers/.made
	$(PYTHON) $(REF)/arch/gen_xlmr.py $(HF)/carrier-$* --kind carrier --tokenizer $(TESTDATA)/tokenizers/$* --seed 1 >/dev/null

# ... and around each real byte-level BPE tokenizer (GPT-2, ModernBERT's, Qwen3-Embedding's).
BPE_TOKS := bpe-gpt2 bpe-modernbert bpe-qwen3-embedding

.PRECIOUS: $(HF)/carrier-%/model.safetensors

MODELS := tiny-mean tiny-cls minilm-mean
ARCH_MODELS := distilbert-sst2 ce-minilm mpnet-mean nomic-mean mpnet-long nomic-long xlmr-e5 xlmr-minilm bgem3 rerank-m3 \
               modernbert-cls modernbert-mean modernbert-rerank qwen3-embed
testdata: $(BUILD)/testdata/micro.temb $(MODELS:%=$(BUILD)/testdata/%.temb) $(MODELS:%=$(BUILD)/testdata/%-int8.temb) \
          $(MODELS:%=$(BUILD)/testdata/%-f16.temb) $(MODELS:%=$(BUILD)/testdata/%-bf16.temb) \
          $(HF)/tiny-f16/model.safetensors $(HF)/tiny-bf16/model.safetensors \
          $(ARCH_MODELS:%=$(BUILD)/testdata/%.temb) $(ARCH_MODELS:%=$(BUILD)/testdata/%-int8.temb) \
          $(UNIGRAM_TOKS:%=$(BUILD)/testdata/carrier-%.temb) $(VARIANT_TOKS:%=$(BUILD)/testdata/carrier-%.temb) \
          $(BPE_TOKS:%=$(BUILD)/testdata/carrier-%.temb) \
          $(BUILD)/testdata/bgem3-bin.temb $(BUILD)/testdata/bgem3-bin-int8.temb

$(BUILD)/testdata/%.temb: $(HF)/%/model.safetensors $(BUILD)/tinyembed
	@mkdir -p $(dir $@)
	$(BUILD)/tinyembed convert $(HF)/$* $@
$(BUILD)/testdata/%-int8.temb: $(HF)/%/model.safetensors $(BUILD)/tinyembed
	@mkdir -p $(dir $@)
	$(BUILD)/tinyembed convert --dtype int8 $(HF)/$* $@
$(BUILD)/testdata/%-f16.temb: $(HF)/%/model.safetensors $(BUILD)/tinyembed
	@mkdir -p $(dir $@)
	$(BUILD)/tinyembed convert --dtype f16 $(HF)/$* $@
$(BUILD)/testdata/%-bf16.temb: $(HF)/%/model.safetensors $(BUILD)/tinyembed
	@mkdir -p $(dir $@)
	$(BUILD)/tinyembed convert --dtype bf16 $(HF)/$* $@

# MODELS_FROM=DIR: test the models another build converted (the sanitizer and
# clang runs in CI take the gcc build's: converting is tested on its own, and
# converting every test model again under ASan or TSan costs minutes).
# The shared library only when a test that loads it runs (cli_python): the
# sanitizer runs choose their tests and would build it for nothing.
TEST_SHARED = $(if $(TE_ONLY_C),,$(if $(TE_SHELL_TESTS),$(if $(filter cli_python,$(TE_SHELL_TESTS)),shared),shared))
test: all $(TEST_SHARED) $(if $(MODELS_FROM),,testdata)
	@TE_MODELS_FROM=$(MODELS_FROM) sh tests/run.sh $(BUILD) $(HF) $(REF)

CHECK_SHELL_TESTS = cli_structure cli_tokenize cli_embed cli_classify cli_convert cli_models cli_download cli_quickstart \
	cli_serve_score cli_unicode
check: all testdata
	@TE_SHELL_TESTS="$(CHECK_SHELL_TESTS)" sh tests/run.sh $(BUILD) $(HF) $(REF)

# Memory errors and undefined behaviour: every C test program, over every 4th
# reference sentence (TE_SLICE; the invariance tests on the tiny model: the
# same code at a thirteenth of ASan's cost, make test runs them all), and the
# shell tests that feed outside input to a parser: model directories, text,
# flags, HTTP requests, registry configs, documents and queries, bundles, PyTorch pickles.
SANITIZE_SHELL_TESTS = cli_convert cli_tokenize cli_embed cli_classify cli_models cli_serve cli_serve_score cli_serve_clients \
	cli_search cli_bundle cli_unicode cli_tokdiff cli_torch cli_m3
sanitize:
	TE_SLICE=4 TE_SHELL_TESTS="$(SANITIZE_SHELL_TESTS)" $(MAKE) BUILD=build/sanitize \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		LDFLAGS="-fsanitize=address,undefined" test

# Races live where threads are: the C programs that run contexts on several
# threads, the loader, the registry and the server's API (test_concurrency:
# 20 s per model of 8 contexts on one shared model), over a slice as above,
# and the shell tests of the server and of embedding (worker pools, batching
# threads, reloads).
TSAN_C_TESTS = test_concurrency test_forward test_index test_loading test_registry test_serve_api
TSAN_SHELL_TESTS = cli_serve cli_serve_score cli_models cli_embed
tsan:
	TE_SLICE=4 TE_STRESS_SECONDS=20 TE_C_TESTS="$(TSAN_C_TESTS)" TE_SHELL_TESTS="$(TSAN_SHELL_TESTS)" $(MAKE) \
		BUILD=build/tsan CC=clang CFLAGS="-O1 -g -fsanitize=thread" LDFLAGS="-fsanitize=thread" test

# Every C test program under valgrind's memcheck (by hand; needs valgrind). Any
# error or definitely/indirectly lost block fails the program. Valgrind runs the
# AVX2 kernels (it hides AVX-512 from CPUID) about a hundred times slower:
# test_faults fails every 25th allocation point instead of each, the tests
# over the reference sentences take every 8th, test_forward's invariance tests
# run on the tiny model instead of MiniLM and its scratch test fills a 512-token
# bound instead of 4,096 (make sanitize runs them all);
# the registry's reload stress pauses between texts so the reloader thread is
# not starved by valgrind's one-thread-at-a-time scheduler (TE_STRESS_YIELD).
# That scheduler keeps a program on one core, so VALGRIND_JOBS (default: the
# online cores) programs run at once; test_loading and test_residency evict
# private copies of the model, which the others do not map.
VALGRIND_JOBS ?= $(shell getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
VALGRIND = valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite,indirect
valgrind: all testdata
	@TE_WRAP="$(VALGRIND)" TE_JOBS=$(VALGRIND_JOBS) TE_STRESS_SECONDS=5 TE_STRESS_YIELD=1 TE_FAULT_STRIDE=25 TE_SLICE=8 sh tests/run.sh $(BUILD) $(HF) $(REF)

# ARM: static cross builds (warnings are errors), then the golden tests
# (ARM_QUICK=1: a slice, for CI; see tests/arm.sh),
# the kernels against the scalar reference and the CLI's vectors against
# this build's, under user-mode emulation (tests/arm.sh). Needs
# gcc-aarch64-linux-gnu, gcc-arm-linux-gnueabihf and qemu-user. ARMv7 runs
# the scalar kernels (the NEON ones use AArch64-only instructions).
ARM64_CC ?= aarch64-linux-gnu-gcc
ARMV7_CC ?= arm-linux-gnueabihf-gcc
test-arm: all testdata
	$(MAKE) BUILD=build/arm64 CC=$(ARM64_CC) EXTRA_LDFLAGS=-static all
	$(MAKE) BUILD=build/armv7 CC=$(ARMV7_CC) EXTRA_LDFLAGS=-static all
	ARM_QUICK=$(ARM_QUICK) sh tests/arm.sh $(BUILD) aarch64 qemu-aarch64 $(ARM64_CC:-gcc=-strip) build/arm64 \
		armv7 qemu-arm $(ARMV7_CC:-gcc=-strip) build/armv7

# libFuzzer targets (tests/fuzz/fuzz_NAME.c): each runs for FUZZ_SECONDS from
# its committed seed corpus (tests/fuzz/corpus/NAME); what it learns goes to
# build/fuzz/corpus/NAME, crashes to build/fuzz/ (crash-*), and fail the run
# (make -j2 fuzz runs two at a time). The library is built for them with
# FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, which makes every checksum pass
# (crc32.h). The same entry points run over the seeds and over
# tests/fuzz/regress/NAME (inputs that once failed) in make test, as
# $(BUILD)/tests/test_fuzz_NAME (tests/fuzz/replay.c).
FUZZ_SECONDS ?= 10
FUZZ_CC ?= clang
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_FLAGS = -std=c11 $(WARN) -g -O1 -fsanitize=fuzzer $(FUZZ_SAN) -D_GNU_SOURCE -Iinclude -Isrc -Itools/serve
FUZZ_LIB = build/fuzz/lib/libtinyembed.a
ifneq ($(BUILD),build/fuzz/lib)
$(FUZZ_LIB): FORCE
	@$(MAKE) --no-print-directory BUILD=build/fuzz/lib CC=$(FUZZ_CC) \
		CFLAGS="-g -O1 -fsanitize=fuzzer-no-link $(FUZZ_SAN) -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION" $@
endif
build/fuzz/fuzz_http: tests/fuzz/fuzz_http.c tools/serve/http.c tools/serve/http.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) tests/fuzz/fuzz_http.c tools/serve/http.c -o $@
# The routes of serve over the library: its request readers and the modules they call.
FUZZ_SERVE_SRC = $(addprefix tools/serve/,serve_api.c serve_requests.c serve_job.c serve_status.c serve_metrics.c serve_cache.c http.c) \
	$(addprefix tools/common/,svg.c results.c registry_json.c strbuf.c cli.c self_exe.c precision.c)
build/fuzz/fuzz_requests: tests/fuzz/fuzz_requests.c $(FUZZ_SERVE_SRC) $(wildcard tools/serve/*.h tools/common/*.h) $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_FLAGS) -Itools/common tests/fuzz/fuzz_requests.c $(FUZZ_SERVE_SRC) $(FUZZ_LIB) -pthread -lm -o $@
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard tests/fuzz/*.h) $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_FLAGS) $< $(FUZZ_LIB) -pthread -lm -o $@
fuzz: $(FUZZ_TARGETS:%=fuzz-run-%)
# CI's slice: the same targets from a fresh copy of the seeds with a fixed seed,
# a fixed number of runs each (about 20 s on CI's slower machines), no corpus
# reloads (they depend on time), address randomization off and the scalar
# kernels, so that it runs the same inputs and passes or fails alike on every
# machine. Long random runs are make fuzz, by hand; what they find joins
# tests/fuzz/regress/.
FUZZ_SEED ?= 1
FUZZ_RUNS_http = 2000000
FUZZ_RUNS_temb = 160000
FUZZ_RUNS_safetensors = 130000
FUZZ_RUNS_torch = 100000
FUZZ_RUNS_convert = 40000
FUZZ_RUNS_json = 500000
FUZZ_RUNS_tokenizer = 4000
FUZZ_RUNS_tidx = 200000
FUZZ_RUNS_requests = 1000000
fuzz-slice: $(FUZZ_TARGETS:%=fuzz-slice-%)
fuzz-slice-%: build/fuzz/fuzz_% testdata
	@rm -rf build/fuzz/slice/$* && mkdir -p build/fuzz/slice/$* && cp tests/fuzz/corpus/$*/* build/fuzz/slice/$*/
	@TE_TESTDATA=$(BUILD)/testdata TE_FUZZ_SIMD=scalar setarch $$(uname -m) -R build/fuzz/fuzz_$* -seed=$(FUZZ_SEED) -runs=$(FUZZ_RUNS_$*) -reload=0 \
		-artifact_prefix=build/fuzz/ -print_final_stats=1 build/fuzz/slice/$* 2>build/fuzz/$*.log || \
		{ tail -40 build/fuzz/$*.log; echo "fuzz $*: FAILED (input in build/fuzz/crash-*)"; exit 1; }
	@echo "fuzz $*: seed $(FUZZ_SEED), $$(sed -n 's/^stat::number_of_executed_units: *//p' build/fuzz/$*.log) runs" \
		"in $$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' build/fuzz/$*.log) s, $$(grep -o 'cov: [0-9]* ft: [0-9]*' build/fuzz/$*.log | tail -1)," \
		"corpus $$(ls build/fuzz/slice/$* | wc -l) files"
fuzz-run-%: build/fuzz/fuzz_% testdata
	@mkdir -p build/fuzz/corpus/$*
	@TE_TESTDATA=$(BUILD)/testdata build/fuzz/fuzz_$* -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=build/fuzz/ \
		-print_final_stats=1 build/fuzz/corpus/$* tests/fuzz/corpus/$* 2>build/fuzz/$*.log || \
		{ tail -40 build/fuzz/$*.log; echo "fuzz $*: FAILED (input in build/fuzz/crash-*)"; exit 1; }
	@echo "fuzz $*: $(FUZZ_SECONDS) s, $$(sed -n 's/^stat::number_of_executed_units: *//p' build/fuzz/$*.log) runs," \
		"corpus $$(ls build/fuzz/corpus/$* | wc -l) files, $$(grep -o 'cov: [0-9]*' build/fuzz/$*.log | tail -1)," \
		"peak $$(sed -n 's/^stat::peak_rss_mb: *//p' build/fuzz/$*.log) MB"

$(BUILD)/tests/test_fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c tests/fuzz/fuzz_file.h $(BUILD)/libtinyembed.a $(BUILD)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Isrc -Itools/serve -Itools/common -DFUZZ_NAME='"$*"' -o $@ $< tests/fuzz/replay.c $(TEST_OBJS) $(BUILD)/libtinyembed.a $(ALL_LDFLAGS) $(LIBS)
$(BUILD)/tests/test_fuzz_http: TEST_OBJS = $(BUILD)/obj/tools/serve/http.o
$(BUILD)/tests/test_fuzz_http: $(BUILD)/obj/tools/serve/http.o
$(BUILD)/tests/test_fuzz_requests: TEST_OBJS = $(SERVE_OBJS)
$(BUILD)/tests/test_fuzz_requests: $(SERVE_OBJS)

# The tokenizer against the Hugging Face tokenizers library on TOKDIFF_N generated
# inputs (make test runs 20,000 through tests/cli_tokdiff.sh). Needs node and
# its npm packages (make deps).
TOKDIFF_N ?= 1000000
$(BUILD)/tests/tokdiff: tests/tokdiff/compare.c tests/harness.h $(BUILD)/libtinyembed.a $(BUILD)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests -o $@ $< $(BUILD)/libtinyembed.a $(ALL_LDFLAGS) $(LIBS)
tokdiff: all testdata
	@sh tests/tokdiff/run.sh $(BUILD)/tests/tokdiff $(BUILD)/testdata/tiny-mean.temb $(REF)/minilm-tokenizer/tokenizer.json $(TOKDIFF_N)

# Flat memory over SOAK_N texts in process and SOAK_N server requests (by hand).
SOAK_N ?= 1000000
SOAK_MODEL ?= $(BUILD)/testdata/minilm-mean-int8.temb
$(BUILD)/tests/soak: tests/soak.c $(BUILD)/libtinyembed.a $(BUILD)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libtinyembed.a $(ALL_LDFLAGS) $(LIBS)
soak: all testdata
	sh tests/soak.sh $(BUILD) $(SOAK_MODEL) $(SOAK_N)

memtest: all testdata
	@sh tests/memtest.sh $(BUILD)

# The library as one C file, the SQLite way (tools/amalgamate.py says how).
amalgamation: $(BUILD)/amalgamation/tinyembed.c
$(BUILD)/amalgamation/tinyembed.c: $(LIB_SRC) $(wildcard src/*.h src/kernels/*.h include/*.h) tools/amalgamate.py
	$(PYTHON) tools/amalgamate.py $(BUILD)/amalgamation
test-amalgamation: amalgamation testdata
	@TE_TESTDATA=$(BUILD)/testdata TE_REF=$(REF) sh tests/amalgamation.sh $(BUILD)

# docs/SCALING.md, checked: needs GNU parallel, nginx-light and wrk.
test-scaling: all testdata
	@TE_REF=$(REF) sh tests/scaling.sh $(BUILD)

# The numerical tests alone (what BLAS=openblas changes: products of 64 rows or more); CI runs
# them on the optional OpenBLAS build instead of the whole suite again. MODELS_FROM=DIR tests
# the models another build converted (CI: the gcc build's; converting involves no BLAS).
test-blas: $(BUILD)/tinyembed $(if $(MODELS_FROM),,testdata) $(BUILD)/tests/test_kernels $(BUILD)/tests/test_forward $(BUILD)/tests/test_arch
	@for t in test_kernels test_forward test_arch; do echo "== $$t"; \
		TE_TESTDATA=$(or $(MODELS_FROM),$(BUILD)/testdata) TE_HF=$(HF) TE_REF=$(REF) TE_BIN=$(BUILD)/tinyembed $(BUILD)/tests/$$t || exit 1; done

# Search speed on 100,000 documents (by hand: about 10 minutes, 4 GB in build/bench-search).
bench-search: all testdata
	@sh tests/search_bench.sh $(BUILD)

# The result cache's effect: requests/s and latency with and without --cache-mb, half the texts repeating.
bench-cache: all testdata
	python3 tests/cache_bench.py $(BUILD)/tinyembed $(BUILD)/testdata/minilm-mean.temb

LOADTEST_SECONDS ?= 60
loadtest: all testdata
	sh tests/loadtest.sh $(BUILD) $(BUILD)/testdata/minilm-mean.temb $(LOADTEST_SECONDS)

# The shared library: its own position-independent objects, built with plain
# flags (also under `make sanitize`, so that a Python process can load it);
# the version script exports exactly the functions the public headers declare.
SO_CFLAGS = -std=c11 $(WARN) -O2 -g -D_GNU_SOURCE -pthread -Iinclude -Isrc -fPIC -fvisibility=default -MMD -MP
SO_OBJ := $(LIB_SRC:%.c=$(BUILD)/pic/%.o)
$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(SO_CFLAGS) -c $< -o $@
$(BUILD)/tinyembed.map: $(wildcard include/*.h)
	@mkdir -p $(dir $@)
	{ echo '{ global:'; sed -n 's/^[a-z_ ]*[ *]\(te_[a-z0-9_]*\)(.*/    \1;/p' include/*.h | sort -u; \
	  echo 'local: *; };'; } > $@
$(BUILD)/libtinyembed.so: $(SO_OBJ) $(BUILD)/tinyembed.map
	$(CC) -shared -pthread -Wl,--version-script=$(BUILD)/tinyembed.map -Wl,-soname,libtinyembed.so -o $@ $(SO_OBJ) -lm
shared: $(BUILD)/libtinyembed.so

static:
	$(MAKE) EXTRA_LDFLAGS=-static $(BUILD)/tinyembed
	@file $(BUILD)/tinyembed

install: $(BUILD)/libtinyembed.a $(BUILD)/tinyembed
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 755 $(BUILD)/tinyembed $(DESTDIR)$(PREFIX)/bin/tinyembed
	install -m 644 $(BUILD)/libtinyembed.a $(DESTDIR)$(PREFIX)/lib/libtinyembed.a
	install -m 644 include/*.h $(DESTDIR)$(PREFIX)/include/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' -e 's|@LIBS@|$(LIBS)|' tinyembed.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/tinyembed.pc

model: $(BUILD)/tinyembed
	@test -n "$(NAME)" || { echo "usage: make model NAME=sentence-transformers/all-MiniLM-L6-v2" >&2; exit 2; }
	sh models/download.sh $(NAME)
	$(BUILD)/tinyembed convert models/$(notdir $(NAME)) models/$(notdir $(NAME)).temb

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(TOOL_OBJ:.o=.d) $(TEST_BIN:=.d) $(SO_OBJ:.o=.d)
