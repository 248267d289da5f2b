-- luacheck: std ngx_lua
-- Runs inside the nginx of spec/06-openresty: drivers that make lua-dts
-- calls from nginx and answer with what came back, as JSON, so busted (on
-- any Lua) can check them.  Every driver takes a JSON body.
--
--   /t/request    { settings = {cosocket options}, requests = {req, ...},
--                   timer = bool } -> { results = { {status, headers,
--                   body} or {err = {...}}, ... } }: one transport, the
--                   requests in turn (in a timer when asked)
--   /t/call       { options = {dts.new options}, action = "modify_dts_job",
--                   params = {...}, timer = bool, times = N, transport =
--                   cosocket settings (then passed as a transport object) }
--                   -> { result = ... } or { err = ... }, with the
--                   transport's name and connection counts
--   /t/results    what calls from init, init_worker, set, header_filter,
--                   body_filter and log returned (M.init ... M.log record
--                   them in the lua_shared_dict dts_results)
--   /t/init_client ?url=  a request with the client made in init
--   /t/loaded     which dts modules this worker loaded
--   /t/slow/start { options, params, n } starts n timers that each repeat
--                   a (slow) DescribeDtsJobDetail until /t/slow/stop;
--                   /t/slow/status; /t/plain answers how many of those
--                   calls are in flight
--   /t/load       { url, n, clients, settings } n GETs of url through the
--                   cosocket transport from `clients` light threads at
--                   once: answers and latencies (seconds)
--   /t/throttle   { url, seconds } the shared_dict back-off, step by step
--   /t/now        the time nginx received the request
local cjson = require "cjson.safe"

local M = {}

local RESULTS = "dts_results"

local function reply(status, t)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.print(cjson.encode(t))
end

local function body_json()
  ngx.req.read_body()
  local data = ngx.req.get_body_data()
  local t = data and cjson.decode(data)
  return type(t) == "table" and t or {}
end

-- An error as plain fields (and its text, as a log would show it).
local function err_fields(err)
  if type(err) ~= "table" then return { message = tostring(err) } end
  return {
    kind = err.kind, code = err.code, message = err.message, phase = err.phase,
    param = err.param, http_status = err.http_status, attempts = err.attempts,
    text = tostring(err),
  }
end

local function outcome(res, err)
  if res then return res end
  return { err = err_fields(err) }
end

-- Runs fn in a timer and waits for it, when asked to.
local function maybe_in_timer(in_timer, fn)
  if not in_timer then
    local t = fn()
    t.phase = ngx.get_phase()
    return t
  end
  local sema = require("ngx.semaphore").new()
  local out
  local ok, err = ngx.timer.at(0, function(premature)
    if premature then return end
    out = fn()
    out.phase = ngx.get_phase()
    sema:post()
  end)
  if not ok then return { err = { message = "timer: " .. tostring(err) } } end
  sema:wait(60)
  return out or { err = { message = "the timer did not finish" } }
end

local handlers = {}

handlers["/t/request"] = function()
  local args = body_json()
  reply(200, maybe_in_timer(args.timer, function()
    local t, err = require("dts.transport.cosocket").new(args.settings or {})
    if not t then return { new_err = err_fields(err) } end
    local results = {}
    for i, req in ipairs(args.requests or {}) do
      local res, rerr = t:request(req)
      if res then
        results[i] = { status = res.status, headers = res.headers, body = res.body }
      else
        results[i] = { err = err_fields(rerr) }
      end
    end
    return { results = results }
  end))
end

local function new_client(args)
  local opts = args.options or {}
  if args.transport then
    local t, err = require("dts.transport.cosocket").new(args.transport)
    if not t then return nil, err end
    opts.transport = t
  end
  return require("dts").new(opts)
end

handlers["/t/call"] = function()
  local args = body_json()
  reply(200, maybe_in_timer(args.timer, function()
    local client, err = new_client(args)
    if not client then return { new_err = err_fields(err) } end
    local res
    for _ = 1, args.times or 1 do
      res, err = client[args.action or "modify_dts_job"](client, args.params or {}, args.call_options)
      if not res then break end
    end
    local out = outcome(res and { result = res }, err)
    out.transport = client.transport.name
    out.connections = client.transport.connections
    return out
  end))
