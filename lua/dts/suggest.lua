-- "Did you mean ...?" for misspelt names: the closest candidates by edit
-- distance, ignoring case and underscores.

local function fold(s)
  return (s:lower():gsub("_", ""))
end

local function distance(a, b)
  if a == b then return 0 end
  local prev, cur = {}, {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    cur[0] = i
    local ca = a:byte(i)
    for j = 1, #b do
      local cost = ca == b:byte(j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev, cur = cur, prev
  end
  return prev[#b]
end

-- suggest("DtsInstanceid", { "DtsInstanceId", ... }) -> "DtsInstanceId" or nil
return function(name, candidates)
  local want, best, best_d, best_raw = fold(name), nil, math.huge, math.huge
  for _, c in ipairs(candidates) do
    -- Ties go to the candidate spelt most like the name (db_lst -> db_list).
    local d, raw = distance(want, fold(c)), distance(name, c)
    if d < best_d or (d == best_d and raw < best_raw) then
      best, best_d, best_raw = c, d, raw
    end
  end
  -- Close enough to be a typo: a third of the name at most.
  if best and best_d <= math.max(1, math.floor(#want / 3)) then return best end
  return nil
end
