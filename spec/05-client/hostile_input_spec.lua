-- Every kind of Lua value at every argument and option of the public client
-- API (issue 11 item 11): dts.new, client:modify_dts_job,
-- client:describe_dts_job_detail, the workflow methods, and the default
-- client's dts.modify_dts_job and dts.describe_dts_job_detail.  Whatever
-- comes in, the answer is a result or nil and an error object: never a Lua
-- error, never a crash.  A value of the wrong type is invalid_argument and
-- nothing is sent.  Calls that pass go to the local emulator only.
local dts = require "dts"
local emulator = require "dts.emulator"
local errors = require "dts.errors"
local schema = require "dts.schema"

local INSTANCE, JOB = "dtsdemoinstance01", "dtsdemojob00001"
local LUA = jit and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))

-- label -> value; nil is given by position (see each_value).
local function hostile()
  local closed = io.tmpfile()
  closed:close()
  local function mt(fields)
    return setmetatable({}, fields)
  end
  local boom = function() error("boom", 0) end
  return {
    { "nil", nil }, { "true", true }, { "false", false },
    { "0", 0 }, { "-1", -1 }, { "1.5", 1.5 }, { "NaN", 0 / 0 }, { "inf", math.huge },
    { "-inf", -math.huge }, { "2^63", 2 ^ 63 },
    { '""', "" }, { '"x"', "x" }, { "a long string", ("x"):rep(100000) },
    { '"\\0"', "\0" }, { '"\\255"', "\255" }, { '"a\\r\\nb"', "a\r\nb" },
    { "a function", function() end }, { "a raising function", boom },
    { "a coroutine", coroutine.create(function() end) },
    { "userdata (a file)", io.stdout }, { "userdata (a closed file)", closed },
    { "{}", {} }, { "{1,2,3}", { 1, 2, 3 } }, { "a table that contains itself", (function()
      local t = {}
      t.self = t
      t[1] = t
      return t
    end)() },
    { "__index raises", mt({ __index = boom }) },
    { "__pairs raises", mt({ __pairs = boom }) },
    { "__tostring raises", mt({ __tostring = boom }) },
    { "__newindex, __len, __eq, __call, __concat raise", mt({ __newindex = boom, __len = boom,
      __eq = boom, __call = boom, __concat = boom, __lt = boom, __le = boom }) },
    { "__metatable locked, __index raises", mt({ __metatable = "locked", __index = boom }) },
    { "__gc raises", mt({ __gc = boom }) },
  }
end

local VALUES = hostile()

local function each_value(fn)
  for _, case in ipairs(VALUES) do
    fn(case[2], case[1])
  end
end

-- What a public function must answer: a result, or nil and an error object
-- (with a string kind and message, printable).  The error when wrong.
local function outcome(ok, res, err)
  if not ok then
    return "raised: " .. tostring(res)
  end
  if res ~= nil then
    return nil
  end
  if not errors.is(err) then
    return "nil and a " .. type(err) .. " instead of an error object"
  end
  if type(err.kind) ~= "string" or type(err.message) ~= "string" then
    return "an error without kind or message"
  end
  local shown, text = pcall(tostring, err)
  if not shown or type(text) ~= "string" then
    return "tostring(err) raised"
  end
  return nil
end

