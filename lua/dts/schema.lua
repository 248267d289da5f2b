--- The parameters of each action (dts-api.md sections 1.1, 2.2 and 5.1): the
-- one place they are written down.  Validation, snake_case aliases, where a
-- parameter goes on the wire, the docs and the CLI's flags all derive from
-- these tables.
--
-- `schema.ModifyDtsJob` and `schema.DescribeDtsJobDetail` are `{ action,
-- version, method, doc, params = { parameter, ... }, by_name, by_alias }`.
-- A parameter:
--
-- * `name`: the API's name (PascalCase)
-- * `alias`: snake_case alias (derived from name)
-- * `type`: `"string"` | `"boolean"` | `"json"` (json: a Lua table or JSON text)
-- * `where`: `"query"` | `"body"` (form field), as the official SDKs send it
-- * `required`: the API refuses the call without it
-- * `enum`: allowed values
-- * `max_len`: longest value in characters; `ascii`: ASCII only
-- * `json`: `"object"`: the JSON text must be an object
-- * `max_bytes`: longest JSON text in bytes
-- * `grammar`: `"dblist"`: the JSON follows the DbList grammar (dts.dblist.grammar)
-- * `format`: a name in `schema.FORMATS`: the text must match its pattern
-- * `doc`: one line for docs and `--help`
--
-- Values: strings as they are; booleans as `true`/`false` (or those
-- strings); json parameters as a Lua table or as JSON text (checked to
-- parse, its numbers finite).  Tables are encoded with lua-cjson: an empty
-- table is an empty object `{}` (pass JSON text for an empty array); a
-- table is an array when its keys are exactly 1..n, an object when they are
-- all strings, anything else is refused; numbers that lua-cjson's 14
-- significant digits would change (2^53 + 1, 0.1 + 0.2) are refused: pass
-- them as strings.
--
-- **ModifyDtsJob**:
--
-- <!-- include schema-ModifyDtsJob.md -->
--
-- **DescribeDtsJobDetail**:
--
-- <!-- include schema-DescribeDtsJobDetail.md -->
-- @module dts.schema

local schema = {}

local MiB = 1024 * 1024

-- Text formats, each a pattern and how to say what it wants.  A region id
-- becomes part of the endpoint's host name (dts.<region>.aliyuncs.com), so
-- dts.new's region_id, ALIBABA_CLOUD_REGION_ID, the RegionId parameter and
-- the endpoint itself all hold to this one rule (issue 11 item 11).
--- Text formats, by name: `{ pattern, doc }`.  `region_id`: lower-case
-- letters, digits and `-` (dts.new's `region_id`, `ALIBABA_CLOUD_REGION_ID`,
-- `RegionId` and the endpoint all hold to it).
-- @table FORMATS
schema.FORMATS = {
  region_id = { pattern = "^[a-z0-9-]+$",
    doc = 'a region id: lower-case letters, digits and "-", e.g. cn-hangzhou' },
}

-- Parameters more than one action takes, written once.
local SHARED = {
  RegionId = { type = "string", where = "query", format = "region_id",
    doc = "Region of the DTS instance, e.g. cn-hangzhou (default: the client's region)." },
  DtsJobId = { type = "string", where = "query", doc = "ID of the synchronization task." },
  SynchronizationDirection = { type = "string", where = "query", enum = { "Forward", "Reverse" },
    doc = "Direction of a two-way synchronization (default Forward)." },
  ZeroEtlJob = { type = "boolean", where = "query",
    doc = "Whether the task is a zero-ETL (seamless integration) node." },
  ResourceGroupId = { type = "string", where = "query",
    doc = "Resource group ID, e.g. rg-acfmzawhxxc****." },
}

local function shared(name)
  local p = { name = name }
  for k, v in pairs(SHARED[name]) do p[k] = v end
  return p
end

