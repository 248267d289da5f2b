-- The emulator inside nginx (content_by_lua, one worker): reads the request,
-- lets the fault rules act, runs dts.emulator.service (or dts.emulator.sts
-- for STS actions on the same endpoint, dts.emulator.metadata on the
-- metadata port), logs, answers.  Its
-- files live in nginx's prefix, written by dts.emulator.start:
--   emulator.json   options (credentials, windows, answer modes)
--   seed.json       the jobs to start from
--   faults.json     the fault rules, re-read on every request
--   state.json      the jobs now, rewritten after each call (handle:state())
--   requests.jsonl  the request log (handle:requests())
-- Only dts.core is loaded here, never dts.curl (design.md).
-- luacheck: globals ngx

local cjson = require "cjson.safe"
local core = require "dts.core"
local errors = require "dts.errors"
local faults = require "dts.emulator.faults"
local issuer = require "dts.emulator.issuer"
local log = require "dts.emulator.log"
local metadata = require "dts.emulator.metadata"
local reply = require "dts.emulator.reply"
local service = require "dts.emulator.service"
local sts = require "dts.emulator.sts"
local state = require "dts.emulator.state"
local sys = require "dts.sys"

local read_file, write_file = sys.read_file, sys.write_file

local server = {}

-- Per worker; the launcher runs one, so this is the whole service's state.
local loaded

local function load()
  local prefix = ngx.config.prefix()
  local cfg = cjson.decode(read_file(prefix .. "emulator.json") or "")
  if type(cfg) ~= "table" then
    return nil, "emulator.json missing or not JSON"
  end
  local model, err = state.new(read_file(prefix .. "seed.json"))
  if not model then
    return nil, err
  end
  -- The jobs as last saved: what a change that cannot be saved returns to.
  local saved = model:encode()
  local function commit(m)
    local text, why = m:encode()
    local ok
    if text then
      ok, why = write_file(prefix .. "state.json", text)
    end
    if ok then
      saved = text
      return true
    end
    assert(m:restore(saved))
    return nil, "state not saved, the change is undone: " .. tostring(why)
  end
  -- What STS, metadata and the credentials URI hand out, DTS accepts.
  local iss = issuer.new(cfg)
  local svc = service.new(cfg, model, commit, iss.keys)
  return {
    prefix = prefix,
    svc = svc,
    sts = sts.new(cfg, iss, svc.nonces),
    metadata = metadata.new(cfg, iss),
    model = model,
    secrets = { cfg.access_key_secret, cfg.security_token },
    faults_text = nil,
    tracker = faults.new({}),
  }
end

-- A changed faults.json (set_faults writes a new generation each time)
-- replaces the rules and restarts their counters.
local function refresh_faults(s)
  local text = read_file(s.prefix .. "faults.json") or ""
  if text == s.faults_text then
    return
  end
  s.faults_text = text
  local spec = cjson.decode(text)
  local rules = type(spec) == "table" and faults.normalize(spec.rules)
  if not rules then
    ngx.log(ngx.ERR, "dts.emulator: faults.json unreadable, no faults in force")
  end
  s.tracker = faults.new(rules or {})
end

local function body()
  ngx.req.read_body()
  local data = ngx.req.get_body_data()
  if data then
    return data
  end
  local file = ngx.req.get_body_file()
  return file and read_file(file) or ""
end

local function send(answer, request_id)
  ngx.status = answer.status
  ngx.header["Content-Type"] = answer.content_type or "application/json;charset=utf-8"
  ngx.header["x-acs-request-id"] = request_id
  ngx.print(answer.body)
end

