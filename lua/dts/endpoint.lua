-- Which host answers a region (dts-api.md section 6): the official SDKs'
-- endpoint map sends these regions to the central endpoint, every other one
-- to dts.<region>.aliyuncs.com.

local CENTRAL = {}
for region in ([[
  cn-qingdao cn-beijing cn-zhangjiakou cn-huhehaote cn-hangzhou cn-shanghai
  cn-shenzhen cn-hongkong ap-southeast-1 ap-southeast-2 ap-southeast-3
  ap-southeast-5 eu-west-1 us-west-1 us-east-1 eu-central-1 me-east-1 ap-south-1
  cn-hangzhou-finance cn-shanghai-finance-1 cn-shenzhen-finance-1
  cn-north-2-gov-1 cn-beijing-finance-1 cn-chengdu cn-wulanchabu cn-wuhan cn-fujian
]]):gmatch("%S+") do
  CENTRAL[region] = true
end

local REGION_ID = require("dts.schema").FORMATS.region_id.pattern

-- host(region) -> "dts.aliyuncs.com" or "dts.<region>.aliyuncs.com", or nil
-- when region is not a region id (it would change the host name).
return function(region)
  if type(region) ~= "string" or not region:find(REGION_ID) then return nil end
  if CENTRAL[region] then return "dts.aliyuncs.com" end
  return "dts." .. region .. ".aliyuncs.com"
end
