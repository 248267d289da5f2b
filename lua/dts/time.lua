-- The one time format of the Alibaba Cloud APIs: "yyyy-MM-ddTHH:mm:ssZ"
-- (UTC, whole seconds, a literal Z), read strictly, as Go's and Python's
-- credential libraries read an STS Expiration and the gateway a Timestamp
-- (signing.md 2.1, credentials.md 3.1).  Writing it is core.timestamp.

local time = {}

local function is_leap(y)
  return y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0)
end

local MONTH_DAYS = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }

-- Seconds since the epoch, or nil when the text is not exactly that form.
function time.parse(ts)
  if type(ts) ~= "string" then
    return nil
  end
  local y, mo, d, h, mi, s = ts:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)T(%d%d):(%d%d):(%d%d)Z$")
  if not y then
    return nil
  end
  y, mo, d, h, mi, s = tonumber(y), tonumber(mo), tonumber(d), tonumber(h), tonumber(mi), tonumber(s)
  local dim = (mo == 2 and is_leap(y)) and 29 or MONTH_DAYS[mo]
  if not dim or d < 1 or d > dim or h > 23 or mi > 59 or s > 59 then
    return nil
  end
  -- Days from 1970-01-01 (H. Hinnant's days_from_civil).
  local yy = mo <= 2 and y - 1 or y
  local era = math.floor(yy / 400)
  local yoe = yy - era * 400
  local doy = math.floor((153 * (mo + (mo > 2 and -3 or 9)) + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  local days = era * 146097 + doe - 719468
  return days * 86400 + h * 3600 + mi * 60 + s
end

return time
