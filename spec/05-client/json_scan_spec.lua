-- The fast path (core.json_scan over lua-cjson's text) must never accept
-- what the exact walk (core.json_check) refuses, and must accept ordinary
-- DbLists, or the speed is gone.  Thousands of generated DbLists, valid and
-- broken in every way the grammar knows, decide it.
local cjson = require("cjson").new()
local core = require "dts.core"
local grammar = require "dts.dblist.grammar"

cjson.encode_number_precision(14)
cjson.encode_invalid_numbers(false)

local COMPILED = core.json_grammar(grammar.spec)

-- A small deterministic generator (Park-Miller: exact in doubles, so the
-- same on every Lua; no global math.random state touched).
local seed = 12345
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

local function dblist()
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

local function clean(n)
  local tables = {}
  for i = 1, n do
    local name = ("t_%d"):format(i)
    tables[name] = { name = name, all = i % 3 ~= 0, filter = i % 3 == 0 and "id > " .. i or nil,
      column = i % 3 == 0 and { id = { name = "id" } } or nil }
  end
  return { shop = { name = "shop", all = false, Table = tables, dml_op = "insert,update" },
           logs = { name = "logs", all = true, state = "normal" } }
end

describe("core.json_scan", function()
  it("never accepts what the walk refuses (generated DbLists)", function()
    local accepted, refused = 0, 0
    for _ = 1, 4000 do
      local v = dblist()
      local ok, text = pcall(cjson.encode, v)
      if ok and core.json_scan(text, COMPILED) then
        accepted = accepted + 1
        local walk_ok, path, reason = core.json_check(v, grammar.spec, "DbList", "")
        assert(walk_ok, ("scan accepted what the walk refuses at %s (%s): %s"):format(
          tostring(path), tostring(reason), text))
      else
        refused = refused + 1
      end
    end
    assert.truthy(accepted > 200, "the generator should make some valid DbLists")
    assert.truthy(refused > 200, "and some broken ones")
  end)

  it("accepts ordinary DbLists, so the fast path is taken", function()
    for _, n in ipairs({ 1, 10, 1000 }) do
      assert.is_true(core.json_scan(cjson.encode(clean(n)), COMPILED))
    end
  end)

  it("leaves to the walk what it cannot judge from the text", function()
    for _, v in ipairs({
      { db = { name = "db", all = true, shard = 5 } },               -- a number
      { db = { name = "db", all = true, shard = cjson.null } },       -- null
      { ["a/b"] = { name = "x", all = true } },                       -- an escaped name
      { db = { name = "db", all = true, attach_column = { ["1"] = "x" } } },
    }) do
      assert.is_false(core.json_scan(cjson.encode(v), COMPILED))
    end
  end)

  it("refuses trailing bytes and broken text", function()
    local text = cjson.encode(clean(2))
    assert.is_false(core.json_scan(text .. "x", COMPILED))
    assert.is_false(core.json_scan(text:sub(1, -2), COMPILED))
    assert.is_false(core.json_scan("", COMPILED))
    assert.is_false(core.json_scan('{"db":{"name":"db","all":true}} {}', COMPILED))
  end)

  it("is what grammar.encode and validate use, with the walk's messages on failure", function()
    local text = assert(grammar.encode(clean(3)))
    assert.are.same(clean(3), cjson.decode(text))
    local ok, err = grammar.encode({ db = { name = "db", all = false, Table = { t = { all = true, fitler = "x" } } } })
    assert.is_nil(ok)
    assert.are.equal("DbList.db.Table.t.fitler: not a DbList key here; did you mean filter?", err)
  end)
end)
