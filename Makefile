# Perceptron: build, test and benchmark on a Debian/Ubuntu machine.
#
# The library is the package in this folder; the benchmark, the example and
# the tests that need their C helpers are a package of their own in
# Benchmarks/ (it depends on this one), which these targets run with
# --package-path Benchmarks.
#
#   make test                      run the library's tests, then the Benchmarks
#                                  package's (heap-allocation counts, FMA peak
#                                  probe) in a release build
#   make bench                     run the benchmark (BLAS against naive matmul)
#   make bench ARGS="--quick"      the same in under about 20 seconds
#   make bench ARGS="--bf16-crossover"   a layer step in bfloat16 against float32, by size
#   make bench ARGS="--steps --precision bf16"   the compared layer steps in bfloat16
#                                  (ARGS="--help" lists its modes and options)
#   make compare                   the layer step, an MLP's training step and serving the
#                                  digits model against numpy's (ARGS="--rounds 1",
#                                  ARGS="--only steps|mlp|serve")
#   make bench-distributed         data-parallel training on this machine: the step of a
#                                  784-512-512-10 MLP on 1 process × 2 threads and on
#                                  2 processes × 1 thread under mpirun, and all-reduce
#                                  bandwidth over shared memory and TCP (ARGS="--quick")
#   make train                     train the example digit classifier (ARGS="--help";
#                                  ARGS="--precision bf16" in bfloat16)
#   make train-moons               train the binary example on two moons (ARGS="--help")
#   make test-sanitize             the library's tests under AddressSanitizer with
#                                  leak detection, then its concurrency tests under
#                                  ThreadSanitizer, then all again with its C under
#                                  UndefinedBehaviorSanitizer (each in its own
#                                  .build-asan, .build-tsan, .build-ubsan; about
#                                  6 minutes from clean)
#   make fuzz SECONDS=60           fuzz the .npy reader with libFuzzer for SECONDS;
#                                  new inputs go to .build-fuzz/corpus-npy, crashers
#                                  to .build-fuzz/artifacts-npy (see "Fuzzing" below)
#   make fuzz FUZZ_TARGET=safetensors SECONDS=60
#                                  the same for the safetensors reader
#   make fuzz-build                only build the fuzzer (.build-fuzz/debug/perceptron-npy-fuzz,
#                                  or perceptron-$(FUZZ_TARGET)-fuzz)
#   make docs                      build the DocC documentation into .build/docs; fails on any warning
#   make clean                     remove every build folder, Benchmarks/.build included
#
# Each installs OpenBLAS (libopenblas-dev), pkg-config, Open MPI (libopenmpi-dev,
# openmpi-bin, for PerceptronDistributed and its tests) and oneDNN (libdnnl-dev,
# for the OneDNN trait) with apt-get first if pkg-config cannot find them, mpirun
# or oneDNN's header is missing; sudo is used only when not running as root.

SWIFT ?= swift
ARGS ?=
BENCHMARKS := Benchmarks
BENCH_JSON ?= $(BENCHMARKS)/.build/bench/perceptron-bench.json
APT_PACKAGES := libopenblas-dev pkg-config libopenmpi-dev openmpi-bin libdnnl-dev
# The benchmark and the examples are always built with the library's OneDNN
# trait, so that --precision bfloat16 is there to measure; the library's own
# tests run in both configurations, without the trait and with it (in
# .build-onednn).
BENCH_TRAITS := --traits OneDNN

.PHONY: all setup build test test-sanitize fuzz fuzz-build bench bench-distributed compare train docs clean

all: build

