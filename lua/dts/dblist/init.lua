--- A DbList builder (dts-api.md section 3): start from a job's current
-- objects, add or remove databases and tables, merge, diff, validate.
--
-- Objects are named `"db"` (a whole database) or `"db.table"`; comparisons
-- are by meaning: key order and keys the service adds (such as `state`) do
-- not count.  Every method checks its arguments and options (declared in
-- `dblist.OPTIONS`, with a "did you mean") and returns `nil` and a
-- @{dts.errors} object (kind `invalid_argument`) on bad input, also when
-- called without the colon; the changing ones return the builder, so calls
-- chain.
-- @module dts.dblist
-- @usage
-- local dbl = dts.dblist.new(job.db_object)      -- or JSON text, or nothing
-- dbl:add_table("shop", "orders", { filter = "id > 10" })
-- local ok, err = dbl:validate()                 -- grammar + the 1 MB limit
-- client:modify_dts_job{ ..., DbList = dbl:to_table() }

local errors = require "dts.errors"
local grammar = require "dts.dblist.grammar"
local json = require "dts.json"
local options = require "dts.options"

local MAX_BYTES = 1024 * 1024

local dblist = {}
dblist.__index = dblist

-- The methods' options, declared once (dts.options checks them).
local OPS = { type = "string", doc = 'Operations to take, e.g. "insert,update,delete".' }
local function op(name) return { name = name, type = OPS.type, doc = OPS.doc } end
local ADD_DATABASE = options.define("add_database", {
  { name = "name", type = "string", doc = "Destination database name (default: the source's)." },
  op "dml_op", op "ddl_op",
})
local ADD_TABLE = options.define("add_table", {
  { name = "name", type = "string", doc = "Destination table name (default: the source's)." },
  { name = "db_name", type = "string", doc = "Destination database name, for a new database entry." },
  { name = "filter", type = "string", doc = "SQL condition on the rows to take." },
  { name = "columns", type = "columns",
    doc = "Columns to take: a list of names, or a map of source -> destination name (default: all)." },
  op "dml_op", op "ddl_op",
})
--- The methods' option declarations, by method (`add_database`,
-- `add_table`): the tables below are generated from them.
-- @table OPTIONS
dblist.OPTIONS = { add_database = ADD_DATABASE, add_table = ADD_TABLE }

local invalid = errors.invalid

-- Misuse (dblist.add_table(...) without the colon, another object) comes
-- back as an error too: no value passed in may raise.
local function check_self(self, method)
  if getmetatable(self) ~= dblist then
    return nil, invalid(nil, "use builder:%s(...), with a colon, on a builder from dts.dblist.new", method)
  end
  return true
end

-- The shape every walk below relies on: databases are tables, and so are
-- their "Table" maps and entries.  The full grammar is validate()'s.
local function shape(dbs, what)
  for db, entry in pairs(dbs) do
    if type(db) ~= "string" or type(entry) ~= "table" then
      return nil, invalid(what, "expected a DbList: source database name -> { name =, all =, Table = {...} }")
    end
    if entry.Table ~= nil then
      if type(entry.Table) ~= "table" then
        return nil, invalid(what .. "." .. db .. ".Table", "expected a map of source table name -> { ... }")
      end
      for tname, t in pairs(entry.Table) do
        if type(tname) ~= "string" or type(t) ~= "table" then
          return nil, invalid(what .. "." .. db .. ".Table", "expected a map of source table name -> { ... }")
        end
      end
    end
  end
  return true
end

-- Keys the service adds to DbObject; never a difference.
local SERVER_KEYS = { state = true }

local function copy(v)
  if type(v) ~= "table" then return v end
  local t = {}
  for k, x in pairs(v) do t[k] = copy(x) end
  return t
end

-- v without server-added keys, for comparison.
local function meaning(v)
  if type(v) ~= "table" then return v end
  local t = {}
  for k, x in pairs(v) do
    if not SERVER_KEYS[k] then t[k] = meaning(x) end
  end
  return t
end

local same = json.equal

