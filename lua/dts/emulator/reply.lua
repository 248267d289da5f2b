-- Answers in the service's shapes (dts-api.md 1.2): the gateway error object,
-- the DTS "Success":false variant, and success bodies.  An answer is
-- { status = HTTP status, code = "OK" or the error code, body = JSON text }.

local cjson = require "cjson"
local codes = require "dts.codes"
local core = require "dts.core"
local json = require "dts.json"

local reply = {}

local HOST_ID = "dts.aliyuncs.com"

-- [] in an answer (dts.json's placeholder: cjson 2.1.0 has no marker).
reply.EMPTY_ARRAY = json.EMPTY_ARRAY

-- lua-cjson also writes "/" as "\/"; the service does not, and in JSON
-- output every "/" is escaped, so each "\/" is that escape.
--
-- Every answer is valid JSON (issue 11 item 12): text that reached an
-- answer without being checked (an echoed parameter name is checked by
-- reply.error) loses its non-ASCII bytes rather than break the JSON.
function reply.encode(value)
  local text = cjson.encode(value):gsub("\\/", "/")
  if not core.utf8_valid(text) then
    text = text:gsub("[\128-\255]", "?")
  end
  return json.empty_arrays(text)
end

-- 32 random hex digits as the service's upper-case UUID form.
function reply.request_id(hex)
  hex = hex:upper()
  return ("%s-%s-%s-%s-%s"):format(hex:sub(1, 8), hex:sub(9, 12), hex:sub(13, 16),
                                  hex:sub(17, 20), hex:sub(21, 32))
end

-- A detail as an answer may echo it: as it came when it is UTF-8 (a V1
-- string to sign can be long and is ASCII), else its first 100 bytes with
-- every byte that is not part of a UTF-8 character as "?".
function reply.text(s)
  if type(s) ~= "string" or core.utf8_valid(s) then
    return s
  end
  s = s:sub(1, 100)
  local out = {}
  while #s > 0 do
    local ok, pos = core.utf8_valid(s)
    if ok then
      out[#out + 1] = s
      break
    end
    out[#out + 1] = s:sub(1, pos - 1) .. "?"
    s = s:sub(pos + 1)
  end
  return table.concat(out)
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
  return entry.status, fill(entry.message, reply.text(detail)), entry.message
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
      DynamicMessage = reply.text(detail) or "",
      DynamicCode = tostring(status),
      HttpStatusCode = status,
    }),
  }
end

function reply.ok(body)
  return { status = 200, code = "OK", body = reply.encode(body) }
end

return reply
