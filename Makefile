# trackdoc: one non-recursive GNU Makefile.
#   make            release build: build/trackdoc
#   make run        install missing packages, build, start the demo server
#   make test       install missing packages, build with ASan+UBSan, run every test
#   make bench      benchmarks (results go to docs/performance.md by hand)
#   make fuzz       longer fuzzing runs
#   make lint       clang-format check + cppcheck
#   make format     clang-format in place

.DEFAULT_GOAL := all
SHELL := /bin/bash

CC ?= cc
PKGS := libmicrohttpd jansson sqlite3 libcrypto libzip libxml-2.0 libpq libpcre2-8 zlib
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

# Missing pkg-config modules mean missing packages: fail with a hint instead of a wall of errors.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wno-unused-parameter -Wformat=2 -Wvla -Wimplicit-fallthrough -Wno-format-truncation
BASE_CFLAGS := -std=c17 -D_GNU_SOURCE -Iinclude -Isrc -pthread $(WARN) \
               -DTD_VERSION=\"$(VERSION)\" -MMD -MP
OPT_CFLAGS := -O2 -g -fstack-protector-strong -D_FORTIFY_SOURCE=2
SAN_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
              -fno-sanitize-recover=undefined

# Data compiled into the library (the user-agent lists of src/link/classify.c): tools/embed.c
# turns these files into build/gen/data.c, one more source of the library.
EMBED_DATA := data/crawler-user-agents/crawler-user-agents.json data/ua-exclusions.txt \
              data/ua-scanners.txt data/ua-previews.txt data/ua-bots-extra.txt
