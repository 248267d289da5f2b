-- Fault rules: which requests get throttled, fail, wait, lose their
-- connection or get a broken body, and what that answer is.  Pure Lua; the
-- nginx handler carries the rules out (sleeping, dropping).
--
-- A rule: { kind = "throttle" | "error" | "delay" | "drop" | "truncate" |
--   "garbage", every = N (every N-th matching request, default 1),
--   times = N (fire at most N times), action = "ModifyDtsJob" (only this
--   action), after_apply = true (run the request first, then break the
--   answer: the change is applied and the answer lost), seconds = S (delay),
--   status = HTTP status (truncate, garbage; default 200) }
--
-- The credential endpoints (dts.emulator.sts, dts.emulator.metadata) have
-- actions of their own: AssumeRole, AssumeRoleWithOIDC, MetadataToken,
-- MetadataRoleName, MetadataCredentials, CredentialsURI.  A rule without
-- `action` strikes DTS requests only, except the kinds made for those
-- endpoints, which strike where they mean something:
--   expired_token   DTS answers InvalidSecurityToken.Expired (to test a refresh)
--   no_permission   STS answers 403 NoPermission
--   failure_code    metadata and the credentials URI answer Code "Failure"
--   bad_expiration  a credential's Expiration is not a time
--
-- The flags' short form is accepted too and turned into rules:
--   { throttle_every = N, error_every = N, delay = S, delay_every = N,
--     drop_every = N, truncate_every = N, garbage_every = N,
--     expired_token_every = N, no_permission_every = N,
--     failure_code_every = N, bad_expiration_every = N,
--     after_apply = bool, action = NAME, times = N }

local reply = require "dts.emulator.reply"

local faults = {}

faults.KINDS = { "throttle", "error", "delay", "drop", "truncate", "garbage",
  "expired_token", "no_permission", "failure_code", "bad_expiration" }
local KNOWN = {}
for _, k in ipairs(faults.KINDS) do
  KNOWN[k] = true
end

local function set(...)
  local t = {}
  for i = 1, select("#", ...) do t[select(i, ...)] = true end
  return t
end

faults.CREDENTIAL_ACTIONS = set("AssumeRole", "AssumeRoleWithOIDC", "MetadataToken",
  "MetadataRoleName", "MetadataCredentials", "CredentialsURI")
-- Where a kind strikes when its rule names no action.
local SCOPE = {
  no_permission = set("AssumeRole", "AssumeRoleWithOIDC"),
  failure_code = set("MetadataCredentials", "CredentialsURI"),
  bad_expiration = set("AssumeRole", "AssumeRoleWithOIDC", "MetadataCredentials", "CredentialsURI"),
}
-- Kinds that change a credential answer (its handler carries them out)
-- rather than replace it.
faults.CREDENTIAL_KINDS = set("failure_code", "bad_expiration")

local RULE_FIELDS = {
  kind = "string", every = "number", times = "number", action = "string",
  after_apply = "boolean", seconds = "number", status = "number",
}

local function check_rule(r, where)
  if type(r) ~= "table" then
    return nil, where .. ": expected a table"
  end
  for k, v in pairs(r) do
    if not RULE_FIELDS[k] then
      return nil, where .. ": unknown field " .. tostring(k)
    end
    if type(v) ~= RULE_FIELDS[k] then
      return nil, where .. "." .. k .. ": expected a " .. RULE_FIELDS[k]
    end
  end
  if not KNOWN[r.kind] then
    return nil, where .. ".kind: expected one of " .. table.concat(faults.KINDS, ", ")
  end
  local rule = {
    kind = r.kind, every = r.every or 1, times = r.times, action = r.action,
    after_apply = r.after_apply or false, seconds = r.seconds, status = r.status,
  }
  if rule.every < 1 or rule.every % 1 ~= 0 then
    return nil, where .. ".every: expected a whole number >= 1"
  end
  if rule.times and (rule.times < 1 or rule.times % 1 ~= 0) then
    return nil, where .. ".times: expected a whole number >= 1"
  end
  if rule.kind == "delay" and not (rule.seconds and rule.seconds >= 0) then
    return nil, where .. ".seconds: a delay needs seconds >= 0"
  end
  if faults.CREDENTIAL_KINDS[rule.kind] and rule.action and not SCOPE[rule.kind][rule.action] then
    return nil, where .. ".action: " .. rule.kind .. " changes credential answers only"
  end
  return rule
end

