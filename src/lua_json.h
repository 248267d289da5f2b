/*
 * core.json_check: one walk over a Lua value that says whether lua-cjson
 * can encode it faithfully and, given a grammar, whether it follows it.
 * Registered in dts.core by lua_core.c.
 */
#ifndef DTS_LUA_JSON_H
#define DTS_LUA_JSON_H

#include <stddef.h>

#include <lua.h>

/* Deepest table nesting accepted (lua-cjson's own limit is 1000). */
#define DTS_JSON_MAX_DEPTH 128

int dts_l_json_check(lua_State *L);
/* core.json_grammar(spec), core.json_scan(text, grammar): the same grammar
 * checked over lua-cjson's text (src/json_scan.c), the fast path. */
int dts_l_json_grammar(lua_State *L);
int dts_l_json_scan(lua_State *L);
/* The metatable of a compiled grammar. */
#define GRAMMAR_MT "dts.core.grammar"

/* Pushes core.json_encode (src/lua_json_encode.c): a value checked against a
 * compiled grammar and written as lua-cjson writes it, in one walk. */
void dts_json_encode_push(lua_State *L);

/* The grammar's "ops" leaf ("insert,update": names of [A-Za-z0-9_], single
 * commas between) and "filter" leaf (a SQL condition not ending in ';',
 * blanks after it included), over a string's bytes. */
int dts_json_ops_ok(const char *s, size_t n);
int dts_json_filter_ok(const char *s, size_t n);

#endif
