-- One request through the emulated service, in the gateway's order: route
-- and parameters, scheme, Action and Version, who is calling (verify), a
-- ClientToken seen before, the action's parameters (schema), the action.
-- Pure Lua over dts.core: the nginx handler feeds it what it received, and
-- specs can drive it without nginx.
--
--   local svc = service.new(cfg, model [, commit [, issued]])
--   local req = service.parse{ method, path, args, headers, body }
--   local answer, entry = svc:handle(req, now, request_id)
--
-- answer: { status, code, body, applied }; entry: the request-log fields.

local core = require "dts.core"
local schema = require "dts.schema"
local actions = require "dts.emulator.actions"
local log = require "dts.emulator.log"
local params = require "dts.emulator.params"
local reply = require "dts.emulator.reply"
local verify = require "dts.emulator.verify"

local service = {}
service.__index = service

-- ClientToken memory: the same token within 24 h (dts-api.md 1.1).
local TOKEN_TTL = 24 * 3600

-- Keys that expire; swept now and then so a long run stays small.
local Store = {}
Store.__index = Store

local function store()
  return setmetatable({ items = {}, adds = 0 }, Store)
end

function Store:get(key, now)
  local item = self.items[key]
  if item and item.expires > now then
    return item.value
  end
  return nil
end

function Store:seen(key, now)
  return self:get(key, now) ~= nil
end

function Store:add(key, now, ttl, value)
  self.items[key] = { expires = now + ttl, value = value == nil and true or value }
  self.adds = self.adds + 1
  if self.adds % 1000 == 0 then
    for k, item in pairs(self.items) do
      if item.expires <= now then
        self.items[k] = nil
      end
    end
  end
end

local function decode(s)
  s = s:gsub("%+", " ")
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- "a=1&b=2" as a form decoder reads it ("+" is a space); the name of a
-- parameter given twice, if any.
function service.parse_form(s)
  local t, twice = {}, nil
  for pair in (s or ""):gmatch("[^&]+") do
    local name, value = pair:match("^([^=]*)=?(.*)$")
    name, value = decode(name), decode(value)
    if t[name] ~= nil then
      twice = twice or name
    end
    t[name] = value
  end
  return t, twice
end

local function header(headers, name)
  local v = headers[name]
  return type(v) == "table" and v[1] or v
end

-- The request as the checks want it, with the log entry started.  Problems
-- found here are answered by handle(), after the fault rules had their say.
function service.parse(raw)
  local req = {
    method = raw.method, path = raw.path, headers = raw.headers or {},
    body = raw.body or "", form = {},
    entry = { method = raw.method, verified = false, applied = false, replayed = false },
  }
  local twice
  req.query, twice = service.parse_form(raw.args)
  local ctype = (header(req.headers, "content-type") or ""):lower()
  if ctype:find("^application/x%-www%-form%-urlencoded") then
    local more
    req.form, more = service.parse_form(req.body)
    twice = twice or more
  end
  req.params = {}
  for _, part in ipairs({ req.query, req.form }) do
    for k, v in pairs(part) do
      if req.params[k] ~= nil then
        twice = twice or k
      end
      req.params[k] = v
    end
  end
  if raw.method ~= "GET" and raw.method ~= "POST" or raw.path ~= "/" then
    -- RPC APIs live at "/" and take GET or POST only.
    req.problem = { "InvalidAction.NotFound" }
  elseif twice then
    req.problem = { "InvalidParameter", twice, "It is given more than once." }
  else
    for k, v in pairs(req.params) do
      if not core.utf8_valid(k) or not core.utf8_valid(v) then
        req.problem = { "InvalidParameter", k, "It is not valid UTF-8." }
        break
      end
    end
  end
  local code, detail
  req.scheme, code, detail = verify.scheme(req)
  if not req.scheme then
    req.problem = req.problem or { code, detail }
  else
    req.action, req.version = verify.target(req, req.scheme)
  end
  req.entry.scheme = req.scheme
  req.entry.action = req.action
  -- Logged even when refused, so a test can follow one call's attempts.
  if req.params.ClientToken ~= "" then
    req.entry.client_token = req.params.ClientToken
  end
  return req
end

-- cfg: { access_key_id, access_key_secret, security_token, expired_token,
-- time_window, modifying_seconds, business_errors, dts_msg_prefix }
-- commit(model) -> true | nil, err: saves the jobs after each verified call
-- and, when it cannot, puts them back as last saved (the nginx handler
-- writes state.json); the call is then answered InternalError and nothing
-- of it is kept, its ClientToken included.
-- issued (optional): the STS credentials the emulator handed out, which
-- it accepts too (dts.emulator.issuer's keys).
function service.new(cfg, model, commit, issued)
  return setmetatable({ cfg = cfg, model = model, nonces = store(), tokens = store(),
                        commit = commit, issued = issued }, service)
end

service.store = store

local function copy_answer(a)
  return { status = a.status, code = a.code, body = a.body }
end

function service:handle(req, now, request_id)
  local entry = req.entry
  entry.parameters = log.redact(req.params, { self.cfg.access_key_secret, self.cfg.security_token })
  local function fail(code, detail, reason)
    return reply.error(code, detail, request_id, reason), entry
  end
  if req.problem then
    return fail(req.problem[1], req.problem[2], req.problem[3])
  end
  if not req.action or req.action == "" then
    return fail("MissingAction")
  end
  local def = schema[req.action]
  if not def then
    return fail("InvalidAction.NotFound")
  end
  if not req.version or req.version == "" then
    return fail("MissingVersion")
  end
  if req.version ~= def.version then
    return fail("InvalidVersion")
  end

  local ok, code, detail, id = verify.check(req, req.scheme, self.cfg, now, self.nonces, self.issued)
  if not ok then
    entry.access_key_id = id
    return fail(code, detail)
  end
  entry.access_key_id = code -- verify.check's second result on success
  entry.verified = true

  -- A call that was applied is answered again as it was, and changes
  -- nothing; a refused one was not remembered, so its retry runs afresh.
  local token = def.by_name.ClientToken and req.params.ClientToken
  local key
  if token and token ~= "" then
    key = entry.access_key_id .. "\0" .. req.action .. "\0" .. token
    local first = self.tokens:get(key, now)
    if first then
      entry.replayed = true
      return copy_answer(first), entry
    end
  end

  local values, pcode, name, reason = params.check(def, req.params)
  if not values then
    return fail(pcode, name, reason)
  end
  local answer = actions[req.action](self.model, values, {
    now = now, request_id = request_id, opts = self.cfg,
  })
  if self.commit then
    local saved, err = self.commit(self.model)
    if not saved then
      entry.error = tostring(err)
      return fail("InternalError")
    end
  end
  entry.applied = answer.applied or false
  if answer.applied and key then
    self.tokens:add(key, now, TOKEN_TTL, copy_answer(answer))
  end
  return answer, entry
end

return service
