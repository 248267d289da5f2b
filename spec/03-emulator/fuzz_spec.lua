-- The emulator under a few thousand random and hostile requests (issue 11
-- item 12): random parameter names and values (bytes that are not UTF-8,
-- huge values, duplicates, broken percent escapes, JSON it cannot keep),
-- signed and unsigned, with odd methods, paths and headers.  Every answer
-- must be JSON in the gateway's shape, none may be an InternalError (a Lua
-- error in the emulator), and the request log must stay JSON.
--
-- Reproducible: DTS_FUZZ_SEED picks the run, DTS_FUZZ_N its size.  Each
-- interpreter starts from its own seed, so the suite's runs differ.
local cjson = require "cjson.safe"
local core = require "dts.core"
local curl = require "dts.curl"
local emulator = require "dts.emulator"
local schema = require "dts.schema"
local raw = require "support.raw_http"

local SEED = tonumber(os.getenv("DTS_FUZZ_SEED") or "")
  or 20261130 + (jit and 0 or tonumber(_VERSION:match("%d+%.(%d+)")))
local N = tonumber(os.getenv("DTS_FUZZ_N") or "") or 1000

local random = math.random

local function pick(list)
  return list[random(#list)]
end

local function bytes(n, lo, hi)
  local t = {}
  for i = 1, n do
    t[i] = string.char(random(lo or 0, hi or 255))
  end
  return table.concat(t)
end

local function length()
  local r = random(100)
  if r <= 70 then return random(0, 20) end
  if r <= 95 then return random(20, 2000) end
  return random(2000, 60000)
end

local NAMES = { "Action", "Version", "Signature", "AccessKeyId", "SignatureMethod",
  "SignatureVersion", "SignatureNonce", "Timestamp", "SecurityToken", "Format", "" }
for _, def in pairs(schema) do
  if type(def) == "table" and def.params then
    for _, p in ipairs(def.params) do
      NAMES[#NAMES + 1] = p.name
    end
  end
end

-- JSON text, often of a kind the emulator must refuse or could not keep.
local function json_value(depth)
  depth = depth or 0
  local r = random(12)
  if depth > 4 or r == 1 then
    return pick({ "1e999", "-1e999", "NaN", "Infinity", "0x10", "1", "-0", "1e308",
      "123456789012345678901234567890", '"\\ud800"', '"\\u0000"', "null", "true", '"x"',
      '"' .. bytes(random(0, 8), 32, 126):gsub('[\\"]', "") .. '"' })
  elseif r <= 4 then
    local items = {}
    for i = 1, random(0, 4) do items[i] = json_value(depth + 1) end
    return "[" .. table.concat(items, ",") .. "]"
  elseif r == 5 then
    return ("["):rep(300) .. ("]"):rep(300)
  else
    local items = {}
    for i = 1, random(0, 4) do
      local key = pick({ "name", "all", "Table", "db", "maxRetryTime", "x", "\\ud800", "" })
      items[i] = '"' .. key .. '":' .. json_value(depth + 1)
    end
    return "{" .. table.concat(items, ",") .. "}"
  end
end

local function value()
  local r = random(10)
  if r <= 3 then return bytes(length()) end
  if r <= 5 then return bytes(length(), 32, 126) end
  if r <= 8 then return json_value() end
  return pick({ "", "true", "false", "UPDATE_RESERVED", "Forward", "cn-hangzhou",
                "dtsdemojob00001", "dtsdemoinstance01", "2020-01-01", "ModifyDtsJob" })
end

local function name()
  local r = random(10)
  if r <= 5 then return pick(NAMES) end
  if r <= 7 then return bytes(random(0, 12)) end
  return bytes(random(1, 30), 33, 126)
end

-- Percent-encoded mostly; sometimes raw, sometimes with a broken escape.
local function encode(s)
  local r = random(10)
  if r == 1 then return s:gsub("[%c%s#]", "") end
  local e = s:gsub("[^%w%-_.~]", function(c) return ("%%%02X"):format(c:byte()) end)
  if r == 2 then e = e .. pick({ "%", "%G", "%4", "+", "%%" }) end
  return e
end

local function form(n)
  local pairs_ = {}
  for i = 1, n do
    pairs_[i] = encode(name()) .. (random(8) == 1 and "" or "=" .. encode(value()))
  end
  if n > 0 and random(4) == 1 then -- a parameter given twice
    pairs_[#pairs_ + 1] = pairs_[random(#pairs_)]
  end
  return table.concat(pairs_, "&")
end

local METHODS = { "GET", "POST", "POST", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "FOO" }

local function unsigned()
  local query = form(random(0, 6))
  local r = {
    method = pick(METHODS),
    target = pick({ "/", "/", "/", "/x", "/%FF", "//" }) .. (query ~= "" and "?" .. query or ""),
    headers = {},
  }
  if r.method ~= "GET" and random(2) == 1 then
    r.body = form(random(0, 6))
    r.headers["content-type"] = pick({ "application/x-www-form-urlencoded",
      "application/x-www-form-urlencoded; charset=utf-8", "application/json", "text/plain" })
  end
  if random(3) == 1 then
    r.headers["x-acs-action"] = pick({ "ModifyDtsJob", "DescribeDtsJobDetail", bytes(5, 33, 126) })
    r.headers["x-acs-version"] = pick({ "2020-01-01", "2019-01-01", "" })
    r.headers.authorization = pick({ "ACS3-HMAC-SHA256 ", "ACS3-HMAC-SHA256 Credential=x",
      "ACS3-HMAC-SHA256 Credential=LTAIemulatorTestKey,SignedHeaders=host,Signature=00",
      "Basic abc", "ACS3-HMAC-SHA256 " .. bytes(random(0, 100), 32, 126) })
  end
  return r
end

-- A request signed with the emulator's key, parameters fuzzed, sometimes
-- changed after signing.
local function signed(em)
  local def = schema[pick({ "ModifyDtsJob", "DescribeDtsJobDetail" })]
  local query, body = {}, {}
  for _, p in ipairs(def.params) do
    if random(3) == 1 then
      local v = random(3) == 1 and value() or pick({ "dtsdemojob00001", "dtsdemoinstance01",
        "true", "Forward", "UPDATE_RESERVED", json_value(),
        '{"dtstestdata":{"name":"dtstestdata","all":true}}' })
      if p.where == "body" then body[p.name] = v else query[p.name] = v end
    end
  end
  local s = core.sign{
    scheme = pick({ "v3", "v1" }), method = pick({ "POST", "GET" }), host = em.endpoint,
    path = "/", action = def.action, version = def.version,
    access_key_id = em.access_key_id, access_key_secret = em.access_key_secret,
    timestamp = core.timestamp(), nonce = core.nonce(), query = query, body = body,
  }
  if not s then
    return unsigned()
  end
  local r = { method = s.method, target = s.target, headers = s.headers, body = s.body }
  local change = random(6)
  if change == 1 then
    r.target = r.target .. (r.target:find("?", 1, true) and "&" or "?") .. form(1)
  elseif change == 2 and r.body and #r.body > 0 then
    local i = random(#r.body)
    r.body = r.body:sub(1, i - 1) .. bytes(1) .. r.body:sub(i + 1)
  end
  return r
end

-- Why an answer breaks the rules, or nil.
local function broken(status, body, content_type, method)
  if type(status) ~= "number" or status < 200 or status > 599 then
    return "status " .. tostring(status)
  end
  if method == "HEAD" then return nil end
  if not (content_type or ""):find("^application/json") then
    return "Content-Type " .. tostring(content_type)
  end
  if not core.utf8_valid(body) then return "not UTF-8" end
  local j = cjson.decode(body)
  if type(j) ~= "table" then return "not JSON" end
  if type(j.RequestId) ~= "string" then return "no RequestId" end
  if j.Code == "InternalError" then return "InternalError (a Lua error in the emulator?)" end
  if status == 200 then
    if j.Success ~= true then return "200 without Success" end
  elseif type(j.Code) ~= "string" or type(j.Message) ~= "string"
      or j.HostId ~= "dts.aliyuncs.com" then
    return "not the gateway's error object"
  end
  return nil
end

describe("dts.emulator fuzzed", function()
  local em

  setup(function()
    em = assert(emulator.start{ http = true, modifying_seconds = 0 })
  end)

  teardown(function()
    if em then
      em.stop()
    end
  end)

  it(("answers every one of %d random requests with JSON of the API's shape (seed %d)")
      :format(N, SEED), function()
    math.randomseed(SEED)
    local http = assert(curl.new{ allow_http = true, proxy = "", timeout = 20 })
    local answered, failures = 0, {}
    for i = 1, N do
      local r = random(5) <= 2 and signed(em) or unsigned()
      local res = http:request{ method = r.method, url = em.url .. r.target,
                                headers = r.headers, body = r.body }
      if res then
        answered = answered + 1
        local why = broken(res.status, res.body, res.headers["content-type"], r.method)
        if why and #failures < 10 then
          failures[#failures + 1] = ("#%d %s %s: %s -> %d %s"):format(i, r.method,
            r.target:sub(1, 120), why, res.status, res.body:sub(1, 300))
        end
      end
    end
    assert.are.equal(0, #failures, "seed " .. SEED .. ":\n" .. table.concat(failures, "\n"))
    -- Nearly all went out (libcurl refuses only a few malformed URLs).
    assert.truthy(answered > N * 0.9, answered .. " of " .. N .. " answered")
  end)

  it("answers raw request lines and headers nginx itself refuses in the same shape", function()
    math.randomseed(SEED + 1)
    for i = 1, 20 do
      -- Well-formed enough to be kept alive: ask nginx to close after.
      local close = "Host: x\r\nConnection: close\r\n"
      local line = pick({
        bytes(random(1, 40), 33, 126) .. "\r\n\r\n",
        pick(METHODS) .. " /" .. bytes(random(0, 20)) .. " HTTP/1.1\r\n" .. close .. "\r\n",
        "GET / HTTP/" .. pick({ "0.9", "2", "2.0", "1.9", "x" }) .. "\r\n" .. close .. "\r\n",
        "GET / HTTP/1.1\r\n" .. close .. bytes(random(1, 30), 33, 126) .. "\r\n\r\n",
        "GET / HTTP/1.1\r\n" .. close .. "X: " .. ("a"):rep(random(16, 40) * 1024) .. "\r\n\r\n",
        "POST / HTTP/1.1\r\n" .. close .. "Content-Length: -1\r\n\r\n",
      })
      local res, text = raw.send(em.port, line, 5)
      -- A request line nginx reads as HTTP/0.9 gets a bare body, no status line.
      if res then
        local why = broken(res.status, res.body, res.headers["content-type"])
        assert.is_nil(why, ("#%d %q: %s"):format(i, line:sub(1, 80), tostring(why)))
      else
        assert.is_nil(text:find("<html", 1, true), ("#%d %q: %s"):format(i, line:sub(1, 80), text))
      end
    end
  end)

  it("left no Lua error in nginx's log and only JSON lines in the request log", function()
    assert.is_nil(em.error_log():find("dts.emulator:", 1, true), em.error_log())
    local f = assert(io.open(em.log_file, "rb"))
    local lines = 0
    for line in f:lines() do
      lines = lines + 1
      assert.truthy(core.utf8_valid(line), line:sub(1, 200))
      assert.are.equal("table", type(cjson.decode(line)), line:sub(1, 200))
    end
    f:close()
    assert.truthy(lines > 0)
  end)
end)
