--- Errors are values (design.md): every public function returns a result,
-- or `nil` and one of these.  Callers branch on the fields, never on the
-- text.  No error ever holds a secret: messages are built from names, never
-- from credential values, and every string field is redacted of the access
-- key secret and the STS token once credentials are known
-- (@{redact_fields}, called in `client:call`).
--
-- **Kinds** (`err.kind`):
--
-- * `invalid_argument`: the caller's input (an option, a parameter, a
--   DbList, a state file); nothing was sent. `err.param` names it.
-- * `credentials`: no usable credentials, or the service refused them
--   (`InvalidAccessKeyId.*`, `InvalidSecurityToken.*`, STS's `NoPermission`);
--   code `NoCredentials` when no source of the chain gave any, with
--   `err.sources = { { source, reason }, ... }`.
-- * `network`: no connection, an empty reply, a connection closed or reset
--   mid-answer. Retried.
-- * `timeout`: the call's deadline passed (or a workflow's wait). Retried
--   while the deadline allows.
-- * `tls`: the TLS handshake or the certificate check failed. Nothing was sent.
-- * `api`: the service said no (its `Code`/`ErrCode` in `err.code`), or a
--   job status a workflow cannot go on with (`JobStatus.<status>`).
-- * `protocol`: an answer that is not what HTTP or the service promises
--   (not JSON, over `max_response_size`, compressed, HTTP/2 ...).
-- * `unconfirmed`: a workflow's change was accepted but is not yet
--   confirmed (code `NotConfirmed`): read the job back.
-- * `interrupted`: SIGINT/SIGTERM (when the transport traps them), or a
--   batch run stopped by its `on_progress`.
--
-- **Codes** (`err.code`): the service's, as it sent them (@{dts.codes});
-- `err.bare_code` is the same without a `DTS.Msg.` prefix.  The workflows
-- add `JobStatus.<status>`, `NotConfirmed`; the credentials chain `NoCredentials`.
--
-- **Outcomes**: after a change (ModifyDtsJob) went out, an error says so:
-- `submitted = true`, the `client_token` it went out with (sent again with
-- the same token, it is applied at most once) and `outcome`:
--
-- * `"unknown"`: no usable answer came back (connection lost, timeout,
--   5xx, broken body): it may have been applied; send it again with the
--   same `ClientToken`, or read the job back.
-- * `"refused"`: the service said no: nothing was applied.
-- * `"accepted"`: the service took it; not yet confirmed (kind
--   `unconfirmed`, or `api` `JobStatus.<status>` when the job failed after).
-- * `"confirmed"`: applied and read back (a batch run stopped after it).
--
-- An error without `submitted` means nothing was sent, or nothing that
-- could change the job.
-- @module dts.errors

--- The error object: a table with a `__tostring` (`dts: kind code
-- (HTTP 403, request R, 3 attempts): message; the change was submitted
-- ...`).  Only `kind`, `message` and `retryable` are always there.
-- @table err
-- @field kind one of the kinds above
-- @field code the service's `Code` / `ErrCode`, or a workflow's code
-- @field bare_code `code` without the `DTS.Msg.` prefix (API errors)
-- @field message what went wrong, for a person
-- @field param the option or parameter at fault (`invalid_argument`)
-- @field http_status the answer's HTTP status
-- @field request_id the service's `RequestId`
-- @field recommend the service's `Recommend` text (a diagnosis URL)
-- @field retryable the service's answer is one the client retries
--   (throttling, 5xx, `SignatureNonceUsed`); `network` and `timeout` are
--   retried whatever it says
-- @field attempts requests that went out in the call (0: nothing was sent)
-- @field submitted `true` once a change went out
-- @field client_token the `ClientToken` the change went out with
-- @field outcome `"unknown"`, `"accepted"`, `"refused"` or `"confirmed"`
-- @field signal `"SIGINT"` or `"SIGTERM"` (`interrupted`)
-- @field batch batch runs: the batch these fields are about
-- @field batches batch runs: the number of batches
-- @field done batch runs: objects confirmed
-- @field total batch runs: objects in the list
-- @field sources `NoCredentials`: `{ { source =, reason = }, ... }`, why each source gave nothing

local errors = {}

local mt = {}
mt.__index = mt

-- What became of a change that went out, and how to finish safely.
local OUTCOME = {
  unknown = " and no answer came back: it may have been applied. To finish safely, send it "
    .. "again with the same ClientToken (it is applied at most once) or read the job back",
  accepted = " and accepted; not yet confirmed: read the job back before changing it again",
  refused = " and refused: nothing was applied",
  confirmed = " and confirmed: it is applied",
}

