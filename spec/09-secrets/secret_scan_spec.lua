-- A distinctive access key secret and STS token through everything that
-- shows text (issue 11, "secret scan"): every error kind and every field of
-- it (a server that echoes the request, in every form, into every field),
-- debug mode, dry runs (the call's and the workflows'), the CLI's text and
-- --json output, a batch checkpoint, and the emulator's logs.  Each is
-- scanned for both secrets in plain, percent-encoded, double-encoded,
-- base64 and JSON-escaped forms (spec/support/secret_scan.lua), and what a
-- failure prints names the form and the place, never the text.
local dts = require "dts"
local emulator = require "dts.emulator"
local errors = require "dts.errors"
local nginx = require "dts.nginx"
local secret_scan = require "support.secret_scan"
local sys = require "dts.sys"

local ID = "LTAIh5ScanKeyId"
local SECRET = "h5-Secret/Scan+Key=Q9~w"
local TOKEN = "CAISh5ScanToken+Sts/Token==Zq7"
local INSTANCE, JOB = "dtsdemoinstance01", "dtsdemojob00001"
local LUA = jit and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))

local scan = secret_scan.new{ SECRET = SECRET, TOKEN = TOKEN }

local function clean(value, where)
  assert.same({}, scan:find_in(value, where))
end

local function clean_error(err, where)
  assert.is_true(errors.is(err), where .. ": not an error object")
  clean(err, where)
  clean(tostring(err), where .. " tostring")
end

local function write(path, text)
  assert(sys.write_file(path, text))
end

local function dblist(...)
  local tables = { customer = { name = "customer", all = true } }
  for _, t in ipairs({ ... }) do tables[t] = { name = t, all = true } end
  return { dtstestdata = { name = "dtstestdata", all = false, Table = tables } }
end

