-- Signs requests with dts.core and sends them with dts.curl to an emulator
-- handle, for the specs of spec/03-emulator.  Only the handle's own address
-- (127.0.0.1) is ever contacted.
--
--   local caller = require("support.dts_call").new(em)
--   local res = caller:call{ action = "DescribeDtsJobDetail", query = {...} }
--   -- res.status, res.body, res.json (decoded or nil), res.signed
local core = require "dts.core"
local curl = require "dts.curl"
local cjson = require "cjson.safe"

local M = {}
M.__index = M

function M.new(em, defaults)
  local self = setmetatable({ em = em, defaults = defaults or {} }, M)
  self.http = assert(curl.new{ ca_file = em.ca_file, proxy = "", timeout = 10,
                               allow_http = em.ca_file == nil })
  return self
end

-- core.sign's table with the emulator's host and credentials, a fresh time
-- and nonce, V3 POST unless told.
function M:sign(r)
  local t = {
    scheme = "v3", method = "POST", host = self.em.endpoint, path = "/",
    version = "2020-01-01",
    access_key_id = self.em.access_key_id, access_key_secret = self.em.access_key_secret,
    security_token = self.em.security_token,
    timestamp = core.timestamp(), nonce = core.nonce(),
  }
  for k, v in pairs(self.defaults) do
    t[k] = v
  end
  for k, v in pairs(r) do
    t[k] = v
  end
  for k, v in pairs(t) do
    if v == false then
      t[k] = nil
    end
  end
  return assert(core.sign(t))
end

-- Sends a signed request, optionally changed on the way ({ target, headers,
-- body, method }); the answer with its body decoded, or nil and the error.
function M:send(signed, over)
  over = over or {}
  local headers = {}
  for k, v in pairs(signed.headers) do
    headers[k] = v
  end
  for k, v in pairs(over.headers or {}) do
    headers[k] = v or nil
  end
  local res, err = self.http:request{
    method = over.method or signed.method,
    url = self.em.url .. (over.target or signed.target),
    headers = headers,
    body = over.body or signed.body,
  }
  if not res then
    return nil, err
  end
  res.json = cjson.decode(res.body)
  res.signed = signed
  return res
end

function M:call(r, over)
  return self:send(self:sign(r), over)
end

-- Like call, failing the spec on a transport error.
function M:ok(r, over)
  local res, err = self:call(r, over)
  assert(res, err and tostring(err))
  return res
end

-- Polls fn() until it returns a true value (at most `limit` seconds), and
-- returns that value; waiting on state, not asserting durations.
function M.wait_until(fn, limit)
  local deadline = os.time() + (limit or 10)
  repeat
    local v = fn()
    if v then
      return v
    end
    os.execute("sleep 0.05")
  until os.time() > deadline
  return nil
end

-- The latest log entries of an emulator for one action.
function M.entries(em, action)
  local out = {}
  for _, e in ipairs(em.requests()) do
    if not action or e.action == action then
      out[#out + 1] = e
    end
  end
  return out
end

return M
