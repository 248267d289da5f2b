-- dts.transport.choose in plain Lua (inside nginx: client_spec.lua): curl
-- unless told otherwise; the cosocket transport refuses to run outside
-- nginx, saying so; nothing is loaded that was not chosen.
local transport = require "dts.transport"

describe("dts.transport.choose outside nginx", function()
  local settings = { connect_timeout = 5, timeout = 30, user_agent = "lua-dts/test" }

  it("is not inside nginx", function()
    assert.is_false(transport.in_nginx())
  end)

  it("picks curl by default and when asked", function()
    assert.equal("curl", assert(transport.choose({}, settings)).name)
    assert.equal("curl", assert(transport.choose({ transport = "curl" }, settings)).name)
  end)

  it("refuses the cosocket transport outside nginx, naming the option", function()
    local t, err = transport.choose({ transport = "cosocket" }, settings)
    assert.is_nil(t)
    assert.equal("invalid_argument", err.kind)
    assert.equal("transport", err.param)
    assert.matches("inside nginx", err.message, 1, true)
  end)

  it("takes a transport object as it is, and refuses anything else", function()
    local mine = { request = function() end, sleep = function() end }
    assert.equal(mine, transport.choose({ transport = mine }, settings))
    for _, bad in ipairs{ "libcurl", 42, { request = function() end } } do
      local t, err = transport.choose({ transport = bad }, settings)
      assert.is_nil(t)
      assert.equal("transport", err.param)
    end
  end)

  it("chooses through dts.new", function()
    local dts = require "dts"
    local c = assert(dts.new{ access_key_id = "id", access_key_secret = "secret", region_id = "cn-hangzhou" })
    assert.equal("curl", c.transport.name)
    local _, err = dts.new{ access_key_id = "id", access_key_secret = "secret", transport = "cosocket" }
    assert.equal("invalid_argument", err.kind)
  end)
end)
