-- The README's parameter reference is generated from the schema: the two
-- must agree, so the docs never drift from what the code accepts.
local schema = require "dts.schema"

describe("README", function()
  local f = assert(io.open("README.md", "rb"))
  local readme = f:read("*a")
  f:close()

  for _, action in ipairs({ "ModifyDtsJob", "DescribeDtsJobDetail" }) do
    it("carries the schema's reference of " .. action, function()
      assert.truthy(readme:find(schema.markdown(action), 1, true),
        "regenerate with: lua5.4 -e 'package.path=\"lua/?.lua;\"..package.path "
        .. "io.write(require\"dts.schema\".markdown(\"" .. action .. "\"))'")
    end)
  end
end)