-- Collects what is wrong over many calls, then fails once with all of it.
local function sweep()
  local s = { wrong = {}, calls = 0 }
  function s.check(label, expect_invalid, f, ...)
    s.calls = s.calls + 1
    local ok, res, err = pcall(f, ...)
    local why = outcome(ok, res, err)
    if not why and expect_invalid then
      if res ~= nil then
        why = "accepted"
      elseif err.kind ~= "invalid_argument" then
        why = "kind " .. err.kind .. " (" .. err.message .. ")"
      elseif err.attempts and err.attempts ~= 0 then
        why = "sent " .. err.attempts .. " times"
      end
    end
    if why then
      s.wrong[#s.wrong + 1] = label .. ": " .. why
    end
  end
  function s.done()
    assert.are.equal(0, #s.wrong, #s.wrong .. " of " .. s.calls .. " calls:\n"
      .. table.concat(s.wrong, "\n"))
  end
  return s
end

-- The type dts.new takes for each of its options (README), nil: anything.
local NEW_OPTIONS = {
  region_id = "string", access_key_id = "string", access_key_secret = "string",
  security_token = "string", credentials = "table", endpoint = "string",
  protocol = "string", signature = "string", ca_file = "string", ca_path = "string",
  client_cert = "string", client_key = "string", proxy = "string", no_proxy = "string",
  connect_timeout = "number", timeout = "number", retries = "table", transport = false,
  connect_address = "string", insecure_host = "string", user_agent = "string",
  max_response_size = "number", debug = "boolean", shared_dict = "string",
  wait_modifying = "number",
}

local CALL_OPTIONS = { dry_run = "boolean", wait_modifying = "number", timeout = "number",
                       connect_timeout = "number" }

-- What a parameter of the schema takes, by Lua type.
local function takes(p, v)
  if p.type == "string" then return type(v) == "string" end
  if p.type == "boolean" then return type(v) == "boolean" or v == "true" or v == "false" end
  return type(v) == "table" or type(v) == "string"
end

describe("the public client API under hostile values", function()
  local em, base

  setup(function()
    em = assert(emulator.start{ modifying_seconds = 0 })
    base = {
      region_id = "cn-hangzhou", endpoint = em.endpoint, ca_file = em.ca_file, proxy = "",
      access_key_id = em.access_key_id, access_key_secret = em.access_key_secret,
      retries = { max_attempts = 1 }, timeout = 10,
    }
  end)

  teardown(function()
    if em then em.stop() end
  end)

  local function options(k, v)
    local o = {}
    for name, x in pairs(base) do o[name] = x end
    if k ~= nil then o[k] = v end
    return o
  end

  local function client()
    return assert(dts.new(options()))
  end

  it("dts.new: as the options table, as each option, as an option name", function()
    local s = sweep()
    each_value(function(v, label)
      s.check("dts.new(" .. label .. ")", v ~= nil and type(v) ~= "table", dts.new, v)
      if v ~= nil and v == v and type(v) ~= "string" then
        s.check("dts.new{ [" .. label .. "] = 1 }", true, dts.new, { [v] = 1 })
      end
      for name, want in pairs(NEW_OPTIONS) do
        local wrong = v ~= nil and want and type(v) ~= want
        local o = options(name, v)
        local made
        s.check("dts.new " .. name .. " = " .. label, wrong, function()
          made = dts.new(o)
          return made, select(2, dts.new(o))
        end)
        if made then
          -- The client made with it, in a call that goes out.
          s.check("dts.new " .. name .. " = " .. label .. ", then a call", false,
            made.describe_dts_job_detail, made, { DtsJobId = JOB })
          pcall(made.close, made)
        end
      end
    end)
    s.done()
  end)

  for _, method in ipairs({ "modify_dts_job", "describe_dts_job_detail" }) do
    local def = schema[method == "modify_dts_job" and "ModifyDtsJob" or "DescribeDtsJobDetail"]
    local function params()
      if method == "modify_dts_job" then
        return { DtsInstanceId = INSTANCE, DtsJobId = JOB,
                 DbList = { dtstestdata = { name = "dtstestdata", all = true } } }
      end
      return { DtsJobId = JOB }
    end

    it("client:" .. method .. ": as the parameters, as each parameter, as a name", function()
      local c = client()
      local s = sweep()
      each_value(function(v, label)
        s.check(method .. "(" .. label .. ")", type(v) ~= "table", c[method], c, v, { dry_run = true })
        if v ~= nil and v == v and type(v) ~= "string" then
          local p = params()
          p[v] = 1
          s.check(method .. "{ [" .. label .. "] = 1 }", true, c[method], c, p, { dry_run = true })
        end
        for _, p in ipairs(def.params) do
          for _, key in ipairs({ p.name, p.alias }) do
            local t = params()
            t[p.name] = nil
            t[key] = v
            local wrong = v ~= nil and not takes(p, v)
            s.check(method .. " " .. key .. " = " .. label, wrong, c[method], c, t, { dry_run = true })
          end
        end
        for name, want in pairs({ dry_run = "boolean", wait_modifying = "number" }) do
          local t = params()
          t[name] = v
          s.check(method .. " params." .. name .. " = " .. label,
            v ~= nil and type(v) ~= want, c[method], c, t, { dry_run = name ~= "dry_run" or nil })
        end
      end)
      c:close()
      s.done()
    end)

    it("client:" .. method .. ": as the options, as each option, as an option name", function()
      local c = client()
      local s = sweep()
      each_value(function(v, label)
        s.check(method .. "(params, " .. label .. ")", v ~= nil and type(v) ~= "table",
          c[method], c, params(), v)
        if v ~= nil and v == v then
          s.check(method .. "(params, { [" .. label .. "] = true })", true,
            c[method], c, params(), { [v] = true })
        end
        for name, want in pairs(CALL_OPTIONS) do
          -- Sent for real (to the emulator), so timeouts reach the transport.
          local o = { [name] = v }
          s.check(method .. " option " .. name .. " = " .. label, v ~= nil and type(v) ~= want,
            c[method], c, params(), o)
        end
      end)
      c:close()
      s.done()
    end)
  end

  it("refuses non-finite and negative wait_modifying, empty required values, bad regions", function()
    local c = client()
    em.clear_log()
    for _, case in ipairs({
      { { DtsInstanceId = INSTANCE, DtsJobId = JOB }, { wait_modifying = 0 / 0 }, "wait_modifying" },
      { { DtsInstanceId = INSTANCE, DtsJobId = JOB }, { wait_modifying = -1 }, "wait_modifying" },
      { { DtsInstanceId = INSTANCE, DtsJobId = JOB }, { wait_modifying = math.huge }, "wait_modifying" },
      { { DtsInstanceId = "" }, nil, "DtsInstanceId" },
      { { dts_instance_id = "" }, nil, "DtsInstanceId" },
      { { DtsInstanceId = INSTANCE, RegionId = "" }, nil, "RegionId" },
      { { DtsInstanceId = INSTANCE, RegionId = "evil.example.com:443" }, nil, "RegionId" },
      { { DtsInstanceId = INSTANCE, region_id = "CN-HANGZHOU" }, nil, "RegionId" },
    }) do
      local res, err = c:modify_dts_job(case[1], case[2])
      assert.is_nil(res)
      assert.are.equal("invalid_argument", err.kind, tostring(err))
      assert.are.equal(case[3], err.param, tostring(err))
      assert.are.equal(0, err.attempts)
    end
    assert.are.equal(0, #em.requests())
    for _, region in ipairs({ "", "evil.example.com:443", "a/b", "cn hangzhou", "x\0y" }) do
      local made, err = dts.new(options("region_id", region))
      assert.is_nil(made)
      assert.are.equal("region_id", err.param, tostring(err))
      made, err = dts.new({ access_key_id = "a", access_key_secret = "b" },
        function(k) return k == "ALIBABA_CLOUD_REGION_ID" and region or nil end)
      if region == "" then -- empty in the environment: unset
        assert(made, err and tostring(err))
      else
        assert.is_nil(made)
        assert.are.equal("ALIBABA_CLOUD_REGION_ID", err.param, tostring(err))
      end
    end
    c:close()
  end)

  it("client:modify_dts_job() with nothing, and with a second argument that is not a table", function()
    local c = client()
    local res, err = c:modify_dts_job()
    assert.is_nil(res)
    assert.is_true(errors.is(err), "not an error object: " .. tostring(err))
    assert.are.equal("invalid_argument", err.kind)
    assert.are.equal(0, err.attempts)
    for _, opts in ipairs({ "x", 1, true, print }) do
      res, err = c:modify_dts_job({ DtsInstanceId = INSTANCE }, opts)
      assert.is_nil(res)
      assert.are.equal("invalid_argument", err.kind)
    end
    c:close()
  end)

  it("the workflow methods: as their only argument", function()
    local c = client()
    local s = sweep()
    each_value(function(v, label)
      for _, method in ipairs({ "wait_idle", "add_objects", "remove_objects",
                                "add_objects_in_batches" }) do
        s.check(method .. "(" .. label .. ")", false, c[method], c, v)
      end
    end)
    c:close()
    s.done()
  end)

  it("dts.modify_dts_job and dts.describe_dts_job_detail (the default client)", function()
    -- A process of its own: the default client reads the environment (under
    -- the sanitizers too, when this runs under them: LD_PRELOAD is kept).
    local script = os.tmpname()
    local f = assert(io.open(script, "wb"))
    f:write(([[
package.path = %q
package.cpath = %q
local dts = require "dts"
local errors = require "dts.errors"
local n, bad = 0, 0
local function hostile()
%s
end
for _, name in ipairs({ "modify_dts_job", "describe_dts_job_detail" }) do
  for _, a in ipairs(hostile()) do
    for _, b in ipairs(hostile()) do
      n = n + 1
      local ok, res, err = pcall(dts[name], a[2], b[2])
      if not ok or (res == nil and not errors.is(err)) then
        bad = bad + 1
        print(("%%s(%%s, %%s): %%s"):format(name, a[1], b[1], tostring(ok and err or res)))
      end
    end
  end
end
print(("%%d calls, %%d wrong"):format(n, bad))
]]):format(package.path, package.cpath, "  return {\n"
      .. "    { 'nil', nil }, { 'true', true }, { 'NaN', 0 / 0 }, { '\"x\"', 'x' },\n"
      .. "    { 'a function', print }, { 'a coroutine', coroutine.create(function() end) },\n"
      .. "    { 'userdata', io.stdout }, { '{}', {} },\n"
      .. "    { '__index raises', setmetatable({}, { __index = function() error('boom') end }) },\n"
      .. "    { '__pairs raises', setmetatable({}, { __pairs = function() error('boom') end }) },\n"
      .. "    { 'params', { DtsInstanceId = 'dtsdemoinstance01', DtsJobId = 'dtsdemojob00001' } },\n"
      .. "    { 'dry run', { dry_run = true } },\n"
      .. "  }"))
    f:close()
    local env = ("ALIBABA_CLOUD_ACCESS_KEY_ID=%s ALIBABA_CLOUD_ACCESS_KEY_SECRET=%s "
      .. "ALIBABA_CLOUD_REGION_ID=cn-hangzhou ALIBABA_CLOUD_ENDPOINT=%s DTS_CA_FILE=%s "
      .. "SSL_CERT_FILE=%s"):format(em.access_key_id, em.access_key_secret, em.endpoint,
      em.ca_file, em.ca_file)
    local p = io.popen(env .. " " .. LUA .. " " .. script .. " 2>&1")
    local out = p:read("*a")
    p:close()
    os.remove(script)
    assert.truthy(out:find("%d+ calls, 0 wrong"), out)
  end)
end)
