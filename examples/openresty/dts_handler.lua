-- luacheck: std ngx_lua
-- lua-dts inside nginx (examples/openresty/nginx.conf): DTS calls from a
-- request handler and from a timer, over cosockets, so a slow call never
-- stalls the worker.
--
--   GET  /dts/job/JOB_ID      DescribeDtsJobDetail: the job's status and objects
--   POST /dts/add-objects     a JSON object { DtsJobId, DtsInstanceId, objects,
--                             initialize, SynchronizationDirection, dry_run }:
--                             client:add_objects, answered once the job runs
--                             again with the new objects confirmed (or, with
--                             "dry_run": true, the plan at once)
--   POST /dts/queue           the same, queued in a lua_shared_dict: answers
--                             202 and a ticket at once; a timer in every
--                             worker applies what is queued
--   GET  /dts/queue/TICKET    what became of a queued change
--
-- Why not expose ModifyDtsJob itself: its DbList REPLACES the job's whole
-- object list, so a caller that posts only the tables to add silently
-- drops every other table from the synchronization.  add_objects reads the
-- current list, merges, refuses any plan that would remove something, sends
-- the complete list under one ClientToken and confirms it.
--
--   curl -X POST http://127.0.0.1:8080/dts/add-objects -d '{
--     "DtsJobId": "l3m1213ye7l4w5f", "DtsInstanceId": "dtsbi6e22ay2435ab",
--     "objects": ["shop.orders", "shop.invoices"], "initialize": true}'
--
-- Configuration comes from the environment, which nginx passes on only for
-- the names its `env` directives list: the credentials chain's (keys,
-- OIDC, profile, the ECS RAM role, ...: see nginx.conf),
-- ALIBABA_CLOUD_REGION_ID and ALIBABA_CLOUD_ENDPOINT (read by dts.new);
-- DTS_CONNECT_ADDRESS (the IP address to connect to, the endpoint's host
-- name still being checked in its certificate), DTS_QUEUE_INTERVAL (seconds
-- between two looks at the queue, default 1) and DTS_POLL_SECONDS (between
-- two status checks while a change settles, default 5).
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

-- What add_objects did: the plan, and whether it was applied.
local function result_body(res)
  local plan = res.plan or {}
  return { applied = res.applied, dry_run = res.dry_run or false, request_id = res.request_id,
    plan = { added = plan.added, present = plan.present, initialize = plan.initialize },
    text = res.text, status = res.job and res.job.status }
end

-- What a caller may send: add_objects' options, nothing that removes.
local ADD_FIELDS = { DtsJobId = true, DtsInstanceId = true, SynchronizationDirection = true,
  objects = true, initialize = true, dry_run = true }

-- The request's JSON object as add_objects' options, or nil and an
-- answer already sent.
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
      message = "expected a JSON object { DtsJobId, DtsInstanceId, objects, initialize, dry_run }" } })
  end
  for k, v in pairs(params) do
    if not ADD_FIELDS[k] then
      return nil, reply(400, { error = { kind = "invalid_argument", param = tostring(k),
        message = tostring(k) .. ": not accepted here (DtsJobId, DtsInstanceId, "
          .. "SynchronizationDirection, objects, initialize, dry_run)" } })
    end
    if v == cjson.null then params[k] = nil end
  end
  return params
end

local function add_now(params)
  if not client then return nil, client_err end
  params.interval = tonumber(env("DTS_POLL_SECONDS") or "") or 5
  return client:add_objects(params)
end

function _M.add_objects()
  local params = read_params()
  if not params then return end
  local res, err = add_now(params)
  if not res then return reply(error_status(err), error_body(err)) end
  return reply(200, result_body(res))
end

function _M.describe()
  if not client then return reply(error_status(client_err), error_body(client_err)) end
  local job, err = client:describe_dts_job_detail{ DtsJobId = ngx.var[1] }
  if not job then return reply(error_status(err), error_body(err)) end
  local names = job.db_object and dts.dblist.new(job.db_object):names() or {}
  return reply(200, { dts_job_id = job.dts_job_id, dts_instance_id = job.dts_instance_id,
    status = job.status, objects = names, request_id = job.request_id })
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
-- never take the same one) and apply them.  Retries and the wait for the
-- job to settle sleep with ngx.sleep: the worker keeps serving meanwhile.
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
      local ok, res, err = pcall(add_now, job.params or {})
      if not ok then res, err = nil, dts.errors.new("protocol", { message = tostring(res) }) end
      local outcome = res and { state = "done", result = result_body(res) }
        or { state = "failed", error = error_body(err).error }
      dict:set("ticket:" .. job.ticket, cjson.encode(outcome), KEEP)
      if not res then
        ngx.log(ngx.ERR, "dts: queued add_objects ", job.ticket, ": ", tostring(err))
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
