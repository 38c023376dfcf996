# Perceptron: build, test and benchmark on a Debian/Ubuntu machine.
#
#   make test                      run the test suite
#   make bench                     run the benchmark (BLAS against naive matmul)
#   make bench ARGS="--quick"      the same in under about 20 seconds
#
# Both install OpenBLAS (libopenblas-dev) with apt-get first if pkg-config
# cannot find it; sudo is used only when not running as root.

SWIFT ?= swift
ARGS ?=
BENCH_JSON ?= .build/bench/perceptron-bench.json
APT_PACKAGES := libopenblas-dev pkg-config

.PHONY: all setup build test bench compare clean

all: build

setup:
	@if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists openblas; then \
		echo "OpenBLAS not found by pkg-config: installing $(APT_PACKAGES) with apt-get"; \
		if [ "$$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES); \
	fi

build: setup
	$(SWIFT) build -c release

test: setup
	$(SWIFT) test

bench: setup
	$(SWIFT) run -c release perceptron-bench --json $(BENCH_JSON) $(ARGS)

# Perceptron's layer step against numpy's, side by side (needs python3, numpy, threadpoolctl).
compare: setup
	$(SWIFT) build -c release --product perceptron-bench
	python3 Benchmarks/compare_numpy.py $(ARGS)

clean:
	rm -rf .build
