-- dts.errors.redact and redact_fields (issue 11 item 4, issue 14
-- "Redaction"): every form of a secret an echo can hold is replaced, mixed
-- and partial escapes included, nothing else changes, and every string
-- field of an error (also fields added later, and tables inside) is covered.
-- Speed is measured elsewhere (bench, the report); these only prove the
-- forms, over random secrets as well as fixed ones.
local errors = require "dts.errors"
local secret_scan = require "support.secret_scan"

local redact = errors.redact

local SECRET = "h5-Secret/Scan+Key=Q9~w"
local TOKEN = "CAISh5ScanToken+Sts/Token==Zq7"

local function pct(s, fmt, all)
  return (s:gsub(all and "." or "[^%w%-_.~]", function(c) return fmt:format(c:byte()) end))
end

-- Each form of secret s as a list of { name, text }: the scanner's forms,
-- plus escapes mixed byte by byte.
local function forms(s)
  local list = {}
  for _, f in ipairs(secret_scan.forms(s, "")) do
    list[#list + 1] = f
  end
  local mixed = s:gsub("[^%w]", function(c)
    local b = c:byte()
    local choice = b % 4
    if choice == 0 then return ("%%%02x"):format(b) end
    if choice == 1 then return ("%%25%02X"):format(b) end
    if choice == 2 then return ("\\u%04X"):format(b) end
    return c
  end)
  list[#list + 1] = { "mixed escapes", mixed }
  list[#list + 1] = { "a form decoder's space for +", (s:gsub("%+", " ")) }
  return list
end

describe("dts.errors.redact", function()
  it("replaces each form of both secrets, in the middle of other text", function()
    for _, secret in ipairs({ SECRET, TOKEN, "with space/and+plus", 'quote"back\\slash' }) do
      for _, f in ipairs(forms(secret)) do
        local text = "before [" .. f[2] .. "] after"
        local out = redact(text, { secret })
        assert.are.equal("before [<redacted>] after", out, f[1])
      end
    end
  end)

  it("replaces base64 of the secret at every alignment inside a longer base64 text", function()
    for _, pad in ipairs({ "", "x", "xy", "xyz" }) do
      for _, inner in ipairs({ SECRET, pct(SECRET, "%%%02X") }) do
        local text = secret_scan.base64(pad .. inner .. "tail")
        local out = redact(text, { SECRET })
        assert.truthy(out:find("<redacted>", 1, true), pad)
        assert.same({}, secret_scan.new{ s = SECRET }:in_text(out), pad)
      end
    end
  end)

  it("replaces every occurrence, of several secrets, and leaves other text alone", function()
    local text = ("a %s b %s c %s d"):format(SECRET, pct(TOKEN, "%%%02X"), SECRET)
    assert.are.equal("a <redacted> b <redacted> c <redacted> d", redact(text, { SECRET, TOKEN }))
    local plain = "nothing secret here: h5-Secret/Scan+Key=Q9 (almost) and CAISh5"
    assert.are.equal(plain, redact(plain, { SECRET, TOKEN }))
  end)

  it("holds for random secrets and random surroundings", function()
    math.randomseed(11)
    local function text(n, lo, hi)
      local t = {}
      for i = 1, n do t[i] = string.char(math.random(lo, hi)) end
      return table.concat(t)
    end
    for _ = 1, 150 do
      local secret = text(math.random(6, 40), 33, 126)
      local scan = secret_scan.new{ s = secret }
      for _, f in ipairs(forms(secret)) do
        local s = text(math.random(0, 30), 32, 126) .. f[2] .. text(math.random(0, 30), 32, 126)
        local out = redact(s, { secret })
        assert.truthy(out:find("<redacted>", 1, true), f[1])
        assert.same({}, scan:in_text(out), f[1])
      end
    end
  end)

  it("replaces a long STS token in each form, once or many times over, in long text", function()
    math.randomseed(14)
    local b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    local t = { "CAIS" }
    for i = 2, 800 do
      local k = math.random(1, 64)
      t[i] = b64:sub(k, k)
    end
    local token = table.concat(t)
    local filler = ("%7B%22shop%22%3A"):rep(2000)
    for _, f in ipairs(forms(token)) do
      local text = filler .. f[2] .. filler .. f[2] .. "tail"
      assert.are.equal(filler .. "<redacted>" .. filler .. "<redacted>tail", redact(text, { token }), f[1])
    end
    -- And text without it comes back as it was (the one-pass check says so).
    assert.are.equal(filler, redact(filler, { token, SECRET }))
  end)

  it("leaves anything but a string, and secrets that are not strings, alone", function()
    assert.are.equal(12, redact(12, { SECRET }))
    assert.is_nil(redact(nil, { SECRET }))
    assert.are.equal("x", redact("x", nil))
    assert.are.equal("a b", redact("a b", { false, "", 3 }))
    assert.are.equal("<redacted>", redact("a", { "a" }))
  end)

  it("is not made slow by text that branches at every escape of a secret", function()
    -- Each "\\" of the text reads as one escaped backslash or two raw ones:
    -- without remembering dead ends, 2^40 ways to try (hours).
    local secret = ("\\"):rep(40) .. "Zq"
    local text = ("\\"):rep(81) .. "Zq"
    assert.are.equal(("\\"):rep(41) .. "<redacted>", redact(text, { secret }))
  end)

  it("copes with a very long secret and a very long text", function()
    local secret = ("k"):rep(200000) .. "/Z"
    assert.are.equal("x <redacted> y", redact("x " .. secret .. " y", { secret }))
    local big = ("orders_%05d,"):rep(100000)
    assert.are.equal(big, redact(big, { SECRET, TOKEN }))
  end)
end)

describe("dts.errors.redact_fields", function()
  it("redacts every string field, any name, nested tables too, in place", function()
    local err = errors.new("api", {
      code = "X" .. TOKEN, message = "m " .. SECRET, recommend = "https://x/?t=" .. pct(TOKEN, "%%%02X"),
      request_id = TOKEN, http_status = 400, retryable = false,
      client_token = SECRET, outcome = "unknown " .. TOKEN, later_field = TOKEN,
      details = { deeper = { SECRET } },
    })
    err.details.self = err.details
    assert.are.equal(err, errors.redact_fields(err, { SECRET, TOKEN }))
    assert.same({}, secret_scan.new{ SECRET = SECRET, TOKEN = TOKEN }:find_in(err, "err"))
    assert.are.equal(400, err.http_status)
    assert.is_false(err.retryable)
    assert.are.equal("unknown <redacted>", err.outcome)
    assert.are.equal("<redacted>", err.details.deeper[1])
    assert.is_nil(tostring(err):find(TOKEN, 1, true))
  end)

  it("returns what is not a table, or has no secrets to redact, as it is", function()
    assert.are.equal("s", errors.redact_fields("s", { "s" }))
    local e = errors.new("api", { message = SECRET })
    assert.are.equal(SECRET, errors.redact_fields(e, nil).message)
  end)
end)
