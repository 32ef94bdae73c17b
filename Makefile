# revops-engine: the one entry point. `make run` serves, `make test` tests.
# BUILD=dir selects the output directory; SANITIZE=1 builds with ASan+UBSan.

BUILD    ?= build
CC       ?= cc
SANITIZE ?= 0
PKGS      = libmicrohttpd jansson libpq yaml-0.1 openssl zlib libcurl
TEST_PKGS = check libcurl

WARN     = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2 -Wno-format-nonliteral
CSTD     = -std=c11 -D_GNU_SOURCE
OPT      = -O2 -g
ifeq ($(SANITIZE),1)
OPT      = -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDSAN    = -fsanitize=address,undefined
endif
CFLAGS_ALL = $(CSTD) $(WARN) $(OPT) -MMD -MP -Icore -Iserver -I$(BUILD)/gen
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
TEST_CFLAGS = $(shell pkg-config --cflags $(TEST_PKGS) 2>/dev/null)
TEST_LIBS   = $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)

CORE_SRC   = $(sort $(wildcard core/*.c))
SERVER_SRC = $(filter-out server/main.c,$(sort $(wildcard server/*.c)))
MIGRATIONS = $(sort $(wildcard migrations/*.sql))
REPEATABLES = $(sort $(wildcard sql/*.sql))
UNIT_SRC   = $(sort $(wildcard tests/unit/test_*.c))
API_SRC    = $(sort $(wildcard tests/api/*.c))
BENCH_SRC  = $(sort $(wildcard tests/bench/bench_*.c))

CORE_OBJ   = $(CORE_SRC:%.c=$(BUILD)/obj/%.o)
SERVER_OBJ = $(SERVER_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/migrations_embed.o $(BUILD)/obj/gen/query_params.o \
             $(CONSOLE_OBJ)
UNIT_BIN   = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_BIN  = $(BENCH_SRC:tests/bench/%.c=$(BUILD)/bench/%)

# make sql-check: every SQL function and view has its one home in sql/ and sql/
# defines it as the migrations did (tests/api/test_migrate.c; also part of make api).
.PHONY: contract-tools all deps run test test-browser sql-check test-plain test-future test-sanitize unit api lint-openapi bench bench-render bench-check fmt fmt-check clean fuzz fuzz-build valgrind load faults
all: $(BUILD)/revopsd

# ---- console (issue 18) ------------------------------------------------------
# The console's static files (console/*.html|js|css) and uPlot (npm, pinned by
# console/package-lock.json, installed into .tools/console) embedded in revopsd
# (scripts/embed-console.sh). make test-browser: the console in Debian's
# chromium driven by puppeteer-core (tests/browser, pinned lock file) against
# its own PostgreSQL and revopsd; screenshots in $(BUILD)/browser/.
CONSOLE_SRC    = $(sort $(wildcard console/*.html console/*.js console/*.css))
CONSOLE_TOOLS  = .tools/console
CONSOLE_UPLOT  = $(CONSOLE_TOOLS)/node_modules/uplot/dist
CONSOLE_OBJ    = $(BUILD)/obj/gen/console_embed.o
BROWSER_TOOLS  = .tools/browser

$(CONSOLE_TOOLS)/node_modules/.package-lock.json: console/package.json console/package-lock.json
	@mkdir -p $(CONSOLE_TOOLS)
	cp console/package.json console/package-lock.json $(CONSOLE_TOOLS)/
	npm ci --loglevel=error --no-audit --no-fund --prefix $(CONSOLE_TOOLS)

$(BUILD)/.console: FORCE
	@mkdir -p $(BUILD)
	@echo '$(CONSOLE_SRC)' | cmp -s - $@ || echo '$(CONSOLE_SRC)' > $@

$(BUILD)/gen/console_embed.c: $(CONSOLE_SRC) $(BUILD)/.console scripts/embed-console.sh \
    $(CONSOLE_TOOLS)/node_modules/.package-lock.json
	@mkdir -p $(dir $@)
	scripts/embed-console.sh $@ $(CONSOLE_SRC) $(CONSOLE_UPLOT)/uPlot.iife.min.js=uplot.js \
	    $(CONSOLE_UPLOT)/uPlot.min.css=uplot.css

$(CONSOLE_OBJ): $(BUILD)/gen/console_embed.c $(BUILD)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(BROWSER_TOOLS)/node_modules/.package-lock.json: tests/browser/package.json tests/browser/package-lock.json
	@mkdir -p $(BROWSER_TOOLS)
	cp tests/browser/package.json tests/browser/package-lock.json $(BROWSER_TOOLS)/
	npm ci --loglevel=error --no-audit --no-fund --prefix $(BROWSER_TOOLS)

test-browser: deps
	@scripts/install-deps.sh chromium
	$(MAKE) --no-print-directory BUILD=build build/revopsd $(BROWSER_TOOLS)/node_modules/.package-lock.json
	NODE_PATH=$(BROWSER_TOOLS)/node_modules REVOPSD=build/revopsd OUT=build/browser node tests/browser/run.js
# ------------------------------------------------------------------------------


# Rebuild everything when the flags change (redis's .make-settings idea).
$(BUILD)/.flags: FORCE
	@mkdir -p $(BUILD)
	@echo '$(CC) $(CFLAGS_ALL) $(PKG_CFLAGS) $(LDSAN)' | cmp -s - $@ || echo '$(CC) $(CFLAGS_ALL) $(PKG_CFLAGS) $(LDSAN)' > $@
FORCE:

deps:
	@scripts/install-deps.sh

$(BUILD)/obj/%.o: %.c $(BUILD)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(PKG_CFLAGS) -c $< -o $@

# The list of migration and sql/ files: a removed or renamed file re-embeds too
# (the file dependencies alone only see files that are there and newer).
$(BUILD)/.migrations: FORCE
	@mkdir -p $(BUILD)
	@echo '$(MIGRATIONS) -- $(REPEATABLES)' | cmp -s - $@ || echo '$(MIGRATIONS) -- $(REPEATABLES)' > $@

$(BUILD)/gen/migrations_embed.c: $(MIGRATIONS) $(REPEATABLES) $(BUILD)/.migrations scripts/embed-migrations.sh
	@mkdir -p $(dir $@)
	scripts/embed-migrations.sh $@ $(MIGRATIONS) -- $(REPEATABLES)

$(BUILD)/obj/gen/migrations_embed.o: $(BUILD)/gen/migrations_embed.c $(BUILD)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(PKG_CFLAGS) -c $< -o $@

# The query parameters each operation takes, from openapi.yaml (http.h).
$(BUILD)/gen-query-params: scripts/gen_query_params.c server/yconv.c server/yconv.h $(BUILD)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(PKG_CFLAGS) -o $@ scripts/gen_query_params.c server/yconv.c $(PKG_LIBS) $(LDSAN) -lm

$(BUILD)/gen/query_params.c: openapi.yaml $(BUILD)/gen-query-params
	@mkdir -p $(dir $@)
	$(BUILD)/gen-query-params openapi.yaml > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/gen/query_params.o: $(BUILD)/gen/query_params.c $(BUILD)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(PKG_CFLAGS) -c $< -o $@

$(BUILD)/libcore.a: $(CORE_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/revopsd: $(BUILD)/obj/server/main.o $(SERVER_OBJ) $(BUILD)/libcore.a
	$(CC) $(LDSAN) -o $@ $^ $(PKG_LIBS) -lpthread -lm

# ---- tests ----------------------------------------------------------------
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libcore.a $(BUILD)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(TEST_CFLAGS) -o $@ $< $(BUILD)/libcore.a $(TEST_LIBS) $(LDSAN) -lm

$(BUILD)/tests/api_tests: $(API_SRC) $(SERVER_OBJ) $(BUILD)/libcore.a $(BUILD)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(PKG_CFLAGS) $(TEST_CFLAGS) -o $@ $(API_SRC) $(SERVER_OBJ) $(BUILD)/libcore.a \
	    $(TEST_LIBS) $(PKG_LIBS) $(LDSAN) -lpthread -lm

$(BUILD)/openapi.json: openapi.yaml $(BUILD)/tests/api_tests
	$(BUILD)/tests/api_tests --yaml2json openapi.yaml > $@.tmp && mv $@.tmp $@

unit: $(UNIT_BIN)
	scripts/run-tests.sh $(UNIT_BIN)

# Every response the API tests see is logged (CONTRACT_LOG) and, after the
# suite, validated against openapi.yaml by ajv (JSON Schema 2020-12; npm,
# pinned by tests/contract/package-lock.json, installed into .tools/contract).
CONTRACT_TOOLS = .tools/contract
CONTRACT_LOG   = $(BUILD)/api-responses.ndjson
$(CONTRACT_TOOLS)/node_modules/.package-lock.json: tests/contract/package.json tests/contract/package-lock.json
	@mkdir -p $(CONTRACT_TOOLS)
	cp tests/contract/package.json tests/contract/package-lock.json $(CONTRACT_TOOLS)/
	npm ci --loglevel=error --no-audit --no-fund --prefix $(CONTRACT_TOOLS)

contract-tools: $(CONTRACT_TOOLS)/node_modules/.package-lock.json

api: $(BUILD)/revopsd $(BUILD)/tests/api_tests $(BUILD)/openapi.json contract-tools
	@rm -f $(CONTRACT_LOG)
	REVOPSD=$(BUILD)/revopsd OPENAPI_JSON=$(BUILD)/openapi.json CONTRACT_LOG=$(CURDIR)/$(CONTRACT_LOG) \
	    scripts/run-tests.sh $(BUILD)/tests/api_tests; rc=$$?; \
	    NODE_PATH=$(CONTRACT_TOOLS)/node_modules node tests/contract/validate.js $(BUILD)/openapi.json $(CONTRACT_LOG) \
	    || rc=1; exit $$rc

sql-check: $(BUILD)/revopsd $(BUILD)/tests/api_tests $(BUILD)/openapi.json
	CK_RUN_SUITE=migrate REVOPSD=$(BUILD)/revopsd OPENAPI_JSON=$(BUILD)/openapi.json \
	    scripts/run-tests.sh $(BUILD)/tests/api_tests

# The OpenAPI document must pass a real linter (Redocly CLI from npm, pinned).
REDOCLY_VERSION = 1.34.20
lint-openapi:
	@test -x .tools/node_modules/.bin/redocly || \
	    npm install --loglevel=error --no-audit --no-fund --prefix .tools @redocly/cli@$(REDOCLY_VERSION)
	.tools/node_modules/.bin/redocly lint --config api-spec/redocly.yaml --format=stylish openapi.yaml

test-plain: deps
	$(MAKE) --no-print-directory BUILD=build unit api

test-sanitize: deps
	$(MAKE) --no-print-directory BUILD=build/san SANITIZE=1 unit api

# The API suite again with the whole run (PostgreSQL, revopsd and the tests)
# under a clock years ahead (libfaketime), so a test that hard-codes today's
# dates fails the day it is written, not when the calendar reaches it. Half a
# day more puts that run at the other half of the day from the plain run, so a
# test that depends on the time of day fails in one of them.
FUTURE_CLOCK ?= +1200.5d
test-future: deps
	@scripts/install-deps.sh faketime
	$(MAKE) --no-print-directory BUILD=build build/revopsd build/tests/api_tests build/openapi.json
	faketime -f '$(FUTURE_CLOCK)' $(MAKE) --no-print-directory BUILD=build api

test: deps lint-openapi fmt-check
	$(MAKE) --no-print-directory test-plain
	$(MAKE) --no-print-directory test-future
	$(MAKE) --no-print-directory test-sanitize
	$(MAKE) --no-print-directory test-browser

# ---- run ------------------------------------------------------------------
run: deps
	$(MAKE) --no-print-directory $(BUILD)/revopsd
	scripts/run.sh $(BUILD)/revopsd

# ---- benchmarks -----------------------------------------------------------
$(BUILD)/bench/%: tests/bench/%.c $(BUILD)/libcore.a $(BUILD)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -O3 -o $@ $< $(BUILD)/libcore.a -lm

# bench_gzip measures server/gzip.c's encoder (zlib), not core
$(BUILD)/bench/bench_gzip: tests/bench/bench_gzip.c server/gzip.c $(BUILD)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(PKG_CFLAGS) -o $@ tests/bench/bench_gzip.c server/gzip.c $(PKG_LIBS) $(LDSAN)

$(BUILD)/bench/hook_load: tests/bench/hook_load.c $(BUILD)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(PKG_CFLAGS) -o $@ $< $(PKG_LIBS) -lcurl -lpthread

$(BUILD)/bench/bare_mhd: tests/bench/bare_mhd.c $(BUILD)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(PKG_CFLAGS) -o $@ $< $(PKG_LIBS) -lpthread

# make bench: every figure against a reference in the same run (docs/benchmarks.md);
# BENCH_MEMORY_SECONDS=120 for the 2-minute memory run. make bench-check: the last
# run's figures against the goals (prints what falls short; not part of make test).
bench: deps
	@scripts/install-deps.sh wrk python3 numpy pgbench chromium
	$(MAKE) --no-print-directory $(BUILD)/revopsd $(BUILD)/bench/bare_mhd $(BUILD)/bench/hook_load $(BENCH_BIN) \
	    $(BROWSER_TOOLS)/node_modules/.package-lock.json
	BUILD=$(BUILD) scripts/bench.sh

# make bench-render: the console's render bench alone (also a section of make bench):
# Dashboard and Pipeline with 2,000 deals in headless chromium, each as a ratio to
# the blank page loaded in the same round (tests/browser/bench.js). Prints its table.
bench-render: deps
	@scripts/install-deps.sh chromium
	$(MAKE) --no-print-directory $(BUILD)/revopsd $(BROWSER_TOOLS)/node_modules/.package-lock.json
	NODE_PATH=$(BROWSER_TOOLS)/node_modules REVOPSD=$(BUILD)/revopsd node tests/browser/bench.js

bench-check:
	@BUILD=$(BUILD) scripts/bench-check.sh

# ---- valgrind and load ----------------------------------------------------
# make valgrind: the API suite with every revopsd it starts under memcheck;
# any error or definite leak fails it (logs in $(BUILD)/valgrind/).
VALGRIND = valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
    --show-leak-kinds=definite --num-callers=30
valgrind: deps
	@scripts/install-deps.sh valgrind
	$(MAKE) --no-print-directory $(BUILD)/revopsd $(BUILD)/tests/api_tests $(BUILD)/openapi.json
	rm -rf $(BUILD)/valgrind && mkdir -p $(BUILD)/valgrind
	REVOPSD=$(BUILD)/revopsd OPENAPI_JSON=$(BUILD)/openapi.json CK_TIMEOUT_MULTIPLIER=10 \
	    REVOPSD_WRAPPER='$(VALGRIND) --log-file=$(CURDIR)/$(BUILD)/valgrind/revopsd.%p.log' \
	    scripts/run-tests.sh $(BUILD)/tests/api_tests; rc=$$?; \
	    bad=$$(grep -l 'ERROR SUMMARY: [1-9]' $(BUILD)/valgrind/*.log); \
	    for f in $$bad; do echo "valgrind: $$f"; sed -n '/ERROR SUMMARY/p' $$f; done; \
	    echo "valgrind: $$(grep -l 'ERROR SUMMARY' $(BUILD)/valgrind/*.log | wc -l) revopsd exits checked" \
	        "($$(grep -L 'ERROR SUMMARY' $(BUILD)/valgrind/*.log | wc -l) killed by their test, not checked)," \
	        "$$(grep -l 'All heap blocks were freed' $(BUILD)/valgrind/*.log | wc -l) with every heap block freed"; \
	    [ $$rc -eq 0 ] && [ -z "$$bad" ]

# make faults: only the fault suites (also part of make api / make test):
# SIGTERM under load, two instances on the same deals, SIGKILL in a write
# storm, database outage, shutdown with a request half sent.
faults: $(BUILD)/revopsd $(BUILD)/tests/api_tests $(BUILD)/openapi.json
	for s in faults lifecycle; do CK_RUN_SUITE=$$s REVOPSD=$(BUILD)/revopsd OPENAPI_JSON=$(BUILD)/openapi.json \
	    scripts/run-tests.sh $(BUILD)/tests/api_tests || exit 1; done

# make load: a bounded mixed read/write wrk run on loopback (LOAD_SECONDS).
LOAD_SECONDS ?= 60
load: deps
	@scripts/install-deps.sh wrk
	$(MAKE) --no-print-directory $(BUILD)/revopsd
	LOAD_SECONDS=$(LOAD_SECONDS) scripts/load.sh $(BUILD)/revopsd

# ---- fuzzing --------------------------------------------------------------
# libFuzzer harnesses (tests/fuzz/fuzz_*.c) built with clang, ASan and UBSan
# into build/fuzz/, each run for FUZZ_SECONDS; a crash fails the target. Warnings
# only clang emits do not stop the fuzz build (gcc -Werror guards the code).
FUZZ_SRC     = $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN     = $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzzers/%)
FUZZ_SECONDS ?= 60
FUZZ_OPT     = -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

$(BUILD)/libserver.a: $(SERVER_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/fuzzers/%: tests/fuzz/%.c $(BUILD)/libserver.a $(BUILD)/libcore.a $(BUILD)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(PKG_CFLAGS) -fsanitize=fuzzer -o $@ $< $(BUILD)/libserver.a $(BUILD)/libcore.a \
	    $(PKG_LIBS) $(LDSAN) -lpthread -lm

fuzz-build: $(FUZZ_BIN)

fuzz:
	@scripts/install-deps.sh fuzz
	$(MAKE) --no-print-directory BUILD=build/fuzz CC=clang OPT='$(FUZZ_OPT)' LDSAN='-fsanitize=address,undefined' \
	    WARN='$(WARN) -Wno-error' fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh build/fuzz $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/fuzzers/%)

FMT_SRC = core/*.[ch] server/*.[ch] tests/unit/*.c tests/api/*.[ch] tests/fuzz/*.c tests/bench/*.c scripts/*.c
fmt:
	clang-format -i $(FMT_SRC)
fmt-check:
	@scripts/install-deps.sh clang-format
	clang-format --dry-run --Werror $(FMT_SRC)

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
