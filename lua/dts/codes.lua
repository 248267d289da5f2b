--- The service's error codes (dts-api.md section 1.3): the HTTP status and
-- message it answers with, and what a client should do.  One table serves
-- both sides: the emulator answers from it, the client classifies by it.
--
-- * `status`: HTTP status of the gateway answer
-- * `message`: the service's message (`%s`: a parameter name or detail)
-- * `retryable`: true: back off and retry with the same ClientToken
-- * `kind`: error kind for the client (default `"api"`)
--
-- Codes may arrive with a `DTS.Msg.` prefix; `lookup()` strips it.  A code
-- not in the table is kind `api`, retried when the HTTP status is 5xx.
--
-- The table, generated from it:
--
-- <!-- include codes.md -->
--
-- **Codes of lua-dts itself**: the workflows' `NotConfirmed` (kind
-- `unconfirmed`: a change was accepted but is not yet confirmed) and
-- `JobStatus.<status>` (kind `api`: the job is in a status a workflow
-- cannot go on with; a terminal one ends a wait at once); the credentials
-- chain's `NoCredentials` (kind `credentials`: no source gave keys; `dts`
-- exits 2 for it).  The statuses, generated from dts.status:
--
-- <!-- include job-status.md -->
-- @module dts.codes

local codes = {
  ["Throttling"] = { status = 400, retryable = true,
    message = "Request was denied due to request throttling." },
  ["Throttling.User"] = { status = 400, retryable = true,
    message = "Request was denied due to user flow control." },
  ["Throttling.Api"] = { status = 400, retryable = true,
    message = "Request was denied due to api flow control." },
  ["ServiceUnavailable"] = { status = 500, retryable = true,
    message = "The request has failed due to a temporary failure of the server." },
  ["InternalError"] = { status = 500, retryable = true,
    message = "The request processing has failed due to some unknown error." },
  ["UnknownError"] = { status = 500, retryable = true,
    message = "The request processing has failed due to some unknown error." },

  ["SignatureDoesNotMatch"] = { status = 400,
    message = "Specified signature is not matched with our calculation. server string to sign is:%s" },
  ["IncompleteSignature"] = { status = 400,
    message = "The request signature does not conform to Aliyun standards. %s" },
  -- Our nonces are 128 random bits, so this means an earlier copy of the
  -- same request arrived (libcurl re-sends on a reused connection that died):
  -- re-signed with a fresh nonce and the same ClientToken, a retry is safe.
  ["SignatureNonceUsed"] = { status = 400, retryable = true,
    message = "Specified signature nonce was used already." },
  ["InvalidTimeStamp.Expired"] = { status = 400,
    message = "Specified time stamp or date value is expired." },
  ["InvalidTimeStamp.Format"] = { status = 400,
    message = "Specified time stamp or date value is not well formatted." },
  ["InvalidAccessKeyId.NotFound"] = { status = 404, kind = "credentials",
    message = "Specified access key is not found." },
  ["InvalidSecurityToken.Expired"] = { status = 403, kind = "credentials",
    message = "Specified SecurityToken is expired." },
  ["InvalidSecurityToken.Malformed"] = { status = 400, kind = "credentials",
    message = "Specified SecurityToken is malformed." },
  ["InvalidSecurityToken.MismatchWithAccessKey"] = { status = 400, kind = "credentials",
    message = "Specified SecurityToken mismatch with the AccessKey." },

  ["InvalidAction.NotFound"] = { status = 404,
    message = "Specified api is not found, please check your url and method." },
  ["InvalidVersion"] = { status = 400,
    message = "Specified parameter Version is not valid." },
  ["MissingParameter"] = { status = 400,
    message = "%s is mandatory for this action." },
  ["InvalidParameter"] = { status = 400,
    message = "Specified parameter %s is not valid." },
  ["Forbidden.RAM"] = { status = 403, message = "User not authorized to operate on the "
    .. "specified resource, or this API doesn't support RAM." },
  ["Forbidden.InstanceNotFound"] = { status = 404,
    message = "The specified instance is not found." },

  -- Requests refused before any API logic runs: the emulator's nginx
  -- answers these in the gateway's shape (issue 11 item 12).  The real
  -- gateway's codes for them are not documented; these name what happened.
  ["BadRequest"] = { status = 400, message = "The request is not valid HTTP." },
  ["RequestHeaderTooLarge"] = { status = 400,
    message = "A request header line or the header block is too large." },
  ["RequestURITooLong"] = { status = 414,
    message = "The request URI is too long; send large parameters in the POST body." },
  ["RequestEntityTooLarge"] = { status = 413, message = "The request body is too large." },
  ["RequestTimeout"] = { status = 408, retryable = true,
    message = "The request was not received in time." },
  ["LengthRequired"] = { status = 411, message = "The request body has no length." },
  ["MethodNotAllowed"] = { status = 405, message = "The request method is not allowed." },
  ["NotImplemented"] = { status = 501,
    message = "The request uses an HTTP feature the gateway does not implement." },
  ["HTTPVersionNotSupported"] = { status = 505, message = "The HTTP version is not supported." },

  -- DTS business errors: 403 is inferred (dts-api.md 1.3), messages unverified.
  ["OperationDenied.JobStatusModifying"] = { status = 403, message = "The job is being "
    .. "modified. Wait until the modification is finished and the job is running, then retry." },
  ["CheckStatus.InvalidInitStatus"] = { status = 403,
    message = "The job status %s does not allow this operation." },
  ["ModifyDenied.JobStatusNotRunning"] = { status = 403,
    message = "The objects of a job can be modified only while it is running or failed "
      .. "in the incremental stage; it is %s." },

  -- STS, for the emulator's AssumeRole (credentials.md 3.1, help.aliyun.com
  -- 42775); messages unverified.
  ["NoPermission"] = { status = 403,
    message = "You are not authorized to do this action. You should be authorized by RAM." },
  ["InvalidParameter.RoleSessionName"] = { status = 400,
    message = "The parameter RoleSessionName is wrongly formed." },
  ["InvalidParameter.DurationSeconds"] = { status = 400,
    message = "The Min/Max value of DurationSeconds is 15min/12hr." },
}

--- The table itself: code -> `{ status, message, retryable, kind }`.
-- @table codes
local M = { codes = codes }

--- The entry for a code, with a `DTS.Msg.` prefix or without, and the
-- bare code.  Unknown codes of a known family (`Throttling.*`, `Missing*`,
-- `InvalidSecurityToken.*`) get the family's entry.
-- @tparam string code as the service sent it
-- @treturn[1] table the entry `{ status, message, retryable, kind }`, or nil for an unknown code
-- @treturn[1] string the bare code (nil when `code` is not a string)
function M.lookup(code)
  if type(code) ~= "string" then return nil end
  local bare = code:gsub("^DTS%.Msg%.", "")
  local entry = codes[bare]
  if entry then return entry, bare end
  if bare:match("^Throttling") then return codes.Throttling, bare end
  if bare:match("^Missing") then return codes.MissingParameter, bare end
  if bare:match("^InvalidSecurityToken") then return codes["InvalidSecurityToken.Malformed"], bare end
  return nil, bare
end

return M
