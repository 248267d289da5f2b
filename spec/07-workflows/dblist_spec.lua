-- The DbList builder: merge, diff and validate, compared by meaning.
local dblist = require "dts.dblist"

local CURRENT = '{"dtstestdata":{"all":false,"name":"dtstestdata","state":"normal",'
  .. '"Table":{"customer":{"name":"customer","all":true,"state":"normal"}}},'
  .. '"logs":{"name":"logs","all":true,"state":"normal"}}'

describe("dts.dblist", function()
  it("reads DbObject text and lists its objects", function()
    local d = assert(dblist.new(CURRENT))
    assert.are.same({ "dtstestdata.customer", "logs" }, d:names())
    assert.is_nil((dblist.new("[1")))
    assert.is_nil((dblist.new(5)))
  end)

  it("adds tables and databases, and diffs additions with zero removals", function()
    local cur = assert(dblist.new(CURRENT))
    local new = dblist.new(cur:to_table())
      :add_table("dtstestdata", "orders")
      :add_table("shop", "items", { filter = "id > 10", columns = { "id", "sku" } })
      :add_database("audit")
    local d = cur:diff(new)
    assert.are.same({ "audit", "dtstestdata.orders", "shop.items" }, d.added)
    assert.are.same({}, d.removed)
    assert.are.same({}, d.changed)
    local t = new:to_table()
    assert.are.same({ name = "items", all = false, filter = "id > 10",
      column = { id = { name = "id" }, sku = { name = "sku" } } }, t.shop.Table.items)
    assert.is_false(t.shop.all)
  end)

  it("ignores key order and server-added keys when comparing", function()
    local a = assert(dblist.new('{"db":{"name":"db","all":false,"Table":{"t":{"all":true,"name":"t"}}}}'))
    local b = assert(dblist.new('{"db":{"all":false,"Table":{"t":{"name":"t","all":true,"state":"normal"}},'
      .. '"name":"db","state":"normal"}}'))
    local d = a:diff(b)
    assert.are.same({ added = {}, removed = {}, changed = {} }, d)
    assert.is_true((b:contains(a)))
  end)

  it("sees changes and removals", function()
    local a = assert(dblist.new(CURRENT))
    local b = dblist.new(a:to_table()):remove_table("dtstestdata", "customer")
    assert.are.same({ "dtstestdata.customer" }, a:diff(b).removed)
    local c = dblist.new(a:to_table())
    c.dbs.dtstestdata.Table.customer.filter = "id > 1"
    assert.are.same({ "dtstestdata.customer" }, a:diff(c).changed)
    local ok, missing = c:contains(a)
    assert.is_false(ok)
    assert.are.equal("dtstestdata.customer", missing)
  end)

  it("merges without changing or dropping what is there", function()
    local a = assert(dblist.new(CURRENT))
    local other = { dtstestdata = { name = "x", all = false, Table = {
      customer = { name = "renamed", all = true }, orders = { name = "orders", all = true } } } }
    a:merge(other)
    local t = a:to_table()
    assert.are.equal("customer", t.dtstestdata.Table.customer.name)
    assert.are.equal("orders", t.dtstestdata.Table.orders.name)
    assert.are.equal("dtstestdata", t.dtstestdata.name)
    assert.truthy(t.logs)
  end)

  it("treats a table of a database taken whole as already there", function()
    local a = assert(dblist.new(CURRENT))
    a:add_table("logs", "events")
    assert.is_nil(a:to_table().logs.Table)
  end)

  it("validates the grammar and reports the exact encoded size against 1 MB", function()
    local d = dblist.new():add_table("db", "t")
    local ok, size = d:validate()
    assert.is_true(ok)
    assert.are.equal(#d:to_json(), size)
    for i = 1, 20000 do d:add_table("db", ("table_with_a_long_name_%06d"):format(i)) end
    local err, big
    ok, err, big = d:validate()
    assert.is_nil(ok)
    assert.are.equal(#d:to_json(), big)
    assert.truthy(err.message:find(big .. " bytes of JSON, over the 1048576-byte (1 MB) limit", 1, true))
    d = dblist.new{ db = { name = "db", all = false, Table = { t = { all = true, fitler = "x" } } } }
    ok, err = d:validate()
    assert.is_nil(ok)
    assert.truthy(err.message:find("did you mean filter", 1, true))
  end)
end)
