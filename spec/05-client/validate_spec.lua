-- Bad input is refused before anything is signed or sent, with a message
-- naming the parameter.  The client here points at a closed port: a call
-- that got past validation would come back as a network error instead.
local dts = require "dts"

local SECRET = "validate-spec-secret+/="

local function client(opts)
  local o = { region_id = "cn-hangzhou", access_key_id = "LTAItest",
              access_key_secret = SECRET, endpoint = "127.0.0.1:9",
              retries = { max_attempts = 1 } }
  for k, v in pairs(opts or {}) do o[k] = v end
  return assert(dts.new(o))
end

local function refused(params, want, param)
  local res, err = client():modify_dts_job(params)
  assert.is_nil(res)
  assert.are.equal("invalid_argument", err.kind, tostring(err))
  assert.are.equal(0, err.attempts) -- nothing was sent
  assert.truthy(tostring(err):find(want, 1, true), "want " .. want .. ", got " .. tostring(err))
  if param then assert.are.equal(param, err.param) end
  assert.falsy(tostring(err):find(SECRET, 1, true))
  return err
end

local BASE_DBLIST = { dtstestdata = { name = "dtstestdata", all = false,
  Table = { customer = { name = "customer", all = true } } } }

describe("modify_dts_job validation", function()
  it("names an unknown parameter and suggests the right one", function()
    refused({ DtsInstanceid = "x" }, "DtsInstanceid: not a parameter of ModifyDtsJob; did you mean DtsInstanceId?")
    refused({ DtsInstanceId = "x", db_lst = {} }, "did you mean db_list?")
    refused({ DtsInstanceId = "x", Nonsense = 1 }, "Nonsense: not a parameter of ModifyDtsJob")
    refused({ "positional" }, "parameters are named")
  end)

  it("accepts snake_case aliases, and refuses alias and name with different values", function()
    local res = client():modify_dts_job({ dts_instance_id = "a", DtsInstanceId = "a" }, { dry_run = true })
    assert.truthy(res.url:find("DtsInstanceId=a", 1, true))
    refused({ DtsInstanceId = "a", dts_instance_id = "b" },
      "DtsInstanceId: given as both DtsInstanceId and dts_instance_id, with different values", "DtsInstanceId")
  end)

  it("requires DtsInstanceId and a region", function()
    refused({ DtsJobId = "j" }, "DtsInstanceId: missing", "DtsInstanceId")
    local c = assert(dts.new({ access_key_id = "LTAItest", access_key_secret = SECRET },
      function() return nil end))
    local res, err = c:modify_dts_job{ DtsInstanceId = "x" }
    assert.is_nil(res)
    assert.are.equal("invalid_argument", err.kind)
    assert.are.equal("region", err.param)
  end)

  it("checks types", function()
    refused({ DtsInstanceId = 42 }, "DtsInstanceId: expected a string, got number")
    refused({ DtsInstanceId = "x", DataInitialization = "yes" },
      'DataInitialization: expected true or false, got "yes"')
    refused({ DtsInstanceId = "x", DataInitialization = 1 }, "DataInitialization: expected true or false, got number")
    refused({ DtsInstanceId = "x", DbList = 5 }, "DbList: expected a table or JSON text, got number")
    refused({ DtsInstanceId = "x", Reserved = true }, "Reserved: expected a table or JSON text, got boolean")
  end)

  it("checks ClientToken: ASCII, at most 64 characters", function()
    refused({ DtsInstanceId = "x", ClientToken = ("a"):rep(65) }, "ClientToken: 65 characters, at most 64")
    refused({ DtsInstanceId = "x", ClientToken = "t\195\169" }, "ClientToken: only printable ASCII")
    assert.truthy(client():modify_dts_job({ DtsInstanceId = "x", ClientToken = ("a"):rep(64) }, { dry_run = true }))
  end)

  it("checks enums", function()
    refused({ DtsInstanceId = "x", SynchronizationDirection = "forward" },
      'SynchronizationDirection: "forward" is not one of Forward, Reverse')
    refused({ DtsInstanceId = "x", ModifyTypeEnum = "UPDATE" },
      'ModifyTypeEnum: "UPDATE" is not one of UPDATE_RESERVED')
  end)

  it("refuses text that is not UTF-8", function()
    refused({ DtsInstanceId = "x\255" }, "DtsInstanceId: not valid UTF-8 (byte 2)")
    refused({ DtsInstanceId = "x", DbList = { ["db\255"] = { all = true } } }, "DbList: a key is not valid UTF-8")
    refused({ DtsInstanceId = "x", Reserved = { a = "\192\175" } }, "Reserved.a: not valid UTF-8")
    refused({ DtsInstanceId = "x", DbList = '{"a\255":1}' }, "DbList: not valid UTF-8")
  end)

  it("refuses NaN, infinities, functions, cycles and inexact numbers inside tables", function()
    refused({ DtsInstanceId = "x", Reserved = { n = 0 / 0 } }, "Reserved.n: NaN and infinities have no JSON form")
    refused({ DtsInstanceId = "x", Reserved = { n = math.huge } }, "Reserved.n: NaN and infinities")
    refused({ DtsInstanceId = "x", Reserved = { f = print } }, "Reserved.f: a function has no JSON form")
    local cyclic = { a = {} }
    cyclic.a.back = cyclic
    refused({ DtsInstanceId = "x", Reserved = cyclic }, "Reserved.a.back: a table that contains itself")
    refused({ DtsInstanceId = "x", Reserved = { big = 2 ^ 53 + 1 } }, "cannot be sent exactly; pass it as a string")
    refused({ DtsInstanceId = "x", Reserved = { 1, 2, x = 3 } }, "Reserved: mixes array items and named keys")
  end)

  it("refuses numbers in JSON text that read as infinity, naming the parameter (issue 11 item 5)", function()
    local why = "a number out of range (it reads as infinity); numbers must be finite"
    refused({ DtsInstanceId = "x", Reserved = '{"maxRetryTime":1e999}' },
      "Reserved.maxRetryTime: " .. why, "Reserved")
    refused({ DtsInstanceId = "x", Reserved = '{"a":[1,-1E400]}' }, "Reserved.a[2]: " .. why, "Reserved")
    refused({ DtsInstanceId = "x", EtlOperatorColumnReference = '{"a":{"b":1e999}}' },
      "EtlOperatorColumnReference.a.b: " .. why, "EtlOperatorColumnReference")
    refused({ DtsInstanceId = "x", DbList = '{"db":{"name":"db","all":true,"shard":1e999}}' },
      "DbList.db.shard: " .. why, "DbList")
    -- large but finite, and tiny, numbers are sent as written
    local c = client()
    for _, text in ipairs({ '{"a":1e308}', '{"a":1e-999}', '{"a":12345678901234567890}' }) do
      local res = assert(c:modify_dts_job({ DtsInstanceId = "x", Reserved = text, dry_run = true }))
      assert.truthy(res.body:find("Reserved=" .. require("dts.core").percent_encode(text), 1, true), res.body)
    end
  end)

  it("checks JSON text and that objects are objects", function()
    refused({ DtsInstanceId = "x", Reserved = "{not json" }, "Reserved: not valid JSON")
    refused({ DtsInstanceId = "x", Reserved = "[1,2]" }, "Reserved: expected a JSON object")
    refused({ DtsInstanceId = "x", DbList = "[]" }, "DbList: expected a JSON object")
  end)

  it("checks the DbList grammar, with hints for legacy keys", function()
    refused({ DtsInstanceId = "x", DbList = {} }, "DbList: empty; it REPLACES the job's objects")
    refused({ DtsInstanceId = "x", DbList = { db = { name = "db", all = false,
      Table = { t = { name = "t", all = false, filterCondition = "id>1" } } } } },
      'DbList.db.Table.t.filterCondition: a legacy MigrationObject key, not DbList grammar; the row filter is "filter"')
    refused({ DtsInstanceId = "x", DbList = { db = { name = "db", all = false,
      Table = { t = { name = "t", all = false, ColumnList = {} } } } } }, "ColumnList: a legacy MigrationObject key")
    refused({ DtsInstanceId = "x", DbList = { db = { name = "db", all = false, Tables = {} } } },
      "DbList.db.Tables: not a DbList key here; did you mean Table?")
    refused({ DtsInstanceId = "x", DbList = { db = { name = "db", all = "yes" } } },
      'DbList.db.all: expected true or false, got "yes"')
    refused({ DtsInstanceId = "x", DbList = { db = { name = "db", all = false } } },
      'DbList.db: "all" is false but no "Table"')
    refused({ DtsInstanceId = "x", DbList = { db = { name = "db", all = false,
      Table = { t = { name = "t", all = false, filter = "id > 1;" } } } } }, "without a trailing ';'")
    refused({ DtsInstanceId = "x", DbList = '{"db":{"name":"db","all":true,"dml_op":"insert, update"}}' },
      "DbList.db.dml_op: expected comma-separated operation names without spaces")
  end)

  it("refuses a DbList over 1 MB and says how big it is", function()
    local tables = {}
    for i = 1, 20000 do
      local name = ("table_with_a_long_name_%06d"):format(i)
      tables[name] = { name = name, all = true }
    end
    local err = refused({ DtsInstanceId = "x", DbList = { db = { name = "db", all = false, Table = tables } } },
      "bytes of JSON, over the 1048576-byte (1 MB) limit", "DbList")
    assert.truthy(err.message:match("DbList: (%d+) bytes"))
  end)

  it("accepts the documented shapes, tables or JSON text", function()
    local c = client()
    for _, dblist in ipairs({
      BASE_DBLIST,
      '{"dtstest": {"name": "dtstest", "all": true}}',
      { shop = { name = "shop", all = false, Table = { customer = { name = "customer", all = false,
        filter = "id>10 and region='hz'", column = { id = { name = "id" }, addr = { name = "address" } } } } } },
      { logdb = { name = "logdb", all = true, dml_op = "insert,update", ddl_op = "CreateTable,AlterTable" } },
      { dtstestdata = { all = true, name = "dtstestdata", state = "normal" } },
    }) do
      local res, err = c:modify_dts_job({ DtsInstanceId = "x", DbList = dblist }, { dry_run = true })
      assert.truthy(res, err and tostring(err))
    end
  end)
end)

