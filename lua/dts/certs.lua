-- Throw-away TLS certificates for local test servers, made with the
-- `openssl` command: a CA, a server certificate it signs for localhost,
-- 127.0.0.1 and ::1, and on request a client certificate.
--
--   local certs, err = require("dts.certs").make(dir, { client = true })
--   -- certs.ca_file, cert_file, key_file, client_cert_file, client_key_file

local sys = require "dts.sys"

local quote, run, write_file = sys.quote, sys.run, sys.write_file

local _M = {}

local CONFIG = [[
[req]
distinguished_name = dn
prompt = no
[dn]
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
]]

-- The key and a certificate for subject cn, signed by the CA, with the
-- extensions of section ext.
local function issue(dir, name, cn, ext)
  local q = function(file) return quote(dir .. "/" .. file) end
  local ok, err = run(table.concat({
    "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes",
    "-config", q("openssl.cnf"), "-subj", quote("/CN=" .. cn),
    "-keyout", q(name .. ".key"), "-out", q(name .. ".csr"),
    "&& openssl x509 -req -days 2 -in", q(name .. ".csr"),
    "-CA", q("ca.pem"), "-CAkey", q("ca.key"), "-CAcreateserial",
    "-extfile", q("openssl.cnf"), "-extensions", ext,
    "-out", q(name .. ".pem"),
  }, " "))
  if not ok then
    return nil, "dts.certs: " .. name .. " certificate: " .. err
  end
  return dir .. "/" .. name .. ".pem", dir .. "/" .. name .. ".key"
end

-- dir must exist; its files are overwritten.
function _M.make(dir, opts)
  opts = opts or {}
  local ok, err = write_file(dir .. "/openssl.cnf", CONFIG)
  if not ok then
    return nil, "dts.certs: " .. tostring(err)
  end
  local q = function(file) return quote(dir .. "/" .. file) end
  ok, err = run(table.concat({
    "openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256",
    "-nodes -days 2 -config", q("openssl.cnf"), "-extensions ca",
    "-subj", quote("/CN=lua-dts throw-away test CA"),
    "-keyout", q("ca.key"), "-out", q("ca.pem"),
  }, " "))
  if not ok then
    return nil, "dts.certs: CA: " .. err
  end
  local certs = { ca_file = dir .. "/ca.pem" }
  certs.cert_file, certs.key_file = issue(dir, "server", "localhost", "server")
  if not certs.cert_file then
    return nil, certs.key_file
  end
  if opts.client then
    certs.client_cert_file, certs.client_key_file =
      issue(dir, "client", "lua-dts test client", "client")
    if not certs.client_cert_file then
      return nil, certs.client_key_file
    end
  end
  return certs
end

return _M