local SHORT = {
  throttle_every = "throttle", error_every = "error", drop_every = "drop",
  truncate_every = "truncate", garbage_every = "garbage",
  expired_token_every = "expired_token", no_permission_every = "no_permission",
  failure_code_every = "failure_code", bad_expiration_every = "bad_expiration",
}
local SHORT_OTHER = { delay = true, delay_every = true, after_apply = true, action = true, times = true }

-- The rules of a faults table (either form, or both), or nil and a
-- message naming the bad field.
function faults.normalize(spec)
  if spec == nil then
    return {}
  end
  if type(spec) ~= "table" then
    return nil, "faults: expected a table"
  end
  local rules = {}
  for i, r in ipairs(spec) do
    local rule, err = check_rule(r, "faults[" .. i .. "]")
    if not rule then
      return nil, err
    end
    rules[#rules + 1] = rule
  end
  local common = { after_apply = spec.after_apply, action = spec.action, times = spec.times }
  local function add(kind, extra)
    local r = { kind = kind }
    for k, v in pairs(common) do
      r[k] = v
    end
    for k, v in pairs(extra) do
      r[k] = v
    end
    local rule, err = check_rule(r, "faults." .. kind)
    if not rule then
      return nil, err
    end
    rules[#rules + 1] = rule
    return true
  end
  for k in pairs(spec) do
    if type(k) ~= "number" and not SHORT[k] and not SHORT_OTHER[k] then
      return nil, "faults: unknown field " .. tostring(k)
    end
  end
  for _, short in ipairs({ "throttle_every", "error_every", "drop_every",
                           "truncate_every", "garbage_every", "expired_token_every",
                           "no_permission_every", "failure_code_every",
                           "bad_expiration_every" }) do
    if spec[short] ~= nil then
      local ok, err = add(SHORT[short], { every = spec[short] })
      if not ok then
        return nil, (err:gsub("^faults%.%w+%.every", "faults." .. short))
      end
    end
  end
  if spec.delay ~= nil then
    local ok, err = add("delay", { seconds = spec.delay, every = spec.delay_every })
    if not ok then
      return nil, err
    end
  elseif spec.delay_every ~= nil then
    return nil, "faults.delay_every: needs delay (seconds)"
  end
  return rules
end

function faults.applies(rule, action)
  if rule.action ~= nil then return rule.action == action end
  local scope = SCOPE[rule.kind]
  if scope then return scope[action] == true end
  return not faults.CREDENTIAL_ACTIONS[action]
end

-- Counters for one set of rules; a new set starts them from zero.
function faults.new(rules)
  local t = { rules = rules, count = {}, fired = {} }
  for i = 1, #rules do
    t.count[i], t.fired[i] = 0, 0
  end
  return setmetatable(t, { __index = faults })
end

-- The rules that fire for this request (counted on arrival), in two lists:
-- before processing, and after it.
function faults:plan(action)
  local before, after = {}, {}
  for i, rule in ipairs(self.rules) do
    if faults.applies(rule, action) then
      self.count[i] = self.count[i] + 1
      if self.count[i] % rule.every == 0 and (not rule.times or self.fired[i] < rule.times) then
        self.fired[i] = self.fired[i] + 1
        local list = rule.after_apply and after or before
        list[#list + 1] = rule
      end
    end
  end
  return before, after
end

-- The answer a rule puts in place of `answer` (the processed one, or nil
-- before processing); nil for delay and drop, which the handler carries out.
function faults.answer(rule, answer, request_id)
  if rule.kind == "throttle" then
    return reply.error("Throttling.User", nil, request_id)
  elseif rule.kind == "error" then
    return reply.error("ServiceUnavailable", nil, request_id)
  elseif rule.kind == "expired_token" then
    return reply.error("InvalidSecurityToken.Expired", nil, request_id)
  elseif rule.kind == "no_permission" then
    return reply.error("NoPermission", nil, request_id)
  elseif rule.kind == "truncate" then
    -- The first half of the answer, or before processing the start of a
    -- success body: either way the caller cannot tell what happened.
    local body = answer and answer.body or
      '{"RequestId":"' .. request_id .. '","Status":"200","Success":true}'
    return { status = rule.status or 200, code = answer and answer.code,
             body = body:sub(1, math.floor(#body / 2)) }
  elseif rule.kind == "garbage" then
    return { status = rule.status or 200, code = answer and answer.code,
             content_type = "text/html",
             body = "<html><head><title>Bad Gateway</title></head>"
                    .. "<body>upstream sent an invalid response</body></html>\n" }
  end
  return nil
end

return faults
