/*
 * core.json_check: one walk over a Lua value that says whether lua-cjson
 * can encode it faithfully and, given a grammar, whether it follows it.
 * Registered in dts.core by lua_core.c.
 */
#ifndef DTS_LUA_JSON_H
#define DTS_LUA_JSON_H

#include <lua.h>

/* Deepest table nesting accepted (lua-cjson's own limit is 1000). */
#define DTS_JSON_MAX_DEPTH 128

int dts_l_json_check(lua_State *L);
/* core.json_grammar(spec), core.json_scan(text, grammar): the same grammar
 * compiled for C, and checked over JSON text in one pass (src/json_scan.c). */
int dts_l_json_grammar(lua_State *L);
int dts_l_json_scan(lua_State *L);

/* The metatable of a compiled grammar. */
#define GRAMMAR_MT "dts.core.grammar"

/* Pushes core.json_encode (src/lua_json_encode.c): a value checked against a
 * compiled grammar and written as lua-cjson writes it, in one walk. */
void dts_json_encode_push(lua_State *L);

#endif
