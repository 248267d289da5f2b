-- Generated DbLists for the fast paths' specs (json_scan, json_encode):
-- valid and broken in every way the grammar knows, and tables with number
-- and mixed keys where the grammar wants names.  Deterministic: the same
-- DbLists on every Lua, from seed().
local cjson = require "cjson"

local gen = {}

-- A small deterministic generator (Park-Miller: exact in doubles, so the
-- same on every Lua; no global math.random state touched).
local seed = 12345

-- Starts the sequence again.
function gen.seed(s) seed = s or 12345 end

local function rand(n)
  seed = (seed * 16807) % 2147483647
  return seed % n + 1
end
local function pick(list) return list[rand(#list)] end

local NAMES = { "customer", "orders", "t_1", "测试", "a/b", "we\"ird", "x;y", "1", "", "CamelCase" }
local STRINGS = { "id>10", "id>10;", "id > 1 ;  ", "insert,update", "insert, update", "insert,,update",
  ",insert", "CreateTable", "", "normal", "caf\195\169", "bad\255", "tab\there", "quote\"d" }
local ODD = { 1, 2 ^ 53 + 1, 0.1, true, false, {}, { 1, 2 }, { "a", x = 1 }, cjson.null }

local function value_for(kind)
  local r = rand(10)
  if r == 1 then return pick(ODD) end
  if kind == "boolean" then return rand(2) == 1 end
  if kind == "table_entry" then return nil end
  return pick(STRINGS)
end

local function table_entry()
  local t = { name = pick(NAMES), all = rand(3) ~= 1 }
  if rand(4) == 1 then t.all = nil end
  if rand(3) == 1 then t.filter = value_for("filter") end
  if rand(4) == 1 then t.dml_op = value_for("ops") end
  if rand(5) == 1 then t.column = { id = { name = "id" }, [pick(NAMES)] = { name = pick(NAMES) } } end
  if rand(8) == 1 then t[pick({ "fitler", "filterCondition", "state", "shard", "attach_column" })] =
    value_for("any") end
  if rand(10) == 1 then t.name = pick(ODD) end
  return t
end

function gen.dblist()
  local d = {}
  for _ = 1, rand(3) do
    local db = { name = pick(NAMES), all = rand(3) == 1 }
    if not db.all or rand(3) == 1 then
      db.Table = {}
      for _ = 1, rand(4) - 1 do db.Table[pick(NAMES)] = table_entry() end
    end
    if rand(6) == 1 then db.View = { v = { name = "v" } } end
    if rand(8) == 1 then db[pick({ "Tables", "ddl_op", "case_sen", "conflict" })] = value_for("any") end
    if rand(12) == 1 then db = pick(ODD) end
    d[pick(NAMES)] = db
  end
  if rand(20) == 1 then d = {} end
  return d
end

function gen.clean(n)
  local tables = {}
  for i = 1, n do
    local name = ("t_%d"):format(i)
    tables[name] = { name = name, all = i % 3 ~= 0, filter = i % 3 == 0 and "id > " .. i or nil,
      column = i % 3 == 0 and { id = { name = "id" } } or nil }
  end
  return { shop = { name = "shop", all = false, Table = tables, dml_op = "insert,update" },
           logs = { name = "logs", all = true, state = "normal" } }
end

-- Tables with number keys where the grammar wants names, and mixes of
-- both, at every map level and inside "any" values (issue 11 item 8):
-- lua-cjson writes a number key as a name ("1", "-1", "1.5", "1e+20").
local KEYS = { 1, 2, 3, 0, -1, 1.5, 2 ^ 53, 1e20, "1", "2", "0", "-1", "1.5", "1e+20", "db", "t", "x" }
local function key() return KEYS[rand(#KEYS)] end

function gen.any_value(depth)
  if depth > 2 or rand(4) == 1 then return pick({ "s", true, false, "1" }) end
  local t = {}
  for _ = 1, rand(4) - 1 do t[key()] = gen.any_value(depth + 1) end
  if rand(4) == 1 then
    for i = 1, rand(3) do t[i] = gen.any_value(depth + 1) end
  end
  return t
end

local function numeric_table_entry()
  local t = { name = "t", all = rand(2) == 1 }
  if rand(3) == 1 then t.attach_column = gen.any_value(0) end
  if rand(6) == 1 then t[key()] = "x" end
  if not t.all and rand(2) == 1 then
    t.column = {}
    for _ = 1, rand(3) do t.column[key()] = { name = "c" } end
  end
  return t
end

function gen.numeric_dblist()
  local d = {}
  for _ = 1, rand(3) do
    local db = { name = "db", all = rand(3) == 1 }
    if not db.all or rand(2) == 1 then
      db.Table = {}
      for _ = 1, rand(3) do db.Table[key()] = numeric_table_entry() end
    end
    if rand(4) == 1 then db.conflict = gen.any_value(0) end
    if rand(8) == 1 then db[key()] = { name = "v" } end
    d[key()] = db
  end
  return d
end

gen.rand, gen.pick = rand, pick

return gen
