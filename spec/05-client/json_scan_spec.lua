-- The fast path over JSON text (core.json_scan, behind grammar.text_ok)
-- must never accept what the exact walk (core.json_check) refuses, and must
-- accept ordinary DbLists, or the speed is gone.  Thousands of generated DbLists, valid and
-- broken in every way the grammar knows, decide it.
local cjson = require("cjson").new()
local core = require "dts.core"
local grammar = require "dts.dblist.grammar"

cjson.encode_number_precision(14)
cjson.encode_invalid_numbers(false)

local COMPILED = assert(core.json_grammar(grammar.spec))

local gen = require "support.dblists"
local rand, pick = gen.rand, gen.pick
local dblist, clean, numeric_dblist = gen.dblist, gen.clean, gen.numeric_dblist

-- Broken JSON text around an "any" value: escapes, surrogates, numbers.
local PIECES = { '"a"', '"\\q"', '"\\x41"', '"\\u0041"', '"\\ud800"', '"\\udc00"', '"\\ud800\\udc00"',
  '"\\ud800\\u0041"', '"\\u12"', '"\\"', '"\\/"', '"\\b\\f\\n\\r\\t"', '"\\u00e9"', '"\\uD83D\\uDE00"',
  "1", "-1", "1e999", "true", "null", "[]", "{}", '{"1":"x"}', '{"a":"x"}', '["x",', '"x\0"', '"caf\195\169"' }

