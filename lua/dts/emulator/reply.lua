-- Answers in the service's shapes (dts-api.md 1.2): the gateway error object,
-- the DTS "Success":false variant, and success bodies.  An answer is
-- { status = HTTP status, code = "OK" or the error code, body = JSON text }.

local cjson = require "cjson"
local codes = require "dts.codes"

local reply = {}

local HOST_ID = "dts.aliyuncs.com"

-- cjson 2.1.0 (Debian) has no empty-array marker: this string is encoded as
-- a placeholder and swapped for [] afterwards.
reply.EMPTY_ARRAY = "\0lua-dts-empty-array\0"
local EMPTY_ARRAY_JSON = '"\\u0000lua-dts-empty-array\\u0000"'

-- lua-cjson also writes "/" as "\/"; the service does not, and in JSON
-- output every "/" is escaped, so each "\/" is that escape.
function reply.encode(value)
  local text = cjson.encode(value):gsub("\\/", "/")
  local i, j = text:find(EMPTY_ARRAY_JSON, 1, true)
  while i do
    text = text:sub(1, i - 1) .. "[]" .. text:sub(j + 1)
    i, j = text:find(EMPTY_ARRAY_JSON, i + 2, true)
  end
  return text
end

-- 32 random hex digits as the service's upper-case UUID form.
function reply.request_id(hex)
  hex = hex:upper()
  return ("%s-%s-%s-%s-%s"):format(hex:sub(1, 8), hex:sub(9, 12), hex:sub(13, 16),
                                  hex:sub(17, 20), hex:sub(21, 32))
end

-- Fills the one %s of a message without reading the detail as a pattern
-- (a V1 string to sign is full of %).
local function fill(template, detail)
  local i = template:find("%s", 1, true)
  if not i then
    return template
  end
  return template:sub(1, i - 1) .. (detail or "") .. template:sub(i + 2)
end

-- The code's status and message from dts.codes; Missing<Name> codes name
-- the parameter themselves.
local function describe(code, detail)
  local entry, bare = codes.lookup(code)
  if not entry then
    error("dts.emulator: no entry in dts.codes for " .. tostring(code), 2)
  end
  if bare ~= "MissingParameter" and bare:match("^Missing") then
    detail = bare:sub(8)
  end
  return entry.status, fill(entry.message, detail), entry.message
end

local function gateway(status, code, message, request_id)
  return {
    status = status,
    code = code,
    body = reply.encode({
      RequestId = request_id,
      HostId = HOST_ID,
      Code = code,
      Message = message,
      Recommend = "https://api.aliyun.com/troubleshoot?q=" .. code
                  .. "&product=Dts&requestId=" .. request_id,
    }),
  }
end

-- The gateway error object, with the status of dts.codes.  A reason
-- (InvalidParameter's "what is wrong") follows the service's own sentence.
function reply.error(code, detail, request_id, reason)
  local status, message = describe(code, detail)
  if reason then
    message = message .. " " .. reason
  end
  return gateway(status, code, message, request_id)
end

-- A DTS business error: the gateway object by default (the shape seen for
-- DTS), or HTTP 200 with Success false (boolean, or the string "false" that
-- TF-DTS checks for) and ErrMessage keeping its %s for DynamicMessage.
-- dts_msg_prefix sends the code as "DTS.Msg.<code>", the other form seen.
function reply.business(code, detail, request_id, opts)
  local mode = opts.business_errors or "http"
  local wire = opts.dts_msg_prefix and "DTS.Msg." .. code or code
  local status, message, template = describe(code, detail)
  if mode == "http" then
    return gateway(status, wire, message, request_id)
  end
  return {
    status = 200,
    code = wire,
    body = reply.encode({
      RequestId = request_id,
      Success = mode == "success_false_string" and "false" or false,
      ErrCode = wire,
      ErrMessage = template,
      DynamicMessage = detail or "",
      DynamicCode = tostring(status),
      HttpStatusCode = status,
    }),
  }
end

function reply.ok(body)
  return { status = 200, code = "OK", body = reply.encode(body) }
end

return reply
