# Reweighting — build, test, demo and benchmarks. `make demo` and `make test` are the README's set-up:
# on a fresh Debian 12 machine with the .NET SDK, run as root, they install what is missing first.
SHELL := /bin/bash
.DEFAULT_GOAL := build

CONFIG      ?= Release
TORCH_DIR   ?=
NATIVE_OUT  := build/native
NATIVE_LIB  := $(NATIVE_OUT)/librwtorch.so
NATIVE_SRC  := $(wildcard native/src/*.cpp native/include/*.h) native/CMakeLists.txt
# Debian packages the build and the tests need; the benchmark adds its Python reference.
# libgloo-dev gives the shim Gloo's headers, so it builds the c10d process group (native/src/distributed.cpp).
# libopenblas0-pthread replaces the reference BLAS that libtorch-dev links by default (about 15x faster matmul);
# curl and xz-utils fetch libtorch 2.x headers for the shim's compatibility check (scripts/check-native-headers.sh).
APT_BUILD   := cmake g++ make libtorch-dev libgloo-dev libopenblas0-pthread postgresql chromium curl xz-utils
APT_BENCH   := python3 python3-torch python3-sklearn

.PHONY: build deps deps-bench native test demo bench clean

## deps: install missing build/test packages with apt (needs root when something is missing)
deps:
	@scripts/apt-ensure.sh $(APT_BUILD)

deps-bench:
	@scripts/apt-ensure.sh $(APT_BUILD) $(APT_BENCH)

## native: build the libtorch shim; TORCH_DIR=<libtorch or PyTorch torch/ dir> for another (e.g. CUDA) libtorch
native: $(NATIVE_LIB)

$(NATIVE_LIB): $(NATIVE_SRC) $(if $(TORCH_DIR),FORCE,)
	@scripts/build-native.sh "$(NATIVE_OUT)" "$(TORCH_DIR)"

FORCE:

## build: the shim and the whole solution
build: native
	dotnet build Reweighting.sln -c $(CONFIG) --nologo -v quiet -clp:ErrorsOnly

## test: install what is missing, build, run every test project, print "N passed, N failed"
test: deps
	@$(MAKE) --no-print-directory build
	@scripts/run-tests.sh $(CONFIG)

## demo: install what is missing, build, run the main job on embedded defaults
demo: deps
	@$(MAKE) --no-print-directory build
	./reweight demo

## bench: benchmarks with their reference runs; results in bench/results/
bench: deps-bench
	@$(MAKE) --no-print-directory build
	@bench/run.sh $(CONFIG)

clean:
	rm -rf build artifacts TestResults
	dotnet clean Reweighting.sln -c $(CONFIG) --nologo -v quiet