local function kinds(rules, into)
  for _, r in ipairs(rules) do
    into[#into + 1] = r.kind
  end
  return into
end

-- The first rule that replaces or drops the answer; delays are slept here,
-- and the kinds that change a credential answer are collected in mods.
local function act(rules, mods)
  local breaker
  for _, r in ipairs(rules) do
    if r.kind == "delay" then
      ngx.sleep(r.seconds)
    elseif faults.CREDENTIAL_KINDS[r.kind] then
      mods[r.kind] = true
    else
      breaker = breaker or r
    end
  end
  return breaker
end

-- The request, and the service that answers it.
local function route(s, port)
  local raw = {
    method = ngx.req.get_method(), path = ngx.var.uri, args = ngx.var.args,
    headers = ngx.req.get_headers(0),
  }
  if port == "metadata" then
    return metadata.parse(raw), s.metadata
  end
  raw.body = body()
  local req = service.parse(raw)
  local action = sts.action_of(req)
  if action then
    req.action, req.entry.action, req.entry.service = action, action, "sts"
    return req, s.sts
  end
  return req, s.svc
end

local function run(s, port)
  refresh_faults(s)
  ngx.update_time()
  local arrived = ngx.now()
  local request_id = reply.request_id(core.nonce())
  local req, handler = route(s, port)
  local mods = {}
  local before, after = s.tracker:plan(req.action)
  local answer, entry
  local breaker = act(before, mods)
  local struck_before = breaker ~= nil
  if struck_before then
    -- Before processing: nothing verified, nothing applied.
    entry = req.entry
    entry.parameters = req.params and log.redact(req.params, s.secrets)
    answer = faults.answer(breaker, nil, request_id) or { status = 444 }
  else
    for _, r in ipairs(after) do -- these change the answer about to be made
      if faults.CREDENTIAL_KINDS[r.kind] then mods[r.kind] = true end
    end
    ngx.update_time()
    -- The DTS service saves the jobs after every verified call (a
    -- DescribeDtsJobDetail moves a status sequence on, so not only applied
    -- calls change what state() shows), or undoes the call.
    answer, entry = handler:handle(req, ngx.now(), request_id, mods)
    if entry.error then
      ngx.log(ngx.ERR, "dts.emulator: ", errors.redact(entry.error, s.secrets))
    end
    breaker = act(after, {})
    if breaker then
      answer = faults.answer(breaker, answer, request_id) or answer
    end
  end
  -- The rules that acted: when one struck before processing, the after
  -- rules had nothing left to act on.
  local fired = kinds(before, {})
  if not struck_before then
    kinds(after, fired)
  end
  entry.time = arrived
  entry.request_id = request_id
  -- nginx's connection serial: the same number on two entries is one
  -- kept-alive connection.
  entry.connection = tonumber(ngx.var.connection)
  entry.fault = #fired > 0 and table.concat(fired, ",") or nil
  entry.code = answer.code
  entry.http_status = breaker and breaker.kind == "drop" and 444 or answer.status
  log.write(s.prefix .. "requests.jsonl", entry, s.secrets)
  if breaker and breaker.kind == "drop" then
    -- 444: nginx closes the connection without a word.
    return ngx.exit(444)
  end
  send(answer, request_id)
end

-- nginx's own refusals (error_page, see dts.emulator.init) by their status,
-- as the gateway's error object; 494 is nginx's "header too large".
local REFUSALS = {
  [400] = "BadRequest", [404] = "InvalidAction.NotFound", [405] = "MethodNotAllowed", [408] = "RequestTimeout",
  [411] = "LengthRequired", [413] = "RequestEntityTooLarge", [414] = "RequestURITooLong",
  [494] = "RequestHeaderTooLarge", [501] = "NotImplemented", [505] = "HTTPVersionNotSupported",
}

-- Not in the request log: nothing reached the API (and the launcher's
-- readiness probe is such a request).
function server.refused()
  local status = tonumber(ngx.var.uri:match("(%d+)$"))
  local id = reply.request_id(core.nonce())
  send(reply.error(REFUSALS[status] or "BadRequest", nil, id), id)
end

-- content_by_lua entry point (port: nil for the DTS and STS endpoint,
-- "metadata" for instance metadata and the credentials URI).  A bug
-- answers InternalError in the service's shape, with the traceback in
-- nginx's error log.
function server.handle(port)
  if not loaded then
    local err
    loaded, err = load()
    if not loaded then
      ngx.log(ngx.ERR, "dts.emulator: ", err)
      return send(reply.error("InternalError", nil, "00000000-0000-0000-0000-000000000000"), "")
    end
  end
  local ok, err = xpcall(run, debug.traceback, loaded, port)
  if not ok then
    ngx.log(ngx.ERR, "dts.emulator: ", errors.redact(err, loaded.secrets))
    local id = reply.request_id(core.nonce())
    return send(reply.error("InternalError", nil, id), id)
  end
end

return server
