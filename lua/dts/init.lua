--- require "dts": the client of Alibaba Cloud DTS's ModifyDtsJob and friends.
--
-- `dts.new{...}` makes a @{dts.client|client}; its methods are the API
-- calls (`modify_dts_job`, `describe_dts_job_detail`) and the safe
-- workflows above them (`add_objects`, `remove_objects`,
-- `add_objects_in_batches`, `wait_idle`).  Every public function returns
-- its result, or `nil` and an error object (@{dts.errors}): no value
-- passed in raises, and nothing is sent on bad input.
--
-- `dts.modify_dts_job{...}` and `dts.describe_dts_job_detail{...}` use a
-- default client configured from the environment (`ALIBABA_CLOUD_*`),
-- made on first use.
-- @module dts
-- @usage
-- local dts = require "dts"
-- local client = assert(dts.new{ region_id = "cn-hangzhou" })
-- local res, err = client:modify_dts_job{ DtsInstanceId = ..., DbList = {...} }
-- if not res then error(tostring(err)) end

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

--- ModifyDtsJob with the default client: @{dts.client:modify_dts_job}.
-- The default client is made from the environment on the first call
-- (`dts.new{}`); when that fails, the call returns its error, and the
-- next call tries again.
-- @tparam table params the API parameters
-- @tparam[opt] table opts call options
-- @treturn table the result of `client:modify_dts_job`
-- @return[2] nil
-- @treturn[2] dts.errors err
function dts.modify_dts_job(params, opts)
  local c, err = default_client()
  if not c then return nil, err end
  return c:modify_dts_job(params, opts)
end

--- DescribeDtsJobDetail with the default client:
-- @{dts.client:describe_dts_job_detail}.
-- @tparam table params the API parameters
-- @tparam[opt] table opts call options
-- @treturn table the job
-- @return[2] nil
-- @treturn[2] dts.errors err
function dts.describe_dts_job_detail(params, opts)
  local c, err = default_client()
  if not c then return nil, err end
  return c:describe_dts_job_detail(params, opts)
end

--- The version of lua-dts, like `"0.2.0"`.
-- `dts --version` prints it too.
-- @field VERSION

--- `dts.new(opts)`: a client, or `nil, err`; see @{dts.client.new}.
-- @field new

--- The DbList builder module, @{dts.dblist}.
-- @field dblist

--- The error objects and their helpers, @{dts.errors}.
-- @field errors

--- The parameters of each action, @{dts.schema}.
-- @field schema

return dts
