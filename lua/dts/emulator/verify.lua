-- The gateway's checks of who is calling: signature (V1 or V3, recomputed
-- with dts.core over what was received), timestamp format and window, nonce
-- reuse, access key, STS token.  Each failure is the service's code and a
-- detail for its message (dts-api.md 1.3, signing.md).
--
-- A request here is { method, query = {}, form = {}, headers = {} (lower-case
-- names), body }; query and form values are decoded strings.

local core = require "dts.core"

local verify = {}

-- Headers every V3 signature must cover (signing.md 3.1).
local V3_REQUIRED = {
  "host", "x-acs-action", "x-acs-version", "x-acs-date",
  "x-acs-signature-nonce", "x-acs-content-sha256",
}

local V3_ALGORITHM = "ACS3-HMAC-SHA256"

-- STS tokens are Base64-like; anything else is malformed, not mismatched.
-- dts.emulator.start refuses a configured token or key id these would
-- never match.
local TOKEN_CHARS = "^[%w%+/=%-%._]+$"
verify.TOKEN_CHARS = TOKEN_CHARS
verify.KEY_ID_CHARS = "^[%w%-%._]+$"

local function header(req, name)
  local v = req.headers[name]
  if type(v) == "table" then
    return v[1]
  end
  return v
end

-- "v1" (a Signature parameter) or "v3" (an ACS3 Authorization header), or
-- nil and the error.  An Authorization header with another algorithm is a
-- malformed signature, not an unsigned request.
function verify.scheme(req)
  local auth = header(req, "authorization")
  if auth then
    if auth:sub(1, #V3_ALGORITHM + 1) == V3_ALGORITHM .. " " then
      return "v3"
    end
    return nil, "IncompleteSignature", "Unsupported Authorization algorithm; expected "
      .. V3_ALGORITHM .. "."
  end
  if req.query.Signature or req.form.Signature then
    return "v1"
  end
  return nil, "MissingSignature"
end

-- The Action and Version the request names (V1: parameters; V3: headers).
function verify.target(req, scheme)
  if scheme == "v3" then
    return header(req, "x-acs-action"), header(req, "x-acs-version")
  end
  local p = req.params
  return p.Action, p.Version
end

-- Seconds since the epoch of "yyyy-MM-ddTHH:mm:ssZ", or nil when the text
-- is not exactly that (signing.md 2.1: UTC, whole seconds, literal Z).
verify.parse_time = require("dts.time").parse

-- The V1 common parameters, each required (signing.md 2.1).
local function v1_fields(req)
  local p = req.params
  for _, name in ipairs({ "AccessKeyId", "SignatureMethod", "SignatureVersion",
                          "SignatureNonce", "Timestamp" }) do
    if p[name] == nil or p[name] == "" then
      return nil, "Missing" .. name
    end
  end
  if p.SignatureMethod ~= "HMAC-SHA1" then
    return nil, "IncompleteSignature", "SignatureMethod must be HMAC-SHA1."
  end
  if p.SignatureVersion ~= "1.0" then
    return nil, "IncompleteSignature", "SignatureVersion must be 1.0."
  end
  return {
    access_key_id = p.AccessKeyId, nonce = p.SignatureNonce,
    time = p.Timestamp, token = p.SecurityToken, signature = p.Signature,
  }
end

-- Credential, SignedHeaders and Signature of a V3 Authorization header,
-- and the x-acs-* values.
local function v3_fields(req)
  local auth = header(req, "authorization")
  local rest = auth:sub(#V3_ALGORITHM + 2)
  local f = {}
  for item in rest:gmatch("[^,]+") do
    local k, v = item:match("^%s*([%w]+)=(.*)$")
    if not k then
      return nil, "IncompleteSignature", "Malformed Authorization header."
    end
    f[k] = v
  end
  if not (f.Credential and f.SignedHeaders and f.Signature)
      or f.Credential == "" or f.SignedHeaders == "" or f.Signature == "" then
    return nil, "IncompleteSignature",
      "Authorization needs Credential, SignedHeaders and Signature."
  end
  local signed = {}
  for name in f.SignedHeaders:gmatch("[^;]+") do
    signed[name:lower()] = true
  end
  for _, name in ipairs(V3_REQUIRED) do
    if not signed[name] then
      return nil, "IncompleteSignature", "SignedHeaders must include " .. name .. "."
    end
    if header(req, name) == nil then
      return nil, "IncompleteSignature", "Header " .. name .. " is missing."
    end
  end
  if header(req, "x-acs-security-token") and not signed["x-acs-security-token"] then
    return nil, "IncompleteSignature", "SignedHeaders must include x-acs-security-token."
  end
  return {
    access_key_id = f.Credential, nonce = header(req, "x-acs-signature-nonce"),
    time = header(req, "x-acs-date"), token = header(req, "x-acs-security-token"),
    signature = f.Signature, signed_headers = f.SignedHeaders, signed = signed,
  }
end

-- The server's own signature over what was received: V1 over every
-- parameter but Signature; V3 over the named headers, the query and the hash
-- of the body bytes as received (so an x-acs-content-sha256 that is not the
-- body's hash makes the signatures differ).
local function recompute(req, scheme, f, secret)
  if scheme == "v1" then
    local params = {}
    for k, v in pairs(req.params) do
      if k ~= "Signature" then
        params[k] = v
      end
    end
    return core.v1_signature{ method = req.method, params = params, access_key_secret = secret }
  end
  local headers = {}
  for name in pairs(f.signed) do
    headers[name] = req.headers[name]
  end
  return core.v3_signature{
    method = req.method, path = req.path or "/", query = req.query, headers = headers,
    payload_hash = core.sha256_hex(req.body), access_key_id = f.access_key_id,
    access_key_secret = secret, signed_headers = f.signed_headers,
  }
end

-- cfg: { access_key_id, access_key_secret, security_token, expired_token,
-- time_window }; nonces: a store with seen(key, now) and add(key, now, ttl);
-- issued (optional): access key id -> { secret, token, expires }, the STS
-- credentials the emulator handed out (dts.emulator.issuer), good until
-- they expire.  Returns true and the access key id, or nil, code, detail
-- and the access key id when one was given (for the request log).
function verify.check(req, scheme, cfg, now, nonces, issued)
  local f, code, detail
  if scheme == "v1" then
    f, code, detail = v1_fields(req)
  else
    f, code, detail = v3_fields(req)
  end
  if not f then
    return nil, code, detail
  end
  local id = f.access_key_id
  local when = verify.parse_time(f.time)
  if not when then
    return nil, "InvalidTimeStamp.Format", nil, id
  end
  local window = cfg.time_window or 900
  if math.abs(now - when) > window then
    return nil, "InvalidTimeStamp.Expired", nil, id
  end
  local secret, want, expires = cfg.access_key_secret, cfg.security_token, nil
  if id ~= cfg.access_key_id then
    local key = issued and issued[id]
    if not key then
      return nil, "InvalidAccessKeyId.NotFound", nil, id
    end
    secret, want, expires = key.secret, key.token, key.expires
  end
  local token = f.token
  if token == "" then
    token = nil
  end
  if token and not token:match(TOKEN_CHARS) then
    return nil, "InvalidSecurityToken.Malformed", nil, id
  end
  if token ~= want then
    -- Missing, different, or sent with a key that has none.
    return nil, "InvalidSecurityToken.MismatchWithAccessKey", nil, id
  end
  if token and (cfg.expired_token or (expires and now >= expires)) then
    return nil, "InvalidSecurityToken.Expired", nil, id
  end
  local r, err = recompute(req, scheme, f, secret)
  if not r then
    -- Only what core refuses to canonicalize gets here (e.g. a header
    -- value with a control character).
    return nil, "IncompleteSignature", err .. ".", id
  end
  if r.signature ~= f.signature then
    return nil, "SignatureDoesNotMatch", r.string_to_sign, id
  end
  -- Only a verified request uses up its nonce, so nobody can burn another
  -- caller's nonces with bad signatures.
  local key = id .. "\0" .. f.nonce
  if nonces:seen(key, now) then
    return nil, "SignatureNonceUsed", nil, id
  end
  nonces:add(key, now, window)
  return true, id
end

return verify