DATA_GEN := build/gen/data.c
LIB_SRC := $(sort $(wildcard src/core/*.c src/tmpl/*.c src/doc/*.c src/link/*.c src/store/*.c src/auth/*.c)) $(DATA_GEN)
# The dashboard's static files (web/), compiled into the server as byte arrays.
WEB_FILES := $(sort $(wildcard web/*.css web/*.js web/*.svg))
WEB_GEN := build/gen/web_assets.c
SRV_SRC := $(sort $(wildcard src/server/*.c)) $(WEB_GEN)
CLI_SRC := $(sort $(wildcard src/cli/*.c))
APP_SRC := $(SRV_SRC) $(CLI_SRC)
UNIT_SRC := $(sort $(wildcard tests/unit/*/test_*.c))
BENCH_SRC := $(sort $(wildcard bench/*.c))

# Release objects under build/, sanitizer objects under build/asan/.
REL_OBJ = $(patsubst %.c,build/obj/%.o,$(1))
SAN_OBJ = $(patsubst %.c,build/asan/obj/%.o,$(1))

REL_LIB := build/libtrackdoc.a
SAN_LIB := build/asan/libtrackdoc.a
# The server code is linked into unit tests too (its helpers are tested), so keep it in a lib.
SAN_SRVLIB := build/asan/libtdserver.a
REL_SRVLIB := build/libtdserver.a

UNIT_BIN := $(patsubst tests/unit/%.c,build/asan/tests/%,$(UNIT_SRC))
BENCH_BIN := $(patsubst bench/%.c,build/bench/%,$(BENCH_SRC))

.PHONY: all run test bench fuzz fuzz-build lint format clean deps check-deps asan

all: check-deps build/trackdoc

check-deps:
	@pkg-config --exists $(PKGS) || { echo "missing libraries: run 'scripts/install-deps.sh' (make run and make test do it)"; \
	  for p in $(PKGS); do pkg-config --exists $$p || echo "  not found: $$p"; done; exit 1; }

deps:
	@scripts/install-deps.sh

build/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(CC) $(BASE_CFLAGS) $(OPT_CFLAGS) $(PKG_CFLAGS) $(CFLAGS) -c $< -o $@

build/asan/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC asan $<"
	@$(CC) $(BASE_CFLAGS) $(SAN_CFLAGS) $(PKG_CFLAGS) $(CFLAGS) -c $< -o $@

$(WEB_GEN): $(WEB_FILES) web/embed.sh
	@mkdir -p $(@D)
	@echo "  EMBED   $(WEB_FILES)"
	@web/embed.sh $@ $(WEB_FILES)

build/tools/embed: tools/embed.c
	@mkdir -p $(@D)
	@$(CC) -std=c17 -O2 -Wall -Wextra -Werror $< -o $@

$(DATA_GEN): build/tools/embed $(EMBED_DATA)
	@mkdir -p $(@D)
	@echo "  EMBED   $(EMBED_DATA)"
	@build/tools/embed $@ $(EMBED_DATA)

$(REL_LIB): $(call REL_OBJ,$(LIB_SRC))
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(SAN_LIB): $(call SAN_OBJ,$(LIB_SRC))
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(REL_SRVLIB): $(call REL_OBJ,$(SRV_SRC))
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(SAN_SRVLIB): $(call SAN_OBJ,$(SRV_SRC))
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

build/trackdoc: $(call REL_OBJ,$(CLI_SRC)) $(REL_SRVLIB) $(REL_LIB)
	$(CC) $(BASE_CFLAGS) $(OPT_CFLAGS) $^ $(PKG_LIBS) -lm -o $@

build/asan/trackdoc: $(call SAN_OBJ,$(CLI_SRC)) $(SAN_SRVLIB) $(SAN_LIB)
	$(CC) $(BASE_CFLAGS) $(SAN_CFLAGS) $^ $(PKG_LIBS) -lm -o $@

build/asan/tests/%: tests/unit/%.c $(SAN_SRVLIB) $(SAN_LIB)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(SAN_CFLAGS) -Itests/unit $(PKG_CFLAGS) $< $(SAN_SRVLIB) $(SAN_LIB) $(PKG_LIBS) -lm -o $@

build/bench/%: bench/%.c $(REL_SRVLIB) $(REL_LIB)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(OPT_CFLAGS) $(PKG_CFLAGS) $< $(REL_SRVLIB) $(REL_LIB) $(PKG_LIBS) -lm -o $@

# libFuzzer targets: fuzz/fuzz_<name>.c linked with the whole library, built with clang.
FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_BIN := $(patsubst fuzz/%.c,build/fuzz/%,$(FUZZ_SRC))
FUZZ_CFLAGS := -std=c17 -D_GNU_SOURCE -Iinclude -Isrc -pthread -g -O1 \
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
               -DTD_VERSION=\"$(VERSION)\"

build/fuzz/%: fuzz/%.c $(LIB_SRC)
	@mkdir -p $(@D)
	@echo "  FUZZ    $<"
	@clang $(FUZZ_CFLAGS) $(PKG_CFLAGS) $< $(LIB_SRC) $(PKG_LIBS) -lm -o $@

fuzz-build: $(FUZZ_BIN)

asan: check-deps build/asan/trackdoc $(UNIT_BIN)

run: deps
	@$(MAKE) --no-print-directory all
	@scripts/run.sh

test: deps
	@$(MAKE) --no-print-directory asan build/trackdoc fuzz-build
	@scripts/run-tests.sh

bench: deps
	@$(MAKE) --no-print-directory build/trackdoc $(BENCH_BIN)
	@scripts/run-bench.sh

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	@scripts/run-fuzz.sh long

# Every C file of the tree, tracked or not yet (a new file must be linted before its commit);
# build output and installed node modules left out.
C_FILES = $(shell find src include tests bench fuzz tools -name '*.[ch]' -not -path '*/node_modules/*' 2>/dev/null)

lint:
	@clang-format --dry-run --Werror $(C_FILES)
	@cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --inline-suppr --suppress=missingIncludeSystem -Iinclude -Isrc src
	@echo "lint: clean"

format:
	@clang-format -i $(C_FILES)

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
