-- The DbList object grammar (dts-api.md section 3): which keys each level
-- may hold and what they mean.  check() refuses anything else, naming the
-- path, with a hint for the legacy MigrationObject keys people mix in.

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

local DB = keys({ name = "string", all = "boolean", Table = "tables",
  dml_op = "ops", ddl_op = "ops", case_sen = "boolean", srcSchema = "string",
  destSchema = "string" }, ENGINE)
for _, kind in ipairs(grammar.OBJECT_KINDS) do DB[kind] = "objects" end

local TABLE = keys({ name = "string", all = "boolean", filter = "filter",
  column = "columns", dml_op = "ops", ddl_op = "ops", primary_key = "string",
  part_key = "string", type = "string", srcSchema = "string", destSchema = "string",
  part_num = ANY, cluster = ANY, dbName = ANY, part_db_key = ANY, part_tab_key = ANY,
  tab_num_eachdb = ANY, message_key = ANY, attach_column = ANY }, ENGINE)

local COLUMN = keys({ name = "string", type = "string", key = "string",
  primaryKey = ANY, sharedKey = ANY, defaultValue = ANY, value = ANY, targetType = ANY,
  index_value = ANY, analyzer = ANY, attachColumn = ANY })

local OBJECT = keys({ name = "string", srcSchema = "string", destSchema = "string" })

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

local function sorted_names(spec)
  local names = {}
  for k in pairs(spec) do names[#names + 1] = k end
  table.sort(names)
  return names
end

local NAMES = { [DB] = sorted_names(DB), [TABLE] = sorted_names(TABLE),
  [COLUMN] = sorted_names(COLUMN), [OBJECT] = sorted_names(OBJECT) }

local function is_map(v)
  if type(v) ~= "table" then return false end
  return next(v) == nil or type(next(v)) == "string"
end

local check_entry -- forward

local function check_map(v, path, spec, what)
  if not is_map(v) then
    return nil, ("%s: expected an object of %s keyed by source name"):format(path, what)
  end
  for name, entry in pairs(v) do
    if type(name) ~= "string" or name == "" then
      return nil, path .. ": names must be non-empty strings"
    end
    local ok, err = check_entry(entry, path .. "." .. name, spec)
    if not ok then return nil, err end
  end
  return true
end

local VALUE = {
  string = function(v) return type(v) == "string" or "a string" end,
  boolean = function(v) return type(v) == "boolean" or "true or false" end,
  ops = function(v)
    if type(v) == "string" and v ~= "" and (v .. ","):gsub("[%w_]+,", "") == "" then
      return true
    end
    return "comma-separated operation names without spaces, e.g. \"insert,update\""
  end,
  filter = function(v)
    if type(v) ~= "string" then return "a SQL condition string" end
    if v:match(";%s*$") then return "a condition without a trailing ';' (DTS may fail the task)" end
    return true
  end,
}

function check_entry(entry, path, spec)
  if not is_map(entry) then
    return nil, path .. ": expected an object"
  end
  for k, v in pairs(entry) do
    local kind = spec[k]
    if kind == nil then
      if LEGACY[k] then
        return nil, ("%s.%s: a legacy MigrationObject key, not DbList grammar; %s"):format(
          path, k, LEGACY[k])
      end
      local hint = suggest(tostring(k), NAMES[spec])
      return nil, ("%s.%s: not a DbList key here%s"):format(path, tostring(k),
        hint and ("; did you mean " .. hint .. "?") or "")
    end
    local ok, err = true, nil
    if kind == "tables" then
      ok, err = check_map(v, path .. "." .. k, TABLE, "tables")
    elseif kind == "columns" then
      ok, err = check_map(v, path .. "." .. k, COLUMN, "columns")
    elseif kind == "objects" then
      ok, err = check_map(v, path .. "." .. k, OBJECT, "objects")
    elseif kind ~= ANY then
      local good = VALUE[kind](v)
      if good ~= true then
        ok, err = nil, ("%s.%s: expected %s, got %s"):format(path, k, good,
          type(v) == "string" and ("%q"):format(v) or type(v))
      end
    end
    if not ok then return nil, err end
  end
  return true
end

-- The rules that tie keys together (dts-api.md 3.5).
local function check_rules(dblist, path)
  for dbname, db in pairs(dblist) do
    local p = path .. "." .. dbname
    if db.all == nil then
      return nil, p .. ": missing \"all\" (true: the whole database)"
    end
    if db.all == false then
      local listed = type(db.Table) == "table" and next(db.Table) ~= nil
      for _, kind in ipairs(grammar.OBJECT_KINDS) do
        if type(db[kind]) == "table" and next(db[kind]) ~= nil then listed = true end
      end
      if not listed then
        return nil, p .. ': "all" is false but no "Table" (or other objects) are listed'
      end
    end
    for tname, t in pairs(db.Table or {}) do
      local tp = p .. ".Table." .. tname
      if t.all == nil then
        return nil, tp .. ': missing "all" (true: every column)'
      end
      if t.all == true and t.column ~= nil then
        return nil, tp .. ': "column" needs "all" = false'
      end
    end
  end
  return true
end

-- check(dblist [, path]) -> true | nil, message naming the path
function grammar.check(dblist, path)
  path = path or "DbList"
  if type(dblist) ~= "table" or not is_map(dblist) then
    return nil, path .. ": expected a JSON object keyed by source database name"
  end
  if next(dblist) == nil then
    return nil, path .. ": empty; it REPLACES the job's objects, so an empty list would drop them all"
  end
  local ok, err = check_map(dblist, path, DB, "databases")
  if not ok then return nil, err end
  return check_rules(dblist, path)
end

return grammar
