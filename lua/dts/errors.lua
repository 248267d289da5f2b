-- Errors are values (design.md): every public function returns a result or
-- nil and one of these.  Callers branch on the fields, never on the text.
--
--   kind         invalid_argument | credentials | network | timeout | tls | api | protocol
--   code         the service's Code / ErrCode, when there is one
--   message      what went wrong, for a person
--   param        the parameter at fault (invalid_argument)
--   http_status, request_id, recommend, retryable, attempts
--
-- No error ever holds a secret: messages are built from names, never from
-- credential values, and redact() is applied to anything echoed back.

local errors = {}

local mt = {}
mt.__index = mt

function mt.__tostring(e)
  local head = "dts: " .. e.kind
  if e.code then head = head .. " " .. e.code end
  local extra = {}
  if e.http_status then extra[#extra + 1] = "HTTP " .. e.http_status end
  if e.request_id then extra[#extra + 1] = "request " .. e.request_id end
  if e.attempts and e.attempts > 1 then extra[#extra + 1] = e.attempts .. " attempts" end
  if #extra > 0 then head = head .. " (" .. table.concat(extra, ", ") .. ")" end
  return head .. ": " .. tostring(e.message)
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
