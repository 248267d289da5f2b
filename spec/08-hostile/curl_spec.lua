-- dts.curl (plain Lua) against hostile servers on 127.0.0.1 (spec/support/
-- hostile.lua): for every case, the error kind a client gets, the exit code
-- the dts command maps it to, that the call ended within its timeout (a
-- correctness bound with a generous margin, not a speed figure), and that
-- memory stayed bounded.  The same cases through the cosocket transport:
-- spec/08-hostile/cosocket_spec.lua.
local certs = require "dts.certs"
local curl = require "dts.curl"
local dts = require "dts"
local hostile = require "support.hostile"
local sys = require "dts.sys"
local EXIT_OF = require("dts.cli.common").EXIT_OF

-- Seconds: short where the server holds the call (it must end then), long
-- where an answer or a quick refusal is due (a loaded machine must not
-- fail it); the margin is for a loaded machine too, never a speed goal.
local SHORT, LONG, MARGIN = 0.3, 5, 1.5
local function timeout_for(name)
  return hostile.expect[name] == "timeout" and SHORT or LONG
end
local SECRET = "hostile-secret-not-real"
local LUA = jit and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))

describe("dts.curl against hostile servers", function()
  local h

  setup(function()
    h = assert(hostile.start())
  end)

  teardown(function()
    if h then h.stop() end
  end)

  local function client(name, opts)
    local o = {
      region_id = "cn-hangzhou", endpoint = h.endpoint(name), ca_file = h.ca_file, proxy = "",
      access_key_id = "LTAIhostiletest", access_key_secret = SECRET,
      timeout = timeout_for(name), connect_timeout = timeout_for(name), retries = { max_attempts = 1 },
      max_response_size = 1024 * 1024, protocol = name == "reset" and "http" or nil,
    }
    for k, v in pairs(opts or {}) do o[k] = v end
    return assert(dts.new(o))
  end

  -- One call to the case's server: the job or nil, the error, seconds taken.
  local function call(name, opts)
    local c = client(name, opts)
    local started = hostile.clock()
    local job, err = c:describe_dts_job_detail{ DtsJobId = "hostilejob0001" }
    local took = hostile.clock() - started
    c.transport:close()
    return job, err, took
  end

  it("gives every case its kind, within the time bound and without growing memory", function()
    collectgarbage("collect")
    local lua_before = collectgarbage("count")
    local rss_before = hostile.memory()
    -- Reset the peak resident size (Linux >= 4.0), so VmHWM is this test's.
    local f = io.open("/proc/self/clear_refs", "w")
    if f then f:write("5") f:close() end
    for _, name in ipairs(hostile.all_names()) do
      local want = hostile.expect[name]
      local job, err, took = call(name)
      if want then
        assert(not job, name .. ": answered")
        assert.equal(want, err.kind, name .. ": " .. tostring(err))
        assert.equal(4, EXIT_OF[err.kind], name)
        assert.falsy(tostring(err):find(SECRET, 1, true), name)
        assert.equal(1, err.attempts, name)
      else
        assert(job, name .. ": " .. tostring(err))
        assert.equal("hostilejob0001", job.dts_job_id)
      end
      assert(took < timeout_for(name) + MARGIN,
        ("%s: took %.2fs, timeout %.1fs"):format(name, took, timeout_for(name)))
    end
    collectgarbage("collect")
    local grew = collectgarbage("count") - lua_before
    assert(grew < 1024, ("the Lua heap grew by %.0f KiB"):format(grew))
    local rss, peak = hostile.memory()
    assert(rss - rss_before < 64 * 1024, ("RSS grew by %d KiB"):format(rss - rss_before))
    assert(peak - rss_before < 64 * 1024, ("the peak RSS was %d KiB above the start"):format(peak - rss_before))
  end)

  it("calls an nginx HTML error page a retryable protocol error, with its status", function()
    for _, name in ipairs{ "html_502", "html_503" } do
      local _, err = call(name, { retries = { max_attempts = 2, base_delay = 0.01, max_delay = 0.01 } })
      assert.equal("protocol", err.kind)
      assert.equal(tonumber(name:match("%d+")), err.http_status)
      assert.is_true(err.retryable)
      assert.equal(2, err.attempts)
      assert.matches("not a JSON object", err.message)
    end
  end)

  describe("at the transport", function()
    local function raw()
      return assert(curl.new{ ca_file = h.ca_file, proxy = "", timeout = LONG })
    end

    it("never follows a redirect to another host", function()
      local before = h.hits().ok or 0
      local res = assert(raw():request{ url = h.case_url("redirect") })
      assert.equal(302, res.status)
      assert.equal("https://127.0.0.1:" .. h.ports.ok .. "/", res.headers.location)
      assert.equal(before, h.hits().ok or 0)
    end)

    it("skips an unasked-for 100 Continue; refuses a flood of them", function()
      local res = assert(raw():request{ url = h.case_url("continue") })
      assert.equal(200, res.status)
      assert.matches('"hostile%-ok"', res.body)
      local _, err = raw():request{ url = h.case_url("continue_flood") }
      assert.equal("protocol", err.kind)
      assert.matches("more than 10 interim", err.message)
    end)

    it("refuses control characters in user_agent and header values, sending nothing", function()
      local before = h.hits().ok or 0
      for _, bad in ipairs{ "ua\r\nX-Injected: yes", "a\nb", "a\0b", "a\1b", "a\127b" } do
        local c, err = curl.new{ user_agent = bad }
        assert.is_nil(c)
        assert.equal("invalid_argument", err.kind)
        assert.matches("^user_agent: control character 0x%x%x is not allowed in a header value$", err.message)
        local res
        res, err = raw():request{ url = h.case_url("ok"), headers = { ["X-Note"] = bad } }
        assert.is_nil(res)
        assert.equal("invalid_argument", err.kind)
        assert.matches("^X%-Note: control character 0x%x%x is not allowed", err.message)
        _, err = dts.new{ user_agent = bad, region_id = "cn-hangzhou", access_key_id = "LTAIx",
          access_key_secret = SECRET }
        assert.equal("invalid_argument", err.kind)
        assert.equal("user_agent", err.param)
        assert.matches("^user_agent: control character", err.message)
      end
      assert.equal(before, h.hits().ok or 0)
      assert.equal(200, assert(raw():request{ url = h.case_url("ok"), headers = { ["X-Tab"] = "a\tb" } }).status)
    end)

    it("refuses a compressed answer it never asked for", function()
      local _, err = raw():request{ url = h.case_url("gzip") }
      assert.equal("protocol", err.kind)
      assert.matches("Content-Encoding: gzip", err.message, 1, true)
    end)
  end)

  -- libcurl's codes, one class each (src/http_curl.c, code_kinds).
  describe("libcurl codes by class", function()
    local function fails(kind, opts, url, pattern)
      local o = { ca_file = h.ca_file, proxy = "", timeout = kind == "timeout" and SHORT or LONG }
      for k, v in pairs(opts or {}) do o[k] = v end
      local res, err = assert(curl.new(o)):request{ url = url }
      assert.is_nil(res)
      assert.equal(kind, err.kind, err.message)
      if pattern then assert.matches(pattern, err.message) end
      return err
    end

    it("invalid_argument: bad input, nothing sent", function()
      local before = h.hits().ok or 0
      fails("invalid_argument", { proxy = "ftp://u:pw@127.0.0.1:1" }, h.case_url("ok"), "proxy: unsupported")
      local err = fails("invalid_argument", { proxy = "http://u:pw@[::1" }, h.case_url("ok"))
      assert.falsy(err.message:find("pw", 1, true))
      fails("invalid_argument", {}, "http://" .. h.endpoint("ok") .. "/", "only https")
      assert.equal(before, h.hits().ok or 0)
    end)

    it("network: refused, empty reply, closed or reset mid-answer", function()
      fails("network", {}, "https://127.0.0.1:1/") -- a privileged port nothing listens on
      fails("network", {}, h.case_url("empty"), "Empty reply")
      fails("network", {}, h.case_url("close_mid_body"))
      fails("network", { allow_http = true }, h.case_url("reset"))
    end)

    it("timeout", function()
      fails("timeout", {}, h.case_url("drip_body"))
      fails("timeout", {}, h.case_url("tls_drip"))
    end)

    it("tls: a certificate from another CA, TLS to a plain-TCP server", function()
      local _, dir = sys.run('mktemp -d "${TMPDIR:-/tmp}/lua-dts-ca.XXXXXX"')
      local other = assert(certs.make(dir)).ca_file
      fails("tls", { ca_file = other }, h.case_url("ok"), "certificate")
      sys.run("rm -rf " .. sys.quote(dir))
      fails("tls", {}, "https://" .. h.endpoint("reset") .. "/")
    end)

    it("protocol: answers that are not HTTP/1.x, or over a cap", function()
      fails("protocol", {}, h.case_url("http09"), "HTTP/0.9")
      fails("protocol", {}, h.case_url("garbage"))
      fails("protocol", {}, h.case_url("http2"), "not HTTP/1")
      fails("protocol", {}, h.case_url("endless_header"), "headers too large")
      fails("protocol", {}, h.case_url("huge_headers"), "headers too large")
      fails("protocol", {}, h.case_url("endless_chunk_size"), "chunked")
      fails("protocol", { max_response_size = 1000 }, h.case_url("huge_length"), "max_response_size")
      fails("protocol", { max_response_size = 1000 }, h.case_url("endless_chunked"), "max_response_size")
    end)
  end)

  it("the dts command exits 4 on each, within its time bound", function()
    local names = { "ok", "continue", "drip_body", "drip_status", "endless_header", "huge_headers",
      "http09", "http2", "garbage", "no_status", "gzip", "html_502", "redirect", "empty",
      "close_mid_body", "tls_drip", "endless_body", "continue_flood" }
    local _, dir = sys.run('mktemp -d "${TMPDIR:-/tmp}/lua-dts-hostile.XXXXXX"')
    local script = { "unset LD_PRELOAD http_proxy https_proxy HTTPS_PROXY ALL_PROXY all_proxy",
      "export ALIBABA_CLOUD_ACCESS_KEY_ID=LTAIhostiletest ALIBABA_CLOUD_REGION_ID=cn-hangzhou",
      "export ALIBABA_CLOUD_ACCESS_KEY_SECRET=" .. SECRET }
    for _, name in ipairs(names) do
      local out = sys.quote(dir .. "/" .. name)
      script[#script + 1] = ("(s=$(date +%%s%%N); %s bin/dts describe --dts-job-id hostilejob0001 --json "
        .. "--timeout %g --endpoint %s --ca-file %s >%s.out 2>%s.err; c=$?; "
        .. "echo $c $(( ($(date +%%s%%N) - s) / 1000000 )) >%s.code) &"):format(
        LUA, timeout_for(name), h.endpoint(name), sys.quote(h.ca_file), out, out, out)
    end
    script[#script + 1] = "wait"
    assert(sys.run(table.concat(script, "\n")))
    for _, name in ipairs(names) do
      local code, ms = (sys.read_file(dir .. "/" .. name .. ".code") or ""):match("^(%d+) (%d+)")
      code, ms = tonumber(code), tonumber(ms)
      local out = sys.read_file(dir .. "/" .. name .. ".out") or ""
      local stderr = sys.read_file(dir .. "/" .. name .. ".err") or ""
      assert.falsy((out .. stderr):find(SECRET, 1, true), name)
      local want = hostile.expect[name]
      if want then
        assert.equal(4, code, name .. ": " .. stderr)
        assert.matches('"kind":"' .. want .. '"', out, 1, true)
        -- Retries: each attempt within the timeout, plus the back-off
        -- (4 attempts at most, delays capped at 0.2, 0.4, 0.8 s).
        local attempts = tonumber(out:match('"attempts":(%d+)')) or 4
        local bound = attempts * (timeout_for(name) + MARGIN) + 1.4 + 1
        assert(ms / 1000 < bound, ("%s: %.2fs > %.2fs"):format(name, ms / 1000, bound))
      else
        assert.equal(0, code, name .. ": " .. stderr)
      end
    end
    sys.run("rm -rf " .. sys.quote(dir))
  end)
end)