local function action(def)
  def.by_name, def.by_alias = {}, {}
  for i, p in ipairs(def.params) do
    -- DtsInstanceId -> dts_instance_id, DtsInstanceID -> dts_instance_id
    p.alias = p.name:gsub("(%u+)(%u%l)", "%1_%2"):gsub("(%l)(%u)", "%1_%2"):lower()
    p.index = i
    def.by_name[p.name] = p
    def.by_alias[p.alias] = p
  end
  schema[def.action] = def
  return def
end

action {
  action = "ModifyDtsJob", version = "2020-01-01", method = "POST",
  doc = "Change the objects (DbList) or the reserved settings of a synchronization task.",
  params = {
    shared "RegionId",
    { name = "DtsInstanceId", type = "string", where = "query", required = true,
      doc = "ID of the synchronization instance, e.g. dtsbi6e22ay243****." },
    shared "DtsJobId",
    shared "SynchronizationDirection",
    { name = "ClientToken", type = "string", where = "query", max_len = 64, ascii = true,
      doc = "Idempotency token, ASCII, at most 64 characters (generated when absent)." },
    { name = "DbList", type = "json", where = "body", json = "object", max_bytes = MiB,
      grammar = "dblist",
      doc = "The complete new object list; it REPLACES the current one (at most 1 MB of JSON)." },
    { name = "EtlOperatorColumnReference", type = "json", where = "body",
      doc = "T+1 ETL operator configuration (opaque JSON)." },
    { name = "ModifyTypeEnum", type = "string", where = "body", enum = { "UPDATE_RESERVED" },
      doc = "Merge Reserved into the task's settings instead of changing objects." },
    { name = "Reserved", type = "json", where = "body", json = "object",
      doc = "Reserved settings as a JSON object; merged, only the keys sent change." },
    { name = "FileOssUrl", type = "string", where = "query",
      doc = "OSS URL of a file holding the object list." },
    { name = "FilterTableName", type = "string", where = "body",
      doc = "Name of a table to filter." },
    { name = "StructureInitialization", type = "boolean", where = "query",
      doc = "Schema initialization for the newly added objects." },
    { name = "DataInitialization", type = "boolean", where = "query",
      doc = "Full data initialization for the newly added objects." },
    { name = "DataSynchronization", type = "boolean", where = "query",
      doc = "Incremental synchronization." },
    shared "ZeroEtlJob",
    shared "ResourceGroupId",
  },
}

action {
  action = "DescribeDtsJobDetail", version = "2020-01-01", method = "POST",
  doc = "Read a task's status, its current objects (DbObject) and reserved settings.",
  params = {
    shared "RegionId",
    shared "DtsJobId",
    { name = "DtsInstanceID", type = "string", where = "query",
      doc = "ID of the instance (note the capital ID)." },
    shared "SynchronizationDirection",
    { name = "SyncSubJobHistory", type = "boolean", where = "query",
      doc = "Also list finished sub-tasks (default: only the latest)." },
    shared "ZeroEtlJob",
    shared "ResourceGroupId",
    { name = "DbObjectOutputType", type = "string", where = "query",
      doc = "Output form of DbObject (undocumented)." },
  },
}

--- The parameter reference of an action as a Markdown table (README.md
-- and this reference carry it; a spec checks README agrees).
-- @tparam string name `"ModifyDtsJob"` or `"DescribeDtsJobDetail"`
-- @treturn string the table, one row per parameter
function schema.markdown(name)
  local def = schema[name]
  local rows = { "| parameter | alias | type | sent in | |", "|---|---|---|---|---|" }
  for _, p in ipairs(def.params) do
    local notes = p.doc
    if p.required then notes = "**required.** " .. notes end
    if p.enum then notes = notes .. " One of: " .. table.concat(p.enum, ", ") .. "." end
    rows[#rows + 1] = ("| `%s` | `%s` | %s | %s | %s |"):format(p.name, p.alias,
      p.type == "json" and "table or JSON text" or p.type, p.where, notes)
  end
  return table.concat(rows, "\n") .. "\n"
end

return schema
