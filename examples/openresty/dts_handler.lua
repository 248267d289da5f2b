-- luacheck: std ngx_lua
-- lua-dts inside nginx (examples/openresty/nginx.conf): DTS calls from a
-- request handler and from a timer, over cosockets, so a slow call never
-- stalls the worker.
--
--   POST /dts/modify         a JSON object of ModifyDtsJob parameters; the
--                            call is made now and its result answered
--   POST /dts/queue          the same, queued in a lua_shared_dict: answers
--                            202 and a ticket at once; a timer in every
--                            worker applies what is queued
--   GET  /dts/queue/TICKET   what became of a queued change
--
-- Parameters take the API's names or their snake_case aliases, and DbList
-- may be a JSON object or JSON text:
--
--   curl -X POST http://127.0.0.1:8080/dts/modify -d '{
--     "DtsInstanceId": "dtsbi6e22ay2435ab",
--     "DbList": {"shop": {"name": "shop", "all": false,
--                         "Table": {"orders": {"name": "orders", "all": true}}}}}'
--
-- Configuration comes from the environment, which nginx passes on only for
-- the names its `env` directives list: the credentials chain's (keys,
-- OIDC, profile, the ECS RAM role, ...: see nginx.conf),
-- ALIBABA_CLOUD_REGION_ID, and optionally DTS_ENDPOINT (host[:port]),
-- DTS_CONNECT_ADDRESS (the IP address to connect to, the endpoint's host
-- name still being checked in its certificate) and DTS_QUEUE_INTERVAL
-- (seconds between two looks at the queue, default 1).
local cjson = require "cjson.safe"
local dts = require "dts"

local _M = {}

local QUEUE = "dts_queue"   -- the lua_shared_dict of nginx.conf
local KEEP = 24 * 3600      -- how long a ticket's outcome is kept

-- One client per worker, made in init_worker: dts.new reads the
-- environment and the credential files but does no network I/O, so it may
-- run there; calls may not (they need a cosocket phase).  Session
-- credentials are fetched at the first call, once per worker, and shared
-- by the workers through the lua_shared_dict.
local client, client_err

local function env(name)
  local v = os.getenv(name)
  if v == nil or v == "" then return nil end
  return v
end

local function new_client()
  return dts.new{
    region_id = env("ALIBABA_CLOUD_REGION_ID") or "cn-hangzhou",
    endpoint = env("DTS_ENDPOINT"),
    connect_address = env("DTS_CONNECT_ADDRESS"),
    timeout = 10,
    retries = { max_attempts = 4 },
    shared_dict = "dts_throttle", -- a throttled call makes every worker back off
  }
end

local function reply(status, t)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.say(cjson.encode(t))
  return ngx.exit(status)
end

-- What a caller may see of an error: never a secret (lua-dts keeps them
-- out of every error), and the fields to branch on.
local function error_body(err)
  return { error = {
    kind = err.kind, code = err.code, message = err.message,
    request_id = err.request_id, param = err.param,
  } }
end

local STATUS = { invalid_argument = 400, timeout = 504, credentials = 500 }

local function error_status(err)
  if err.kind == "api" then
    return (err.http_status and err.http_status < 500) and 422 or 502
  end
  return STATUS[err.kind] or 502
end

local function result_body(res)
  return { request_id = res.request_id, dts_job_id = res.dts_job_id,
    status = res.status, success = res.success }
end

-- The request's JSON object, or nil and an answer already sent.
local function read_params()
  if ngx.req.get_method() ~= "POST" then
    ngx.header["Allow"] = "POST"
    return nil, reply(405, { error = { kind = "invalid_argument", message = "use POST" } })
  end
  ngx.req.read_body()
  local body = ngx.req.get_body_data()
  local params = body and cjson.decode(body)
  if type(params) ~= "table" then
    return nil, reply(400, { error = { kind = "invalid_argument",
      message = "expected a JSON object of ModifyDtsJob parameters" } })
  end
  return params
end

local function modify_now(params)
  if not client then return nil, client_err end
  return client:modify_dts_job(params)
end

function _M.modify()
  local params = read_params()
  if not params then return end
  local res, err = modify_now(params)
  if not res then return reply(error_status(err), error_body(err)) end
  return reply(200, result_body(res))
end

function _M.enqueue()
  local params = read_params()
  if not params then return end
  local dict = ngx.shared[QUEUE]
  local ticket = ngx.var.request_id
  local ok, err = dict:set("ticket:" .. ticket, cjson.encode({ state = "queued" }), KEEP)
  if ok then
    ok, err = dict:rpush("queue", cjson.encode({ ticket = ticket, params = params }))
  end
  if not ok then
    return reply(503, { error = { kind = "network", message = "queue: " .. tostring(err) } })
  end
  return reply(202, { ticket = ticket })
end

function _M.ticket()
  local text = ngx.shared[QUEUE]:get("ticket:" .. ngx.var[1])
  if not text then
    return reply(404, { error = { kind = "invalid_argument", message = "no such ticket" } })
  end
  ngx.header["Content-Type"] = "application/json"
  ngx.say(text)
end

-- The timer: take queued changes one by one (lpop is atomic, so workers
-- never take the same one) and apply them.  Retries inside modify_dts_job
-- sleep with ngx.sleep: the worker keeps serving meanwhile.
local draining = false

local function drain(premature)
  if premature or draining then return end
  draining = true
  local dict = ngx.shared[QUEUE]
  while true do
    local item = dict:lpop("queue")
    if not item then break end
    local job = cjson.decode(item)
    if type(job) == "table" and job.ticket then
      local ok, res, err = pcall(modify_now, job.params or {})
      if not ok then res, err = nil, dts.errors.new("protocol", { message = tostring(res) }) end
      local outcome = res and { state = "done", result = result_body(res) }
        or { state = "failed", error = error_body(err).error }
      dict:set("ticket:" .. job.ticket, cjson.encode(outcome), KEEP)
      if not res then
        ngx.log(ngx.ERR, "dts: queued ModifyDtsJob ", job.ticket, ": ", tostring(err))
      end
    end
  end
  draining = false
end

function _M.init_worker()
  client, client_err = new_client()
  if not client then
    -- Every call will answer this error; say it once in the log too.
    ngx.log(ngx.ERR, "dts: ", tostring(client_err))
  end
  local interval = tonumber(env("DTS_QUEUE_INTERVAL") or "") or 1
  local ok, err = ngx.timer.every(interval, drain)
  if not ok then
    ngx.log(ngx.ERR, "dts: cannot start the queue timer: ", err)
  end
end

return _M
