-- The refreshing cache, with an injected clock against the emulator's STS:
-- stale at Expiration - 15 min and not a second earlier, the old
-- credential kept (with a warning) while a refresh fails and it has more
-- than a minute left, the retry on InvalidSecurityToken.Expired, one
-- refresh in flight, and credentials that arrive short-lived or expired.
local creds = require "support.creds"
local emulator = require "dts.emulator"
local refresh = require "dts.credentials.refresh"

local DBLIST = { db = { name = "db", all = true } }

describe("credential refresh", function()
  local em

  setup(function()
    em = assert(emulator.start{ modifying_seconds = 0 })
  end)

  teardown(function()
    if em then em.stop() end
  end)

  before_each(function()
    assert(em.set_faults{})
    em.clear_log()
  end)

  -- A ram_role_arn client whose clock is `clock.now` (nil: real time), and
  -- the warnings it reported.
  local function role_client(clock, extra)
    local warnings = {}
    local spec = { type = "ram_role_arn", access_key_id = em.access_key_id,
      access_key_secret = em.access_key_secret, role_arn = em.role_arn,
      clock = function() return clock.now or os.time() end }
    local c = creds.client(em, { credentials = spec, sts_endpoint = em.sts_endpoint,
      on_warning = function(message) warnings[#warnings + 1] = message end })
    for k, v in pairs(extra or {}) do c[k] = v end
    return c, warnings
  end

  local function works(c)
    local res, err = creds.describe(c)
    assert(res, err and tostring(err))
  end

  local function assume_roles() return creds.count(em, "AssumeRole") end

  it("keeps a credential until Expiration - 15 min, then refreshes it before signing", function()
    local clock = {}
    local c = role_client(clock)
    works(c)
    assert.equal(1, assume_roles())
    local e = c.credentials.state().expiration
    clock.now = e - 901
    works(c)
    assert.equal(1, assume_roles())
    clock.now = e - 900
    works(c)
    assert.equal(2, assume_roles())
    -- The DTS call after the refresh was signed with the new credential.
    local log = em.requests()
    assert.equal(log[#log - 1].issued_access_key_id, log[#log].access_key_id)
    clock.now = nil
    works(c)
    assert.equal(2, assume_roles())
  end)

  it("goes on with the old credential while a refresh fails and it has more than 60 s, warning", function()
    local clock = {}
    local c, warnings = role_client(clock)
    works(c)
    local first = em.requests()[2].access_key_id
    local e = c.credentials.state().expiration
    assert(em.set_faults{ { kind = "no_permission", action = "AssumeRole" } })
    clock.now = e - 899
    works(c)
    assert.equal(2, assume_roles())
    assert.equal(1, #warnings)
    assert.matches("STS AssumeRole at " .. em.sts_endpoint .. ": refresh failed, going on with the "
      .. "current credential", warnings[1], 1, true)
    assert.matches("You are not authorized", warnings[1], 1, true)
    local log = em.requests()
    assert.equal(first, log[#log].access_key_id)
    -- Not asked again on every call: the next try waits a little.
    works(c)
    assert.equal(2, assume_roles())
    clock.now = e - 890
    works(c)
    assert.equal(3, assume_roles())
    assert.equal(2, #warnings)
    -- With a minute left, the failure is the call's error; nothing sent.
    clock.now = e - 59
    em.clear_log()
    local res, err = c:modify_dts_job{ DtsInstanceId = "dtsdemoinstance01", DbList = DBLIST }
    assert.is_nil(res)
    assert.same({ "credentials", "NoPermission", 403, 0 }, { err.kind, err.code, err.http_status, err.attempts })
    assert.equal(0, creds.count(em, "ModifyDtsJob"))
    -- STS works again: so does the client.
    assert(em.set_faults{})
    works(c)
    for _, w in ipairs(warnings) do creds.secret_free(w, { em.access_key_secret }) end
  end)

  it("reports the fallback on stderr when no on_warning is given", function()
    -- In a child process: its stderr is the default hook.  The second
    -- AssumeRole (the refresh) is refused.
    assert(em.set_faults{ { kind = "no_permission", action = "AssumeRole", every = 2 } })
    local script = ([[
      package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
      local dts = require "dts"
      local now
      local c = assert(dts.new({ region_id = "cn-hangzhou", endpoint = %q, ca_file = %q, proxy = "",
        sts_endpoint = %q, credentials = { type = "ram_role_arn", access_key_id = %q,
        access_key_secret = %q, role_arn = %q, clock = function() return now or os.time() end } },
        function() return nil end))
      assert(c:describe_dts_job_detail{ DtsJobId = "dtsdemojob00001" })
      now = os.time() + 3600 - 890
      assert(c:describe_dts_job_detail{ DtsJobId = "dtsdemojob00001" })
      print("done")
    ]]):format(em.endpoint, em.ca_file, em.sts_endpoint, em.access_key_id, em.access_key_secret, em.role_arn)
    local file = creds.write(os.tmpname(), script)
    local abi = jit and "luajit" or _VERSION:match("%d+%.%d+")
    local lua = jit and "luajit" or "lua" .. abi
    local ok, out = require("dts.sys").run(("LUA_CPATH='build/%s/?.so;;' %s %s"):format(abi, lua, file))
    os.remove(file)
    assert(ok, out)
    assert.matches("lua-dts: warning: STS AssumeRole at " .. em.sts_endpoint .. ": refresh failed", out, 1, true)
    assert.matches("done", out, 1, true)
    assert.equal(2, assume_roles())
    creds.secret_free(out, { em.access_key_secret })
  end)

  it("refreshes, signs again and retries once under the same ClientToken when DTS says the token expired", function()
    local c = role_client({})
    works(c)
    em.clear_log()
    assert(em.set_faults{ { kind = "expired_token", action = "ModifyDtsJob", times = 1 } })
    local res, err = c:modify_dts_job{ DtsInstanceId = "dtsdemoinstance01", DbList = DBLIST }
    assert(res, err and tostring(err))
    local log = em.requests()
    assert.same({ "ModifyDtsJob", "AssumeRole", "ModifyDtsJob" }, { log[1].action, log[2].action, log[3].action })
    assert.equal("InvalidSecurityToken.Expired", log[1].code)
    assert.equal(log[1].client_token, log[3].client_token)
    assert.are_not.equal(log[1].access_key_id, log[3].access_key_id)
    assert.equal(log[2].issued_access_key_id, log[3].access_key_id)
    assert.is_true(log[3].applied)
  end)

  it("gives up with kind credentials when the fresh token is refused too", function()
    local c = role_client({})
    works(c)
    em.clear_log()
    assert(em.set_faults{ { kind = "expired_token", action = "ModifyDtsJob" } })
    local res, err = c:modify_dts_job{ DtsInstanceId = "dtsdemoinstance01", DbList = DBLIST }
    assert.is_nil(res)
    assert.same({ "credentials", "InvalidSecurityToken.Expired", 2 }, { err.kind, err.code, err.attempts })
    assert.equal(2, creds.count(em, "ModifyDtsJob"))
    assert.equal(1, creds.count(em, "AssumeRole"))
  end)

  it("does not retry keys that cannot be refreshed", function()
    local c = creds.client(em, { credentials = { type = "sts", access_key_id = em.access_key_id,
      access_key_secret = em.access_key_secret, security_token = "CAISstatic" } })
    assert(em.set_faults{ { kind = "expired_token" } })
    local res, err = creds.describe(c)
    assert.is_nil(res)
    assert.same({ "credentials", 1 }, { err.kind, err.attempts })
  end)

  describe("credentials that arrive short-lived or expired", function()
    local short, dead
    setup(function()
      short = assert(emulator.start{ first_lifetime = 600 })
      dead = assert(emulator.start{ first_lifetime = -10 })
    end)
    teardown(function()
      if short then short.stop() end
      if dead then dead.stop() end
    end)

    it("one with less than 15 min left is used, and refreshed once half its time is gone", function()
      local clock = {}
      local c = creds.client(short, { credentials = { type = "credentials_uri",
        credentials_uri = short.credentials_uri, clock = function() return clock.now or os.time() end } })
      works(c)
      local st = c.credentials.state()
      clock.now = st.stale_at - 1
      works(c)
      assert.equal(1, creds.count(short, "CredentialsURI"))
      assert.is_true(st.expiration - st.stale_at >= 299 and st.expiration - st.stale_at <= 301)
      clock.now = st.stale_at
      works(c)
      assert.equal(2, creds.count(short, "CredentialsURI"))
    end)

    it("one that expired already is an error, and the next call fetches again", function()
      local c = creds.client(dead, { credentials = { type = "credentials_uri",
        credentials_uri = dead.credentials_uri } })
      local res, err = creds.describe(c)
      assert.is_nil(res)
      assert.equal("credentials", err.kind)
      assert.matches("credentials URI " .. dead.credentials_uri .. ": the credential it gave expired already",
        err.message, 1, true)
      works(c)
      assert.equal(2, creds.count(dead, "CredentialsURI"))
    end)
  end)

  describe("the cache itself", function()
    local function value(n, now)
      return { access_key_id = "STS.id" .. n, access_key_secret = "secret" .. n,
        security_token = "token" .. n, expiration = now + 3600 }
    end

    it("keeps one refresh in flight: a coroutine asking meanwhile gets the old one, or an error", function()
      local now, fetches = 1000, 0
      local p = refresh.new{ name = "test source", ctx = { clock = function() return now end,
        on_warning = function() end },
        fetch = function()
          fetches = fetches + 1
          coroutine.yield("fetching")
          return value(fetches, now)
        end }
      local first = coroutine.create(p.get)
      assert.same({ true, "fetching" }, { coroutine.resume(first) })
      local good, err = p.get()
      assert.is_nil(good)
      assert.matches("test source: a refresh is already in flight", err.message, 1, true)
      local _, ok, c = coroutine.resume(first)
      assert.is_true(ok)
      assert.equal("STS.id1", c.access_key_id)
      assert.equal(1, fetches)
      -- Stale now: the second caller gets the old credential while the
      -- first refreshes.
      now = now + 3600 - 900
      first = coroutine.create(p.get)
      assert.same({ true, "fetching" }, { coroutine.resume(first) })
      ok, c = p.get()
      assert.is_true(ok)
      assert.equal("STS.id1", c.access_key_id)
      _, ok, c = coroutine.resume(first)
      assert.is_true(ok)
      assert.equal("STS.id2", c.access_key_id)
      assert.equal(2, fetches)
    end)

    it("checks what arrives, and drops it on invalidate()", function()
      local now, n = 1000, 0
      local bad = false
      local p = refresh.new{ name = "src", ctx = { clock = function() return now end },
        fetch = function()
          n = n + 1
          if bad then return { access_key_id = "x", access_key_secret = " y" , expiration = now + 3600 } end
          return value(n, now)
        end }
      assert.is_true((p.get()))
      assert.is_true((p.get()))
      assert.equal(1, n)
      assert.is_true(p.invalidate())
      local _, c = p.get()
      assert.equal("STS.id2", c.access_key_id)
      bad = true
      p.invalidate()
      local ok, err = p.get()
      assert.is_nil(ok)
      assert.equal("src: access_key_secret: has leading or trailing whitespace; copy it again without it", err.message)
    end)

    it("turns a source that raises into an error", function()
      local p = refresh.new{ name = "src", ctx = { clock = os.time }, fetch = function() error("bug") end }
      local ok, err = p.get()
      assert.is_nil(ok)
      assert.equal("credentials", err.kind)
      assert.matches("src: failed: ", err.message, 1, true)
    end)
  end)
end)
