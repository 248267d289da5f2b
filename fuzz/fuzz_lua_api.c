/*
 * libFuzzer target: every Lua-facing C function of dts.core and dts.curl,
 * through an embedded Lua 5.4, with the values fuzz/lua_api.lua builds from
 * the input: wrong types, tables with hostile metatables (__index that
 * collects garbage and returns fresh strings, __gc that empties or rewrites
 * the arguments, closes the client or calls back in), cycles, finalizers
 * during the call.  ASan and UBSan watch the C; the driver checks that
 * every answer is a value or nil, err and raises otherwise.
 */
#include <stdint.h>

#include "lua_harness.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lua_State *L;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	L = harness_open("return require 'lua_api'");
	lua_setfield(L, LUA_REGISTRYINDEX, "fuzz_lua_api");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lua_getfield(L, LUA_REGISTRYINDEX, "fuzz_lua_api");
	lua_pushlstring(L, (const char *)data, size);
	if (lua_pcall(L, 1, 0, 0) != LUA_OK)
		harness_die(L, "fuzz_lua_api: a contract was broken");
	return 0;
}
