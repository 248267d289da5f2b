-- Errors are values (design.md): every public function returns a result or
-- nil and one of these.  Callers branch on the fields, never on the text.
--
--   kind         invalid_argument | credentials | network | timeout | tls | api | protocol
--                | unconfirmed (the service accepted a change that is not yet confirmed)
--                | interrupted (SIGINT/SIGTERM, or a batch run stopped by its caller)
--   code         the service's Code / ErrCode, when there is one
--   message      what went wrong, for a person
--   param        the parameter at fault (invalid_argument)
--   http_status, request_id, recommend, retryable, attempts
--
-- After a change (ModifyDtsJob) went out, an error says so:
--   submitted    true
--   client_token the ClientToken it went out with: sent again with the same
--                token, it is applied at most once
--   outcome      "unknown"   no answer came back: it may have been applied
--                "accepted"  the service took it; not yet confirmed
--                "refused"   the service said no: nothing was applied
--                "confirmed" applied and read back (a batch run stopped after it)
-- and interrupted errors carry signal ("SIGINT", "SIGTERM"); batch runs
-- add batch (the one these fields are about), batches, done, total.
--
-- No error ever holds a secret: messages are built from names, never from
-- credential values, and redact() is applied to anything echoed back.

local errors = {}

local mt = {}
mt.__index = mt

-- What became of a change that went out, and how to finish safely.
local OUTCOME = {
  unknown = " and no answer came back: it may have been applied. To finish safely, send it "
    .. "again with the same ClientToken (it is applied at most once) or read the job back",
  accepted = " and accepted; not yet confirmed: read the job back before changing it again",
  refused = " and refused: nothing was applied",
  confirmed = " and confirmed: it is applied",
}

function errors.outcome_text(e)
  if not e.submitted then return "" end
  return "; the change" .. (e.batch and (" of batch " .. tostring(e.batch)) or "") .. " was submitted"
    .. (e.client_token and (" with ClientToken " .. tostring(e.client_token)) or "")
    .. (OUTCOME[e.outcome] or "")
end

function mt.__tostring(e)
  local head = "dts: " .. e.kind
  if e.code then head = head .. " " .. e.code end
  local extra = {}
  if e.http_status then extra[#extra + 1] = "HTTP " .. e.http_status end
  if e.request_id then extra[#extra + 1] = "request " .. e.request_id end
  if e.attempts and e.attempts > 1 then extra[#extra + 1] = e.attempts .. " attempts" end
  if #extra > 0 then head = head .. " (" .. table.concat(extra, ", ") .. ")" end
  return head .. ": " .. tostring(e.message) .. errors.outcome_text(e)
end

-- errors.new("api", { code = ..., message = ... })
function errors.new(kind, fields)
  local e = {}
  for k, v in pairs(fields or {}) do e[k] = v end
  e.kind = kind
  e.retryable = e.retryable or false
  return setmetatable(e, mt)
end

function errors.is(e)
  return getmetatable(e) == mt
end

-- A caller's mistake: nothing was sent.
function errors.invalid(param, fmt, ...)
  local message = select("#", ...) > 0 and fmt:format(...) or fmt
  return errors.new("invalid_argument", {
    param = param,
    message = param and (param .. ": " .. message) or message,
  })
end

-- Replace every occurrence of each secret in s (plain text, and as it looks
-- percent-encoded) by "<redacted>".
function errors.redact(s, secrets)
  if type(s) ~= "string" then return s end
  for _, secret in pairs(secrets) do
    if type(secret) == "string" and #secret > 0 then
      local forms = { secret }
      local encoded = secret:gsub("[^%w%-_.~]", function(c)
        return ("%%%02X"):format(c:byte())
      end)
      forms[#forms + 1] = encoded
      forms[#forms + 1] = encoded:gsub("%%", "%%25") -- twice, as in a V1 string to sign
      for _, form in ipairs(forms) do
        local pattern = form:gsub("%p", "%%%0")
        s = s:gsub(pattern, "<redacted>")
      end
    end
  end
  return s
end

return errors
