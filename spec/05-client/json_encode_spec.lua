-- The fast path over Lua tables (core.json_encode, behind grammar.encode):
-- its text is byte for byte lua-cjson's, it never accepts what the exact
-- walk (core.json_check) refuses, and it accepts ordinary DbLists, or the
-- speed is gone.  Thousands of generated DbLists decide it.
local cjson = require "cjson"
local core = require "dts.core"
local grammar = require "dts.dblist.grammar"
local hostile = require "support.finalizers"
local gen = require "support.dblists"

local COMPILED = assert(core.json_grammar(grammar.spec))
local json_equal = require("dts.json").equal

-- Accepted means: the walk accepts it too, and the text is lua-cjson's.
local function judge(v)
  local text = core.json_encode(v, COMPILED)
  if not text then return false end
  local walk_ok, path, reason = core.json_check(v, grammar.spec, "DbList", "")
  assert(walk_ok, ("json_encode accepted what the walk refuses at %s (%s): %s"):format(
    tostring(path), tostring(reason), text))
  assert.are.equal(cjson.encode(v), text)
  return true
end

describe("core.json_encode", function()
  it("writes lua-cjson's text, only for what the walk accepts (generated DbLists)", function()
    gen.seed()
    local accepted, refused = 0, 0
    for _ = 1, 4000 do
      if judge(gen.dblist()) then accepted = accepted + 1 else refused = refused + 1 end
    end
    assert.truthy(accepted > 200, "the generator should make some valid DbLists: " .. accepted)
    assert.truthy(refused > 200, "and some broken ones: " .. refused)
  end)

  it("agrees with the walk on 30 000 tables with number and mixed keys", function()
    gen.seed()
    local accepted, refused = 0, 0
    for _ = 1, 30000 do
      local v = gen.numeric_dblist()
      judge(v)
      -- and grammar.encode (validate's path) says what the walk says
      local walk_ok, path, reason = core.json_check(v, grammar.spec, "DbList", "")
      local encoded, err = grammar.encode(v)
      if walk_ok then
        accepted = accepted + 1
        assert(encoded, err)
        assert(json_equal(v, cjson.decode(encoded)), encoded)
      else
        refused = refused + 1
        assert(encoded == nil, ("grammar.encode accepted what the walk refuses at %s (%s): %s"):format(
          tostring(path), tostring(reason), tostring(encoded)))
      end
    end
    assert.truthy(accepted > 1000 and refused > 1000, accepted .. " accepted, " .. refused .. " refused")
  end)

  it("accepts ordinary DbLists, so the fast path is taken", function()
    for _, n in ipairs({ 1, 10, 1000 }) do
      assert.is_true(judge(gen.clean(n)))
    end
  end)

  it("escapes every byte as lua-cjson does, in values, names and any-values", function()
    for b = 0, 255 do
      local s = "a" .. string.char(b) .. "z"
      for _, v in ipairs({
        { db = { name = s, all = true } },
        { [s] = { name = "db", all = true } },
        { db = { name = "db", all = true, conflict = { s, { [s] = s } } } },
      }) do
        local text = core.json_encode(v, COMPILED)
        if b < 0x80 then
          assert.are.equal(cjson.encode(v), text)
        else
          assert.is_false(text) -- a lone byte over 0x7F is not UTF-8
        end
      end
    end
    local utf8 = { db = { name = "caf\195\169 \240\159\152\128", all = true } }
    assert.are.equal(cjson.encode(utf8), core.json_encode(utf8, COMPILED))
  end)

  it("writes arrays, objects and empty tables of any-values as lua-cjson does", function()
    for _, conflict in ipairs({ {}, { "a" }, { "a", "b", true }, { x = "y" }, { {}, { {} } },
                                { x = { "a", { y = false } } }, { [""] = "empty name" } }) do
      assert.is_true(judge({ db = { name = "db", all = true, conflict = conflict } }))
    end
  end)

  it("leaves to the walk what it cannot be sure of", function()
    local cyclic = { name = "c" }
    cyclic.self = cyclic
    local deep = {}
    local at = deep
    for _ = 1, 100 do at.x = {} at = at.x end
    for _, v in ipairs({
      { db = { name = "db", all = true, shard = 5 } },                    -- a number
      { db = { name = "db", all = true, shard = cjson.null } },            -- null
      { db = { name = "db", all = true, conflict = { "a", nil, "c" } } }, -- a hole
      { db = { name = "db", all = true, conflict = { [1.5] = "x" } } },
      { db = { name = "db", all = true, conflict = { "x", y = "z" } } },  -- mixed
      { db = { name = "db", all = true, conflict = { y = "z", "x" } } },
      { db = { name = "db", all = true, conflict = cyclic } },            -- a cycle
      { db = { name = "db", all = true, conflict = deep } },               -- too deep
      { [1] = { name = "a", all = true }, ["1"] = { name = "b", all = true } },
      { db = { name = "bad\255", all = true } },                          -- not UTF-8
      { db = { name = "db", all = "yes" } },
      { db = { name = "db", all = false } },                               -- nothing listed
      { db = { name = "db", all = false, Table = { t = { all = true, fitler = "x" } } } },
      { db = { name = "db", all = true, Table = { t = { name = "t", all = true, dml_op = "insert,,update" } } } },
      { [""] = { name = "db", all = true } },                              -- an empty name
      {},                                                                  -- an empty DbList
    }) do
      assert.is_false(core.json_encode(v, COMPILED))
      local walk_ok = core.json_check(v, grammar.spec, "DbList", "")
      local text = grammar.encode(v)
      if walk_ok then assert.is_string(text) else assert.is_nil(text) end
    end
    local _, err = grammar.encode({ db = { name = "db", all = true, conflict = cyclic } })
    assert.truthy(err:find("cycle", 1, true), err)
  end)

  it("reads the value raw: __index, __pairs and __len never run", function()
    local mt = { __index = function() error("__index ran") end, __pairs = function() error("__pairs ran") end,
                 __len = function() error("__len ran") end }
    local v = setmetatable({ db = setmetatable({ name = "db", all = true,
      conflict = setmetatable({ "a" }, mt) }, mt) }, mt)
    assert.are.equal(cjson.encode(v), core.json_encode(v, COMPILED))
  end)

  it("answers false for any value that is not a table, and refuses a grammar that is not one", function()
    for _, v in ipairs({ true, 1, "x", function() end, coroutine.create(function() end), io.stdout }) do
      assert.is_false(core.json_encode(v, COMPILED))
    end
    assert.is_false(core.json_encode(nil, COMPILED))
    for _, g in ipairs({ true, 1, "x", {}, io.stdout }) do
      assert.is_false((pcall(core.json_encode, {}, g))) -- API misuse: an argument error
    end
  end)

  it("gives a call nested in it (a finalizer) 'not sure', and its own text whole", function()
    local nested = 0
    local hits = hostile.finalizers_inside(200, core.json_encode,
      function() return gen.clean(20), COMPILED end,
      function(v)
        nested = nested + 1
        assert.is_false(core.json_encode(v, COMPILED))
      end,
      function(results, args)
        assert.are.equal(cjson.encode(args[1]), results[1])
      end)
    assert.truthy(hits > 0 and nested == hits, hits)
  end)
end)