setup:
	@if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists openblas ompi-c || ! command -v mpirun >/dev/null 2>&1 \
		|| ! test -e /usr/include/oneapi/dnnl/dnnl.h; then \
		echo "OpenBLAS, Open MPI or oneDNN not found: installing $(APT_PACKAGES) with apt-get"; \
		if [ "$$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES); \
	fi

build: setup
	$(SWIFT) build -c release
	$(SWIFT) build -c release --package-path $(BENCHMARKS) $(BENCH_TRAITS)

# The Benchmarks package's tests run in release: "no allocations per step" is
# a promise about optimised code, the build that users ship and the benchmark
# measures. They run one at a time: several set the process-wide
# BLAS.threadCount, and a change made by a test running beside an allocation
# count would start or stop pool threads inside it.
test: setup
	$(SWIFT) test
	$(SWIFT) test --traits OneDNN --scratch-path .build-onednn
	$(SWIFT) test -c release --package-path $(BENCHMARKS) $(BENCH_TRAITS) --no-parallel

bench: setup
	$(SWIFT) run -c release --package-path $(BENCHMARKS) $(BENCH_TRAITS) perceptron-bench --json $(BENCH_JSON) $(ARGS)

# Data-parallel training: one process with 2 threads against 2 processes with 1
# each (mpirun; --allow-run-as-root only when root, as in CI), then the
# all-reduce by message size over shared memory (vader) and over TCP.
DISTRIBUTED_BENCH := $(BENCHMARKS)/.build/release/perceptron-distributed-bench
MPIRUN := mpirun $(if $(filter 0,$(shell id -u)),--allow-run-as-root)
bench-distributed: setup
	$(SWIFT) build -c release --package-path $(BENCHMARKS) $(BENCH_TRAITS) --product perceptron-distributed-bench
	$(DISTRIBUTED_BENCH) --threads 2 $(ARGS)
	$(MPIRUN) -np 2 $(DISTRIBUTED_BENCH) --threads 1 $(ARGS)
	$(MPIRUN) -np 2 --mca btl vader,self $(DISTRIBUTED_BENCH) --bandwidth $(ARGS)
	$(MPIRUN) -np 2 --mca btl tcp,self $(DISTRIBUTED_BENCH) --bandwidth $(ARGS)

# Perceptron's layer step, an MLP's training step and serving the digits model against
# numpy's, side by side (needs python3, numpy, threadpoolctl).
compare: setup
	$(SWIFT) build -c release --package-path $(BENCHMARKS) $(BENCH_TRAITS) --product perceptron-bench
	python3 $(BENCHMARKS)/compare_numpy.py $(ARGS)

# The example: a 64-64-10 MLP on the bundled UCI digits, Adam, 100 epochs by default.
train: setup
	$(SWIFT) run -c release --package-path $(BENCHMARKS) $(BENCH_TRAITS) perceptron-digits $(ARGS)

# The binary example: a 2-16-16-1 MLP, one logit, BCE with logits, on generated two moons.
.PHONY: train-moons
train-moons: setup
	$(SWIFT) run -c release --package-path $(BENCHMARKS) $(BENCH_TRAITS) perceptron-moons $(ARGS)

# MARK: Sanitizers
#
# The whole suite under ASan, leaks included (LeakSanitizer runs at exit and
# fails the run on a leak), then the concurrency tests under TSan, which exits
# non-zero (66) if it reported a race: GEMMs on several threads (Parallel,
# ConcurrencyTests) and one InferenceModel shared by many tasks
# (InferenceModelConcurrencyTests, which the filter's "Concurrency" takes); TSAN_FILTER=.
# runs the whole suite under TSan instead (about as fast, and clean too).
# --disable-xctest: the suite is Swift Testing only, and the empty XCTest pass
# leaks a few XCTest-internal objects that LeakSanitizer would report as ours.
# Only the library's own tests run here: the ones that count allocations are
# in the Benchmarks package, which `make test` runs in a plain release build
# (under a sanitizer, whose runtime owns malloc, they could not count). No TSan
# suppressions: none are needed.
# Last, the whole suite with the library's C (the kernels, the CPU probe)
# under UndefinedBehaviorSanitizer, stopping at the first report: a load
# through a misaligned or wrongly typed pointer in the intrinsics code, which
# ASan does not flag. Swift has no UBSan on Linux, so only the C is
# instrumented, and the clang driver links UBSan's runtime.
TSAN_FILTER ?= Concurrency|Parallel
UBSAN_FLAGS := -Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=undefined \
	-Xswiftc -Xclang-linker -Xswiftc -fsanitize=undefined
test-sanitize: setup
	ASAN_OPTIONS=detect_leaks=1 $(SWIFT) test --disable-xctest --sanitize=address --scratch-path .build-asan
	$(SWIFT) test --disable-xctest --sanitize=thread --scratch-path .build-tsan --filter '$(TSAN_FILTER)'
	$(SWIFT) test --disable-xctest $(UBSAN_FLAGS) --scratch-path .build-ubsan

# MARK: Fuzzing
#
# `make fuzz SECONDS=60` builds Sources/perceptron-npy-fuzz with libFuzzer and
# ASan (debug, so that it can `@testable import` the reader's internal entry
# point) and fuzzes Tensor(npyData:) for SECONDS, seeded with numpy's fixtures
# and the committed regression corpus. FUZZ_TARGET=safetensors does the same
# for Sources/perceptron-safetensors-fuzz and SafeTensors(safeTensorsData:),
# seeded with the safetensors package's fixtures; every path below follows
# FUZZ_TARGET. Inputs that reach new code accumulate in
# .build-fuzz/corpus-$(FUZZ_TARGET) across runs; a crash stops the run and is
# saved in .build-fuzz/artifacts-$(FUZZ_TARGET)/ (replay one with
# `swift run perceptron-npy-fuzz FILE`, or perceptron-safetensors-fuzz).
# To refresh the committed corpus, minimise everything into it:
#   .build-fuzz/debug/perceptron-npy-fuzz -merge=1 Tests/PerceptronTests/Fixtures/npy-corpus .build-fuzz/corpus-npy
# The plain `make test` replays the corpora (NPYCorpusTests, SafeTensorsCorpusTests);
# CI never fuzzes.
SECONDS ?= 60
FUZZ_TARGET ?= npy
FUZZ_MAX_LEN ?= 4096
FUZZ_SCRATCH := .build-fuzz
FUZZ_PRODUCT = perceptron-$(FUZZ_TARGET)-fuzz
FUZZ_SEEDS = Tests/PerceptronTests/Fixtures/$(FUZZ_TARGET)
FUZZ_REGRESSION = Tests/PerceptronTests/Fixtures/$(FUZZ_TARGET)-corpus
FUZZ_CORPUS = $(FUZZ_SCRATCH)/corpus-$(FUZZ_TARGET)
FUZZ_ARTIFACTS = $(FUZZ_SCRATCH)/artifacts-$(FUZZ_TARGET)
# -enable-experimental-feature Extern: the target declares libFuzzer's driver
# with @_extern(c). The ld.gold "Cannot export local symbol" warnings of an ASan
# link are noise and are filtered out (pipefail keeps a failed build failing).
fuzz-build: SHELL := /bin/bash
fuzz-build: .SHELLFLAGS := -o pipefail -c
fuzz-build: setup
	@test -d Sources/$(FUZZ_PRODUCT) || { echo "FUZZ_TARGET=$(FUZZ_TARGET): no Sources/$(FUZZ_PRODUCT); expected npy or safetensors"; exit 2; }
	$(SWIFT) build --scratch-path $(FUZZ_SCRATCH) --product $(FUZZ_PRODUCT) --sanitize=address \
		-Xswiftc -DFUZZING -Xswiftc -sanitize=fuzzer -Xswiftc -enable-experimental-feature -Xswiftc Extern \
		2>&1 | grep -v 'Cannot export local symbol'

fuzz: fuzz-build
	mkdir -p $(FUZZ_CORPUS) $(FUZZ_ARTIFACTS)
	$(FUZZ_SCRATCH)/debug/$(FUZZ_PRODUCT) -max_total_time=$(SECONDS) -max_len=$(FUZZ_MAX_LEN) -timeout=10 \
		-dict=Sources/$(FUZZ_PRODUCT)/$(FUZZ_TARGET).dict -artifact_prefix=$(FUZZ_ARTIFACTS)/ -print_final_stats=1 \
		$(FUZZ_CORPUS) $(FUZZ_SEEDS) $(wildcard $(FUZZ_REGRESSION))

# MARK: Documentation
#
# `make docs` builds the DocC catalogues Sources/Perceptron/Perceptron.docc and
# Sources/PerceptronDistributed/PerceptronDistributed.docc with the toolchain's
# own docc (no package dependency): both targets are compiled with their symbol
# graphs, in a scratch directory of its own under .build so that the flags do
# not make `make test` rebuild, then docc converts each catalogue with its
# module's graph, failing on any warning (in a catalogue or in a `///`
# comment); PerceptronDistributed's links to Perceptron (``/Perceptron/Layer``)
# resolve against Perceptron's archive, and the two archives are merged into
# .build/docs. About 25 seconds from clean on 2 idle cores, a few seconds after.
# Browse with `docc preview Sources/Perceptron/Perceptron.docc
# --additional-symbol-graph-dir .build/docs-scratch/symbol-graphs/Perceptron`.
DOCC ?= $(shell command -v docc 2>/dev/null || echo "$$(dirname "$$(readlink -f "$$(command -v $(SWIFT))")")/docc")
DOCS_SCRATCH := .build/docs-scratch
DOCS_SYMBOLS := $(DOCS_SCRATCH)/symbol-graphs
DOCS_ARCHIVES := $(DOCS_SCRATCH)/archives
docs: setup
	$(SWIFT) build --target PerceptronDistributed --scratch-path $(DOCS_SCRATCH) \
		-Xswiftc -emit-symbol-graph -Xswiftc -emit-symbol-graph-dir -Xswiftc $(DOCS_SYMBOLS)
	rm -rf $(DOCS_SYMBOLS)/Perceptron $(DOCS_SYMBOLS)/PerceptronDistributed $(DOCS_ARCHIVES) .build/docs
	mkdir -p $(DOCS_SYMBOLS)/Perceptron $(DOCS_SYMBOLS)/PerceptronDistributed $(DOCS_ARCHIVES)
	cp $(DOCS_SYMBOLS)/Perceptron.symbols.json $(DOCS_SYMBOLS)/Perceptron@*.symbols.json $(DOCS_SYMBOLS)/Perceptron
	cp $(DOCS_SYMBOLS)/PerceptronDistributed*.symbols.json $(DOCS_SYMBOLS)/PerceptronDistributed
	$(DOCC) convert Sources/Perceptron/Perceptron.docc --additional-symbol-graph-dir $(DOCS_SYMBOLS)/Perceptron \
		--output-path $(DOCS_ARCHIVES)/Perceptron.doccarchive --warnings-as-errors --enable-experimental-external-link-support
	$(DOCC) convert Sources/PerceptronDistributed/PerceptronDistributed.docc \
		--additional-symbol-graph-dir $(DOCS_SYMBOLS)/PerceptronDistributed --dependency $(DOCS_ARCHIVES)/Perceptron.doccarchive \
		--output-path $(DOCS_ARCHIVES)/PerceptronDistributed.doccarchive --warnings-as-errors --enable-experimental-external-link-support
	$(DOCC) merge $(DOCS_ARCHIVES)/Perceptron.doccarchive $(DOCS_ARCHIVES)/PerceptronDistributed.doccarchive \
		--synthesized-landing-page-name Perceptron --output-path .build/docs

clean:
	rm -rf .build .build-onednn .build-asan .build-tsan .build-ubsan .build-fuzz $(BENCHMARKS)/.build
