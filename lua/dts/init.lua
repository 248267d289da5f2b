-- require "dts": the client of Alibaba Cloud DTS's ModifyDtsJob and friends.
--
--   local dts = require "dts"
--   local client = assert(dts.new{ region_id = "cn-hangzhou", ... })
--   local res, err = client:modify_dts_job{ DtsInstanceId = ..., DbList = {...} }
--
-- dts.modify_dts_job{...} and dts.describe_dts_job_detail{...} use a default
-- client configured from the environment (ALIBABA_CLOUD_*), made on first use.

local client = require "dts.client"

local dts = {
  VERSION = client.VERSION,
  new = client.new,
  dblist = require "dts.dblist",
  errors = require "dts.errors",
  schema = require "dts.schema",
}

local default

local function default_client()
  if not default then
    local c, err = client.new{}
    if not c then return nil, err end
    default = c
  end
  return default
end

function dts.modify_dts_job(params, opts)
  local c, err = default_client()
  if not c then return nil, err end
  return c:modify_dts_job(params, opts)
end

function dts.describe_dts_job_detail(params, opts)
  local c, err = default_client()
  if not c then return nil, err end
  return c:describe_dts_job_detail(params, opts)
end

return dts
