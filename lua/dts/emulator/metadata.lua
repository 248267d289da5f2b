-- The emulator's ECS instance metadata service and credentials URI
-- (credentials.md 3.3, 3.4, 3.9), plain HTTP on a port of their own:
--
--   PUT /latest/api/token                      an IMDSv2 token; needs the
--       X-aliyun-ecs-metadata-token-ttl-seconds header (1-21600)
--   GET /latest/meta-data/ram/security-credentials/         the role name
--   GET /latest/meta-data/ram/security-credentials/<role>   its credential
--       (AccessKeyId, AccessKeySecret, SecurityToken, Expiration,
--       LastUpdated, Code "Success")
--   GET /credentials[?...]                     a credential as a credentials
--       URI answers it (Code "Success" and the four fields)
--
-- Modes: "both" (default; a GET with a token needs a valid one, without one
-- it is IMDSv1), "v2_only" (a GET without a token: 403), "v1_only" (the
-- token PUT: 404).  Actions for fault rules: MetadataToken,
-- MetadataRoleName, MetadataCredentials, CredentialsURI; failure_code and
-- bad_expiration change the credential answers.

local core = require "dts.core"
local reply = require "dts.emulator.reply"

local metadata = {}
metadata.__index = metadata

local PREFIX = "/latest/meta-data/ram/security-credentials/"

metadata.MODES = { both = true, v2_only = true, v1_only = true }

-- cfg: metadata_mode, role_name; iss: dts.emulator.issuer.
function metadata.new(cfg, iss)
  return setmetatable({ cfg = cfg, issuer = iss, tokens = {} }, metadata)
end

local function header(headers, name)
  local v = headers[name]
  return type(v) == "table" and v[1] or v
end

-- raw: { method, path, headers (lower-case names) } -> req with action.
function metadata.parse(raw)
  local req = { method = raw.method, path = raw.path, headers = raw.headers or {} }
  local path = raw.path or ""
  if path == "/latest/api/token" then
    req.action = "MetadataToken"
  elseif path == PREFIX then
    req.action = "MetadataRoleName"
  elseif path:sub(1, #PREFIX) == PREFIX then
    req.action, req.role = "MetadataCredentials", path:sub(#PREFIX + 1)
  elseif path == "/credentials" or path:sub(1, 13) == "/credentials/" then
    req.action = "CredentialsURI"
  end
  req.entry = { service = req.action == "CredentialsURI" and "uri" or "metadata",
    action = req.action, method = raw.method, path = path,
    token = header(req.headers, "x-aliyun-ecs-metadata-token") ~= nil }
  return req
end

local function text(status, body)
  return { status = status, code = status == 200 and "OK" or ("HTTP" .. status),
    content_type = "text/plain", body = body }
end

local function iso(t)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(t))
end

-- A token sent must be one we issued and not expired; none sent is IMDSv1,
-- refused in v2_only mode.  -> nil when fine, else the answer.
function metadata:check_token(req, now)
  local token = header(req.headers, "x-aliyun-ecs-metadata-token")
  if token then
    local expires = self.tokens[token]
    if not expires or expires <= now then return text(401, "invalid or expired token\n") end
    return nil
  end
  if self.cfg.metadata_mode == "v2_only" then return text(403, "IMDSv2 token required\n") end
  return nil
end

local function credential(self, source, now, mods, extra)
  local c = self.issuer:issue(source, now)
  if mods.bad_expiration then c.Expiration = "tomorrow at noon" end
  local body = { Code = mods.failure_code and "Failure" or "Success" }
  if mods.failure_code then body.Message = "The instance has no credentials to give now." end
  for k, v in pairs(c) do body[k] = v end
  for k, v in pairs(extra or {}) do body[k] = v end
  return body, c.AccessKeyId
end

function metadata:handle(req, now, _, mods)
  local entry = req.entry
  local a = req.action
  if not a then return text(404, "not found\n"), entry end
  if a == "MetadataToken" then
    if req.method ~= "PUT" then return text(405, "use PUT\n"), entry end
    if self.cfg.metadata_mode == "v1_only" then return text(404, "not found\n"), entry end
    local ttl = tonumber(header(req.headers, "x-aliyun-ecs-metadata-token-ttl-seconds") or "")
    if not ttl or ttl % 1 ~= 0 or ttl < 1 or ttl > 21600 then
      return text(400, "X-aliyun-ecs-metadata-token-ttl-seconds must be 1 to 21600\n"), entry
    end
    local token = core.base64(core.nonce() .. core.nonce())
    self.tokens[token] = now + ttl
    entry.verified = true
    return text(200, token), entry
  end
  if req.method ~= "GET" then return text(405, "use GET\n"), entry end
  if a == "CredentialsURI" then
    local body, id = credential(self, "uri", now, mods)
    entry.issued_access_key_id = id
    return reply.ok(body), entry
  end
  local refused = self:check_token(req, now)
  if refused then return refused, entry end
  entry.verified = true
  local role = self.cfg.role_name
  if a == "MetadataRoleName" then return text(200, role), entry end
  if req.role ~= role then return text(404, "not found\n"), entry end
  local body, id = credential(self, "metadata", now, mods, { LastUpdated = iso(now) })
  entry.issued_access_key_id = id
  return reply.ok(body), entry
end

return metadata
