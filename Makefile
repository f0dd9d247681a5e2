# The two commands: `make run` and `make test` each do the whole set-up (packages, configure,
# build) on a fresh Debian 12 machine. Everything else is optional.
SHELL := /bin/bash
PRESET ?= release
BUILD_DIR := build/$(PRESET)
NAUTILUS := $(BUILD_DIR)/apps/nautilus/nautilus
FUZZ_SECONDS ?= 60
BENCH_RUNS ?= 5
ARGS ?=

.PHONY: all deps build universe run test test-asan test-tsan test-all test-docker bench fuzz format-check lint clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake --preset $(PRESET) > /dev/null
	cmake --build --preset $(PRESET)

# The research universe (docs/MARKET_DATA.md) is about 50 MB compressed, too large to commit:
# written here, in a few seconds, when a file of it is missing or the generator's source is newer
# than what it wrote (data/universe/.gitignore).
UNIVERSE_DIR := data/universe
UNIVERSE_FILES := daily_bars.csv.gz reference.csv.gz universe.csv.gz truth_factor_returns.csv \
                  truth_exposures.csv.gz README.md
UNIVERSE_SOURCES := src/engines/marketdata/universe.cpp src/factor_core/styles.cpp
universe: build
	@$(foreach f,$(UNIVERSE_FILES),test -f $(UNIVERSE_DIR)/$(f) &&) \
	  $(foreach f,$(UNIVERSE_SOURCES),test ! $(f) -nt $(UNIVERSE_DIR)/README.md &&) true || \
	  $(NAUTILUS) sample --universe --out $(UNIVERSE_DIR)

run: build universe
	$(NAUTILUS) run $(ARGS)

test: build universe
	ctest --preset $(PRESET)

test-asan:
	$(MAKE) test PRESET=asan-ubsan

test-tsan:
	$(MAKE) test PRESET=tsan

# The suite under release, ASan+UBSan and TSan.
test-all: test test-asan test-tsan

# deploy/docker-compose.yml for real: builds the images, brings every engine up on the host's
# network, checks them and tears down (tests/docker/compose_test.sh). Not in CI: the image
# build compiles the binary again, 6-9 minutes on two cores.
test-docker:
	bash tests/docker/compose_test.sh

bench: build
	$(NAUTILUS) bench all --json --runs $(BENCH_RUNS)
	$(BUILD_DIR)/bench/bus_micro_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true

# libFuzzer (clang 19) on every decoder, FUZZ_SECONDS each, starting from the committed corpus.
fuzz: deps
	@cmake --preset fuzz > /dev/null
	cmake --build --preset fuzz
	mkdir -p build/fuzz/corpus/codec
	build/fuzz/fuzz/codec_fuzz -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	  build/fuzz/corpus/codec fuzz/corpus/codec
	mkdir -p build/fuzz/corpus/marketdata
	build/fuzz/fuzz/marketdata_fuzz -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	  build/fuzz/corpus/marketdata fuzz/corpus/marketdata
	mkdir -p build/fuzz/corpus/http
	build/fuzz/fuzz/http_fuzz -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	  build/fuzz/corpus/http fuzz/corpus/http
	mkdir -p build/fuzz/corpus/signals
	build/fuzz/fuzz/signals_fuzz -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	  build/fuzz/corpus/signals fuzz/corpus/signals
	mkdir -p build/fuzz/corpus/stream
	build/fuzz/fuzz/stream_fuzz -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	  build/fuzz/corpus/stream fuzz/corpus/stream
	mkdir -p build/fuzz/corpus/toraniko
	build/fuzz/fuzz/toraniko_fuzz -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	  build/fuzz/corpus/toraniko fuzz/corpus/toraniko
	mkdir -p build/fuzz/corpus/websocket
	build/fuzz/fuzz/websocket_fuzz -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	  build/fuzz/corpus/websocket fuzz/corpus/websocket
	mkdir -p build/fuzz/corpus/sweep_queue
	build/fuzz/fuzz/sweep_queue_fuzz -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	  build/fuzz/corpus/sweep_queue fuzz/corpus/sweep_queue

LINT_SOURCES := $(shell git ls-files '*.cpp' '*.hpp')
# The formatting half of lint: a second, so CI runs it (clang-tidy takes minutes).
format-check:
	clang-format-19 --dry-run --Werror $(LINT_SOURCES)

lint: build format-check
	clang-tidy-19 -p $(BUILD_DIR) --quiet $(filter src/%.cpp,$(LINT_SOURCES))

clean:
	rm -rf build
