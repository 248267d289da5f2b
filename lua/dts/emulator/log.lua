-- The emulator's request log: one JSON object per line, written by the
-- nginx handler, read back by the handle.  Nothing secret goes in: the
-- signature, STS token and OIDC token parameters are dropped, and the
-- configured secret and token are redacted from every other string of an
-- entry, in every form dts.errors.redact knows (a parameter may carry one
-- percent-encoded, in JSON, ...).
--
-- An entry: time, request_id, action, method, scheme ("v1"/"v3"), verified,
-- access_key_id, parameters, client_token, code ("OK" or the error code),
-- http_status, applied, replayed, fault, connection (nginx's serial), error
-- (why a call was answered InternalError: its change could not be saved).

local cjson = require "cjson.safe"
local errors = require "dts.errors"

local log = {}

local DROP = { Signature = true, SecurityToken = true, ["x-acs-security-token"] = true,
  OIDCToken = true }

-- A copy of the parameters fit for the log.
function log.redact(params, secrets)
  local out = {}
  for k, v in pairs(params or {}) do
    if not DROP[k] then
      out[errors.redact(k, secrets or {})] = errors.redact(v, secrets or {})
    end
  end
  return out
end

-- Appends one entry, every string of it redacted of secrets (a list);
-- opening per write lets clear_log() truncate the file under the running
-- server.  Bytes that are not UTF-8 (a parameter name can be anything)
-- become "?", so every line is JSON.
function log.write(path, entry, secrets)
  errors.redact_fields(entry, secrets or {})
  local line, err = cjson.encode(entry)
  if not line then
    return nil, err
  end
  if not require("dts.core").utf8_valid(line) then
    line = line:gsub("[\128-\255]", "?")
  end
  local f
  f, err = io.open(path, "a")
  if not f then
    return nil, err
  end
  f:write(line, "\n")
  f:close()
  return true
end

-- Every entry so far, oldest first.
function log.read(path)
  local f = io.open(path, "rb")
  if not f then
    return {}
  end
  local entries = {}
  for line in f:lines() do
    local entry = cjson.decode(line)
    if type(entry) == "table" then
      entries[#entries + 1] = entry
    end
  end
  f:close()
  return entries
end

return log
