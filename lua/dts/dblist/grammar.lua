-- The DbList object grammar (dts-api.md section 3): which keys each level
-- may hold and what they mean.  check() refuses anything else, naming the
-- path, with a hint for the legacy MigrationObject keys people mix in.
--
-- The facts are the tables below; core.json_check (src/lua_json.c) walks a
-- DbList against them in C, in the same walk that checks it is encodable
-- JSON, and this file words what it finds.  Two fast paths go first, both
-- over the grammar compiled for C: encode() checks a table and writes its
-- JSON in one walk (core.json_encode), text_ok() checks JSON text in one
-- pass over its bytes (core.json_scan).  Node shapes (src/lua_json.c):
--   map node    { map = <node>, nonempty = true? }: names -> <node>
--   entry node  { keys = { key = <node> | leaf }, required = "key",
--                 if_false_one_of = {...}, if_true_none_of = {...} }
--   leaf        "string" | "boolean" | "any" | "ops" | "filter"

local core = require "dts.core"
local json = require "dts.json"
local suggest = require "dts.suggest"

local grammar = {}

-- Other object kinds a database entry may list: { src = { name = dest } }.
grammar.OBJECT_KINDS = { "View", "Procedure", "Function", "Synonym", "Type", "Rule",
  "Default", "Plan", "Package", "Sequence", "Domain", "Aggregate", "Operator",
  "Extension", "Job" }

local ANY = "any"

-- Engine-specific keys from DELIVER (dts-api.md 3.2), taken as they come.
local ENGINE = { "shard", "replica", "index", "_id", "_idvalue", "is_partition",
  "partition_key", "is_join", "relation_role", "parent_name", "parent_id",
  "index_mapping", "analyzer", "time_zone", "conflict" }

local function keys(spec, extra)
  for _, k in ipairs(extra or {}) do spec[k] = spec[k] or ANY end
  spec.state = "string" -- added by the service in DbObject; echoing it back is accepted
  return spec
end

local OBJECT = { keys = keys({ name = "string", srcSchema = "string", destSchema = "string" }) }

local COLUMN = { keys = keys({ name = "string", type = "string", key = "string",
  primaryKey = ANY, sharedKey = ANY, defaultValue = ANY, value = ANY, targetType = ANY,
  index_value = ANY, analyzer = ANY, attachColumn = ANY }) }

local COLUMNS = { map = COLUMN }

-- The rules that tie keys together (dts-api.md 3.5): "all" is required, and
-- "column" needs "all" = false.
local TABLE = { keys = keys({ name = "string", all = "boolean", filter = "filter",
  column = COLUMNS, dml_op = "ops", ddl_op = "ops", primary_key = "string",
  part_key = "string", type = "string", srcSchema = "string", destSchema = "string",
  part_num = ANY, cluster = ANY, dbName = ANY, part_db_key = ANY, part_tab_key = ANY,
  tab_num_eachdb = ANY, message_key = ANY, attach_column = ANY }, ENGINE),
  required = "all", if_true_none_of = { "column" } }

local TABLES = { map = TABLE }
local OBJECTS = { map = OBJECT }

-- "all" = false needs something listed: "Table" or another object kind.
local DB = { keys = keys({ name = "string", all = "boolean", Table = TABLES,
  dml_op = "ops", ddl_op = "ops", case_sen = "boolean", srcSchema = "string",
  destSchema = "string" }, ENGINE),
  required = "all", if_false_one_of = { "Table" } }
