-- core.json_check, json_grammar and json_scan against hostile Lua values
-- (issue 11 item 3): specs that are not grammars, values with metatables,
-- finalizers that rewrite the value while the walk runs.  Never a crash;
-- json_grammar answers nil, message for any spec it cannot compile.
local core = require "dts.core"
local grammar = require "dts.dblist.grammar"
local hostile = require "support.finalizers"

local long = hostile.long

local ODD = { true, 1, 1.5, 0 / 0, "", "x", {}, function() end, coroutine.create(function() end),
              io.stdout }

describe("core.json_grammar", function()
  it("answers nil, message for every spec it cannot compile (the issue's keys = { a = true })", function()
    for _, case in ipairs({
      { { keys = { a = true } }, "json_grammar: a leaf is one of string, boolean, any, ops, filter; got a boolean" },
      { { keys = { a = "strnig" } }, "got a string" },
      { { keys = { [1] = "string" } }, "json_grammar: key names must be strings, got a number" },
      { { keys = { [true] = "string" } }, "key names must be strings, got a boolean" },
      { { keys = "string" }, "json_grammar: a node needs a map or keys table" },
      { { map = "string" }, "maps of leaves are not compiled" },
      { { map = 1 }, "maps of leaves are not compiled" },
      { { map = { map = {} } }, "a node needs a map or keys table" },
      { { keys = { a = "string" }, required = "b" }, "json_grammar: required must name a key" },
      { { keys = { a = "string" }, required = 1 }, "required must name a key" },
      { { keys = { a = "string" }, if_false_one_of = "a" }, "if_false_one_of must be a list of key names" },
      { { keys = { a = "string" }, if_true_none_of = { "b" } }, "if_true_none_of names no key of its node" },
      { { keys = { a = "string" }, if_true_none_of = { {} } }, "if_true_none_of names no key" },
      { { keys = { [("k"):rep(40)] = "string" } }, "cannot add key" },
      { { keys = { [""] = "string" } }, "cannot add key" },
      { {}, "a node needs a map or keys table" },
    }) do
      local g, err = core.json_grammar(case[1])
      assert.is_nil(g)
      assert.truthy(err:find(case[2], 1, true), err)
    end
    for _, v in ipairs(ODD) do
      local ok, g, err = pcall(core.json_grammar, v)
      assert.is_true(ok, g)
      assert.is_nil(g)
      assert.is_string(err)
    end
    local ok, g, err = pcall(core.json_grammar)
    assert.is_true(ok)
    assert.is_nil(g)
    assert.are.equal("json_grammar: a node must be a table, got nil", err)
  end)

  it("refuses more nodes than it holds, and compiles shared and cyclic nodes once", function()
    local node = { keys = { leaf = "string" } }
    for _ = 1, 20 do node = { keys = { child = node } } end
    local g, err = core.json_grammar(node)
    assert.is_nil(g)
    assert.are.equal("json_grammar: too many nodes", err)
    local self = { keys = { name = "string" } }
    self.keys.child = self
    g = assert(core.json_grammar({ map = self }))
    assert.is_true(core.json_scan('{"a":{"name":"x","child":{"child":{}}}}', g))
  end)

  it("reads the spec raw: __index and __pairs never run", function()
    local mt = { __index = function() error("__index ran") end, __pairs = function() error("__pairs ran") end }
    local spec = setmetatable({ keys = setmetatable({ a = "string" }, mt) }, mt)
    local g = assert(core.json_grammar(spec))
    assert.is_true(core.json_scan('{"a":"x"}', g))
    local g2, err = core.json_grammar(setmetatable({}, { __index = { keys = { a = "string" } } }))
    assert.is_nil(g2)
    assert.are.equal("json_grammar: a node needs a map or keys table", err)
  end)
end)

describe("core.json_scan", function()
  it("answers a boolean for any text, and refuses a grammar that is not one", function()
    local g = assert(core.json_grammar(grammar.spec))
    for _, text in ipairs({ "", "{", "}", "\0", ("["):rep(10000), ('{"a":'):rep(5000), "\255" }) do
      assert.is_false(core.json_scan(text, g))
    end
    for _, v in ipairs(ODD) do
      assert.is_false((pcall(core.json_scan, "{}", v))) -- API misuse: an argument error
    end
  end)
end)

describe("core.json_check", function()
  it("walks values with metatables raw", function()
    local mt = { __index = function() error("__index ran") end, __pairs = function() error("__pairs ran") end,
                 __len = function() error("__len ran") end, __tostring = function() error("__tostring ran") end }
    local db = setmetatable({ name = "db", all = true }, mt)
    assert.is_true(core.json_check(setmetatable({ db = db }, mt), grammar.spec, "DbList", ""))
    local proxy = setmetatable({}, { __index = { name = "db", all = true } })
    local ok, path, reason = core.json_check(setmetatable({ db = proxy }, mt), grammar.spec, "DbList", "")
    assert.is_nil(ok)
    assert.are.same({ "DbList.db", "missing" }, { path, reason })
  end)

  it("answers for any value, and refuses a spec that is not one without crashing", function()
    for _, v in ipairs(ODD) do
      local ok, res = pcall(core.json_check, v)
      assert.is_true(ok, res)
      ok, res = pcall(core.json_check, { db = v }, grammar.spec, "DbList", "")
      assert.is_true(ok, res)
      -- a bad spec is API misuse: an error, never a crash
      pcall(core.json_check, { a = v }, { keys = { a = v } })
      pcall(core.json_check, { a = { b = 1 } }, { map = v })
      pcall(core.json_check, { a = v }, { keys = { a = "string" }, required = v, if_false_one_of = v,
                                          if_true_none_of = v })
    end
  end)

  it("gives the plain verdict while finalizers rewrite or empty the value", function()
    local function dblist()
      local t = {}
      for i = 1, 4 do
        t[long("tab" .. i)] = { name = long("n" .. i), all = i % 2 == 0, filter = long("id>1"),
          column = i % 2 == 1 and { [long("c")] = { name = long("cn") } } or nil }
      end
      return { [long("db")] = { name = long("dbn"), all = false, Table = t } }, grammar.spec, "DbList", ""
    end
    local hits = hostile.finalizers_inside(10, core.json_check, dblist, hostile.refresh, function(r)
      assert.is_true(r[1], tostring(r[2]) .. " " .. tostring(r[3]))
    end)
    assert.truthy(hits > 0)
    hits = hostile.finalizers_inside(10, core.json_check, dblist, function(t)
      for k in next, t do rawset(t, k, nil) end
    end, function(r)
      assert.truthy(r[1] == true or r[3] == "empty", tostring(r[3]))
    end)
    assert.truthy(hits > 0)
  end)
end)
