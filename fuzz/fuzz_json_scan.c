/*
 * libFuzzer target: core.json_scan's fast path against the slow, exact one.
 * The scan (src/json_scan.c) may say "not sure" at will, but never yes to
 * what the rules refuse (issue 11 items 8 and 9).  Two modes, by the first
 * byte:
 *
 * - text: whenever the scan calls the rest of the input certainly valid
 *   for the DbList grammar, lua-cjson must decode it and core.json_check's
 *   walk over the decoded value must accept it;
 * - table: the rest builds a Lua table (number keys, mixed keys, names of
 *   the grammar); when the scan accepts lua-cjson's text of it, the walk
 *   must accept the table itself, and grammar.encode (the path DbList takes)
 *   must agree with the walk.
 */
#include <stdint.h>

#include "json_scan.h"
#include "lua_harness.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lua_State *L;
static const struct scan_grammar *grammar;

static const char CHECK[] =
	"local core = require 'dts.core'\n"
	"local grammar = require 'dts.dblist.grammar'\n"
	"local cjson = require('cjson').new()\n"
	"local compiled = assert(core.json_grammar(grammar.spec))\n"
	"cjson.encode_number_precision(14)\n"
	"local KEYS = { 'name', 'all', 'Table', 'column', 'filter', 'dml_op', 'conflict',\n"
	"  'shard', 'View', 'state', 'db', 't', '1', '-1', '1.5', '', 1, 2, 3, 0, -1, 1.5, 2^53, 1e20 }\n"
	"local VALUES = { true, false, 's', 'id>1', 'insert,update', '', 'x;', 1, 0.5, '\\255' }\n"
	"local function build(bytes)\n"
	"  local pos = 1\n"
	"  local function byte() pos = pos + 1; return bytes:byte(pos) or 0 end\n"
	"  local function value(depth)\n"
	"    local b = byte()\n"
	"    if depth > 5 or b % 4 == 0 then return VALUES[b % #VALUES + 1] end\n"
	"    local t = {}\n"
	"    for _ = 1, b % 5 do t[KEYS[byte() % #KEYS + 1]] = value(depth + 1) end\n"
	"    return t\n"
	"  end\n"
	"  return value(0)\n"
	"end\n"
	"return { compiled = compiled, check = function(text)\n"
	"  local ok, v = pcall(cjson.decode, text)\n"
	"  if not ok then return 'lua-cjson cannot decode it: ' .. tostring(v) end\n"
	"  local walk, path, reason = core.json_check(v, grammar.spec, 'DbList', 'n')\n"
	"  if not walk then return ('the walk refuses it at %s (%s)'):format(path, reason) end\n"
	"end, check_table = function(bytes)\n"
	"  local v = build(bytes)\n"
	"  local walk, path, reason = core.json_check(v, grammar.spec, 'DbList', '')\n"
	"  local ok, text = pcall(cjson.encode, v)\n"
	"  if ok and core.json_scan(text, compiled) and not walk then\n"
	"    return ('scan accepted %s, the walk refuses it at %s (%s)'):format(text, path, reason)\n"
	"  end\n"
	"  if (grammar.encode(v) ~= nil) ~= (walk == true) then\n"
	"    return ('grammar.encode and the walk disagree on %s (%s)'):format(tostring(text), tostring(reason))\n"
	"  end\n"
	"end }\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	L = harness_open(CHECK);
	lua_getfield(L, -1, "compiled");
	grammar = luaL_checkudata(L, -1, "dts.core.grammar");
	lua_pop(L, 1);
	lua_setfield(L, LUA_REGISTRYINDEX, "fuzz_json_scan"); /* keeps both alive */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *check = "check";

	if (size == 0)
		return 0;
	if (data[0] == 'T') {
		check = "check_table";
	} else {
		data++;
		size--;
		if (!dts_scan_json(grammar, 0, (const char *)data, size))
			return 0;
	}
	lua_getfield(L, LUA_REGISTRYINDEX, "fuzz_json_scan");
	lua_getfield(L, -1, check);
	lua_pushlstring(L, (const char *)data, size);
	if (lua_pcall(L, 1, 1, 0) != LUA_OK)
		harness_die(L, "fuzz_json_scan: the check failed");
	if (!lua_isnil(L, -1)) {
		fprintf(stderr, "fuzz_json_scan: %s\n", lua_tostring(L, -1));
		abort();
	}
	lua_pop(L, 2);
	return 0;
}