describe("secret scan", function()
  local em, wrong, leaky

  setup(function()
    em = assert(emulator.start{ modifying_seconds = 0.1, access_key_id = ID,
                                access_key_secret = SECRET, security_token = TOKEN,
                                state = { jobs = { { DtsJobId = JOB, DtsInstanceId = INSTANCE,
                                                     DbObject = dblist("orders") } } } })
    -- Knows the token but another secret: every signature differs.
    wrong = assert(emulator.start{ modifying_seconds = 0, access_key_id = ID,
                                   access_key_secret = "another-secret", security_token = TOKEN })
    local cwd = select(2, sys.run("pwd"))
    leaky = assert(nginx.start{
      lua_package_path = cwd .. "/spec/?.lua",
      server = [[
    location / { content_by_lua_block { require("support.leaky_server")() } }
]],
    })
    -- The leaky server also "knows" the secret, as one echoing a string to
    -- sign made with it would.
    write(leaky.prefix .. "/known", SECRET)
  end)

  teardown(function()
    for _, s in ipairs({ em, wrong, leaky }) do
      if s then s.stop() end
    end
  end)

  local function client(server, opts)
    local o = {
      region_id = "cn-hangzhou", endpoint = "localhost:" .. server.port, ca_file = server.ca_file,
      proxy = "", access_key_id = ID, access_key_secret = SECRET, security_token = TOKEN,
      retries = { max_attempts = 1 }, timeout = 5,
    }
    for k, v in pairs(opts or {}) do
      if v == false then o[k] = nil else o[k] = v end
    end
    return assert(dts.new(o))
  end

  local function leaky_mode(mode)
    write(leaky.prefix .. "/mode", mode)
  end

  local function modify(c, extra)
    local p = { DtsInstanceId = INSTANCE, DtsJobId = JOB, DbList = dblist("orders"),
                FilterTableName = "t" }
    for k, v in pairs(extra or {}) do p[k] = v end
    return c:modify_dts_job(p)
  end

  describe("errors of every kind, from a server echoing the request", function()
    for _, scheme in ipairs({ "v3", "v1" }) do
      for _, case in ipairs({
        { "api", "api" }, { "credentials", "credentials" }, { "business", "api" },
        { "signature", "api" }, { "html", "protocol" }, { "drop", "network" },
      }) do
        it(scheme .. ": " .. case[2] .. " (" .. case[1] .. ")", function()
          leaky_mode(case[1])
          local c = client(leaky, { signature = scheme, debug = true })
          local res, err = modify(c)
          assert.is_nil(res)
          assert.are.equal(case[2], err.kind, err.message and #err.message)
          clean_error(err, scheme .. " " .. case[1])
          -- The echo really held the token: redaction did the work.
          if case[1] ~= "drop" and case[1] ~= "html" then
            assert.truthy(tostring(err):find("<redacted>", 1, true))
          end
          c:close()
        end)
      end
    end

    it("timeout, tls, network (nothing listening), invalid_argument", function()
      leaky_mode("slow")
      local c = client(leaky, { timeout = 0.5 })
      local res, err = modify(c)
      assert.is_nil(res)
      assert.are.equal("timeout", err.kind)
      clean_error(err, "timeout")
      c:close()

      c = client(leaky, { ca_file = false })
      leaky_mode("api")
      res, err = modify(c)
      assert.is_nil(res)
      assert.are.equal("tls", err.kind)
      clean_error(err, "tls")
      c:close()

      c = client({ port = nginx.random_port(), ca_file = leaky.ca_file })
      res, err = modify(c)
      assert.is_nil(res)
      assert.are.equal("network", err.kind)
      clean_error(err, "network")

      -- A parameter that echoes its value in the message, after a call
      -- made with these credentials.
      res, err = modify(c, { SynchronizationDirection = TOKEN })
      assert.is_nil(res)
      assert.are.equal("invalid_argument", err.kind)
      clean_error(err, "invalid_argument")
      res, err = modify(c, { DbList = { dtstestdata = { name = SECRET } } })
      assert.is_nil(res)
      assert.are.equal("invalid_argument", err.kind)
      clean_error(err, "invalid_argument")
      c:close()
    end)
  end)

  it("debug mode: SignatureDoesNotMatch with both strings to sign, V1 and V3", function()
    for _, scheme in ipairs({ "v1", "v3" }) do
      local c = client(wrong, { signature = scheme, debug = true })
      local res, err = c:describe_dts_job_detail{ DtsJobId = JOB }
      assert.is_nil(res)
      assert.are.equal("SignatureDoesNotMatch", err.code)
      assert.truthy(err.message:find("strings to sign", 1, true), scheme)
      clean_error(err, scheme .. " debug")
      c:close()
    end
  end)

  it("dry runs: the call's and the workflows'", function()
    for _, scheme in ipairs({ "v1", "v3" }) do
      local c = client(em, { signature = scheme })
      local req = assert(c:modify_dts_job({ DtsInstanceId = INSTANCE, DtsJobId = JOB,
        FilterTableName = TOKEN, Reserved = { note = SECRET } }, { dry_run = true }))
      clean(req, scheme .. " modify dry run")
      req = assert(c:describe_dts_job_detail({ DtsJobId = JOB }, { dry_run = true }))
      clean(req, scheme .. " describe dry run")
      local plan = assert(c:add_objects{ DtsJobId = JOB, DtsInstanceId = INSTANCE,
        objects = { "dtstestdata.scan_" .. scheme }, initialize = false, dry_run = true,
        interval = 0.05 })
      clean(plan, scheme .. " add_objects dry run")
      plan = assert(c:remove_objects{ DtsJobId = JOB, DtsInstanceId = INSTANCE,
        objects = { "dtstestdata.customer" }, dry_run = true, interval = 0.05 })
      clean(plan, scheme .. " remove_objects dry run")
      c:close()
    end
  end)

  it("a batch checkpoint", function()
    local path = os.tmpname()
    os.remove(path)
    local c = client(em)
    local res, err = c:add_objects_in_batches{ DtsJobId = JOB, DtsInstanceId = INSTANCE,
      objects = { "dtstestdata.cp1", "dtstestdata.cp2", "dtstestdata.cp3" }, batch_size = 2,
      initialize = false, checkpoint = path, interval = 0.05, timeout = 20 }
    assert(res, err and tostring(err))
    local text = assert(sys.read_file(path))
    os.remove(path)
    assert.truthy(#text > 0)
    clean(text, "checkpoint")
    c:close()
  end)

  describe("the dts command", function()
    local function quote(s) return sys.quote(s) end

    -- Runs `dts <args>` with the secrets in the environment; the output.
    local function run(args, server)
      local out = os.tmpname()
      local cmd = ("unset LD_PRELOAD; ALIBABA_CLOUD_ACCESS_KEY_ID=%s ALIBABA_CLOUD_ACCESS_KEY_SECRET=%s "
        .. "ALIBABA_CLOUD_SECURITY_TOKEN=%s ALIBABA_CLOUD_REGION_ID=cn-hangzhou %s bin/dts %s "
        .. "--endpoint localhost:%d --ca-file %s >%s 2>&1; echo $?"):format(quote(ID), quote(SECRET),
        quote(TOKEN), LUA, args, server.port, quote(server.ca_file), out)
      local p = io.popen(cmd)
      local code = tonumber(p:read("*a"))
      p:close()
      local text = sys.read_file(out)
      os.remove(out)
      return code, text
    end

    it("prints no secret in text or --json, for errors and dry runs", function()
      local modify_args = "modify --dts-instance-id " .. INSTANCE .. " --dts-job-id " .. JOB
        .. " --db-list '{\"d\":{\"name\":\"d\",\"all\":true}}'"
      for _, mode in ipairs({ "api", "credentials", "business", "signature", "html" }) do
        leaky_mode(mode)
        for _, json in ipairs({ "", " --json" }) do
          for _, sig in ipairs({ "", (mode == "api" or mode == "signature") and " --signature v1" or nil }) do
            local code, text = run(modify_args .. json .. sig, leaky)
            assert.truthy(code == 3 or code == 4, mode .. json .. sig .. ": exit " .. tostring(code))
            clean(text, "dts " .. mode .. json .. sig)
          end
        end
      end
      leaky_mode("api")
      local code, text = run("describe --dts-job-id " .. JOB .. " --json", leaky)
      assert.are.equal(3, code)
      clean(text, "dts describe --json")
      for _, args in ipairs({
        modify_args .. " --filter-table-name " .. quote(TOKEN) .. " --dry-run",
        modify_args .. " --dry-run --json --signature v1",
        "describe --dts-job-id " .. JOB .. " --dry-run --json",
        "add-objects --dts-job-id " .. JOB .. " --dts-instance-id " .. INSTANCE
          .. " --no-initialize --dry-run dtstestdata.cli",
        "add-objects --dts-job-id " .. JOB .. " --dts-instance-id " .. INSTANCE
          .. " --no-initialize --dry-run --json dtstestdata.cli",
      }) do
        code, text = run(args, em)
        assert.are.equal(0, code, args .. ": exit " .. tostring(code))
        clean(text, "dts " .. args:match("^%S+") .. " dry run")
      end
    end)
  end)

  it("the emulator's request log and nginx's error log", function()
    -- The token and the secret inside a parameter, signed both ways, and
    -- calls the emulator refuses.
    for _, scheme in ipairs({ "v1", "v3" }) do
      local c = client(em, { signature = scheme })
      modify(c, { FilterTableName = "t-" .. TOKEN .. "-" .. SECRET })
      c:describe_dts_job_detail{ DtsJobId = "no-such-job" }
      c:close()
      c = client(wrong, { signature = scheme })
      c:describe_dts_job_detail{ DtsJobId = JOB }
      c:close()
    end
    for _, server in ipairs({ em, wrong }) do
      local log = assert(sys.read_file(server.log_file))
      assert.truthy(#log > 0)
      clean(log, "request log")
      clean(server.error_log(), "error log")
    end
  end)
end)
