-- Decoding helpers for specs that check a signed request the way a server
-- would: split a target or form body back into parameters.
local url = {}

function url.decode(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- "a=1&b=2" -> { a = "1", b = "2" }
function url.parse_form(s, into)
  local t = into or {}
  for pair in s:gmatch("[^&]+") do
    local name, value = pair:match("^([^=]*)=?(.*)$")
    t[url.decode(name)] = url.decode(value)
  end
  return t
end

-- "/path?query" -> "/path", { ... }
function url.split_target(target)
  local path, query = target:match("^([^?]*)%??(.*)$")
  return path, url.parse_form(query)
end

return url
