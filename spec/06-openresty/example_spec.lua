-- examples/openresty: nginx.conf as shipped passes `nginx -t`, and its
-- directives and locations, run with dts_handler.lua against the emulator,
-- do what the example says.  Adapted only where a test must: the port, the
-- paths, the CA (the emulator's), no resolver, the environment's values.
local emulator = require "dts.emulator"
local launch = require "support.openresty_launch"

local EXAMPLE = launch.root .. "/examples/openresty/"

local function read(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("*a")
  f:close()
  return text
end

-- The inside of the first `name {...}` block at the start of a line, and
-- the text without that block.
local function block(text, name)
  local s, e = text:find("\n%s*" .. name .. "%s*{")
  assert(s, "no " .. name .. " block")
  local depth, i = 1, e + 1
  while depth > 0 do
    local c = text:sub(i, i)
    assert(c ~= "", "unbalanced braces after " .. name)
    if c == "{" then depth = depth + 1 elseif c == "}" then depth = depth - 1 end
    i = i + 1
  end
  return text:sub(e + 1, i - 2), text:sub(1, s) .. text:sub(i)
end

-- Drops the lines whose directive is in `drop`; `replace` maps a directive
-- to its new line.
local function directives(text, drop, replace)
  local out = {}
  for line in text:gmatch("[^\n]*") do
    local name = line:match("^%s*([%w_]+)")
    if replace[name] then
      out[#out + 1] = replace[name]
    elseif not drop[name] then
      out[#out + 1] = line
    end
  end
  return table.concat(out, "\n")
end

local function without_comments(text)
  return "\n" .. text:gsub("\n%s*#[^\n]*", "\n"):gsub("^%s*#[^\n]*", "")
end

describe("examples/openresty", function()
  local em, s, env_names

  setup(function()
    local err
    em, err = emulator.start{ state = { jobs = {
      { DtsJobId = "job-example", DtsInstanceId = "inst-example", DbObject = {
        shop = { name = "shop", all = false, Table = { customers = { name = "customers", all = true } } },
      } },
    } }, modifying_seconds = 0 }
    assert(em, err)
    local conf = without_comments(read(EXAMPLE .. "nginx.conf"))
    local http, main = block(conf, "http")
    local server
    server, http = block(http, "server")
    env_names = {}
    for name in main:gmatch("\n%s*env%s+([%w_]+)%s*;") do env_names[#env_names + 1] = name end
    local values = {
      ALIBABA_CLOUD_ACCESS_KEY_ID = em.access_key_id,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET = em.access_key_secret,
      ALIBABA_CLOUD_REGION_ID = "cn-hangzhou",
      ALIBABA_CLOUD_ENDPOINT = em.endpoint, DTS_CONNECT_ADDRESS = "127.0.0.1",
      DTS_QUEUE_INTERVAL = "0.05", DTS_POLL_SECONDS = "0.05",
    }
    -- Every name the example passes on, with the test's value or empty (so
    -- nothing comes from the environment busted runs in).
    local env = {}
    for i, name in ipairs(env_names) do
      env[i] = ("env %s=%s;"):format(name, values[name] or "")
    end
    s, err = launch.start{
      bare = true,
      lua_package_path = EXAMPLE .. "?.lua",
      main = table.concat(env, "\n"),
      http = directives(http, { lua_package_path = true, lua_package_cpath = true, access_log = true }, {
        lua_ssl_trusted_certificate = "  lua_ssl_trusted_certificate " .. em.ca_file .. ";",
        resolver = "", resolver_timeout = "",
      }),
      server = directives(server, { listen = true, server_name = true }, {}),
    }
    assert(s, err)
  end)

  teardown(function()
    if s then s.stop() end
    if em then em.stop() end
  end)

  before_each(function()
    em.clear_log()
  end)

  it("nginx.conf passes nginx -t as shipped", function()
    local dir = s.prefix .. "/verbatim"
    local ok, out = launch.sh(("mkdir -p %s/logs && /usr/sbin/nginx -t -q -p %s/ -c %snginx.conf -e %s/logs/error.log")
      :format(dir, dir, EXAMPLE, dir))
    assert(ok, out)
  end)

  it("passes on the credentials, region and endpoint through env", function()
    for _, name in ipairs{ "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
                           "ALIBABA_CLOUD_REGION_ID", "ALIBABA_CLOUD_ENDPOINT", "DTS_CONNECT_ADDRESS" } do
      assert.truthy(("\0" .. table.concat(env_names, "\0") .. "\0"):find("\0" .. name .. "\0", 1, true), name)
    end
  end)

  local function modifies()
    local out = {}
    for _, r in ipairs(em.requests()) do
      if r.action == "ModifyDtsJob" then out[#out + 1] = r end
    end
    return out
  end

  -- The job's tables, as the emulator holds them.
  local function tables()
    local names = {}
    for name in pairs(em.state()[1].DbObject.shop.Table) do names[#names + 1] = name end
    table.sort(names)
    return table.concat(names, " ")
  end

  it("GET /dts/job/ID describes the job", function()
    local status, out = s.get("/dts/job/job-example")
    assert.equal(200, status, type(out) == "table" and out.error and out.error.message)
    assert.equal("job-example", out.dts_job_id)
    assert.equal("inst-example", out.dts_instance_id)
    assert.equal("synchronizing", out.status)
    assert.truthy(table.concat(out.objects, " "):find("shop.customers", 1, true))
    assert.equal(0, #modifies())
  end)

  it("POST /dts/add-objects adds a table and keeps every other one", function()
    local status, out = s.post("/dts/add-objects", { DtsJobId = "job-example", DtsInstanceId = "inst-example",
      objects = { "shop.orders" }, initialize = false })
    assert.equal(200, status, type(out) == "table" and out.error and out.error.message)
    assert.is_true(out.applied)
    assert.same({ "shop.orders" }, out.plan.added)
    local sent = modifies()
    assert.equal(1, #sent)
    assert.is_true(sent[1].applied)
    assert.equal(out.request_id, sent[1].request_id)
    assert.equal("customers orders", tables())
    -- Again: nothing to do, nothing sent.
    status, out = s.post("/dts/add-objects", { DtsJobId = "job-example", DtsInstanceId = "inst-example",
      objects = { "shop.orders" } })
    assert.equal(200, status)
    assert.is_false(out.applied)
    assert.equal(1, #modifies())
  end)

  it("POST /dts/add-objects with dry_run answers the plan and sends nothing", function()
    local status, out = s.post("/dts/add-objects", { DtsJobId = "job-example", DtsInstanceId = "inst-example",
      objects = { "shop.refunds" }, dry_run = true })
    assert.equal(200, status, type(out) == "table" and out.error and out.error.message)
    assert.is_true(out.dry_run)
    assert.same({ "shop.refunds" }, out.plan.added)
    assert.equal(0, #modifies())
  end)

  it("does not offer the raw, list-replacing ModifyDtsJob", function()
    local status = s.post("/dts/modify", { DtsInstanceId = "inst-example",
      DbList = { shop = { name = "shop", all = false, Table = { x = { name = "x", all = true } } } } })
    assert.equal(404, status)
    local out
    status, out = s.post("/dts/add-objects", { DtsJobId = "job-example", DtsInstanceId = "inst-example",
      DbList = { shop = { name = "shop", all = true } } })
    assert.equal(400, status)
    assert.equal("DbList", out.error.param)
    assert.equal(0, #modifies())
  end)

  it("answers errors as JSON with their kind", function()
    local status, out = s.post("/dts/add-objects", "not json")
    assert.equal(400, status)
    assert.equal("invalid_argument", out.error.kind)
    status, out = s.post("/dts/add-objects", { DtsJobId = "job-example", DtsInstanceId = "inst-example",
      objects = { 5 } })
    assert.equal(400, status)
    assert.equal("invalid_argument", out.error.kind)
    status, out = s.get("/dts/job/no-such-job")
    assert.equal(422, status)
    assert.equal("api", out.error.kind)
    assert.is_string(out.error.code)
    assert.equal(0, #modifies())
  end)

  it("POST /dts/queue answers a ticket at once; the timer adds the objects", function()
    local status, out = s.post("/dts/queue", { DtsJobId = "job-example", DtsInstanceId = "inst-example",
      objects = { "shop.invoices" } })
    assert.equal(202, status)
    local ticket = out.ticket
    assert.matches("^%x+$", ticket)
    local state
    for _ = 1, 200 do
      status, state = s.get("/dts/queue/" .. ticket)
      assert.equal(200, status)
      if state.state ~= "queued" then break end
      launch.sleep(0.02)
    end
    assert.equal("done", state.state, state.error and state.error.message)
    assert.is_true(state.result.applied)
    local sent = modifies()
    assert.equal(1, #sent)
    assert.is_true(sent[1].applied)
    assert.equal(state.result.request_id, sent[1].request_id)
    assert.truthy(tables():find("invoices", 1, true))
    assert.equal(404, (s.get("/dts/queue/0123abc")))
  end)
end)
