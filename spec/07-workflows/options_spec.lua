-- Workflows and the DbList builder are as strict as the core: every option
-- name and type is checked before anything is sent (the emulator's log
-- stays empty), misspellings get a "did you mean", the API's aliases work,
-- and no value raises.
local dts = require "dts"
local dblist = require "dts.dblist"
local emulator = require "dts.emulator"
local errors = require "dts.errors"
local options = require "dts.options"
local specs = require "dts.workflows.options"

local JOB, INSTANCE = "optsjob", "optsinstance"

describe("workflow options", function()
  local em, c

  setup(function()
    em = assert(emulator.start{ modifying_seconds = 0.1, state = { jobs = { {
      DtsJobId = JOB, DtsInstanceId = INSTANCE, Status = "synchronizing",
      DbObject = { shop = { name = "shop", all = false, Table = { orders = { name = "orders", all = true } } } },
      Reserved = { syncArchitecture = "oneway" } } } } })
    c = assert(dts.new{ region_id = "cn-hangzhou", endpoint = em.endpoint, ca_file = em.ca_file, proxy = "",
      access_key_id = em.access_key_id, access_key_secret = em.access_key_secret })
  end)

  teardown(function()
    if em then em.stop() end
  end)

  local function with(t)
    local o = { DtsJobId = JOB, DtsInstanceId = INSTANCE, interval = 0.05, timeout = 5 }
    for k, v in pairs(t or {}) do o[k] = v end
    return o
  end

  -- Calls client[method](opts) and checks: no raise, invalid_argument,
  -- nothing at all reached the emulator.  Returns the error.
  local function refused(method, opts)
    em.clear_log()
    local ok, res, err = pcall(c[method], c, opts)
    assert.is_true(ok, "raised: " .. tostring(res))
    assert.is_nil(res)
    assert.is_true(errors.is(err), "not an error object")
    assert.are.equal("invalid_argument", err.kind)
    assert.are.equal(0, #em.requests(), "a request went out")
    return err
  end

  describe("misspelled options are refused before any request, with a did-you-mean", function()
    local cases = {
      { "add_objects", { objects = { "shop.items" }, dryrun = true, initialise = true }, { "dry_run", "initialize" } },
      { "remove_objects", { objetcs = { "shop.orders" } }, { "objects" } },
      { "add_objects_in_batches", { objects = { "shop.items" }, dry_runn = true }, { "dry_run" } },
      { "add_objects_in_batches", { objects = { "shop.items" }, batch_sise = 5 }, { "batch_size" } },
      { "wait_idle", { intervall = 1 }, { "interval" } },
    }
    for _, case in ipairs(cases) do
      local method, opts, hints = case[1], case[2], case[3]
      it(method, function()
        local err = refused(method, with(opts))
        local found = false
        for _, hint in ipairs(hints) do
          if err.message:find("did you mean " .. hint .. "?", 1, true) then found = true end
        end
        assert.is_true(found, err.message)
        assert.truthy(err.message:find("not an option of " .. method, 1, true), err.message)
      end)
    end
  end)

  it("takes the aliases modify_dts_job takes, and refuses two different values for one option", function()
    em.clear_log()
    local r, err = c:add_objects{ dts_job_id = JOB, dts_instance_id = INSTANCE,
      synchronization_direction = "Forward", client_token = "alias-token-1",
      objects = { "shop.items" }, dry_run = true }
    assert(r, err and tostring(err))
    assert.is_true(r.dry_run)
    assert.are.equal("alias-token-1", r.client_token)
    assert.truthy(r.request.url:find("ClientToken=alias-token-1", 1, true))
    local j
    j, err = c:wait_idle{ dts_job_id = JOB, interval = 0.05, timeout = 5 }
    assert(j, err and tostring(err))
    for _, e in ipairs(em.requests()) do assert.are_not.equal("ModifyDtsJob", e.action) end
    err = refused("add_objects", with{ dts_job_id = "other", objects = { "shop.items" } })
    assert.truthy(err.message:find("given as both DtsJobId and dts_job_id", 1, true), err.message)
    err = refused("add_objects", { DtsInstanceId = INSTANCE, objects = { "shop.items" } })
    assert.are.equal("DtsJobId", err.param)
    assert.truthy(err.message:find("missing; add_objects needs it (or dts_job_id)", 1, true), err.message)
  end)

  it("checks every type, and never raises (issue 11: interval = -1, columns = \"x\")", function()
    local cases = {
      { "wait_idle", { interval = -1 }, "interval" },
      { "wait_idle", { interval = "5" }, "interval" },
      { "wait_idle", { interval = 0 }, "interval" },
      { "wait_idle", { interval = 0 / 0 }, "interval" },
      { "wait_idle", { timeout = "x" }, "timeout" },
      { "wait_idle", { timeout = -3 }, "timeout" },
      { "wait_idle", { timeout = math.huge }, "timeout" },
      { "wait_idle", { on_status = "print" }, "on_status" },
      { "add_objects", { objects = { { db = "shop", table = "items", columns = "x" } } }, "objects[1].columns" },
      { "add_objects", { objects = { { db = "shop", table = "items", columns = {} } } }, "objects[1].columns" },
      { "add_objects", { objects = { { db = "shop", table = "items", columns = { 1, 2 } } } }, "objects[1].columns" },
      { "add_objects", { objects = { { db = "shop", filter = "id > 1" } } }, "objects[1].filter" },
      { "add_objects", { objects = { { db = "shop", tabel = "items" } } }, "objects[1].tabel" },
      { "add_objects", { objects = { { table = "items" } } }, "objects[1].db" },
      { "add_objects", { objects = { 42 } }, "objects[1]" },
      { "add_objects", { objects = { "shop." } }, "objects[1]" },
      { "add_objects", { objects = { "shop.items", extra = true } }, "objects" },
      { "add_objects", { objects = {} }, "objects" },
      { "add_objects", { objects = "shop.items" }, "objects" },
      { "add_objects", { objects = { "shop.items" }, initialize = "yes" }, "initialize" },
      { "add_objects", { objects = { "shop.items" }, SynchronizationDirection = "Sideways" },
        "SynchronizationDirection" },
      { "add_objects", { objects = { "shop.items" }, ClientToken = ("t"):rep(65) }, "ClientToken" },
      { "add_objects", { objects = { "shop.items" }, ClientToken = "" }, "ClientToken" },
      { "add_objects", { objects = { "shop.items" }, DtsJobId = 5 }, "DtsJobId" },
      { "add_objects", { objects = { "shop.items" }, DtsInstanceId = "" }, "DtsInstanceId" },
      { "add_objects", { objects = { "shop.items" }, widen = 1 }, "widen" },
      { "remove_objects", { objects = { "shop.orders" }, dry_run = "no" }, "dry_run" },
      { "add_objects_in_batches", { objects = { "shop.a" }, batch_size = 0 }, "batch_size" },
      { "add_objects_in_batches", { objects = { "shop.a" }, batch_size = 1.5 }, "batch_size" },
      { "add_objects_in_batches", { objects = { "shop.a" }, batch_size = "10" }, "batch_size" },
      { "add_objects_in_batches", { objects = { "shop.a" }, on_progress = 5 }, "on_progress" },
      { "add_objects_in_batches", { objects = { "shop.a" }, checkpoint = "" }, "checkpoint" },
      { "add_objects_in_batches", { objects = { "shop.a" }, ClientToken = ("t"):rep(62) }, "ClientToken" },
    }
    for _, case in ipairs(cases) do
      local err = refused(case[1], with(case[2]))
      assert.are.equal(case[3], err.param, case[1] .. ": " .. tostring(err))
      assert.truthy(err.message:find(case[3], 1, true), err.message)
    end
    for _, bad in ipairs({ 5, "x", true }) do
      for _, method in ipairs({ "add_objects", "remove_objects", "add_objects_in_batches", "wait_idle" }) do
        local err = refused(method, bad)
        assert.truthy(err.message:find(method .. " expects a table of options", 1, true), err.message)
      end
    end
    local err = refused("add_objects", { [1] = "shop.items" })
    assert.truthy(err.message:find("named options", 1, true), err.message)
  end)

  it("documents every workflow's options in the README, generated from the same tables", function()
    local f = assert(io.open("README.md", "rb"))
    local readme = f:read("*a")
    f:close()
    for _, name in ipairs({ "add_objects", "remove_objects", "add_objects_in_batches", "wait_idle" }) do
      assert.truthy(readme:find(options.markdown(specs[name]), 1, true),
        "regenerate with: lua5.4 -e 'package.path=\"lua/?.lua;lua/?/init.lua;\"..package.path "
        .. "io.write(require\"dts.options\".markdown(require\"dts.workflows.options\"." .. name .. "))'")
    end
  end)
end)

describe("dts.dblist methods", function()
  local function bad(ok, err)
    assert.is_nil(ok)
    assert.is_true(errors.is(err), "not an error object: " .. tostring(err))
    assert.are.equal("invalid_argument", err.kind)
    return err
  end

  it("check their options, say did-you-mean, and return error objects", function()
    local d = dblist.new()
    local err = bad(d:add_table("shop", "items", { fitler = "id > 1" }))
    assert.truthy(err.message:find("did you mean filter?", 1, true), err.message)
    err = bad(d:add_table("shop", "items", { columns = "x" }))
    assert.are.equal("columns", err.param)
    bad(d:add_table("shop", "items", { filter = 5 }))
    bad(d:add_table("shop", "items", 7))
    bad(d:add_table("shop", ""))
    bad(d:add_database("shop", { filter = "x" }))
    bad(d:add_database(nil))
    bad(d:remove_table("shop", nil))
    bad(d:remove_database(5))
    assert(d:add_table("shop", "items", { columns = { id = "item_id" }, filter = "id > 1" }))
    assert.are.same({ id = { name = "item_id" } }, d:to_table().shop.Table.items.column)
  end)

  it("refuse other values instead of raising", function()
    local d = assert(dblist.new{ shop = { name = "shop", all = true } })
    for _, v in ipairs({ 5, "x", true }) do
      bad(d:merge(v))
      bad(d:diff(v))
      bad(d:contains(v))
    end
    bad(d:merge({ shop = 5 }))
    bad(d:diff({ shop = { Table = 5 } }))
    bad(dblist.new(5))
    bad(dblist.new("[1"))
    bad(dblist.new({ shop = "x" }))
    -- Without the colon: an error, not a raise.
    local ok, res, err = pcall(dblist.add_table, "shop", "t")
    assert.is_true(ok)
    bad(res, err)
    for _, m in ipairs({ "names", "to_table", "to_json", "validate", "remove_database" }) do
      ok, res, err = pcall(dblist[m], nil)
      assert.is_true(ok, m)
      bad(res, err)
    end
  end)
end)
