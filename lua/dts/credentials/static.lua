-- Long-lived keys (AK) or a fixed STS token (StsToken): nothing to fetch and
-- nothing to refresh.  Checked on the first get(), so dts.new{} with a
-- mistyped key still builds and the first call says what is wrong (nothing
-- is sent); after that get() only returns the same table.

local creds = require "dts.credentials.creds"

local static = {}

-- static.new(id, secret, token, info) -> provider
-- info: what describe() says ({ source, mode, type, where }).
function static.new(id, secret, token, info)
  info = info or {}
  local value = creds.copy{ access_key_id = id, access_key_secret = secret, security_token = token }
  local checked, failure
  local p = {}
  function p.get()
    if checked then return true, value end
    if failure then return nil, failure end
    local ok, err = creds.validate(value)
    if not ok then
      failure = err
      return nil, err
    end
    checked = true
    return true, value
  end
  function p.describe()
    return {
      source = info.source or "explicit", where = info.where, type = info.type
        or (value.security_token and "sts" or "access_key"),
      mode = info.mode or (value.security_token and "StsToken" or "AK"),
    }
  end
  return p
end

return static
