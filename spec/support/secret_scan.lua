-- Looks for secrets in text in every form an echo can take, independently
-- of dts.errors.redact (which it checks): plain, percent-encoded (upper and
-- lower hex, and every byte), encoded twice, "+" for a space, JSON-escaped
-- ("\/" and "\u00xx"), base64 and base64url at each byte alignment, of the
-- secret and of its percent-encoded form.  What it reports names the form
-- and where, never the text around it, so a failing spec prints no secret.
--
--   local scan = require "support.secret_scan"
--   local s = scan.new{ SECRET, TOKEN }
--   assert.same({}, s:find_in(value, "err"))  -- { "err.message: TOKEN base64+1", ... }
local M = {}
M.__index = M

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

function M.base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local chars = 2 + (b and 1 or 0) + (c and 1 or 0)
    for k = 1, 4 do
      if k <= chars then
        local d = math.floor(n / 64 ^ (4 - k)) % 64
        out[#out + 1] = B64:sub(d + 1, d + 1)
      else
        out[#out + 1] = "="
      end
    end
  end
  return table.concat(out)
end

local function pct(s, fmt, all)
  return (s:gsub(all and "." or "[^%w%-_.~]", function(c) return fmt:format(c:byte()) end))
end

-- { { name, text }, ... } for one secret.
function M.forms(secret, label)
  local f = {}
  local function add(name, text)
    f[#f + 1] = { label .. " " .. name, text }
  end
  local up = pct(secret, "%%%02X")
  add("plain", secret)
  add("percent-encoded", up)
  add("percent-encoded, lower hex", pct(secret, "%%%02x"))
  add("every byte percent-encoded", pct(secret, "%%%02X", true))
  add("encoded twice", (up:gsub("%%", "%%25")))
  add("form-encoded", (pct(secret:gsub(" ", "\1"), "%%%02X"):gsub("%%01", "+")))
  add("JSON-escaped", (secret:gsub("[/\\\"]", "\\%0")))
  add("JSON \\u00xx", pct(secret, "\\u%04x"))
  for _, source in ipairs({ { "", secret }, { " of the percent-encoded form", up } }) do
    for k = 0, 2 do
      local enc = M.base64(("\0"):rep(k) .. source[2])
      local core = enc:sub(math.ceil(8 * k / 6) + 1, math.floor(8 * (k + #source[2]) / 6))
      add("base64+" .. k .. source[1], core)
      add("base64url+" .. k .. source[1], (core:gsub("[+/]", { ["+"] = "-", ["/"] = "_" })))
    end
  end
  return f
end

-- secrets: { label = secret, ... }
function M.new(secrets)
  local self = setmetatable({ forms = {} }, M)
  for label, secret in pairs(secrets) do
    for _, form in ipairs(M.forms(secret, label)) do
      self.forms[#self.forms + 1] = form
    end
  end
  return self
end

-- The names of the forms found in a string.
function M:in_text(text)
  local found = {}
  for _, form in ipairs(self.forms) do
    if text:find(form[2], 1, true) then
      found[#found + 1] = form[1]
    end
  end
  return found
end

-- Every "where: form" in a value: strings, and the keys and values of
-- tables (read raw, cycles once).
function M:find_in(value, where, out, seen)
  out, seen = out or {}, seen or {}
  if type(value) == "string" then
    for _, name in ipairs(self:in_text(value)) do
      out[#out + 1] = where .. ": " .. name
    end
  elseif type(value) == "table" and not seen[value] then
    seen[value] = true
    for k, v in next, value do
      self:find_in(k, where .. "[key]", out, seen)
      self:find_in(v, where .. "." .. tostring(k), out, seen)
    end
  end
  return out
end

return M
