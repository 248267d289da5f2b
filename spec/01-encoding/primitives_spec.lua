local core = require "dts.core"

describe("dts.core primitives", function()
  describe("percent_encode", function()
    it("keeps exactly the RFC 3986 unreserved bytes", function()
      for b = 0, 127 do
        local c = string.char(b)
        local want = c:match("^[A-Za-z0-9%-_.~]$") and c or string.format("%%%02X", b)
        assert.are.equal(want, core.percent_encode(c))
      end
    end)

    it("encodes the traps of signing.md section 1", function()
      local cases = {
        [" "] = "%20", ["+"] = "%2B", ["*"] = "%2A", ["~"] = "~", ["/"] = "%2F",
        ["="] = "%3D", ["&"] = "%26", ["%"] = "%25", ["%7E"] = "%257E",
        ["!'()"] = "%21%27%28%29", ["\n"] = "%0A", ["\t"] = "%09",
        ["\230\181\139"] = "%E6%B5%8B",              -- 测
        ["\240\159\152\128"] = "%F0%9F%98%80",       -- 😀
        ["\0"] = "%00", [""] = "",
      }
      for input, want in pairs(cases) do
        assert.are.equal(want, core.percent_encode(input))
      end
    end)

    it("refuses invalid UTF-8 and says where", function()
      local s, err = core.percent_encode("ok\255")
      assert.is_nil(s)
      assert.are.equal("not valid UTF-8 (byte 0xFF at offset 2)", err)
    end)
  end)

  describe("utf8_valid", function()
    it("accepts valid text and points at the first bad byte", function()
      assert.is_true(core.utf8_valid("plain \230\181\139\232\175\149 \240\159\152\128"))
      local cases = {
        { "a\255", 2 },                 -- never valid
        { "\192\175", 1 },              -- overlong '/'
        { "\237\160\128", 1 },          -- surrogate U+D800
        { "\244\144\128\128", 1 },      -- above U+10FFFF
        { "ab\230\181", 3 },            -- truncated
      }
      for _, c in ipairs(cases) do
        local ok, pos = core.utf8_valid(c[1])
        assert.is_false(ok)
        assert.are.equal(c[2], pos)
      end
    end)
  end)

  it("sha256_hex matches FIPS 180-2", function()
    assert.are.equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
      core.sha256_hex("abc"))
    assert.are.equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      core.sha256_hex(""))
  end)

  it("hmac_sha256_hex matches RFC 4231 test case 2", function()
    assert.are.equal("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
      core.hmac_sha256_hex("Jefe", "what do ya want for nothing?"))
  end)

  it("base64 matches RFC 4648 and handles long input", function()
    local cases = { [""] = "", f = "Zg==", fo = "Zm8=", foo = "Zm9v", foob = "Zm9vYg==",
                    fooba = "Zm9vYmE=", foobar = "Zm9vYmFy" }
    for input, want in pairs(cases) do
      assert.are.equal(want, core.base64(input))
    end
    assert.are.equal(string.rep("Zm9v", 1000), core.base64(string.rep("foo", 1000)))
  end)

  it("nonce is 32 lower-case hex characters, different every time", function()
    local seen = {}
    for _ = 1, 5000 do -- many refills of the pool (src/nonce.c)
      local n = core.nonce()
      assert.truthy(n:match("^%x+$") and #n == 32 and n == n:lower())
      assert.is_nil(seen[n])
      seen[n] = true
    end
  end)

  it("find_any says whether any of a set of strings occurs, as a plain search would", function()
    math.randomseed(7)
    local function rnd(n, alphabet)
      local t = {}
      for i = 1, n do
        local k = math.random(1, #alphabet)
        t[i] = alphabet:sub(k, k)
      end
      return table.concat(t)
    end
    for round = 1, 400 do
      local alphabet = round % 2 == 0 and "ab%2" or "abcdefghij%25AB"
      local text = rnd(math.random(0, round % 3 == 0 and 5000 or 60), alphabet)
      local list = {}
      for i = 1, math.random(1, round % 5 == 0 and 80 or 6) do list[i] = rnd(math.random(1, 8), alphabet) end
      local want = false
      for _, s in ipairs(list) do
        if text:find(s, 1, true) then want = true end
      end
      assert.are.equal(want, core.find_any(text, core.needles(list)), round)
    end
    assert.is_false(core.find_any("anything", core.needles({})))
    assert.is_false((pcall(core.needles, { "" })))
    assert.is_false((pcall(core.needles, { 1 })))
  end)

  it("monotonic counts seconds forward, with sub-second resolution", function()
    local a = core.monotonic()
    assert.is_number(a)
    local b
    repeat b = core.monotonic() until b ~= a
    assert.truthy(b > a and b - a < 0.5)
  end)

  describe("timestamp", function()
    it("formats UTC whole seconds with a literal Z", function()
      assert.are.equal("1970-01-01T00:00:00Z", core.timestamp(0))
      assert.are.equal("2024-05-06T07:08:09Z", core.timestamp(1714979289))
      assert.are.equal("2024-05-06T07:08:09Z", core.timestamp(1714979289.75))
      assert.truthy(core.timestamp():match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$"))
    end)

    it("agrees with the C library's calendar from 1970 to 9999", function()
      local times = { 0, 59, 60, 3599, 3600, 86399, 86400, 951782400, 951868799, 951868800,
        4107542400, 4107628800, 4133980799, 253402300799 }
      for i = 1, 2000 do times[#times + 1] = (i * 126773021) % 253402300800 end
      for y = 1970, 2500 do -- each year's leap day, and the day after
        local t = os.time({ year = y, month = 3, day = 1, hour = 12 })
        times[#times + 1], times[#times + 2] = t - 86400 * 2, t - 1
      end
      for _, t in ipairs(times) do
        if t <= 2 ^ 31 or os.date("!%Y", 2 ^ 31 + 86400 * 365) == "2039" then
          assert.are.equal(os.date("!%Y-%m-%dT%H:%M:%SZ", t), core.timestamp(t))
        end
      end
      assert.are.equal("9999-12-31T23:59:59Z", core.timestamp(253402300799))
      assert.are.equal("2000-02-29T00:00:00Z", core.timestamp(951782400))
      assert.are.equal("2100-03-01T00:00:00Z", core.timestamp(4107542400))
    end)

    it("refuses times it cannot format", function()
      for _, t in ipairs({ -1, 1e20, 0 / 0, "x", {}, true }) do
        local s, err = core.timestamp(t)
        assert.is_nil(s)
        assert.truthy(err:match("^timestamp:"))
      end
    end)
  end)
end)
