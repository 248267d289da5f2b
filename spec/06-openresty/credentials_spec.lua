-- Credentials inside a real nginx, from the default chain and instance
-- metadata (the emulator's): the variables come through `env`, nothing
-- touches the network in init or init_worker, 50 concurrent requests of one
-- worker with nothing cached cause one metadata fetch, and with a
-- lua_shared_dict the workers share one.
local emulator = require "dts.emulator"
local launch = require "support.openresty_launch"

local function count(em, action)
  local n = 0
  for _, e in ipairs(em.requests()) do
    if e.action == action then n = n + 1 end
  end
  return n
end

describe("credentials in nginx", function()
  local em

  setup(function()
    em = assert(emulator.start{ modifying_seconds = 0 })
  end)

  teardown(function()
    if em then em.stop() end
  end)

  -- An nginx whose workers see the metadata endpoint, and nothing else of
  -- the chain (no keys, no HOME).
  local function start(workers)
    local s, err = launch.start{
      workers = workers,
      also_trust = { em.ca_file },
      main = "env DTS_METADATA_ENDPOINT=" .. em.metadata_endpoint .. ";\nenv SPEC_DTS_ENDPOINT="
        .. em.endpoint .. ";",
      -- Timers started in init_worker belong to no server{}: they trust
      -- the emulator's CA through the http{} level.
      http = "  lua_ssl_trusted_certificate " .. em.ca_file .. ";\n" .. [[
  lua_shared_dict dts_credentials 1m;
  init_by_lua_block { require("support.openresty_credentials").init() }
  init_worker_by_lua_block { require("support.openresty_credentials").init_worker() }
]],
      server = [[
    location /c/ {
      content_by_lua_block { require("support.openresty_credentials").content() }
    }
]],
    }
    assert(s, err)
    return s
  end

  -- n GETs of /c/call at once, from inside nginx (light threads).
  local function burst(s, n)
    local status, out = s.post("/t/load", { url = s.at("/c/call"), n = n, clients = n,
      settings = { connect_address = "127.0.0.1", timeout = 30 } })
    assert.equal(200, status)
    assert.same({}, out.errors)
    local workers, oks = {}, 0
    for _, answer in ipairs(out.answers) do
      local t = require("cjson").decode(answer)
      assert(t.ok, answer)
      oks = oks + 1
      workers[t.worker] = true
    end
    return oks, workers
  end

  describe("one worker", function()
    local s
    setup(function() s = start(1) end)
    teardown(function() if s then s.stop() end end)

    before_each(function()
      assert(em.set_faults{})
    end)

    it("makes the client in init and calls nothing in init_worker", function()
      local _, results = s.get("/c/results")
      assert.equal(1, #results)
      assert.same({ "invalid_argument", "init_worker" }, { results[1].err.kind, results[1].err.phase })
      assert.matches("cannot fetch a credential in nginx's init_worker phase", results[1].err.message, 1, true)
      -- Nothing reached the metadata service before the first request.
      assert.equal(0, #em.requests())
      local _, out = s.get("/c/init")
      assert(out.ok, out.err and out.err.message)
      assert.equal(1, count(em, "MetadataCredentials"))
    end)

    it("50 concurrent requests with nothing cached cause one metadata fetch", function()
      em.clear_log()
      -- A slow metadata answer: every request arrives while it is fetched.
      assert(em.set_faults{ { kind = "delay", seconds = 0.3, action = "MetadataCredentials" } })
      -- Another name of the same service: not the init client's source,
      -- whose credential this worker caches already.
      local other = em.metadata_endpoint:gsub("127%.0%.0%.1", "localhost")
      assert.equal(200, (s.post("/c/setup", { options = { metadata_endpoint = other } })))
      local oks = burst(s, 50)
      assert.equal(50, oks)
      assert.equal(1, count(em, "MetadataToken"))
      assert.equal(1, count(em, "MetadataRoleName"))
      assert.equal(1, count(em, "MetadataCredentials"))
      assert.equal(50, count(em, "DescribeDtsJobDetail"))
      -- All signed with the one credential fetched.
      local issued = em.requests()
      local id
      for _, e in ipairs(issued) do
        if e.action == "MetadataCredentials" then id = e.issued_access_key_id end
      end
      for _, e in ipairs(issued) do
        if e.action == "DescribeDtsJobDetail" then assert.equal(id, e.access_key_id) end
      end
    end)

    it("assumes a role over cosockets, through the client's transport", function()
      em.clear_log()
      assert.equal(200, (s.post("/c/setup", { options = { sts_endpoint = em.sts_endpoint,
        credentials = { type = "ram_role_arn", access_key_id = em.access_key_id,
          access_key_secret = em.access_key_secret, role_arn = em.role_arn } } })))
      local _, out = s.get("/c/call")
      assert(out.ok, out.err and out.err.message)
      local log = em.requests()
      assert.same({ "AssumeRole", "DescribeDtsJobDetail" }, { log[1].action, log[2].action })
      assert.equal(log[1].issued_access_key_id, log[2].access_key_id)
    end)

    it("writes the stale fallback's warning to the error log", function()
      assert(em.set_faults{ { kind = "error", action = "CredentialsURI", every = 2 } })
      local _, out = s.get("/c/stale?uri=" .. em.credentials_uri)
      assert(out.ok, out.err and out.err.message)
      assert.matches("lua-dts: credentials URI " .. em.credentials_uri .. ": refresh failed, going on "
        .. "with the current credential", s.error_log(), 1, true)
      assert.not_matches(em.access_key_secret, s.error_log(), 1, true)
    end)
  end)

  describe("two workers and a lua_shared_dict", function()
    local s
    setup(function() s = start(2) end)
    teardown(function() if s then s.stop() end end)

    it("share one fetch: each worker makes 25 calls at once, nothing cached", function()
      em.clear_log()
      assert(em.set_faults{ { kind = "delay", seconds = 0.3, action = "MetadataCredentials" } })
      assert.equal(200, (s.post("/c/go", { n = 25, options = { shared_dict = "dts_credentials",
        metadata_endpoint = em.metadata_endpoint:gsub("127%.0%.0%.1", "localhost") } })))
      local bursts
      for _ = 1, 300 do
        local _, b = s.get("/c/bursts")
        if #b == 2 then bursts = b break end
        launch.sleep(0.05)
      end
      assert(bursts, "both workers should report")
      for _, b in ipairs(bursts) do
        assert.same({}, b.errors)
        assert.equal(25, b.oks)
      end
      assert.equal(1, count(em, "MetadataCredentials"))
      assert.equal(50, count(em, "DescribeDtsJobDetail"))
    end)
  end)
end)