--- What became of a change, in words, as `tostring(err)` ends: `""`
-- unless `e.submitted`, else `"; the change [of batch k] was submitted with
-- ClientToken T and ..."` and how to finish safely.
-- @tparam table e an error
-- @treturn string
function errors.outcome_text(e)
  if not e.submitted then return "" end
  return "; the change" .. (e.batch and (" of batch " .. tostring(e.batch)) or "") .. " was submitted"
    .. (e.client_token and (" with ClientToken " .. tostring(e.client_token)) or "")
    .. (OUTCOME[e.outcome] or "")
end

function mt.__tostring(e)
  local head = "dts: " .. e.kind
  if e.code then head = head .. " " .. e.code end
  local extra = {}
  if e.http_status then extra[#extra + 1] = "HTTP " .. e.http_status end
  if e.request_id then extra[#extra + 1] = "request " .. e.request_id end
  if e.attempts and e.attempts > 1 then extra[#extra + 1] = e.attempts .. " attempts" end
  if #extra > 0 then head = head .. " (" .. table.concat(extra, ", ") .. ")" end
  return head .. ": " .. tostring(e.message) .. errors.outcome_text(e)
end

--- Makes an error object.
-- @tparam string kind one of the kinds above
-- @tparam[opt] table fields copied into it (`code`, `message`, ...)
-- @treturn err with `retryable` false unless given
-- @usage return nil, errors.new("api", { code = "Throttling", message = "..." })
function errors.new(kind, fields)
  local e = {}
  for k, v in pairs(fields or {}) do e[k] = v end
  e.kind = kind
  e.retryable = e.retryable or false
  return setmetatable(e, mt)
end

--- Whether a value is an error object of this module.
-- @param e any value
-- @treturn boolean
function errors.is(e)
  return getmetatable(e) == mt
end

--- A caller's mistake, kind `invalid_argument`: nothing was sent.
-- @tparam[opt] string param the option or parameter at fault; the message starts with it
-- @tparam string fmt the message, a `string.format` format when more arguments follow
-- @param ... its arguments
-- @treturn err
function errors.invalid(param, fmt, ...)
  local message = select("#", ...) > 0 and fmt:format(...) or fmt
  return errors.new("invalid_argument", {
    param = param,
    message = param and (param .. ": " .. message) or message,
  })
end

-- Redaction: the one place secrets are taken out of text (issue 11 item 4).
--
-- A server that echoes a request can hand a secret back in any field and in
-- any of the forms it travelled or was logged in: plain; percent-encoded
-- (upper or lower hex, or only some bytes); encoded twice (a V1 string to
-- sign: "%" became "%25"); "+" for a space (form encoding); JSON-escaped
-- inside JSON text ("\/", "\u00xx", "\\", "\""); base64 or base64url of the
-- secret or of its percent-encoded form, at any of the three byte
-- alignments.  Letters and digits are never escaped by any of these, so the
-- longest run of them in the secret (its anchor) is searched for with a
-- plain find, and only around a hit is the secret matched byte by byte,
-- each byte in any of its escaped forms.  Base64 forms, and the forms of a
-- secret without letters or digits, are searched for as plain strings.  No
-- pattern ever runs over the text, so a 1 MB dry-run body costs a few plain
-- finds per secret.  Limit: "\u00xx" is recognised for ASCII bytes only
-- (secrets and STS tokens are ASCII).

local dts_core = require "dts.core"

local byte, find, sub = string.byte, string.find, string.sub
local find_any, needles = dts_core.find_any, dts_core.needles

local REDACTED = "<redacted>"

local HEX = {}
for i = 0, 9 do HEX[48 + i] = i end
for i = 0, 5 do HEX[65 + i], HEX[97 + i] = 10 + i, 10 + i end

-- The byte that the two hex digits at s[i], s[i+1] stand for, or nil.
local function hex_at(s, i)
  local a, b = HEX[byte(s, i) or 0], HEX[byte(s, i + 1) or 0]
  return a and b and a * 16 + b
end

-- Where the m-th form of byte c that can start at s[i] ends (exclusive), or
-- nil when there is no m-th: "%XX", "%25XX" (encoded twice), the JSON
-- escapes "\/", "\\", "\"" and "\u00XX", then the byte itself ("+" for a
-- space in a form, and a "+" that a form decoder made a space).  A "%" or
-- "\" of the secret may be itself or start an escape, so the matcher below
-- tries each form in turn.
local function nth(s, i, c, m)
  local b = byte(s, i)
  if b == 37 then
    local h = hex_at(s, i + 1)
    if h == c then
      m = m - 1
      if m == 0 then return i + 3 end
    end
    if h == 37 and hex_at(s, i + 3) == c then
      m = m - 1
      if m == 0 then return i + 5 end
    end
  elseif b == 92 then
    local n = byte(s, i + 1)
    if n == c and (c == 47 or c == 92 or c == 34) then
      m = m - 1
      if m == 0 then return i + 2 end
    elseif n == 117 and c < 128 and byte(s, i + 2) == 48 and byte(s, i + 3) == 48
        and hex_at(s, i + 4) == c then
      m = m - 1
      if m == 0 then return i + 6 end
    end
  end
  if m == 1 and (b == c or (b == 43 and c == 32) or (b == 32 and c == 43)) then
    return i + 1
  end
  return nil
end

-- Scratch for match_at (nothing in it yields, so one set serves).
local at, tried = {}, {}

-- Where an occurrence of the secret (its bytes b) that starts at s[i] ends
-- (exclusive), or nil: a depth-first search over each byte's forms.  Where
-- byte k failed from a position is remembered, so text made to branch at
-- every "%" or "\\" of a secret costs at most bytes x positions steps.
local function match_at(s, i, b)
  local n, k, dead = #b, 1, nil
  at[1], tried[1] = i, 0
  while k > 0 do
    if k > n then return at[k] end
    tried[k] = tried[k] + 1
    local e = nth(s, at[k], b[k], tried[k])
    if e and not (dead and dead[e * (n + 1) + k + 1]) then
      k = k + 1
      at[k], tried[k] = e, 0
    else
      if not e and k > 1 then
        dead = dead or {}
        dead[at[k] * (n + 1) + k] = true
      end
      if not e then k = k - 1 end
    end
  end
  return nil
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = byte(s, i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local d = { math.floor(n / 262144) % 64, math.floor(n / 4096) % 64,
                math.floor(n / 64) % 64, n % 64 }
    for k = 1, (c and 4) or (b and 3) or 2 do
      out[#out + 1] = sub(B64, d[k] + 1, d[k] + 1)
    end
  end
  return table.concat(out)
end

-- The base64 characters that depend on the bytes of s alone, for s placed
-- at each of the three alignments inside a longer text (and base64url).
local function base64_cores(s, into)
  for k = 0, 2 do
    local core = sub(base64(("\0"):rep(k) .. s), math.ceil(8 * k / 6) + 1,
                     math.floor(8 * (k + #s) / 6))
    if #core >= 4 then
      into[#into + 1] = core
      into[#into + 1] = (core:gsub("[+/]", { ["+"] = "-", ["/"] = "_" }))
    end
  end
end

local function percent(s, all, fmt)
  return (s:gsub(all and "." or "[^%w%-_.~]", function(c) return fmt:format(byte(c)) end))
end

-- A plain find stops at every byte of the text equal to the first byte of
-- what it looks for, so each search starts at the rarest byte available (by
-- a fixed guess: request bodies are full of lower-case names, digits, "%"
-- and upper-case hex digits) that leaves enough bytes after it.
local RANK = {}
for i, c in ipairs({ byte("QZXJKVWYUGHNMOPLRSTI+/=_~qzjxkvwyfbgphmu!*'()@$,;:GBCDEFA", 1, -1) }) do
  RANK[c] = RANK[c] or i
end

-- The offset into text (0-based) of the rarest byte with keep bytes after it.
local function rare_at(text, keep)
  local best, best_rank = 0, math.huge
  for i = 1, math.max(1, #text - keep + 1) do
    local rank = RANK[byte(text, i)] or 1000
    if rank < best_rank then best, best_rank = i - 1, rank end
  end
  return best
end

-- A form searched for as a plain string: the text and where to start.
local function plain_form(text)
  local off = rare_at(text, math.min(#text, 6))
  return { text = text, needle = sub(text, off + 1), off = off }
end

-- What redaction needs to know of one secret, computed once per secret
-- (a few secrets at a time: rotated keys must not pile up).
local compiled, ncompiled = {}, 0

local function compile(secret)
  local r = compiled[secret]
  if r then return r end
  r = { bytes = {}, anchor = "", at = 1, plain = {} }
  for i = 1, #secret do r.bytes[i] = byte(secret, i) end
  -- The anchor: the run of letters and digits with the rarest start (at
  -- least 6 long, if there is such a run), from that start to its end.
  local best = math.huge
  for start, run in secret:gmatch("()(%w+)") do
    local keep = math.min(#run, 6)
    local off = rare_at(run, keep)
    local rank = (RANK[byte(run, off + 1)] or 1000) + (keep < 6 and 2000 or 0) - #run / 1e6
    if rank < best then
      best, r.anchor, r.at = rank, sub(run, off + 1), start + off
    end
  end
  local texts = {}
  local encoded = percent(secret, false, "%%%02X")
  if r.anchor == "" then
    -- Nothing that is never escaped: the usual forms, as they are.
    texts[#texts + 1] = secret
    texts[#texts + 1] = encoded
    texts[#texts + 1] = percent(secret, false, "%%%02x")
    texts[#texts + 1] = (encoded:gsub("%%", "%%25"))
  end
  -- Where the two commonest forms start, before the anchor: as it is, and
  -- percent-encoded once (redact_anchored checks these before matching
  -- byte by byte, which is slow over a long STS token).
  r.quick = { { text = secret, before = r.at - 1 },
              { text = encoded, before = #percent(sub(secret, 1, r.at - 1), false, "%%%02X") } }
  texts[#texts + 1] = percent(secret, true, "%%%02X") -- every byte escaped
  texts[#texts + 1] = percent(secret, true, "%%%02x")
  base64_cores(secret, texts)
  if encoded ~= secret then base64_cores(encoded, texts) end
  for i, text in ipairs(texts) do r.plain[i] = plain_form(text) end
  -- Every span redacted below holds the anchor or a plain form as it is,
  -- so a text holding none of them is left as it is after one pass.
  local all = {}
  if r.anchor ~= "" then all[1] = r.anchor end
  for _, text in ipairs(texts) do all[#all + 1] = text end
  r.any = needles(all)
  if ncompiled >= 8 then compiled, ncompiled = {}, 0 end
  compiled[secret], ncompiled = r, ncompiled + 1
  return r
end

-- s with every span that is the secret in a byte-wise form replaced.
local function redact_anchored(s, r)
  local anchor, before, b = r.anchor, r.at - 1, r.bytes
  local h = find(s, anchor, 1, true)
  if not h then return s end
  local out, done = {}, 1 -- s[done..] is not in out yet
  while h do
    local stop
    -- The secret as it is, or percent-encoded, where the anchor says it
    -- starts; else byte by byte, each byte before the anchor taking 1 to
    -- 6 characters.
    for _, q in ipairs(r.quick) do
      local i = h - q.before
      if i >= done and sub(s, i, i + #q.text - 1) == q.text then
        out[#out + 1] = sub(s, done, i - 1)
        out[#out + 1] = REDACTED
        stop = i + #q.text
        done = stop
        break
      end
    end
    if not stop then
      for i = h - before, math.max(done, h - 6 * before), -1 do
        stop = match_at(s, i, b)
        if stop then
          out[#out + 1] = sub(s, done, i - 1)
          out[#out + 1] = REDACTED
          done = stop
          break
        end
      end
    end
    h = find(s, anchor, stop or h + 1, true)
  end
  if done == 1 then return s end
  out[#out + 1] = sub(s, done)
  return table.concat(out)
end

-- The first occurrence of a plain form in s at or after init.
local function find_plain(s, f, init)
  local i = find(s, f.needle, init + f.off, true)
  while i do
    local start = i - f.off
    if sub(s, start, start + #f.text - 1) == f.text then return start, start + #f.text - 1 end
    i = find(s, f.needle, i + 1, true)
  end
  return nil
end

local function replace_plain(s, f)
  local i, j = find_plain(s, f, 1)
  if not i then return s end
  local out, done = {}, 1
  while i do
    out[#out + 1] = sub(s, done, i - 1)
    out[#out + 1] = REDACTED
    done = j + 1
    i, j = find_plain(s, f, done)
  end
  out[#out + 1] = sub(s, done)
  return table.concat(out)
end

--- Text with every occurrence of each secret replaced by `<redacted>`, in
-- every form an echo can take: plain, percent-encoded once or twice (any
-- hex case, or only some bytes), `+` for a space, JSON-escaped, base64 or
-- base64url (of the secret or of its percent-encoded form).  Costs a few
-- plain finds per secret, whatever the text's size.
-- @param s the text; anything but a string is returned as it is
-- @tparam table secrets the secrets (strings; empty ones are skipped)
-- @return s, redacted
function errors.redact(s, secrets)
  if type(s) ~= "string" or type(secrets) ~= "table" then return s end
  for _, secret in pairs(secrets) do
    local r = type(secret) == "string" and #secret > 0 and compile(secret)
    if r and find_any(s, r.any) then
      if r.anchor ~= "" then s = redact_anchored(s, r) end
      for _, form in ipairs(r.plain) do
        s = replace_plain(s, form)
      end
    end
  end
  return s
end

--- Redacts every string field of an error, and of the tables inside it,
-- in place (@{redact}): any field, also the ones added later.  The one
-- redaction point of the client (`client:call`).
-- @param err an error (anything but a table is returned as it is)
-- @tparam table secrets the secrets
-- @param[opt] seen tables already done (cycles)
-- @return err
function errors.redact_fields(err, secrets, seen)
  if type(err) ~= "table" or type(secrets) ~= "table" then return err end
  seen = seen or {}
  if seen[err] then return err end
  seen[err] = true
  local k, v = next(err)
  while k ~= nil do
    if type(v) == "string" then
      rawset(err, k, errors.redact(v, secrets))
    elseif type(v) == "table" then
      errors.redact_fields(v, secrets, seen)
    end
    k, v = next(err, k)
  end
  return err
end

return errors