--- A builder, empty or from a DbList.
-- @param[opt] existing a DbList table (copied), JSON text (e.g.
--   DescribeDtsJobDetail's `DbObject`), or another builder (copied)
-- @treturn dblist the builder
-- @return[2] nil
-- @treturn[2] dts.errors err kind `invalid_argument` (not a DbList, not JSON)
-- @usage local dbl = assert(dts.dblist.new(job.db_object))
function dblist.new(existing)
  local t = existing
  if type(existing) == "string" then
    local err
    t, err = json.decode(existing)
    if type(t) ~= "table" then return nil, invalid("DbList", "not a JSON object: %s", tostring(err)) end
  elseif dblist.is(existing) then
    t = existing.dbs
  elseif existing ~= nil and type(existing) ~= "table" then
    return nil, invalid("DbList", "expected a table or JSON text, got %s", type(existing))
  end
  t = t or {}
  local ok, err = shape(t, "DbList")
  if not ok then return nil, err end
  return setmetatable({ dbs = copy(t) }, dblist)
end

--- Whether a value is a builder.
-- @param v any value
-- @treturn boolean
function dblist.is(v)
  return getmetatable(v) == dblist
end

local function check_name(what, name)
  if type(name) ~= "string" or name == "" then
    return nil, invalid(what, "expected a non-empty name, got %s", type(name))
  end
  return true
end

--- Takes a whole database (its tables listed before are dropped: the
-- database stands for all of them).
--
-- <!-- include options-add_database.md -->
-- @tparam string db the source database
-- @tparam[opt] table opts the options above
-- @treturn dblist the builder
-- @return[2] nil
-- @treturn[2] dts.errors err kind `invalid_argument`
function dblist:add_database(db, opts)
  local ok, err = check_self(self, "add_database")
  if ok then ok, err = check_name("database", db) end
  if not ok then return nil, err end
  opts, err = options.check(ADD_DATABASE, opts or {})
  if not opts then return nil, err end
  local entry = self.dbs[db] or {}
  entry.name = opts.name or entry.name or db
  entry.all = true
  entry.Table = nil
  entry.dml_op, entry.ddl_op = opts.dml_op or entry.dml_op, opts.ddl_op or entry.ddl_op
  self.dbs[db] = entry
  return self
end

--- Takes one table.  A table inside a database taken whole is already
-- covered: nothing changes.
--
-- <!-- include options-add_table.md -->
-- @tparam string db the source database
-- @tparam string tname the source table
-- @tparam[opt] table opts the options above
-- @treturn dblist the builder
-- @return[2] nil
-- @treturn[2] dts.errors err kind `invalid_argument`
-- @usage dbl:add_table("shop", "orders", { filter = "id > 10", columns = { "id", "total" } })
function dblist:add_table(db, tname, opts)
  local ok, err = check_self(self, "add_table")
  if ok then ok, err = check_name("database", db) end
  if ok then ok, err = check_name("table", tname) end
  if not ok then return nil, err end
  opts, err = options.check(ADD_TABLE, opts or {})
  if not opts then return nil, err end
  local entry = self.dbs[db]
  if entry and entry.all == true then return self end
  entry = entry or { name = opts.db_name or db, all = false }
  entry.Table = entry.Table or {}
  local t = { name = opts.name or tname, all = opts.columns == nil }
  if opts.filter then t.filter = opts.filter end
  if opts.columns then
    t.column = {}
    for k, v in pairs(opts.columns) do
      if type(k) == "number" then
        t.column[v] = { name = v }
      else
        t.column[k] = { name = v }
      end
    end
  end
  t.dml_op, t.ddl_op = opts.dml_op, opts.ddl_op
  entry.Table[tname] = t
  self.dbs[db] = entry
  return self
end

--- Drops one table; absent, nothing changes.  Removing the last table of a
-- database removes the database entry (unless the database is taken whole).
-- @tparam string db the source database
-- @tparam string tname the source table
-- @treturn dblist the builder
-- @return[2] nil
-- @treturn[2] dts.errors err kind `invalid_argument`
function dblist:remove_table(db, tname)
  local ok, err = check_self(self, "remove_table")
  if ok then ok, err = check_name("database", db) end
  if ok then ok, err = check_name("table", tname) end
  if not ok then return nil, err end
  local entry = self.dbs[db]
  if not entry or not entry.Table or not entry.Table[tname] then return self end
  entry.Table[tname] = nil
  if next(entry.Table) == nil and entry.all ~= true then self.dbs[db] = nil end
  return self
end

--- Drops a database entry and every table listed for it; absent, nothing changes.
-- @tparam string db the source database
-- @treturn dblist the builder
-- @return[2] nil
-- @treturn[2] dts.errors err kind `invalid_argument`
function dblist:remove_database(db)
  local ok, err = check_self(self, "remove_database")
  if ok then ok, err = check_name("database", db) end
  if not ok then return nil, err end
  self.dbs[db] = nil
  return self
end

-- The databases of another builder or DbList table, checked.
local function tables_of(self, method, other)
  local ok, err = check_self(self, method)
  if not ok then return nil, err end
  if dblist.is(other) then return other.dbs end
  if type(other) ~= "table" then
    return nil, invalid("other", "%s expects a builder or a DbList table, got %s", method, type(other))
  end
  ok, err = shape(other, "other")
  if not ok then return nil, err end
  return other
end

--- Adds what other has and self lacks; an entry both have is left as self
-- has it (merge never changes or drops an existing object), except that a
-- database other takes whole becomes whole.
-- @param other a builder or a DbList table
-- @treturn dblist the builder
-- @return[2] nil
-- @treturn[2] dts.errors err kind `invalid_argument`
function dblist:merge(other)
  local dbs, err = tables_of(self, "merge", other)
  if not dbs then return nil, err end
  for db, entry in pairs(dbs) do
    local mine = self.dbs[db]
    if not mine then
      self.dbs[db] = copy(entry)
    elseif mine.all ~= true then
      if entry.all == true then
        mine.all, mine.Table = true, nil
      else
        mine.Table = mine.Table or {}
        for tname, t in pairs(entry.Table or {}) do
          if mine.Table[tname] == nil then mine.Table[tname] = copy(t) end
        end
      end
    end
  end
  return self
end

-- Every object, as "db" (taken whole) or "db.table", with its entry.
local function objects(dbs)
  local out = {}
  for db, entry in pairs(dbs) do
    if entry.all == true then
      local whole = {}
      for k, v in pairs(entry) do
        if k ~= "Table" then whole[k] = v end
      end
      out[db] = whole
    else
      local head = {}
      for k, v in pairs(entry) do
        if k ~= "Table" then head[k] = v end
      end
      for tname, t in pairs(entry.Table or {}) do
        out[db .. "." .. tname] = { db = head, table = t }
      end
    end
  end
  return out
end

--- The objects' names, sorted: `"db"` for a database taken whole,
-- `"db.table"` for each table listed.
-- @treturn {string,...}
-- @return[2] nil
-- @treturn[2] dts.errors err kind `invalid_argument` (not called on a builder)
function dblist:names()
  local ok, err = check_self(self, "names")
  if not ok then return nil, err end
  local out = {}
  for name in pairs(objects(self.dbs)) do out[#out + 1] = name end
  table.sort(out)
  return out
end

--- What sending other instead of self would do, by meaning: key order and
-- keys the service adds (such as `state`) do not count.
-- @param other a builder or a DbList table
-- @treturn table `{ added = {...}, removed = {...}, changed = {...} }`, object names sorted
-- @return[2] nil
-- @treturn[2] dts.errors err kind `invalid_argument`
function dblist:diff(other)
  local dbs, err = tables_of(self, "diff", other)
  if not dbs then return nil, err end
  local mine, theirs = objects(self.dbs), objects(dbs)
  local d = { added = {}, removed = {}, changed = {} }
  for name, entry in pairs(theirs) do
    if mine[name] == nil then
      d.added[#d.added + 1] = name
    elseif not same(meaning(mine[name]), meaning(entry)) then
      d.changed[#d.changed + 1] = name
    end
  end
  for name in pairs(mine) do
    if theirs[name] == nil then d.removed[#d.removed + 1] = name end
  end
  table.sort(d.added)
  table.sort(d.removed)
  table.sort(d.changed)
  return d
end

--- Whether every object of other is in self with the same meaning.
-- @param other a builder or a DbList table
-- @treturn boolean
-- @treturn[opt] string the first object missing or different, when false
-- @return[2] nil
-- @treturn[2] dts.errors err kind `invalid_argument`
function dblist:contains(other)
  local dbs, err = tables_of(self, "contains", other)
  if not dbs then return nil, err end
  local mine = objects(self.dbs)
  for name, entry in pairs(objects(dbs)) do
    if mine[name] == nil or not same(meaning(mine[name]), meaning(entry)) then
      return false, name
    end
  end
  return true
end

--- The DbList as a plain table (a copy), for `DbList = ...`.
-- @treturn table
-- @return[2] nil
-- @treturn[2] dts.errors err kind `invalid_argument`
function dblist:to_table()
  local ok, err = check_self(self, "to_table")
  if not ok then return nil, err end
  return copy(self.dbs)
end

--- The DbList as JSON text (lua-cjson, the same checks as `DbList`).
-- @treturn string
-- @return[2] nil
-- @treturn[2] dts.errors err kind `invalid_argument` (a value JSON cannot carry)
function dblist:to_json()
  local ok, err = check_self(self, "to_json")
  if not ok then return nil, err end
  local text, msg = json.encode(self.dbs, "DbList")
  if not text then return nil, invalid(nil, msg) end
  return text
end

--- Checks the DbList grammar and the 1 MB limit, with the exact encoded size.
-- @treturn true
-- @treturn number the size of its JSON in bytes
-- @return[2] nil
-- @treturn[2] dts.errors err kind `invalid_argument`, naming the entry at fault
-- @treturn[2] number the size, when only the limit is exceeded
function dblist:validate()
  local ok, err = check_self(self, "validate")
  if not ok then return nil, err end
  local text, msg = grammar.encode(self.dbs, "DbList")
  if not text then return nil, invalid(nil, msg) end
  if #text > MAX_BYTES then
    return nil, invalid("DbList", "%d bytes of JSON, over the %d-byte (1 MB) limit", #text, MAX_BYTES), #text
  end
  return true, #text
end

return dblist