end

handlers["/t/results"] = function()
  local dict = ngx.shared[RESULTS]
  local out = {}
  for _, key in ipairs(dict:get_keys(0)) do
    out[key] = cjson.decode(dict:get(key))
  end
  reply(200, out)
end

handlers["/t/loaded"] = function()
  local names = {}
  for name in pairs(package.loaded) do
    if name == "dts" or name:match("^dts%.") then names[#names + 1] = name end
  end
  table.sort(names)
  reply(200, { modules = names, curl = package.loaded["dts.curl"] ~= nil })
end

-- Slow calls that keep being in flight until stopped: each light thread
-- counts itself in before a call and out after it, without yielding in
-- between, so /t/plain sees all of them pending whatever the timing.
local slow = { inflight = 0, calls = 0, failures = {}, stop = false, threads = 0 }

handlers["/t/slow/start"] = function()
  local args = body_json()
  slow.inflight, slow.calls, slow.failures, slow.stop, slow.threads = 0, 0, {}, false, 0
  local client, err = new_client(args)
  if not client then return reply(500, { new_err = err_fields(err) }) end
  local function loop()
    slow.threads = slow.threads + 1
    while not slow.stop do
      slow.inflight = slow.inflight + 1
      local res, cerr = client:describe_dts_job_detail(args.params or {})
      slow.inflight = slow.inflight - 1
      slow.calls = slow.calls + 1
      -- A failure may come without any I/O: stop rather than spin.
      if not res then
        slow.failures[#slow.failures + 1] = err_fields(cerr)
        break
      end
    end
    slow.threads = slow.threads - 1
  end
  -- In timers: they outlive this request.
  for _ = 1, args.n or 50 do
    local ok, terr = ngx.timer.at(0, loop)
    if not ok then return reply(500, { err = { message = tostring(terr) } }) end
  end
  reply(200, { started = args.n or 50 })
end

handlers["/t/slow/status"] = function()
  reply(200, { inflight = slow.inflight, calls = slow.calls, threads = slow.threads,
    failures = slow.failures })
end

handlers["/t/slow/stop"] = function()
  slow.stop = true
  while slow.threads > 0 do ngx.sleep(0.02) end
  reply(200, { calls = slow.calls, failures = slow.failures })
end

handlers["/t/plain"] = function()
  ngx.print(slow.inflight)
end

-- A monotonic clock in seconds with sub-millisecond resolution (ngx.now
-- has milliseconds only).
local clock
do
  local ffi = require "ffi"
  pcall(ffi.cdef, [[
    typedef struct { long tv_sec; long tv_nsec; } dts_spec_timespec;
    int clock_gettime(int clk_id, dts_spec_timespec *tp);
  ]])
  local ts = ffi.new("dts_spec_timespec")
  clock = function()
    ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
  end
end

handlers["/t/load"] = function()
  local args = body_json()
  local t = assert(require("dts.transport.cosocket").new(args.settings or {}))
  local n, clients = args.n or 200, args.clients or 20
  local answers, latencies, errs = {}, {}, {}
  local next_i = 0
  local function client()
    while next_i < n do
      next_i = next_i + 1
      local i = next_i
      local started = clock()
      local res, err = t:request{ url = args.url }
      latencies[i] = clock() - started
      if res then answers[i] = res.body else errs[#errs + 1] = err_fields(err) end
    end
  end
  local threads = {}
  for i = 1, clients do
    threads[i] = ngx.thread.spawn(client)
  end
  for _, th in ipairs(threads) do ngx.thread.wait(th) end
  reply(200, { answers = answers, latencies = latencies, errors = errs })
end

handlers["/t/now"] = function()
  ngx.update_time()
  ngx.print(("%.3f"):format(ngx.now()))
end

-- Two transports sharing dts_throttle (as two workers would): the first
-- backs off from a throttling error, the second sends once that is over.
handlers["/t/throttle"] = function()
  local args = body_json()
  local cosocket = require "dts.transport.cosocket"
  local settings = { shared_dict = "dts_throttle", connect_address = "127.0.0.1" }
  local a, b = assert(cosocket.new(settings)), assert(cosocket.new(settings))
  local dict = ngx.shared.dts_throttle
  dict:flush_all()
  local key = "lua-dts:throttled-until:localhost"
  local out = {}
  local res, err = a:request{ url = args.url }
  if not res then return reply(200, { error = err_fields(err) }) end
  a:sleep(0.01, { kind = "network", message = "not a throttling" })
  out.not_throttling_kept = dict:get(key) == nil
  ngx.update_time()
  out.before = ngx.now()
  -- As in client:call: a request, then the back-off, in one light thread.
  local backoff = ngx.thread.spawn(function()
    local r, e = a:request{ url = args.url }
    if not r then return e end
    a:sleep(args.seconds, { kind = "api", code = "Throttling.User", bare_code = "Throttling.User" })
  end)
  for _ = 1, 500 do
    if dict:get(key) then break end
    ngx.sleep(0.002)
  end
  out.recorded_until, out.ttl = dict:get(key), dict:ttl(key)
  out.other_host_until = dict:get("lua-dts:throttled-until:127.0.0.1")
  res, err = b:request{ url = args.url }
  if not res then return reply(200, { error = err_fields(err) }) end
  out.sent_at = tonumber(res.body) + 0.002 -- the ms rounding of both clocks
  ngx.thread.wait(backoff)
  reply(200, out)
end

function M.content()
  local handler = handlers[ngx.var.uri]
  if not handler then return ngx.exit(404) end
  handler()
end

-- The phases without cosockets: record what a call returns there.
local function record(key, fn)
  local ok, res, err = pcall(fn)
  local out
  if not ok then
    out = { raised = tostring(res) }
  else
    out = outcome(res and { result = true }, err)
  end
  out.phase = ngx.get_phase()
  ngx.shared[RESULTS]:set(key, cjson.encode(out))
end

local PHASE_OPTIONS = {
  region_id = "cn-hangzhou", endpoint = "localhost:1", connect_address = "127.0.0.1",
  access_key_id = "testid", access_key_secret = "testsecret",
  retries = { max_attempts = 3, base_delay = 0.01 },
}
local PHASE_PARAMS = { DtsInstanceId = "dtsphase01", DbList = { db = { name = "db", all = true } } }

-- A client made in init (inherited by the workers), and calls from the
-- phases where none may go out.
local init_client

function M.init()
  local c, err = require("dts").new(PHASE_OPTIONS)
  init_client = c
  ngx.shared[RESULTS]:set("init_new", cjson.encode(c and { transport = c.transport.name }
    or { err = err_fields(err) }))
  record("init", function() return c:modify_dts_job(PHASE_PARAMS) end)
end

function M.init_worker()
  record("init_worker", function()
    local c = assert(require("dts").new(PHASE_OPTIONS))
    return c:modify_dts_job(PHASE_PARAMS)
  end)
  record("init_worker_sleep", function()
    init_client.transport:sleep(5)
    return true
  end)
end

function M.set()
  record("set", function() return init_client:modify_dts_job(PHASE_PARAMS) end)
  return "done"
end

function M.header_filter()
  record("header_filter", function() return init_client:modify_dts_job(PHASE_PARAMS) end)
end

function M.body_filter()
  if ngx.arg[2] then
    record("body_filter", function() return init_client:modify_dts_job(PHASE_PARAMS) end)
  end
end

function M.log()
  record("log", function() return init_client:modify_dts_job(PHASE_PARAMS) end)
end

-- The client made in init, used where it may be: it works there.
handlers["/t/init_client"] = function()
  local res, err = init_client.transport:request{ url = ngx.var.arg_url, timeout = 5 }
  reply(200, outcome(res and { status = res.status }, err))
end

return M