insulate("dts.modify_dts_job", function()
  it("uses a default client configured from the environment", function()
    local env = { ALIBABA_CLOUD_ACCESS_KEY_ID = "LTAIdefault", ALIBABA_CLOUD_ACCESS_KEY_SECRET = SECRET,
                  ALIBABA_CLOUD_REGION_ID = "ap-northeast-1", ALIBABA_CLOUD_ENDPOINT = "127.0.0.1:9" }
    local getenv = os.getenv
    os.getenv = function(k) return env[k] end -- luacheck: ignore 122
    package.loaded.dts, package.loaded["dts.client"] = nil, nil
    local fresh = require "dts"
    local req, err = fresh.modify_dts_job({ DtsInstanceId = "x" }, { dry_run = true })
    os.getenv = getenv -- luacheck: ignore 122
    assert(req, err and tostring(err))
    assert.truthy(req.url:find("^https://127%.0%.0%.1:9/%?"))
    assert.truthy(req.url:find("RegionId=ap-northeast-1", 1, true))
    assert.truthy(req.headers.authorization:find("Credential=LTAIdefault,", 1, true))
  end)
end)

describe("dts.new validation", function()
  it("names unknown options and wrong types", function()
    local c, err = dts.new{ regoin_id = "x", access_key_id = "a", access_key_secret = "b" }
    assert.is_nil(c)
    assert.are.equal("regoin_id: not an option of dts.new; did you mean region_id?", err.message)
    c, err = dts.new{ timeout = "30", access_key_id = "a", access_key_secret = "b" }
    assert.is_nil(c)
    assert.are.equal("timeout: expected a number, got string", err.message)
    c, err = dts.new{ signature = "v2", access_key_id = "a", access_key_secret = "b" }
    assert.is_nil(c)
    assert.truthy(err.message:find("signature: expected", 1, true))
    c, err = dts.new{ endpoint = "https://dts.aliyuncs.com/", access_key_id = "a", access_key_secret = "b" }
    assert.is_nil(c)
    assert.are.equal("endpoint", err.param)
  end)

  it("asks for credentials when none are given or found", function()
    -- No HOME, no files, no metadata: nothing can even be tried.
    local env = { ALIBABA_CLOUD_ECS_METADATA_DISABLED = "true" }
    local c, err = dts.new({ region_id = "cn-hangzhou" }, function(k) return env[k] end)
    assert.is_nil(c)
    assert.are.equal("credentials", err.kind)
    assert.are.equal("NoCredentials", err.code)
  end)

  it("refuses keys with stray whitespace before sending, without printing them", function()
    local c = assert(dts.new{ region_id = "r", access_key_id = "LTAItest",
      access_key_secret = SECRET .. " ", endpoint = "127.0.0.1:9" })
    local res, err = c:modify_dts_job{ DtsInstanceId = "x" }
    assert.is_nil(res)
    assert.are.equal("credentials", err.kind)
    assert.are.equal(0, err.attempts)
    assert.are.equal("access_key_secret: has leading or trailing whitespace; copy it again without it", err.message)
    assert.falsy(tostring(err):find(SECRET, 1, true))
  end)

  it("resolves the endpoint from the region as the SDKs do, unless given", function()
    local function url(region, endpoint)
      local c = assert(dts.new{ region_id = region, endpoint = endpoint,
        access_key_id = "LTAItest", access_key_secret = SECRET })
      return assert(c:modify_dts_job({ DtsInstanceId = "x" }, { dry_run = true })).url
    end
    assert.truthy(url("cn-hangzhou"):find("^https://dts%.aliyuncs%.com/"))
    assert.truthy(url("ap-southeast-1"):find("^https://dts%.aliyuncs%.com/"))
    assert.truthy(url("ap-northeast-1"):find("^https://dts%.ap%-northeast%-1%.aliyuncs%.com/"))
    assert.truthy(url("cn-guangzhou"):find("^https://dts%.cn%-guangzhou%.aliyuncs%.com/"))
    assert.truthy(url("cn-hangzhou", "dts.cn-hangzhou.aliyuncs.com"):find("^https://dts%.cn%-hangzhou%.aliyuncs%.com/"))
  end)

  it("reads credentials and region from the environment", function()
    local env = { ALIBABA_CLOUD_ACCESS_KEY_ID = "LTAIenv", ALIBABA_CLOUD_ACCESS_KEY_SECRET = SECRET,
                  ALIBABA_CLOUD_SECURITY_TOKEN = "tok", ALIBABA_CLOUD_REGION_ID = "cn-beijing" }
    local c = assert(dts.new({ signature = "v1" }, function(k) return env[k] end))
    local req = assert(c:modify_dts_job({ DtsInstanceId = "x" }, { dry_run = true }))
    assert.truthy(req.url:find("^https://dts%.aliyuncs%.com/%?AccessKeyId=LTAIenv&"))
    assert.truthy(req.url:find("RegionId=cn-beijing", 1, true))
    assert.truthy(req.url:find("SecurityToken=<redacted>", 1, true))
  end)
end)
