-- The emulator's request log: one JSON object per line, written by the
-- nginx handler, read back by the handle.  Nothing secret goes in: the
-- signature, STS token and OIDC token parameters are dropped, and any value equal to the
-- configured secret or token is masked as well.
--
-- An entry: time, request_id, action, method, scheme ("v1"/"v3"), verified,
-- access_key_id, parameters, client_token, code ("OK" or the error code),
-- http_status, applied, replayed, fault, connection (nginx's serial).

local cjson = require "cjson.safe"

local log = {}

local DROP = { Signature = true, SecurityToken = true, ["x-acs-security-token"] = true,
  OIDCToken = true }

-- A copy of the parameters fit for the log.
function log.redact(params, secrets)
  local out = {}
  for k, v in pairs(params or {}) do
    if not DROP[k] then
      for _, s in ipairs(secrets or {}) do
        if s ~= "" and v == s then
          v = "(redacted)"
        end
      end
      out[k] = v
    end
  end
  return out
end

-- Appends one entry; opening per write lets clear_log() truncate the file
-- under the running server.
function log.write(path, entry)
  local line, err = cjson.encode(entry)
  if not line then
    return nil, err
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
