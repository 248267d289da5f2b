-- Step 5 (design.md): an HTTP answer into a result table or an error.
-- Lenient, as dts-api.md 1.2-1.3 asks: errors come as HTTP 4xx/5xx with the
-- gateway object {RequestId, HostId, Code, Message, Recommend}, or as HTTP
-- 2xx with Success false (a boolean or the string "false") and ErrCode /
-- ErrMessage / DynamicMessage.

local codes = require "dts.codes"
local errors = require "dts.errors"
local json = require "dts.json"

local function field(body, ...)
  for i = 1, select("#", ...) do
    local v = body[select(i, ...)]
    if v ~= nil and v ~= json.null then return v end
  end
  return nil
end

local function text(v)
  if v == nil then return nil end
  return tostring(v)
end

-- ErrMessage may hold "%s" that DynamicMessage fills (ResetDtsJob's page).
local function fill(message, dynamic)
  if type(message) ~= "string" then return text(message) end
  if type(dynamic) == "string" and message:find("%s", 1, true) then
    return (message:gsub("%%s", function() return dynamic end))
  end
  return message
end

local function api_error(status, body, code, message)
  local entry, bare = codes.lookup(code)
  local retryable = status >= 500 or (entry and entry.retryable) or false
  return errors.new(entry and entry.kind or "api", {
    code = code,
    bare_code = bare,
    message = message or "no message",
    http_status = status,
    request_id = text(field(body, "RequestId", "requestId")),
    recommend = text(field(body, "Recommend", "recommend")),
    retryable = retryable,
  })
end

-- decode(res) -> body table | nil, err
return function(res)
  local body, jerr = nil, nil
  local raw = res.body
  if raw and json.object_text(raw) then
    body, jerr = json.decode(raw)
  end
  if type(body) ~= "table" then
    local what = res.body == "" and "an empty body"
      or ("a body that is not a JSON object (%s)"):format(jerr or ("%d bytes"):format(#res.body))
    return nil, errors.new("protocol", {
      message = ("the service answered HTTP %d with %s"):format(res.status, what),
      http_status = res.status,
      retryable = res.status >= 500,
    })
  end
  if res.status >= 300 then
    local code = text(field(body, "Code", "code", "ErrCode"))
      or ("HTTP" .. res.status)
    return nil, api_error(res.status, body, code,
      text(field(body, "Message", "message", "ErrMessage")))
  end
  -- field(body, "Success") without its loop: json.null is neither false nor "false".
  local success = body.Success
  if success == false or success == "false" then
    local code = text(field(body, "ErrCode", "Code")) or "UnknownError"
    return nil, api_error(res.status, body, code,
      fill(field(body, "ErrMessage", "Message"), field(body, "DynamicMessage")))
  end
  return body
end
