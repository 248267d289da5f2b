-- For the specs of spec/08-credentials: temporary files, an environment
-- that is the spec's alone (never the real HOME, never 100.100.100.200),
-- clients against an emulator handle, and the emulator's log by action.
local dts = require "dts"
local sys = require "dts.sys"

local M = {}

function M.tmpdir()
  local p = os.tmpname()
  os.remove(p)
  assert(sys.run("mkdir -p " .. sys.quote(p)))
  return p
end

function M.rmdir(p)
  if p then sys.run("rm -rf " .. sys.quote(p)) end
end

function M.write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  return path
end

-- getenv over a table; instance metadata is off unless the table points it
-- somewhere (a spec never probes the real metadata address).
function M.env(t)
  local e = {}
  for k, v in pairs(t or {}) do e[k] = v end
  if e.DTS_METADATA_ENDPOINT == nil and e.ALIBABA_CLOUD_ECS_METADATA_DISABLED == nil then
    e.ALIBABA_CLOUD_ECS_METADATA_DISABLED = "true"
  end
  return function(k) return e[k] end
end

-- dts.new against the emulator, with `opts` on top (false: left out) and `env` as the whole
-- environment; -> client | nil, err
function M.new(em, opts, env)
  local o = {
    region_id = "cn-hangzhou", endpoint = em.endpoint, ca_file = em.ca_file, proxy = "",
    retries = { max_attempts = 3, base_delay = 0.01, max_delay = 0.05 },
  }
  -- false drops a default.
  for k, v in pairs(opts or {}) do o[k] = v end
  for k, v in pairs(opts or {}) do if v == false then o[k] = nil end end
  return dts.new(o, M.env(env))
end

function M.client(em, opts, env)
  local c, err = M.new(em, opts, env)
  assert(c, err and tostring(err))
  return c
end

-- A DescribeDtsJobDetail of the demo job; res | nil, err
function M.describe(c)
  return c:describe_dts_job_detail{ DtsJobId = "dtsdemojob00001" }
end

-- The log entries of these actions (all when none given).
function M.entries(em, ...)
  local want = {}
  for i = 1, select("#", ...) do want[select(i, ...)] = true end
  local out = {}
  for _, e in ipairs(em.requests()) do
    if next(want) == nil or want[e.action] then out[#out + 1] = e end
  end
  return out
end

function M.count(em, action)
  return #M.entries(em, action)
end

-- Asserts that none of the strings appears in text.
function M.secret_free(text, secrets)
  text = tostring(text)
  for _, s in ipairs(secrets) do
    if type(s) == "string" and #s > 0 then
      assert(not text:find(s, 1, true), "a secret appears in: " .. text)
    end
  end
end

-- A config.json for the aliyun CLI from a list of profiles.
function M.config(dir, profiles, current)
  local cjson = require "cjson"
  return M.write(dir .. "/config.json", cjson.encode{ current = current or profiles[1].name,
    profiles = profiles })
end

return M
