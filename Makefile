# lua-dts: build, test, demo, bench.
#
#   make          build dts.core and dts.curl for every Lua below
#   make deps     install the Debian packages needed (apt-get; no-op when present)
#   make test     deps + build + C unit tests + busted on every Lua + ASan/UBSan + luacheck
#   make demo     the main job against the local emulator
#   make bench    benchmarks (figures only, no assertions)
#   make fuzz     libFuzzer targets of fuzz/, FUZZ_SECONDS each (FUZZ_TARGETS=sign for one)
#   make docs     the API reference (LDoc) and the dts(1) man page into docs/

LUAS      ?= 5.4 luajit 5.1 5.2 5.3
CC        ?= cc
OPT       ?= -O2 -g
WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS    ?= $(OPT)
ALL_CFLAGS = -std=c99 -D_POSIX_C_SOURCE=200809L -fPIC $(WARN) $(CFLAGS)
LDFLAGS   ?=
SANITIZE  := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
CURL_CFLAGS := $(shell pkg-config --cflags libcurl 2>/dev/null)

lua_inc = $(if $(filter luajit,$(1)),/usr/include/luajit-2.1,/usr/include/lua$(1))

CORE_SRC := src/lua_core.c src/lua_json.c src/lua_json_encode.c src/json_scan.c src/sign.c src/encode.c src/nonce.c src/find.c
CURL_SRC := src/lua_curl.c src/http_curl.c src/signals.c src/fsync.c
HEADERS  := $(wildcard src/*.h)

DEB_BUILD := gcc make pkg-config libssl-dev libcurl4-openssl-dev \
             liblua5.1-0-dev liblua5.2-dev liblua5.3-dev liblua5.4-dev libluajit2-5.1-dev
DEB_RUN   := lua5.1 lua5.2 lua5.3 lua5.4 luajit2 lua-cjson lua-argparse openssl ca-certificates
DEB_TEST  := lua-busted lua-check luarocks nginx-light libnginx-mod-http-lua perl \
             clang libclang-rt-14-dev valgrind
DEB_DOCS  := lua-ldoc lua-discount
DEB_ALL   := $(DEB_BUILD) $(DEB_RUN) $(DEB_TEST) $(DEB_DOCS)

# libFuzzer targets (fuzz/): clang with ASan+UBSan.  encode and sign are
# plain C; json_scan and lua_api embed Lua 5.4 with both modules linked in.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= encode sign json_scan lua_api
FUZZ_FLAGS   := -std=c99 -D_POSIX_C_SOURCE=200809L $(WARN) -g -O1 -fno-omit-frame-pointer \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Isrc
FUZZ_BINS    := $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)

.PHONY: all deps build test test-c test-lua test-asan lint rock rock-install demo bench clean fuzz docs
all: build

build: $(foreach v,$(LUAS),build/$(v)/dts/core.so build/$(v)/dts/curl.so)

build/%/dts/core.so: $(CORE_SRC) $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -I$(call lua_inc,$*) -shared -o $@ $(CORE_SRC) $(LDFLAGS) -lcrypto

build/%/dts/curl.so: $(CURL_SRC) $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(CURL_CFLAGS) -I$(call lua_inc,$*) -shared -o $@ $(CURL_SRC) $(LDFLAGS) -lcurl

# The same sources under AddressSanitizer + UndefinedBehaviorSanitizer, for 5.4.
build/asan/dts/core.so: $(CORE_SRC) $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SANITIZE) -I$(call lua_inc,5.4) -shared -o $@ $(CORE_SRC) -lcrypto

build/asan/dts/curl.so: $(CURL_SRC) $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SANITIZE) $(CURL_CFLAGS) -I$(call lua_inc,5.4) -shared -o $@ $(CURL_SRC) -lcurl

build/test_c: spec/c/test_c.c src/sign.c src/encode.c src/nonce.c $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Isrc -o $@ spec/c/test_c.c src/sign.c src/encode.c src/nonce.c -lcrypto -pthread

build/test_c_asan: spec/c/test_c.c src/sign.c src/encode.c src/nonce.c $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SANITIZE) -Isrc -o $@ spec/c/test_c.c src/sign.c src/encode.c src/nonce.c -lcrypto -pthread

# `luarocks make` runs these (the rockspec's build), passing LUA, CC,
# CFLAGS, LIBFLAG, LUA_INCDIR, the OpenSSL and libcurl directories, LIBDIR
# and BINDIR.  Both C modules are built in a scratch directory under build/,
# which the install removes again: the checkout stays as it was.  The dts
# command goes with every install but Lua 5.1's (the LuaJIT / OpenResty
# ABI), so the 5.4 and 5.1 installs of README.md share a tree in either
# order, the 5.4 one owning bin/dts.
ROCK_ABI   = $(shell $(LUA) -e 'io.write((_VERSION:gsub("Lua ", "")))')
ROCK_BUILD = build/rock-$(ROCK_ABI)
ROCK_FLAGS = -std=c99 -D_POSIX_C_SOURCE=200809L $(CFLAGS) -I$(LUA_INCDIR) $(LIBFLAG)

rock:
	@mkdir -p $(ROCK_BUILD)/dts
	$(CC) $(ROCK_FLAGS) -I$(OPENSSL_INCDIR) -o $(ROCK_BUILD)/dts/core.so $(CORE_SRC) -L$(OPENSSL_LIBDIR) -lcrypto
	$(CC) $(ROCK_FLAGS) $(CURL_CFLAGS) -o $(ROCK_BUILD)/dts/curl.so $(CURL_SRC) -L$(CURL_LIBDIR) -lcurl

rock-install:
	mkdir -p $(LIBDIR)/dts
	cp $(ROCK_BUILD)/dts/core.so $(ROCK_BUILD)/dts/curl.so $(LIBDIR)/dts/
	rm -rf $(ROCK_BUILD)
	@rmdir build 2>/dev/null || true
	@if [ "$(ROCK_ABI)" != 5.1 ]; then mkdir -p $(BINDIR) && cp bin/dts $(BINDIR)/dts; fi

build/fuzz/fuzz_encode: fuzz/fuzz_encode.c src/encode.c src/find.c $(HEADERS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ fuzz/fuzz_encode.c src/encode.c src/find.c -lcrypto

build/fuzz/fuzz_sign: fuzz/fuzz_sign.c src/sign.c src/encode.c $(HEADERS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ fuzz/fuzz_sign.c src/sign.c src/encode.c -lcrypto

build/fuzz/fuzz_%: fuzz/fuzz_%.c fuzz/lua_harness.h $(CORE_SRC) $(CURL_SRC) $(HEADERS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(CURL_CFLAGS) -I$(call lua_inc,5.4) -o $@ $< \
	    $(CORE_SRC) $(CURL_SRC) -llua5.4 -lcrypto -lcurl

# As long as asked: make fuzz FUZZ_SECONDS=600 [FUZZ_TARGETS="sign lua_api"]
fuzz: deps
	@$(MAKE) --no-print-directory $(FUZZ_BINS)
	@for t in $(FUZZ_TARGETS); do echo "== fuzz $$t, $(FUZZ_SECONDS) s"; \
	    sh fuzz/run $$t $(FUZZ_SECONDS) || exit 1; done

deps:
	@missing=$$(for p in $(DEB_ALL); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "make deps: installing" $$missing; \
	    sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	    $$sudo apt-get update -q && \
	    DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q --no-install-recommends $$missing; \
	fi

# spec/run runs every suite, keeps going after a failure, and prints the
# summed "N passed, N failed" line last.
test: deps
	@$(MAKE) --no-print-directory build build/test_c build/test_c_asan build/asan/dts/core.so build/asan/dts/curl.so \
	    $(FUZZ_BINS) $(BENCH_BINS)
	@sh spec/run

lint:
	luacheck -q lua bin spec examples bench fuzz tools

# The API reference: tools/docs.lua writes the tables it derives from the
# declarations (schema, options, codes, credential types) and the dts(1)
# man page from bin/dts's own parser, then LDoc (config.ld) renders the
# doc comments into docs/.  spec/10-docs checks docs/ is what this makes.
docs: deps build/5.4/dts/core.so build/5.4/dts/curl.so
	@LUA_PATH="lua/?.lua;lua/?/init.lua;tools/?.lua;;" LUA_CPATH="build/5.4/?.so;;" lua5.4 tools/docs.lua docs

# The main job: a real ModifyDtsJob through the module against the local emulator.
demo: deps build
	@LUA_PATH="lua/?.lua;lua/?/init.lua;;" LUA_CPATH="build/5.4/?.so;;" lua5.4 examples/demo.lua

# Figures only, no assertions (bench/run.lua).  The yardsticks are built
# with the same flags (and by make test, so they keep compiling): a libcurl
# loop, the crypto floor of a signature, the C signer alone, and the Lua
# boundary of core.sign (a module per Lua).
BENCH_BINS := build/bench/curl_loop build/bench/sign_floor build/bench/sign_signer \
              build/bench/5.4/sign_boundary.so build/bench/luajit/sign_boundary.so

build/bench/curl_loop: bench/curl_loop.c bench/yardstick.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(CURL_CFLAGS) -o $@ bench/curl_loop.c $(LDFLAGS) -lcurl

build/bench/sign_floor: bench/sign_floor.c bench/yardstick.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ bench/sign_floor.c $(LDFLAGS) -lcrypto

build/bench/sign_signer: bench/sign_signer.c bench/yardstick.h src/sign.c src/encode.c $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Isrc -o $@ bench/sign_signer.c src/sign.c src/encode.c $(LDFLAGS) -lcrypto

build/bench/%/sign_boundary.so: bench/sign_boundary.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -I$(call lua_inc,$*) -shared -o $@ bench/sign_boundary.c $(LDFLAGS)

bench: deps
	@$(MAKE) --no-print-directory build $(BENCH_BINS)
	@for lua in lua5.4 luajit; do $$lua bench/run.lua || exit 1; done
	@if [ -f bench/openresty_p99.lua ]; then echo "== bench/openresty_p99.lua"; lua5.4 bench/openresty_p99.lua; fi

clean:
	rm -rf build
