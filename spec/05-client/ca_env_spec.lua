-- Which CAs a client trusts when ca_file is not given: DTS_CA_FILE, then
-- OpenSSL's SSL_CERT_FILE / SSL_CERT_DIR, then curl's CURL_CA_BUNDLE, then
-- the system store.  Real TLS against the emulator, whose throw-away CA only
-- the right file holds (the system bundle does not).
local dts = require "dts"
local emulator = require "dts.emulator"

local SYSTEM = "/etc/ssl/certs/ca-certificates.crt"

describe("CA files from the environment", function()
  local em

  setup(function()
    em = assert(emulator.start{ modifying_seconds = 0 })
  end)

  teardown(function()
    if em then em.stop() end
  end)

  -- A client whose environment is exactly `env`; the result of one call.
  local function call(env, opts)
    local o = {
      region_id = "cn-hangzhou", endpoint = em.endpoint, proxy = "",
      access_key_id = em.access_key_id, access_key_secret = em.access_key_secret,
      retries = { max_attempts = 1 },
    }
    for k, v in pairs(opts or {}) do o[k] = v end
    local c = assert(dts.new(o, function(name) return env[name] end))
    return c:describe_dts_job_detail{ DtsJobId = "dtsdemojob00001" }
  end

  local function trusted(env, opts)
    local job, err = call(env, opts)
    assert(job, err and tostring(err))
  end

  local function distrusted(env, opts)
    local job, err = call(env, opts)
    assert.is_nil(job)
    assert.are.equal("tls", err.kind)
  end

  it("trusts DTS_CA_FILE, SSL_CERT_FILE, SSL_CERT_DIR and CURL_CA_BUNDLE", function()
    distrusted({})
    trusted({ DTS_CA_FILE = em.ca_file })
    trusted({ SSL_CERT_FILE = em.ca_file })
    trusted({ CURL_CA_BUNDLE = em.ca_file })
    -- A directory in OpenSSL's hashed form.
    local dir = em.prefix .. "/certdir"
    assert(os.execute(("mkdir -p %s && cp %s %s/ca.pem && openssl rehash %s >/dev/null 2>&1")
      :format(dir, em.ca_file, dir, dir)))
    trusted({ SSL_CERT_DIR = dir })
  end)

  it("takes them in order: ca_file, DTS_CA_FILE, SSL_CERT_FILE, CURL_CA_BUNDLE", function()
    trusted({ DTS_CA_FILE = SYSTEM }, { ca_file = em.ca_file })
    distrusted({ DTS_CA_FILE = em.ca_file }, { ca_file = SYSTEM })
    trusted({ DTS_CA_FILE = em.ca_file, SSL_CERT_FILE = SYSTEM, CURL_CA_BUNDLE = SYSTEM })
    distrusted({ DTS_CA_FILE = SYSTEM, SSL_CERT_FILE = em.ca_file })
    trusted({ SSL_CERT_FILE = em.ca_file, CURL_CA_BUNDLE = SYSTEM })
    distrusted({ SSL_CERT_FILE = SYSTEM, CURL_CA_BUNDLE = em.ca_file })
    -- Empty means unset.
    trusted({ DTS_CA_FILE = "", CURL_CA_BUNDLE = em.ca_file })
  end)

  it("names the variable whose file cannot be read, before anything is sent", function()
    for _, name in ipairs({ "DTS_CA_FILE", "SSL_CERT_FILE", "CURL_CA_BUNDLE" }) do
      local c, err = dts.new({ region_id = "cn-hangzhou", access_key_id = "id", access_key_secret = "s" },
        function(n) return n == name and "/nonexistent/ca.pem" or nil end)
      assert.is_nil(c)
      assert.are.equal("invalid_argument", err.kind)
      assert.are.equal(name, err.param)
      assert.truthy(err.message:find("/nonexistent/ca.pem", 1, true), err.message)
    end
  end)
end)
