-- The cosocket transport in a real nginx against the hostile servers of
-- spec/support/hostile.lua (all on 127.0.0.1): the same cases and the same
-- expected kinds as spec/08-hostile/curl_spec.lua, run at once (a light
-- thread each, spec/support/hostile_driver.lua); for each, the kind, the
-- exit code the dts command maps it to, the time bound, and the worker's
-- memory.
local hostile = require "support.hostile"
local launch = require "support.openresty_launch"
local EXIT_OF = require("dts.cli.common").EXIT_OF

-- Seconds, as in curl_spec.lua.
local SHORT, LONG, MARGIN = 0.3, 5, 1.5
local function timeout_for(name)
  return hostile.expect[name] == "timeout" and SHORT or LONG
end
local SECRET = "hostile-secret-not-real"

describe("cosocket transport against hostile servers", function()
  local h, s

  setup(function()
    h = assert(hostile.start())
    local err
    s, err = launch.start{
      also_trust = { h.ca_file },
      server = [[
    location /h/ {
      content_by_lua_block { require("support.hostile_driver")() }
    }
]],
    }
    assert(s, err)
  end)

  teardown(function()
    if s then s.stop() end
    if h then h.stop() end
  end)

  local function options(name, extra)
    local o = {
      region_id = "cn-hangzhou", endpoint = h.endpoint(name), connect_address = "127.0.0.1",
      access_key_id = "LTAIhostiletest", access_key_secret = SECRET,
      timeout = timeout_for(name), connect_timeout = timeout_for(name),
      retries = { max_attempts = 1 }, max_response_size = 1024 * 1024,
      protocol = name == "reset" and "http" or nil,
    }
    for k, v in pairs(extra or {}) do o[k] = v end
    return o
  end

  local function run(cases)
    local status, out = s.post("/h/cases", { cases = cases })
    assert.equal(200, status, type(out) == "string" and out or nil)
    return out
  end

  it("gives every case its kind, within the time bound and without growing the worker", function()
    local cases = {}
    for _, name in ipairs(hostile.all_names()) do
      cases[#cases + 1] = { name = name, options = options(name) }
    end
    local out = run(cases)
    for _, name in ipairs(hostile.all_names()) do
      local r = assert(out.results[name], name)
      local want = hostile.expect[name]
      if want then
        assert(r.err, name .. ": answered")
        assert.equal(want, r.err.kind, name .. ": " .. tostring(r.err.text))
        assert.equal(4, EXIT_OF[r.err.kind], name)
        assert.falsy(r.err.text:find(SECRET, 1, true), name)
        assert.equal(1, r.err.attempts, name)
      else
        assert(r.job_id, name .. ": " .. tostring(r.err and r.err.text))
        assert.equal("hostilejob0001", r.job_id)
      end
      assert(r.seconds < timeout_for(name) + MARGIN,
        ("%s: took %.2fs, timeout %.1fs"):format(name, r.seconds, timeout_for(name)))
    end
    -- Without the caps, the endless cases alone grow a worker by gigabytes.
    assert(out.rss_after - out.rss_before < 64 * 1024,
      ("the worker's RSS grew by %d KiB"):format(out.rss_after - out.rss_before))
    assert(out.peak - out.rss_before < 128 * 1024,
      ("the worker's peak RSS was %d KiB above the start"):format(out.peak - out.rss_before))
  end)

  it("calls an nginx HTML error page a retryable protocol error, with its status", function()
    local retries = { max_attempts = 2, base_delay = 0.01, max_delay = 0.01 }
    local out = run{
      { name = "html_502", options = options("html_502", { retries = retries }) },
      { name = "html_503", options = options("html_503", { retries = retries }) },
    }
    for _, name in ipairs{ "html_502", "html_503" } do
      local err = out.results[name].err
      assert.equal("protocol", err.kind)
      assert.equal(tonumber(name:match("%d+")), err.http_status)
      assert.is_true(err.retryable)
      assert.equal(2, err.attempts)
      assert.matches("not a JSON object", err.message)
    end
  end)

  describe("at the transport", function()
    local function request(reqs, settings)
      local st = { connect_address = "127.0.0.1", timeout = LONG }
      for k, v in pairs(settings or {}) do st[k] = v end
      local status, out = s.post("/t/request", { settings = st, requests = reqs })
      assert.equal(200, status)
      assert.is_nil(out.new_err, out.new_err and out.new_err.text)
      return out.results
    end

    it("never follows a redirect to another host", function()
      local before = h.hits().ok or 0
      local r = request{ { url = h.case_url("redirect") } }[1]
      assert.equal(302, r.status, r.err and r.err.text)
      assert.equal("https://127.0.0.1:" .. h.ports.ok .. "/", r.headers.location)
      assert.equal(before, h.hits().ok or 0)
    end)

    it("skips an unasked-for 100 Continue; refuses a flood of them", function()
      local results = request{ { url = h.case_url("continue") }, { url = h.case_url("continue_flood") } }
      assert.equal(200, results[1].status)
      assert.matches('"hostile%-ok"', results[1].body)
      assert.equal("protocol", results[2].err.kind)
      assert.matches("more than 10 interim", results[2].err.message)
    end)

    it("refuses a compressed answer it never asked for", function()
      local r = request{ { url = h.case_url("gzip") } }[1]
      assert.equal("protocol", r.err.kind)
      assert.matches("Content-Encoding: gzip", r.err.message, 1, true)
    end)

    it("refuses control characters in user_agent and header values, sending nothing", function()
      local before = h.hits().ok or 0
      for _, bad in ipairs{ "ua\r\nX-Injected: yes", "a\nb", "a\1b", "a\127b" } do
        local status, out = s.post("/t/request", { settings = { user_agent = bad }, requests = {} })
        assert.equal(200, status)
        assert.equal("invalid_argument", out.new_err.kind)
        assert.matches("^user_agent: control character 0x%x%x is not allowed", out.new_err.message)
        local r = request{ { url = h.case_url("ok"), headers = { ["X-Note"] = bad } } }[1]
        assert.equal("invalid_argument", r.err.kind)
        assert.matches("^X%-Note: control character", r.err.message)
      end
      assert.equal(before, h.hits().ok or 0)
    end)

    it("bounds the resends of a stale keep-alive connection by the one deadline", function()
      -- The second request goes out on the kept-alive connection of the
      -- first, which the server closes without a word after STALE_WAIT;
      -- the resend on a new connection then drips: the call ends at its
      -- one deadline, not STALE_WAIT + another timeout later.
      local timeout = hostile.STALE_WAIT + 0.5
      local started = hostile.clock()
      local results = request({ { url = h.case_url("stale") }, { url = h.case_url("stale"), timeout = timeout } })
      local took = hostile.clock() - started
      assert.equal(200, results[1].status, results[1].err and results[1].err.text)
      assert.equal("timeout", results[2].err.kind, results[2].err.text)
      assert.matches("bounds the whole call", results[2].err.message)
      assert.equal(2, h.hits().stale) -- the resend went out
      assert(took < timeout + 1, ("took %.2fs for a %.1fs timeout"):format(took, timeout))
    end)

    it("ends a call at its deadline when TLS records never complete", function()
      -- nginx restarts a socket's timer on every byte; the watchdog does not.
      local started = hostile.clock()
      local r = request({ { url = h.case_url("tls_trickle"), timeout = SHORT } })[1]
      local took = hostile.clock() - started
      assert.equal("timeout", r.err.kind)
      assert(took < SHORT + MARGIN, ("took %.2fs"):format(took))
    end)
  end)
end)