for _, kind in ipairs(grammar.OBJECT_KINDS) do
  DB.keys[kind] = OBJECTS
  DB.if_false_one_of[#DB.if_false_one_of + 1] = kind
end

local ROOT = { map = DB, nonempty = true }

-- The grammar's root node, for builders that check with core.json_check.
grammar.spec = ROOT

local LEGACY = {
  DBName = "the source database is the entry's key",
  NewDBName = 'the destination database name is "name"',
  SchemaName = "the source schema is the entry's key",
  AllTable = 'use "all"',
  TableIncludes = 'list tables under "Table" = { src = { name = ..., all = ... } }',
  TableExcludes = 'list only the tables to take under "Table"',
  TableName = "the source table is the entry's key",
  NewTableName = 'the destination table name is "name"',
  FilterCondition = 'the row filter is "filter"',
  filterCondition = 'the row filter is "filter"',
  PrimaryKey = 'use "primary_key"',
  PartKey = 'use "part_key"',
  ColumnIncludes = 'list columns under "column" = { src = { name = ... } }',
  ColumnExcludes = 'list only the columns to take under "column"',
  ColumnList = 'list columns under "column" = { src = { name = ... } }',
  ColumnName = "the source column is the entry's key",
  NewColumnName = 'the destination column name is "name"',
}

-- Words for the messages, by node.
local WHAT = { [ROOT] = "databases", [TABLES] = "tables", [COLUMNS] = "columns",
  [OBJECTS] = "objects" }
local MISSING = { [DB] = "true: the whole database", [TABLE] = "true: every column" }

local function sorted_names(node)
  local names = {}
  for k in pairs(node.keys) do names[#names + 1] = k end
  table.sort(names)
  return names
end

local NAMES = { [DB] = sorted_names(DB), [TABLE] = sorted_names(TABLE),
  [COLUMN] = sorted_names(COLUMN), [OBJECT] = sorted_names(OBJECT) }

local EXPECTED = {
  string = "a string",
  boolean = "true or false",
  ops = 'comma-separated operation names without spaces, e.g. "insert,update"',
  filter = function(v)
    if type(v) ~= "string" then return "a SQL condition string" end
    return "a condition without a trailing ';' (DTS may fail the task)"
  end,
}

local function describe(v)
  return type(v) == "string" and ("%q"):format(v) or type(v)
end

-- Words core.json_check's grammar reasons (src/lua_json.c).
local function explain(path, reason, detail, node)
  if reason == "not_map" then
    if node == ROOT then
      return path .. ": expected a JSON object keyed by source database name"
    end
    return ("%s: expected an object of %s keyed by source name"):format(path, WHAT[node])
  elseif reason == "empty" then
    return path .. ": empty; it REPLACES the job's objects, so an empty list would drop them all"
  elseif reason == "name" then
    return path .. ": names must be non-empty strings"
  elseif reason == "not_entry" then
    return path .. ": expected an object"
  elseif reason == "unknown" then
    if LEGACY[detail] then
      return ("%s: a legacy MigrationObject key, not DbList grammar; %s"):format(path, LEGACY[detail])
    end
    local hint = suggest(tostring(detail), NAMES[node])
    return ("%s: not a DbList key here%s"):format(path,
      hint and ("; did you mean " .. hint .. "?") or "")
  elseif reason == "leaf" then
    local want = EXPECTED[node]
    if type(want) == "function" then want = want(detail) end
    return ("%s: expected %s, got %s"):format(path, want, describe(detail))
  elseif reason == "missing" then
    return ('%s: missing "%s" (%s)'):format(path, detail, MISSING[node])
  elseif reason == "none_listed" then
    return ('%s: "%s" is false but no "Table" (or other objects) are listed'):format(path,
      node.required)
  elseif reason == "forbidden" then
    return ('%s: "%s" needs "%s" = false'):format(path, detail, node.required)
  end
  return ("%s: %s"):format(path, tostring(reason))
end

-- check(dblist [, path]) -> true | nil, message naming the path
-- Also checks that dblist is JSON (dts.json), except whether its numbers
-- survive lua-cjson's 14 digits: that is for whoever encodes it (encode()
-- below, json.encode), and JSON text decoded into dblist is sent as it is.
function grammar.check(dblist, path)
  return json.check(dblist, path or "DbList", ROOT, explain, true)
end

-- The same grammar compiled for the fast paths (src/json_scan.h).
local COMPILED = assert(core.json_grammar(ROOT))

-- encode(dblist [, path]) -> JSON text | nil, message.  Fast path: checked
-- and written in one walk, the text lua-cjson would write; whatever that
-- walk is not sure of (a number, null, any fault) takes the exact walk,
-- which words the message.
function grammar.encode(dblist, path)
  local text = core.json_encode(dblist, COMPILED)
  if text then return text end
  return json.encode(dblist, path or "DbList", ROOT, explain)
end

-- text_ok(text) -> true when text is certainly a DbList's JSON (one object,
-- UTF-8, following the grammar), false when not sure (a number, an escaped
-- name, any fault): then decode it and check() the value.
function grammar.text_ok(text)
  return core.json_scan(text, COMPILED)
end

return grammar
