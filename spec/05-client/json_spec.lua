-- core.json_check (src/lua_json.c): one C walk that says whether lua-cjson
-- can encode a value faithfully and, given a spec, whether it follows the
-- DbList grammar; and dts.json / dts.dblist.grammar, which word its answers.
local core = require "dts.core"
local cjson = require "cjson"
local json = require "dts.json"
local grammar = require "dts.dblist.grammar"

local check = core.json_check

-- The failure as one table, so cases read as one line each.
local function failure(...)
  local ok, path, reason, detail, extra = check(...)
  assert.is_nil(ok, "expected a failure")
  return { path = path, reason = reason, detail = detail, extra = extra }
end

local function nest(levels)
  local root = {}
  local t = root
  for _ = 2, levels do
    t.n = {}
    t = t.n
  end
  return root
end

describe("core.json_check", function()
  it("accepts what lua-cjson encodes faithfully, returning exactly true", function()
    for _, v in ipairs({
      "text", "", "\230\181\139\232\175\149 \240\159\152\128", 0, -1.5, 1e300, true, false,
      {}, { 1, 2, 3 }, { a = { b = { "x", { y = false } } } }, { n = cjson.null }, { cjson.null },
      99999999999999, -99999999999999, 0.1, 1e15, 2 ^ 46,
    }) do
      assert.are.same({ true }, { check(v) })
    end
    local shared = {}
    assert.is_true(check({ a = shared, b = shared, c = { shared } }))  -- shared, not a cycle
  end)

  it("names the root and builds paths only on failure", function()
    assert.are.same({ path = "value", reason = "utf8", detail = 1 }, failure("\255"))
    assert.are.same({ path = "Reserved.a.b", reason = "utf8", detail = 3 },
      failure({ a = { b = "ok\255" } }, nil, "Reserved"))
    assert.are.same({ path = "R.list[3]", reason = "utf8", detail = 1 },
      failure({ list = { "a", "b", "\192\175" } }, nil, "R"))
    assert.are.same({ path = "R.a[2][1].x", reason = "type", detail = print },
      failure({ a = { {}, { { x = print } } } }, nil, "R"))
  end)

  it("checks keys: UTF-8 (path: the table), names or indexes 1..n", function()
    assert.are.same({ path = "R.t", reason = "utf8_key", detail = 2 },
      failure({ t = { ["k\255"] = 1 } }, nil, "R"))
    assert.are.same({ path = "value", reason = "badkey", detail = 0, extra = 0 }, failure({ [0] = 1 }))
    assert.are.same({ path = "value", reason = "badkey", detail = -1, extra = 1 },
      failure({ 1, [-1] = 2 }))
    assert.are.same({ path = "value", reason = "badkey", detail = 1.5, extra = 0 }, failure({ [1.5] = 1 }))
    assert.are.same("badkey", failure({ [true] = 1 }).reason)
    assert.are.same("badkey", failure({ [{}] = 1 }).reason)
  end)

  it("tells arrays from objects: exactly 1..n, or all names", function()
    assert.are.same({ path = "value", reason = "mixed" }, failure({ 1, 2, x = 3 }))
    assert.are.same({ path = "value.a", reason = "hole", detail = 2 },
      failure({ a = { [1] = "x", [3] = "z" } }))
    assert.are.same({ path = "value", reason = "hole", detail = 1 }, failure({ [2] = "y" }))
    assert.are.same({ path = "value", reason = "hole", detail = 4 },
      failure({ 1, 2, 3, [5] = 5 }))
    assert.are.same({ path = "value", reason = "hole", detail = 1 }, failure({ [2 ^ 60] = 1 }))
  end)

  it("refuses functions, threads and userdata, but not cjson.null", function()
    assert.are.same({ path = "value.f", reason = "type", detail = print }, failure({ f = print }))
    local co = coroutine.create(function() end)
    assert.are.same({ path = "value[1]", reason = "type", detail = co }, failure({ co }))
    assert.are.same({ path = "value.h", reason = "type", detail = io.stdout }, failure({ h = io.stdout }))
    assert.is_true(check(json.null))
  end)

  it("refuses NaN and infinities, whatever the mode", function()
    for _, n in ipairs({ 0 / 0, math.huge, -math.huge }) do
      assert.are.same("nan", failure({ n = n }).reason)
      assert.are.same("nan", failure({ n = n }, nil, nil, "n").reason)
    end
  end)

  it("refuses numbers lua-cjson's 14 digits would change, unless decoded ('n')", function()
    local inexact = { 2 ^ 53 + 1, 0.1 + 0.2, 1 / 3, 123456789012345, 1.0000000000000002,
      -123456789012345.6 }
    if math.type then -- integers (5.3+): exact below 10^14, and above only if 14 digits say it
      inexact[#inexact + 1] = math.maxinteger
      inexact[#inexact + 1] = math.mininteger
      inexact[#inexact + 1] = 9007199254740993 -- 2^53 + 1, not even a double
      assert.is_true(check({ 99999999999999, -99999999999999, math.tointeger(10 ^ 15), 123450000000000000 }))
    end
    for _, n in ipairs(inexact) do
      local f = failure({ x = { n } })
      assert.are.same({ path = "value.x[1]", reason = "inexact", detail = n }, f)
      assert.is_true(check({ x = { n } }, nil, nil, "n"))
    end
  end)

  it("finds cycles, with the path of the table met again", function()
    local t = { a = {} }
    t.a.back = t
    assert.are.same({ path = "Reserved.a.back", reason = "cycle" }, failure(t, nil, "Reserved"))
    local self = {}
    self[1] = self
    assert.are.same({ path = "value[1]", reason = "cycle" }, failure(self))
    local deep = nest(100)
    local last = deep
    while last.n do last = last.n end
    last.n = deep
    assert.are.same("cycle", failure(deep).reason)
  end)

  it("takes 128 levels of nesting and refuses more", function()
    assert.is_true(check(nest(128)))
    local f = failure(nest(129))
    assert.are.same("deep", f.reason)
    assert.are.same(128, f.detail)
    assert.are.same("value" .. (".n"):rep(128), f.path)
  end)

  it("leaves UTF-8 to the caller in mode 'u', and refuses other mode letters", function()
    assert.is_true(check({ s = "\255", t = { ["k\255"] = "\255" } }, nil, nil, "u"))
    assert.are.same("inexact", failure({ 2 ^ 53 + 1 }, nil, nil, "u").reason)
    assert.has_error(function() check({}, nil, nil, "x") end)
    assert.has_error(function() check({}, nil, 5) end)
    assert.has_error(function() check() end)
  end)

  it("raises on a malformed spec (a programming error)", function()
    assert.has_error(function() check({ a = 1 }, { nothing = true }) end)
    assert.has_error(function() check({ a = { x = 1 } }, { map = { keys = { x = "number" } } }) end)
    assert.has_error(function() check({ a = 1 }, { keys = { a = 5 } }) end)
  end)

  it("keeps the stack balanced over wide and repeated grammar walks", function()
    local dbs = {}
    for i = 1, 20000 do
      local n = "db" .. i
      dbs[n] = { name = n, all = false, Table = { t = { name = "t", all = true } },
        View = { v = { name = "v" } } }
    end
    for _ = 1, 3 do
      assert.are.same({ true }, { check(dbs, grammar.spec, "DbList") })
    end
  end)
end)

describe("core.json_check with the DbList grammar", function()
  local spec = grammar.spec
  local function db(fields)
    local t = { name = "db", all = false, Table = { t = { name = "t", all = true } } }
    for k, v in pairs(fields or {}) do t[k] = v end
    return { db = t }
  end

  it("gives each grammar reason with its path, detail and node", function()
    assert.are.same({ path = "DbList", reason = "not_map", extra = spec }, failure(5, spec, "DbList"))
    assert.are.same({ path = "DbList", reason = "not_map", extra = spec }, failure({ 1 }, spec, "DbList"))
    assert.are.same({ path = "DbList", reason = "empty", extra = spec }, failure({}, spec, "DbList"))
    assert.are.same({ path = "DbList", reason = "name", extra = spec },
      failure({ [""] = { all = true } }, spec, "DbList"))
    assert.are.same("not_entry", failure({ db = "x" }, spec, "DbList").reason)
    assert.are.same("not_entry", failure({ db = { 1 } }, spec, "DbList").reason)
    local f = failure(db({ Tables = {} }), spec, "DbList")
    assert.are.same({ "DbList.db.Tables", "unknown", "Tables" }, { f.path, f.reason, f.detail })
    assert.are.same({ path = "DbList.db.all", reason = "leaf", detail = "yes", extra = "boolean" },
      failure(db({ all = "yes" }), spec, "DbList"))
    assert.are.same({ path = "DbList.db.name", reason = "leaf", detail = cjson.null, extra = "string" },
      failure(db({ name = cjson.null }), spec, "DbList"))
    f = failure({ db = { name = "db" } }, spec, "DbList")
    assert.are.same({ "DbList.db", "missing", "all" }, { f.path, f.reason, f.detail })
    assert.are.same("none_listed", failure(db({ Table = {} }), spec, "DbList").reason)
    f = failure(db({ Table = { t = { name = "t", all = true, column = {} } } }), spec, "DbList")
    assert.are.same({ "DbList.db.Table.t", "forbidden", "column" }, { f.path, f.reason, f.detail })
    assert.are.same("not_map", failure(db({ Table = { 1, 2 } }), spec, "DbList").reason)
    assert.are.same("not_map", failure(db({ Table = "t" }), spec, "DbList").reason)
  end)

  it("checks JSON before the grammar at each value", function()
    assert.are.same("nan", failure(db({ all = 0 / 0 }), spec, "DbList").reason)
    assert.are.same("mixed", failure(db({ Table = { 1, x = { all = true } } }), spec, "DbList").reason)
    assert.are.same("utf8_key", failure({ ["db\255"] = { all = true } }, spec, "DbList").reason)
  end)

  it("lists objects of other kinds, and takes any JSON in the engine's keys", function()
    assert.is_true(check({ db = { name = "db", all = false, View = { v = { name = "v2" } } } }, spec))
    assert.is_true(check(db({ shard = { 1, { x = "y" } }, conflict = cjson.null }), spec))
    assert.are.same("inexact", failure(db({ shard = 2 ^ 53 + 1 }), spec).reason)
  end)

  it("checks ops and filters", function()
    for _, ok in ipairs({ "insert", "insert,update", "Create_Table,AlterTable", "a1,b2" }) do
      assert.is_true(check(db({ dml_op = ok }), spec), ok)
    end
    for _, bad in ipairs({ "", "insert, update", ",insert", "insert,", "insert,,update", "in-sert", 5 }) do
      assert.are.same("leaf", failure(db({ dml_op = bad }), spec).reason, tostring(bad))
    end
    local function table_with(filter)
      return db({ Table = { t = { name = "t", all = true, filter = filter } } })
    end
    for _, ok in ipairs({ "id > 1", "", "a = ';' and b = 1", "x;y" }) do
      assert.is_true(check(table_with(ok), spec), ok)
    end
    for _, bad in ipairs({ "id > 1;", "id > 1;  ", "id;\n\t", ";", 5 }) do
      assert.are.same("leaf", failure(table_with(bad), spec).reason, tostring(bad))
    end
  end)
end)

describe("dts.json and dts.dblist.grammar wording", function()
  local function message(ok, err)
    assert.is_nil(ok)
    return err
  end

  it("words every JSON reason with its path", function()
    local cases = {
      { { s = "a\255" }, "R.s: not valid UTF-8 (byte 2)" },
      { { ["\255"] = 1 }, "R: a key is not valid UTF-8 (byte 1)" },
      { { n = 0 / 0 }, "R.n: NaN and infinities have no JSON form" },
      { { n = 2 ^ 53 + 1 }, "R.n: the number 9007199254740992 cannot be sent exactly; pass it as a string" },
      { { f = print }, "R.f: a function has no JSON form" },
      { { [0] = 1 }, "R: key 0 is neither a name nor an array index 1..0" },
      { { 1, x = 1 }, "R: mixes array items and named keys" },
      { { [2] = 1 }, "R: item 1 is nil; an array needs every index 1..n (json.null is a JSON null)" },
      { nest(129), "R" .. (".n"):rep(128) .. ": nested more than 128 tables deep" },
    }
    local cyclic = {}
    cyclic.me = cyclic
    cases[#cases + 1] = { cyclic, "R.me: a table that contains itself (a cycle) has no JSON form" }
    for _, case in ipairs(cases) do
      assert.are.equal(case[2], message(json.check(case[1], "R")))
      assert.are.equal(case[2], message(json.encode(case[1], "R")))
    end
  end)

  it("encodes, finding bad UTF-8 from the encoded text", function()
    assert.are.equal('{"a":[1,2,"x"]}', json.encode({ a = { 1, 2, "x" } }))
    assert.are.equal("{}", json.encode({}))
    assert.are.equal('{"n":null}', json.encode({ n = json.null }))
    assert.are.equal("value.a[2].b: not valid UTF-8 (byte 1)",
      message(json.encode({ a = { "ok", { b = "\237\160\128" } } })))
  end)

  it("words every grammar reason", function()
    local cases = {
      { 5, "DbList: expected a JSON object keyed by source database name" },
      { {}, "DbList: empty; it REPLACES the job's objects, so an empty list would drop them all" },
      { { [""] = { all = true } }, "DbList: names must be non-empty strings" },
      { { db = 1 }, "DbList.db: expected an object" },
      { { db = { all = false, Table = "t" } }, "DbList.db.Table: expected an object of tables keyed by source name" },
      { { db = { all = false, View = { 1 } } }, "DbList.db.View: expected an object of objects keyed by source name" },
      { { db = { all = true, table = {} } }, "DbList.db.table: not a DbList key here; did you mean Table?" },
      { { db = { all = true, DBName = "x" } },
        "DbList.db.DBName: a legacy MigrationObject key, not DbList grammar; the source database is the entry's key" },
      { { db = { all = 1 } }, "DbList.db.all: expected true or false, got number" },
      { { db = { all = true, name = false } }, "DbList.db.name: expected a string, got boolean" },
      { { db = { all = true, dml_op = "a b" } },
        'DbList.db.dml_op: expected comma-separated operation names without spaces, e.g. "insert,update", got "a b"' },
      { { db = { all = false, Table = { t = { all = true, filter = 1 } } } },
        "DbList.db.Table.t.filter: expected a SQL condition string, got number" },
      { { db = { all = false, Table = { t = { all = true, filter = "x;" } } } },
        "DbList.db.Table.t.filter: expected a condition without a trailing ';' (DTS may fail the task), got \"x;\"" },
      { { db = { name = "db" } }, 'DbList.db: missing "all" (true: the whole database)' },
      { { db = { all = false, Table = { t = {} } } }, 'DbList.db.Table.t: missing "all" (true: every column)' },
      { { db = { all = false } }, 'DbList.db: "all" is false but no "Table" (or other objects) are listed' },
      { { db = { all = false, Table = { t = { all = true, column = { c = { name = "c" } } } } } },
        'DbList.db.Table.t: "column" needs "all" = false' },
      { { db = { all = false, Table = { t = { all = false, column = { c = { nam = "c" } } } } } },
        "DbList.db.Table.t.column.c.nam: not a DbList key here; did you mean name?" },
    }
    for _, case in ipairs(cases) do
      assert.are.equal(case[2], message(grammar.check(case[1])))
      assert.are.equal(case[2], message(grammar.encode(case[1])))
    end
  end)

  it("leaves numbers to the encoder: check takes them, encode refuses what 14 digits change", function()
    local value = json.decode('{"db":{"name":"db","all":true,"shard":12345678901234567}}')
    assert.is_true(grammar.check(value, "DbList"))
    assert.truthy(message(grammar.encode(value)):find("cannot be sent exactly", 1, true))
    assert.truthy(message(json.check(value)):find("cannot be sent exactly", 1, true))
    assert.is_true(json.check(value, nil, nil, nil, true))
  end)

  it("encodes a valid DbList in one call", function()
    local text = assert(grammar.encode({ shop = { name = "shop", all = false,
      Table = { orders = { name = "orders", all = true } } } }))
    assert.are.same({ shop = { name = "shop", all = false,
      Table = { orders = { name = "orders", all = true } } } }, json.decode(text))
  end)
end)
