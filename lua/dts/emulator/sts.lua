-- The emulator's Security Token Service (credentials.md 3.1, 3.2, 3.9), on
-- the DTS endpoint itself, told apart by Action (and Version 2015-04-01):
--
-- * AssumeRole: GET (query) or POST (query + form), signed (V1, or V3) with
--   the emulator's access key or a credential it handed out earlier (a
--   chained role), checked by dts.emulator.verify as DTS requests are;
--   RoleArn acs:ram::<digits>:role/<name>, RoleSessionName 2-64 of
--   [A-Za-z0-9.@_-], DurationSeconds 900-43200, Policy at most 2048.
-- * AssumeRoleWithOIDC: unsigned; RoleArn, OIDCProviderArn, RoleSessionName,
--   and OIDCToken (4-20000 characters) equal to the emulator's token.
--
-- Both answer a new credential from dts.emulator.issuer, which the DTS side
-- accepts until its Expiration.  Faults: no_permission (403 NoPermission),
-- bad_expiration, and the generic kinds with action = "AssumeRole" /
-- "AssumeRoleWithOIDC".

local log = require "dts.emulator.log"
local reply = require "dts.emulator.reply"
local verify = require "dts.emulator.verify"

local sts = {}
sts.__index = sts

sts.VERSION = "2015-04-01"
sts.ACTIONS = { AssumeRole = true, AssumeRoleWithOIDC = true }

-- cfg: the emulator's options (access_key_id, access_key_secret,
-- security_token, time_window, oidc_token); iss: dts.emulator.issuer;
-- nonces: a store as dts.emulator.service keeps.
function sts.new(cfg, iss, nonces)
  return setmetatable({ cfg = cfg, issuer = iss, nonces = nonces }, sts)
end

-- The STS action a parsed request names, if any.
function sts.action_of(req)
  local a = req.params.Action
  if sts.ACTIONS[a] then return a end
  if sts.ACTIONS[req.action] then return req.action end
  return nil
end

local function session_ok(v)
  return type(v) == "string" and #v >= 2 and #v <= 64 and v:match("^[%w%.@_%-]+$") ~= nil
end

-- req: from dts.emulator.service.parse; mods: the credential fault kinds in
-- force ({ bad_expiration = true }).
function sts:handle(req, now, request_id, mods)
  local entry = req.entry
  local action = sts.action_of(req)
  req.action, entry.action, entry.service = action, action, "sts"
  local p = req.params
  entry.parameters = log.redact(p, { self.cfg.access_key_secret, self.cfg.security_token })
  local function fail(code, detail, reason)
    return reply.error(code, detail, request_id, reason), entry
  end
  local oidc = action == "AssumeRoleWithOIDC"
  if req.problem and not (oidc and req.problem[1] == "MissingSignature") then
    return fail(req.problem[1], req.problem[2], req.problem[3])
  end
  if not p.Version or p.Version == "" then
    if req.scheme ~= "v3" then return fail("MissingVersion") end
  elseif p.Version ~= sts.VERSION then
    return fail("InvalidVersion")
  end
  if oidc then
    for _, name in ipairs({ "RoleArn", "OIDCProviderArn", "OIDCToken", "RoleSessionName" }) do
      if not p[name] or p[name] == "" then return fail("Missing" .. name) end
    end
    if #p.OIDCToken < 4 or #p.OIDCToken > 20000 then
      return fail("InvalidParameter", "OIDCToken", "It must be 4 to 20000 characters long.")
    end
    if p.OIDCToken ~= self.cfg.oidc_token then
      return fail("InvalidParameter", "OIDCToken", "It is not the token the emulator accepts.")
    end
    entry.verified = true
  else
    local ok, code, detail, id = verify.check(req, req.scheme, self.cfg, now, self.nonces,
      self.issuer.keys)
    entry.access_key_id = ok and code or id
    if not ok then return fail(code, detail) end
    entry.verified = true
    if not p.RoleArn or p.RoleArn == "" then return fail("MissingRoleArn") end
    if not p.RoleSessionName or p.RoleSessionName == "" then return fail("MissingRoleSessionName") end
  end
  if not p.RoleArn:match("^acs:ram::%d+:role/[%w%.@_%-/]+$") then
    return fail("InvalidParameter", "RoleArn", "Expected acs:ram::<account>:role/<name>.")
  end
  if not session_ok(p.RoleSessionName) then return fail("InvalidParameter.RoleSessionName") end
  local duration
  if p.DurationSeconds and p.DurationSeconds ~= "" then
    duration = tonumber(p.DurationSeconds)
    if not duration or duration % 1 ~= 0 or duration < 900 or duration > 43200 then
      return fail("InvalidParameter.DurationSeconds")
    end
  end
  if p.Policy and (#p.Policy < 1 or #p.Policy > 2048) then
    return fail("InvalidParameter", "Policy", "It must be 1 to 2048 characters long.")
  end
  local c = self.issuer:issue("sts", now, duration)
  entry.issued_access_key_id = c.AccessKeyId
  if mods.bad_expiration then c.Expiration = "tomorrow at noon" end
  local account = p.RoleArn:match("^acs:ram::(%d+):")
  local body = {
    RequestId = request_id,
    AssumedRoleUser = {
      Arn = p.RoleArn:gsub(":role/", ":assumed-role/", 1) .. "/" .. p.RoleSessionName,
      AssumedRoleId = "3" .. account:sub(-8) .. "0000000:" .. p.RoleSessionName,
    },
    Credentials = c,
  }
  if oidc then
    body.OIDCTokenInfo = { Subject = "system:serviceaccount:emulator:default",
      Issuer = "https://oidc.emulator.invalid", ClientIds = "sts.aliyuncs.com" }
  end
  return reply.ok(body), entry
end

return sts