local function any_text(depth)
  if depth > 2 or rand(3) > 1 then return pick(PIECES) end
  if rand(2) == 1 then
    local items = {}
    for i = 1, rand(3) - 1 do items[i] = any_text(depth + 1) end
    return "[" .. table.concat(items, ",") .. "]"
  end
  local items = {}
  for i = 1, rand(3) - 1 do items[i] = pick(PIECES) .. ":" .. any_text(depth + 1) end
  return "{" .. table.concat(items, ",") .. "}"
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

  it("agrees with the walk on 30 000 tables with number and mixed keys (issue 11 item 8)", function()
    local accepted, refused = 0, 0
    for _ = 1, 30000 do
      local v = numeric_dblist()
      local walk_ok, path, reason = core.json_check(v, grammar.spec, "DbList", "")
      local ok, text = pcall(cjson.encode, v)
      if ok and core.json_scan(text, COMPILED) then
        assert(walk_ok, ("scan accepted what the walk refuses at %s (%s): %s"):format(
          tostring(path), tostring(reason), text))
      end
      if walk_ok then accepted = accepted + 1 else refused = refused + 1 end
    end
    assert.truthy(accepted > 1000 and refused > 1000, accepted .. " accepted, " .. refused .. " refused")
  end)

  it("never sends a name twice: {[1] = ..., [\"1\"] = ...}", function()
    local v = { [1] = { name = "a", all = true }, ["1"] = { name = "b", all = true } }
    assert.is_false(core.json_scan(cjson.encode(v), COMPILED))
    local text, err = grammar.encode(v)
    assert.is_nil(text)
    assert.are.equal("DbList: mixes array items and named keys", err)
    -- The builder refuses it when given, and validate() when its list was
    -- changed into it by hand.
    local builder = require "dts.dblist"
    local ok
    ok, err = builder.new(v)
    assert.is_nil(ok)
    assert.are.equal("invalid_argument", err.kind)
    local b = builder.new()
    b.dbs = v
    ok, err = b:validate()
    assert.is_nil(ok)
    assert.are.equal("DbList: mixes array items and named keys", err.message)
    for _, bad in ipairs({
      { db = { name = "db", all = true, conflict = { [1.5] = "x" } } },
      { db = { name = "db", all = true, conflict = { [-1] = "x" } } },
      { db = { name = "db", all = true, conflict = { "x", y = "z" } } },
      { [-1] = { name = "db", all = true } },
      { db = { name = "db", all = false, Table = { [2] = { name = "t", all = true } } } },
    }) do
      assert.is_nil((grammar.encode(bad)))
    end
  end)

  it("checks escapes: \\q, \\x and lone surrogates are not JSON (issue 11 item 9)", function()
    local function wrap(s) return '{"db":{"name":"db","all":true,"conflict":' .. s .. '}}' end
    for _, bad in ipairs({ '"\\q"', '"\\x41"', '"\\ud800"', '"\\udc00"', '"\\ud800\\u0041"',
                           '"\\ud800x"', '"\\u12"', '"\\u12G4"', '"\\', '"\\u"' }) do
      assert.is_false(core.json_scan(wrap(bad), COMPILED), bad)
      assert.is_false((pcall(cjson.decode, wrap(bad))), bad)
    end
    for _, good in ipairs({ '"\\ud800\\udc00"', '"\\uD83D\\uDE00"', '"\\u00e9"', '"\\"\\\\\\/"',
                            '"\\b\\f\\n\\r\\t"' }) do
      assert.is_true(core.json_scan(wrap(good), COMPILED), good)
    end
  end)

  it("calls certainly valid only text lua-cjson decodes and the walk accepts", function()
    local sure = 0
    for _ = 1, 5000 do
      local text = '{"db":{"name":"db","all":true,"conflict":' .. any_text(0) .. '}}'
      if core.json_scan(text, COMPILED) then
        sure = sure + 1
        local ok, v = pcall(cjson.decode, text)
        assert(ok, text)
        assert(core.json_check(v, grammar.spec, "DbList", "n"), text)
      end
    end
    assert.truthy(sure > 500, sure)
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

  -- Strings are skipped eight bytes at a time: each byte that ends a plain
  -- run (quote, backslash, control, non-ASCII) at every offset of the
  -- first and second word, and in the tail shorter than a word.
  it("finds the end of a string's plain run at every offset", function()
    local cases = {
      { '\\"', true },        -- an escaped quote: the run stops at the backslash
      { "\\u00e9", true },    -- a \u escape
      { "\195\169", true },  -- UTF-8
      { "\255", false },      -- not UTF-8
      { "\1", false },        -- a raw control byte
      { "\31", false },
      { "\127", true },       -- DEL is not a control byte in JSON
      { " ", true }, { "~", true }, { "!", true },
    }
    for _, case in ipairs(cases) do
      for before = 0, 17 do
        for _, after in ipairs({ 0, 1, 7, 8, 9 }) do
          local name = ("a"):rep(before) .. case[1] .. ("b"):rep(after)
          local text = ('{"db":{"name":"%s","all":true}}'):format(name)
          assert.are.equal(case[2], core.json_scan(text, COMPILED), text)
          -- and as a name, where an escape is "not sure" too
          local named = ('{"%s":{"name":"x","all":true}}'):format(name)
          local expected = case[2] and not case[1]:find("\\", 1, true)
          assert.are.equal(expected, core.json_scan(named, COMPILED), named)
        end
      end
    end
    -- a string cut short at every length: never accepted
    local full = '{"db":{"name":"' .. ("n"):rep(20) .. '","all":true}}'
    for cut = 1, #full - 1 do
      assert.is_false(core.json_scan(full:sub(1, cut), COMPILED), full:sub(1, cut))
    end
  end)

  it("is what grammar.text_ok and validate use for JSON text, with the walk's messages on failure", function()
    local validate = require "dts.validate"
    local schema = require "dts.schema"
    local text = cjson.encode(clean(3))
    assert.is_true(grammar.text_ok(text))
    local query = assert(validate(schema.ModifyDtsJob, { DtsInstanceId = "x", DbList = text }))
    assert.are.equal(text, query.DbList) -- sent as given
    local broken = '{"db":{"name":"db","all":false,"Table":{"t":{"all":true,"fitler":"x"}}}}'
    assert.is_false(grammar.text_ok(broken))
    local ok, err = validate(schema.ModifyDtsJob, { DtsInstanceId = "x", DbList = broken })
    assert.is_nil(ok)
    assert.are.equal("DbList.db.Table.t.fitler: not a DbList key here; did you mean filter?", err.message)
    -- over the size limit: the same error the slow way gives
    local big = '{"db":{"name":"' .. ("x"):rep(1048576) .. '","all":true}}'
    assert.is_true(grammar.text_ok(big))
    ok, err = validate(schema.ModifyDtsJob, { DtsInstanceId = "x", DbList = big })
    assert.is_nil(ok)
    assert.truthy(err.message:find("over the 1048576-byte (1 MB) limit", 1, true), err.message)
  end)
end)
