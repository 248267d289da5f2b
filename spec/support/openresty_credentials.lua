-- luacheck: std ngx_lua
-- Runs inside the nginx of spec/06-openresty/credentials_spec.lua: clients
-- whose credentials come from the default chain (instance metadata, from
-- the `env` lines of nginx.conf), made in init, per request, and used from
-- init_worker, answering busted with what came back.
--
--   POST /c/setup   { options } : what /c/call's clients are made with
--   GET  /c/call    a new client (dts.new(options)) per request, one
--                   DescribeDtsJobDetail: { ok, worker } or { err }
--   GET  /c/init    the same with the client made in init_by_lua
--   GET  /c/results what the call from init_worker returned
--   GET  /c/stale?uri=  a credentials URI credential, then a call once it
--                   is stale (the clock moved on)
--   POST /c/go      { options, n }: every worker (a timer in each watches
--                   the lua_shared_dict) makes n calls at once, each with
--                   a new client; GET /c/bursts: what each worker got
local cjson = require "cjson.safe"

local M = {}

local options = {}
local init_client, init_err

local function reply(t)
  ngx.header["Content-Type"] = "application/json"
  ngx.print(cjson.encode(t))
end

local function outcome(res, err)
  if res then return { ok = true, status = res.status, worker = ngx.worker.pid() } end
  return { err = { kind = err.kind, code = err.code, message = err.message, phase = err.phase } }
end

local PARAMS = { DtsJobId = "dtsdemojob00001" }

-- The options a client in this nginx is made with: the emulator's DTS
-- endpoint; credentials from the chain (the environment nginx passes on).
local function base(extra)
  local o = { region_id = "cn-hangzhou", endpoint = os.getenv("SPEC_DTS_ENDPOINT"),
    connect_address = "127.0.0.1", retries = { max_attempts = 2, base_delay = 0.01 } }
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

function M.init()
  init_client, init_err = require("dts").new(base())
end

-- Every worker: when /c/go sets a new generation, n calls at once.
local seen = 0
local function watch(premature)
  if premature then return end
  local dict = ngx.shared.dts_results
  local gen = dict:get("go")
  if not gen or gen == seen then return end
  seen = gen
  local args = cjson.decode(dict:get("go_args"))
  local threads = {}
  for i = 1, args.n do
    threads[i] = ngx.thread.spawn(function()
      local c, err = require("dts").new(base(args.options))
      if not c then return { new_err = tostring(err) } end
      return outcome(c:describe_dts_job_detail(PARAMS))
    end)
  end
  local out = { oks = 0, errors = {} }
  for _, th in ipairs(threads) do
    local _, r = ngx.thread.wait(th)
    if r and r.ok then out.oks = out.oks + 1 else out.errors[#out.errors + 1] = r end
  end
  dict:set("burst:" .. ngx.worker.pid(), cjson.encode(out))
end

function M.init_worker()
  ngx.timer.every(0.02, watch)
  local out
  if not init_client then
    out = { new_err = tostring(init_err) }
  else
    local ok, res, err = pcall(init_client.describe_dts_job_detail, init_client, PARAMS)
    out = ok and outcome(res, err) or { raised = tostring(res) }
  end
  ngx.shared.dts_results:set("init_worker:" .. ngx.worker.pid(), cjson.encode(out))
end

local handlers = {}

handlers["/c/setup"] = function()
  ngx.req.read_body()
  options = cjson.decode(ngx.req.get_body_data() or "{}").options or {}
  reply{ ok = true }
end

handlers["/c/call"] = function()
  local c, err = require("dts").new(base(options))
  if not c then return reply{ new_err = tostring(err) } end
  reply(outcome(c:describe_dts_job_detail(PARAMS)))
end

handlers["/c/init"] = function()
  if not init_client then return reply{ new_err = tostring(init_err) } end
  reply(outcome(init_client:describe_dts_job_detail(PARAMS)))
end

handlers["/c/results"] = function()
  local out = {}
  for _, key in ipairs(ngx.shared.dts_results:get_keys(0)) do
    if key:match("^init_worker:") then out[#out + 1] = cjson.decode(ngx.shared.dts_results:get(key)) end
  end
  reply(out)
end

-- A stale credential whose refresh fails: the warning goes to the error
-- log by default.  The clock is the handler's; the emulator refuses the
-- second fetch (a fault rule with every = 2).
handlers["/c/stale"] = function()
  local now
  local c = assert(require("dts").new(base{ credentials = { type = "credentials_uri",
    credentials_uri = ngx.var.arg_uri, clock = function() return now or ngx.now() end } }))
  local res, err = c:describe_dts_job_detail(PARAMS)
  if not res then return reply(outcome(res, err)) end
  now = c.credentials.state().expiration - 899
  reply(outcome(c:describe_dts_job_detail(PARAMS)))
end

handlers["/c/go"] = function()
  ngx.req.read_body()
  local dict = ngx.shared.dts_results
  dict:set("go_args", ngx.req.get_body_data())
  dict:incr("go", 1, 0)
  reply{ ok = true }
end

handlers["/c/bursts"] = function()
  local out = {}
  for _, key in ipairs(ngx.shared.dts_results:get_keys(0)) do
    if key:match("^burst:") then out[#out + 1] = cjson.decode(ngx.shared.dts_results:get(key)) end
  end
  reply(out)
end

function M.content()
  local h = handlers[ngx.var.uri]
  if not h then return ngx.exit(404) end
  h()
end

return M
