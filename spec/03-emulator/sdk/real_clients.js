// Real official SDK clients against the lua-dts emulator (a developer check,
// not part of `make test`, which must not need node): @alicloud/openapi-client
// 0.4.15 in V3 and V2/RPC, POST and GET, and @alicloud/pop-core 1.8.0.
//
//   npm install --prefix /tmp/sdk @alicloud/openapi-client@0.4.15 @alicloud/tea-util @alicloud/pop-core
//   LUA_PATH="lua/?.lua;lua/?/init.lua;;" LUA_CPATH="build/5.4/?.so;;" lua5.4 -e '
//     local em = assert(require("dts.emulator").start{ modifying_seconds = 0 })
//     os.execute(("NODE_PATH=/tmp/sdk/node_modules NODE_EXTRA_CA_CERTS=%s node spec/03-emulator/sdk/real_clients.js %d %s %s")
//       :format(em.ca_file, em.port, em.access_key_id, em.access_key_secret))
//     em.stop()'
//
// Every line must end in 200 (checked 2026-11-24: all pass).  With GET the
// parameters all go in the query: the SDK signs a GET's body and then drops
// it (signing.md 6.9), which no server accepts.
const OpenApi = require('@alicloud/openapi-client');
const Util = require('@alicloud/tea-util');
const RPCClient = require('@alicloud/pop-core').RPCClient;
const [port, id, secret] = process.argv.slice(2);
const endpoint = `localhost:${port}`;

async function openapi(signatureAlgorithm, method) {
  const config = new OpenApi.Config({ accessKeyId: id, accessKeySecret: secret, endpoint, protocol: 'HTTPS', regionId: 'cn-hangzhou' });
  if (signatureAlgorithm) config.signatureAlgorithm = signatureAlgorithm;
  const client = new OpenApi.default(config);
  const params = new OpenApi.Params({ action: 'ModifyDtsJob', version: '2020-01-01', protocol: 'HTTPS', pathname: '/',
    method, authType: 'AK', style: 'RPC', reqBodyType: 'formData', bodyType: 'json' });
  const query = { RegionId: 'cn-hangzhou', DtsInstanceId: 'dtsdemoinstance01', DtsJobId: 'dtsdemojob00001', ClientToken: 'tok-' + (signatureAlgorithm || 'v3') + method };
  const body = { DbList: JSON.stringify({ dtstestdata: { name: 'dtstestdata', all: false, Table: { customer: { name: 'customer', all: true }, "o'r*d(e)rs!": { name: "o'r*d(e)rs!", all: true } } } }), Reserved: '{"targetTableMode":"2"}' };
  const req = method === 'GET' ? new OpenApi.OpenApiRequest({ query: Object.assign({}, query, body) }) : new OpenApi.OpenApiRequest({ query, body });
  const runtime = new Util.RuntimeOptions({});
  const res = await client.callApi(params, req, runtime);
  console.log('openapi-client', signatureAlgorithm || 'v3', method, res.statusCode, JSON.stringify(res.body).slice(0, 80));
}

async function pop(method) {
  const client = new RPCClient({ accessKeyId: id, accessKeySecret: secret, endpoint: `https://${endpoint}`, apiVersion: '2020-01-01' });
  const res = await client.request('ModifyDtsJob', { RegionId: 'cn-hangzhou', DtsInstanceId: 'dtsdemoinstance01',
    DbList: JSON.stringify({ dtstestdata: { name: 'dtstestdata', all: true } }) }, { method });
  console.log('pop-core', method, JSON.stringify(res).slice(0, 80));
}

(async () => {
  for (const [alg, m] of [[undefined, 'POST'], ['v2', 'POST'], [undefined, 'GET'], ['v2', 'GET']]) {
    try { await openapi(alg, m); } catch (e) { console.log('openapi-client', alg || 'v3', m, 'FAILED', e.code, e.message.slice(0, 200)); }
  }
  for (const m of ['POST', 'GET']) {
    try { await pop(m); } catch (e) { console.log('pop-core', m, 'FAILED', e.code, e.message.slice(0, 200)); }
  }
  // describe
  try {
    const config = new OpenApi.Config({ accessKeyId: id, accessKeySecret: secret, endpoint, protocol: 'HTTPS' });
    const client = new OpenApi.default(config);
    const params = new OpenApi.Params({ action: 'DescribeDtsJobDetail', version: '2020-01-01', protocol: 'HTTPS', pathname: '/', method: 'POST', authType: 'AK', style: 'RPC', reqBodyType: 'formData', bodyType: 'json' });
    const res = await client.callApi(params, new OpenApi.OpenApiRequest({ query: { RegionId: 'cn-hangzhou', DtsJobId: 'dtsdemojob00001' } }), new Util.RuntimeOptions({}));
    console.log('describe', res.statusCode, res.body.Status, res.body.DbObject.slice(0, 60));
  } catch (e) { console.log('describe FAILED', e.code, e.message.slice(0, 200)); }
})();
