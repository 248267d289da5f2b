/*
 * C unit tests of encode.c, sign.c and nonce.c, without Lua: table-driven
 * encoder cases, the documented signing examples (signing.md section 5),
 * stage by stage, HMAC against OpenSSL's own, and nonces unique across
 * fork() and threads.  Prints "N passed, N failed" and exits non-zero on
 * any failure.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/hmac.h>

#include "nonce.h"
#include "sign.h"

static int passed, failed;

static void check_bytes(const char *what, const char *got, size_t got_n,
			const char *want)
{
	if (got_n == strlen(want) && (got_n == 0 || memcmp(got, want, got_n) == 0)) {
		passed++;
		return;
	}
	failed++;
	printf("FAIL %s\n  want: %s\n  got:  %.*s\n", what, want, (int)got_n,
	       got ? got : "");
}

static void check_buf(const char *what, const struct dts_buf *b, const char *want)
{
	check_bytes(what, b->data, b->len, want);
}

static void check_true(const char *what, int ok)
{
	if (ok) {
		passed++;
		return;
	}
	failed++;
	printf("FAIL %s\n", what);
}

static struct dts_str S(const char *s)
{
	struct dts_str r = { s, s ? strlen(s) : 0 };
	return r;
}

static void test_encoder(void)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "", "" },
		{ "AZaz09-_.~", "AZaz09-_.~" },
		{ " ", "%20" },
		{ "+", "%2B" },
		{ "*", "%2A" },
		{ "/", "%2F" },
		{ "=", "%3D" },
		{ "&", "%26" },
		{ "%", "%25" },
		{ "%7E", "%257E" },
		{ "!'()", "%21%27%28%29" },
		{ "\n\t", "%0A%09" },
		{ ":", "%3A" },
		{ "\xE6\xB5\x8B", "%E6%B5%8B" },
		{ "\xF0\x9F\x98\x80", "%F0%9F%98%80" },
		{ " !\"#$%&'()*+,/:;<=>?@[\\]^`{|}", "%20%21%22%23%24%25%26%27%28%29"
		  "%2A%2B%2C%2F%3A%3B%3C%3D%3E%3F%40%5B%5C%5D%5E%60%7B%7C%7D" },
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct dts_buf b;
		char what[64];

		dts_buf_init(&b);
		dts_pct_encode(&b, cases[i].in, strlen(cases[i].in));
		snprintf(what, sizeof what, "pct_encode case %zu", i);
		check_bytes(what, b.data, b.len, cases[i].out);
		dts_buf_free(&b);
	}
	{
		struct dts_buf b;

		dts_buf_init(&b);
		dts_pct_encode(&b, "\0x", 2);
		check_bytes("pct_encode NUL byte", b.data, b.len, "%00x");
		dts_buf_free(&b);
		dts_pct_encode_path(&b, "/a b/c", 6);
		check_bytes("pct_encode_path keeps /", b.data, b.len, "/a%20b/c");
		dts_buf_free(&b);
	}
}

/* The reference: what signing.md section 1 says, one byte at a time. */
static size_t ref_encode(char *out, const unsigned char *s, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		unsigned c = s[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
		    c == '~') {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = "0123456789ABCDEF"[c >> 4];
			out[o++] = "0123456789ABCDEF"[c & 15];
		}
	}
	return o;
}

/* The encoder (four bytes a step, then one) against the reference: every
 * byte value at every position of every length up to 40, runs of
 * unreserved bytes of every length, and an empty input. */
static void test_encoder_exhaustive(void)
{
	unsigned char in[64];
	char want[3 * 64];
	size_t n, pos, bad = 0;
	unsigned b;

	for (n = 0; n <= 40; n++)
		for (pos = 0; pos < (n ? n : 1); pos++)
			for (b = 0; b < 256; b++) {
				struct dts_buf got;
				size_t k, wn;

				for (k = 0; k < n; k++)	/* a mix around the byte */
					in[k] = "ab:\"cd{9_,Z~ %"[(k * 7 + n) % 15];
				if (n > 0)
					in[pos] = (unsigned char)b;
				wn = ref_encode(want, in, n);
				dts_buf_init(&got);
				dts_pct_encode(&got, (const char *)in, n);
				if (got.len != wn || (wn && memcmp(got.data, want, wn) != 0) ||
				    dts_pct_encoded_len((const char *)in, n) != wn)
					bad++;
				dts_buf_free(&got);
			}
	check_true("pct_encode = reference, every byte, every position, n <= 40",
		   bad == 0);
	for (n = 0, bad = 0; n <= 40; n++) {
		struct dts_buf got;
		size_t k;

		for (k = 0; k < n; k++)
			in[k] = (unsigned char)("orders_00001"[k % 12]);
		in[n] = '"';
		dts_buf_init(&got);
		dts_pct_encode(&got, (const char *)in, n + 1);
		if (got.len != n + 3 || memcmp(got.data, in, n) != 0 ||
		    memcmp(got.data + n, "%22", 3) != 0)
			bad++;
		dts_buf_free(&got);
	}
	check_true("pct_encode: unreserved runs of 0 to 40 bytes", bad == 0);
}

static void v3_request(struct dts_request *r)
{
	memset(r, 0, sizeof *r);
	r->scheme = DTS_SCHEME_V3;
	r->method = S("POST");
	r->host = S("dts.cn-hangzhou.aliyuncs.com");
	r->action = S("ModifyDtsJob");
	r->version = S("2020-01-01");
	r->access_key_id = S("LTAIexample");
	r->access_key_secret = S("secret");
	r->timestamp = S("2024-05-06T07:08:09Z");
	r->nonce = S("0123456789abcdef0123456789abcdef");
}

/* Every checked field is judged 8 bytes at a time: a control character,
 * DEL or a byte above 0x7F at any offset of a field longer than a word is
 * found (and named with its offset), valid UTF-8 anywhere passes. */
static void test_field_bytes(void)
{
	char id[24], err[DTS_ERR_MAX], want[DTS_ERR_MAX];
	size_t off, bad = 0;
	unsigned b;

	for (off = 0; off < sizeof id; off++)
		for (b = 0; b < 256; b++) {
			struct dts_request r;
			struct dts_signed out;
			struct dts_str s = { id, sizeof id };
			int rc;

			memset(id, 'k', sizeof id);
			id[off] = (char)b;
			v3_request(&r);
			r.access_key_id = s;
			dts_signed_init(&out);
			rc = dts_sign(&r, &out, err);
			dts_signed_free(&out);
			if (b < 0x20 || b == 0x7F) {
				snprintf(want, sizeof want, "access_key_id: control "
					 "character 0x%02X at offset %zu", b, off);
				bad += rc == 0 || strcmp(err, want) != 0;
			} else if (b >= 0x80) {	/* never valid on its own */
				snprintf(want, sizeof want, "access_key_id: not valid "
					 "UTF-8 (byte 0x%02X at offset %zu)", b, off);
				bad += rc == 0 || strcmp(err, want) != 0;
			} else {
				bad += rc != 0;
			}
		}
	check_true("every byte at every offset of a 24-byte field", bad == 0);
	for (off = 0, bad = 0; off + 2 <= sizeof id; off++) {
		struct dts_request r;
		struct dts_signed out;
		struct dts_str s = { id, sizeof id };

		memset(id, 'k', sizeof id);
		memcpy(id + off, "\xC3\xA9", 2);	/* é */
		v3_request(&r);
		r.action = s;
		dts_signed_init(&out);
		bad += dts_sign(&r, &out, err) != 0;
		dts_signed_free(&out);
	}
	check_true("UTF-8 at every offset of a field passes", bad == 0);
}

/* Header n of a signed request, as "name: value". */
static int header_at(const struct dts_signed *o, size_t n, char *out, size_t size)
{
	const char *p = o->headers.data;
	size_t i;

	for (i = 0; i < n; i++)
		p += strlen(p) + 1, p += strlen(p) + 1;
	return snprintf(out, size, "%s: %s", p, p + strlen(p) + 1);
}

/*
 * With no headers of the caller's, the signer's own are written as they
 * are (already lower case, distinct, in order): the same result as the
 * general way, which a caller's unsigned header takes.  Values of fields
 * are trimmed both ways; the lengths kept match the list.
 */
static void test_own_headers(void)
{
	static const enum dts_scheme schemes[] = { DTS_SCHEME_V3, DTS_SCHEME_V1 };
	struct dts_pair body[] = { { S("DbList"), S("{\"a\":1}") } };
	struct dts_pair query[] = { { S("RegionId"), S("cn-hangzhou") } };
	struct dts_pair extra[] = { { S("X-Extra"), S("  v ") } };
	size_t k;

	for (k = 0; k < 4; k++) {
		struct dts_request r;
		struct dts_signed a, b;
		char err[DTS_ERR_MAX], what[96], ha[256], hb[256];
		size_t i, j, bad = 0;

		v3_request(&r);
		r.scheme = schemes[k % 2];
		r.action = S(" ModifyDtsJob  ");
		r.host = S("dts.aliyuncs.com");
		r.query = query;
		r.nquery = 1;
		if (k >= 2) {	/* with a body, and content-type */
			r.body = body;
			r.nbody = 1;
		}
		if (k == 1 || k == 3)
			r.security_token = S("sts token");
		dts_signed_init(&a);
		dts_signed_init(&b);
		check_true("own headers only: signs", dts_sign(&r, &a, err) == 0);
		r.headers = extra;
		r.nheaders = 1;
		check_true("with an unsigned header: signs", dts_sign(&r, &b, err) == 0);
		snprintf(what, sizeof what, "case %zu: same signature both ways", k);
		check_true(what, a.signature.len == b.signature.len &&
			   memcmp(a.signature.data, b.signature.data, a.signature.len) == 0);
		snprintf(what, sizeof what, "case %zu: one header more", k);
		check_true(what, b.nheaders == a.nheaders + 1);
		/* The same headers in the same order, x-extra apart. */
		for (i = j = 0; i < a.nheaders && j < b.nheaders; i++, j++) {
			header_at(&b, j, hb, sizeof hb);
			if (strncmp(hb, "x-extra: ", 9) == 0)
				header_at(&b, ++j, hb, sizeof hb);
			header_at(&a, i, ha, sizeof ha);
			bad += strcmp(ha, hb) != 0;
			if (i > 0) {	/* in order, authorization last */
				char prev[256];

				header_at(&a, i - 1, prev, sizeof prev);
				bad += strncmp(ha, "authorization:", 14) != 0 &&
				       strcmp(prev, ha) >= 0;
			}
			bad += strncmp(ha, "x-acs-action: ", 14) == 0 &&
			       strcmp(ha, "x-acs-action: ModifyDtsJob") != 0;
		}
		snprintf(what, sizeof what, "case %zu: same headers, values trimmed", k);
		check_true(what, bad == 0);
		/* The kept lengths walk the list exactly. */
		for (i = 0, j = 0, bad = 0; i < a.nheaders; i++) {
			struct dts_header_len l;

			memcpy(&l, a.header_lens.data + i * sizeof l, sizeof l);
			bad += strlen(a.headers.data + j) != l.name;
			j += l.name + 1;
			bad += strlen(a.headers.data + j) != l.value;
			j += l.value + 1;
		}
		snprintf(what, sizeof what, "case %zu: header lengths match the list", k);
		check_true(what, bad == 0 && j == a.headers.len &&
			   a.header_lens.len == a.nheaders * sizeof(struct dts_header_len));
		dts_signed_free(&a);
		dts_signed_free(&b);
	}
}

static void test_utf8(void)
{
	static const struct { const char *in; size_t valid; } cases[] = {
		{ "plain", 5 },
		{ "\xE6\xB5\x8B\xE8\xAF\x95", 6 },     /* 测试 */
		{ "\xF0\x9F\x98\x80", 4 },             /* emoji */
		{ "\xC2\xA9", 2 },
		{ "a\xFF", 1 },                         /* never valid */
		{ "\xC0\xAF", 0 },                      /* overlong '/' */
		{ "\xE0\x80\xAF", 0 },                  /* overlong */
		{ "\xED\xA0\x80", 0 },                  /* surrogate U+D800 */
		{ "\xF4\x90\x80\x80", 0 },              /* above U+10FFFF */
		{ "ab\xE6\xB5", 2 },                    /* truncated */
		{ "\x80", 0 },                          /* lone continuation */
		{ "\xEF\xBF\xBF", 3 },                  /* U+FFFF is valid */
		{ "\xF4\x8F\xBF\xBF", 4 },              /* U+10FFFF */
		{ "abcdefghij\xFF", 10 },               /* past the 8-byte ASCII skip */
		{ "abcdefgh\xE6\xB5\x8Bxyz", 14 },
		{ "0123456789abcdef\xC0\xAF", 16 },
		/* past the 32-byte ASCII skip, and within its second word */
		{ "0123456789abcdef0123456789abcdef0123456789\xFF", 42 },
		{ "0123456789abcdef0123456789abcdef\xE6\xB5\x8B", 35 },
		{ "0123456789\xE6\xB5\x8B" "0123456789abcdef0123456789\x80", 39 },
		{ "0123456789abcdef0123456789abcdef0123456789abcdefab\xFF"
		  "0123456789abcdef0123", 50 },
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof *cases; i++) {
		char what[64];

		snprintf(what, sizeof what, "utf8 case %zu", i);
		check_true(what, dts_utf8_valid_prefix(cases[i].in, strlen(cases[i].in))
				 == cases[i].valid);
	}
}

static void test_base64(void)
{
	static const char *const rfc4648[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	size_t i;

	for (i = 0; i < sizeof rfc4648 / sizeof *rfc4648; i++) {
		char out[16];
		size_t n = dts_base64(out, (const unsigned char *)rfc4648[i][0],
				      strlen(rfc4648[i][0]));

		check_bytes("base64 RFC 4648", out, n, rfc4648[i][1]);
	}
}

/* doc-v3-run-instances (DOC-V3), through dts_sign. */
static void test_doc_v3(void)
{
	struct dts_pair query[] = {
		{ S("RegionId"), S("cn-shanghai") },
		{ S("ImageId"), S("win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd") },
	};
	struct dts_request r;
	struct dts_signed out;
	char err[DTS_ERR_MAX];

	memset(&r, 0, sizeof r);
	r.scheme = DTS_SCHEME_V3;
	r.method = S("POST");
	r.host = S("ecs.cn-shanghai.aliyuncs.com");
	r.path = S("/");
	r.action = S("RunInstances");
	r.version = S("2014-05-26");
	r.access_key_id = S("YourAccessKeyId");
	r.access_key_secret = S("YourAccessKeySecret");
	r.timestamp = S("2023-10-26T10:22:32Z");
	r.nonce = S("3156853299f313e23d1673dc12e1703d");
	r.query = query;
	r.nquery = 2;
	dts_signed_init(&out);
	check_true("doc-v3 signs", dts_sign(&r, &out, err) == 0);
	check_buf("doc-v3 canonical request", &out.canonical_request,
		  "POST\n/\n"
		  "ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai\n"
		  "host:ecs.cn-shanghai.aliyuncs.com\n"
		  "x-acs-action:RunInstances\n"
		  "x-acs-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
		  "x-acs-date:2023-10-26T10:22:32Z\n"
		  "x-acs-signature-nonce:3156853299f313e23d1673dc12e1703d\n"
		  "x-acs-version:2014-05-26\n\n"
		  "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version\n"
		  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	check_buf("doc-v3 string to sign", &out.string_to_sign,
		  "ACS3-HMAC-SHA256\n7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259");
	check_buf("doc-v3 signature", &out.signature,
		  "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0");
	check_buf("doc-v3 target", &out.target,
		  "/?ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai");
	check_buf("doc-v3 empty body", &out.body, "");
	dts_signed_free(&out);
}

/* doc-v2-describe-dedicated-hosts (DOC-V2), through dts_sign. */
static void test_doc_v1(void)
{
	struct dts_pair query[] = { { S("RegionId"), S("cn-beijing") } };
	struct dts_request r;
	struct dts_signed out;
	char err[DTS_ERR_MAX];

	memset(&r, 0, sizeof r);
	r.scheme = DTS_SCHEME_V1;
	r.method = S("GET");
	r.host = S("ecs.cn-beijing.aliyuncs.com");
	r.action = S("DescribeDedicatedHosts");
	r.version = S("2014-05-26");
	r.access_key_id = S("testid");
	r.access_key_secret = S("testsecret");
	r.timestamp = S("2023-03-13T08:34:30Z");
	r.nonce = S("edb2b34af0af9a6d14deaf7c1a5315eb");
	r.query = query;
	r.nquery = 1;
	dts_signed_init(&out);
	check_true("doc-v2 signs", dts_sign(&r, &out, err) == 0);
	check_buf("doc-v2 signature", &out.signature, "9NaGiOspFP5UPcwX8Iwt2YJXXuk=");
	check_buf("doc-v2 target", &out.target,
		  "/?AccessKeyId=testid&Action=DescribeDedicatedHosts&Format=JSON"
		  "&RegionId=cn-beijing&SignatureMethod=HMAC-SHA1"
		  "&SignatureNonce=edb2b34af0af9a6d14deaf7c1a5315eb&SignatureVersion=1.0"
		  "&Timestamp=2023-03-13T08%3A34%3A30Z&Version=2014-05-26"
		  "&Signature=9NaGiOspFP5UPcwX8Iwt2YJXXuk%3D");
	dts_signed_free(&out);
}

/* doc-v2-describe-regions, in both spellings of the timestamp (signing.md 6.1). */
static void test_v1_primitive(void)
{
	struct dts_pair p[] = {
		{ S("Action"), S("DescribeRegions") },
		{ S("Version"), S("2014-05-26") },
		{ S("Format"), S("XML") },
		{ S("AccessKeyId"), S("testid") },
		{ S("SignatureMethod"), S("HMAC-SHA1") },
		{ S("SignatureVersion"), S("1.0") },
		{ S("SignatureNonce"), S("3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf") },
		{ S("Timestamp"), S("2016-02-23T12:46:24Z") },
	};
	struct dts_buf sts, sig;
	char err[DTS_ERR_MAX];

	dts_buf_init(&sts);
	dts_buf_init(&sig);
	check_true("describe-regions signs",
		   dts_v1_signature(S("GET"), p, 8, S("testsecret"), &sts, &sig, err) == 0);
	check_buf("describe-regions string to sign", &sts,
		  "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML"
		  "%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"
		  "%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26");
	check_buf("describe-regions signature", &sig, "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
	dts_buf_free(&sts);
	dts_buf_free(&sig);

	p[7].name = S("TimeStamp");
	check_true("describe-regions TimeStamp signs",
		   dts_v1_signature(S("GET"), p, 8, S("testsecret"), &sts, &sig, err) == 0);
	check_buf("describe-regions TimeStamp signature", &sig, "CT9X0VtwR86fNWSnsc6v8YGOjuE=");
	dts_buf_free(&sts);
	dts_buf_free(&sig);

	p[0] = (struct dts_pair){ S("test"), S("ok") };
	check_true("sdk-test-rpc-signature signs",
		   dts_v1_signature(S(""), p, 1, S("accessKeySecret"), &sts, &sig, err) == 0);
	check_buf("sdk-test-rpc-signature", &sig, "jHx/oHoHNrbVfhncHEvPdHXZwHU=");
	dts_buf_free(&sts);
	dts_buf_free(&sig);

	p[0] = (struct dts_pair){ S("query"), S("test") };
	p[1] = (struct dts_pair){ S("body"), S("test") };
	check_true("sdk-test-rpc-signature-python signs",
		   dts_v1_signature(S("GET"), p, 2, S("secret"), &sts, &sig, err) == 0);
	check_buf("sdk-test-rpc-signature-python", &sig, "XlUyV4sXjOuX5FnjUz9IF9tm5rU=");
	dts_buf_free(&sts);
	dts_buf_free(&sig);
}

/* Header normalisation: repeated names merge sorted, values are trimmed. */
static void test_v3_headers(void)
{
	struct dts_pair h[] = {
		{ S("x-acs-test"), S("https") },
		{ S("X-ACS-TEST"), S("  http ") },
		{ S("User-Agent"), S("not signed") },
		{ S("Host"), S("example.com") },
	};
	struct dts_pair q[] = { { S("test"), S("ok") }, { S("empty"), S("") } };
	struct dts_v3_input in;
	struct dts_v3_output out;
	char err[DTS_ERR_MAX];

	memset(&in, 0, sizeof in);
	in.method = S("GET");
	in.path = S("");
	in.payload_hash = S("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	in.access_key_id = S("acesskey");
	in.access_key_secret = S("secret");
	in.query = q;
	in.nquery = 2;
	in.headers = h;
	in.nheaders = 4;
	dts_v3_output_init(&out);
	check_true("v3 headers sign", dts_v3_signature(&in, &out, err) == 0);
	check_buf("v3 canonical request", &out.canonical_request,
		  "GET\n\nempty=&test=ok\nhost:example.com\nx-acs-test:http,https\n\n"
		  "host;x-acs-test\n"
		  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	dts_v3_output_free(&out);

	h[1].value = S("bad\r\nvalue");
	check_true("v3 refuses CR LF in a header value",
		   dts_v3_signature(&in, &out, err) != 0 &&
		   strstr(err, "X-ACS-TEST") != NULL);
	dts_v3_output_free(&out);
}

static void test_errors(void)
{
	struct dts_pair body[] = { { S("DbList"), S("{\"a\":\"\xFF\"}") } };
	struct dts_request r;
	struct dts_signed out;
	char err[DTS_ERR_MAX];

	memset(&r, 0, sizeof r);
	r.scheme = DTS_SCHEME_V3;
	r.method = S("POST");
	r.host = S("dts.aliyuncs.com");
	r.action = S("ModifyDtsJob");
	r.version = S("2020-01-01");
	r.access_key_id = S("id");
	r.access_key_secret = S("very-secret-value");
	r.timestamp = S("2024-05-06T07:08:09Z");
	r.nonce = S("n");
	r.body = body;
	r.nbody = 1;
	dts_signed_init(&out);
	check_true("invalid UTF-8 in body is refused", dts_sign(&r, &out, err) != 0);
	check_bytes("error names the parameter", err, strlen(err),
		    "body.DbList: not valid UTF-8 (byte 0xFF at offset 6)");

	body[0].value = S("{}");
	r.timestamp = S("2024-05-06 07:08:09");
	check_true("bad timestamp is refused",
		   dts_sign(&r, &out, err) != 0 && strncmp(err, "timestamp:", 10) == 0);
	r.timestamp = S("2024-05-06T07:08:09Z");
	r.method = S("GET");
	check_true("GET with a body is refused",
		   dts_sign(&r, &out, err) != 0 && strncmp(err, "body:", 5) == 0);
	r.method = S("PUT");
	check_true("PUT is refused",
		   dts_sign(&r, &out, err) != 0 && strncmp(err, "method:", 7) == 0);
	r.method = S("post");
	check_true("method is case-insensitive", dts_sign(&r, &out, err) == 0 &&
		   strcmp(out.method, "POST") == 0);
	dts_signed_free(&out);
	r.access_key_id = S(NULL);
	check_true("missing access key id",
		   dts_sign(&r, &out, err) != 0 && strcmp(err, "access_key_id: missing") == 0);
	check_true("no error mentions the secret", strstr(err, "very-secret") == NULL);
}

/* The signer's RFC 2104 HMAC against OpenSSL's HMAC(), for keys shorter
 * than, as long as and longer than a block (those are hashed first). */
static void test_hmac_reference(void)
{
	static const size_t lens[] = { 0, 1, 12, 63, 64, 65, 100, 200 };
	char key[256], msg[300];
	struct dts_signer s;
	size_t i, k;

	for (i = 0; i < sizeof key; i++)
		key[i] = (char)('a' + i % 26);
	for (i = 0; i < sizeof msg; i++)
		msg[i] = (char)(' ' + i % 90);
	check_true("signer init", dts_signer_init(&s) == 0);
	for (k = 0; k < sizeof lens / sizeof *lens; k++) {
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int len = 0;
		char want[64], got[64], what[64];
		struct dts_str kk = { key, lens[k] }, mm = { msg, 100 + k * 20 };

		HMAC(EVP_sha256(), key, (int)lens[k], (const unsigned char *)msg,
		     mm.n, md, &len);
		dts_hex(want, md, 32);
		snprintf(what, sizeof what, "HMAC-SHA256, %zu-byte key", lens[k]);
		check_true(what, dts_signer_hmac_sha256_hex(&s, got, kk, mm) == 0 &&
			   memcmp(got, want, 64) == 0);
		{
			/* V1: HMAC-SHA1 with the secret and "&" as the key. */
			struct dts_pair p = { { "A", 1 }, { "b", 1 } };
			struct dts_buf sts, sig;
			char amp_key[260], b64[DTS_BASE64_LEN(20)];
			char err[DTS_ERR_MAX];
			size_t n;

			memcpy(amp_key, key, lens[k]);
			amp_key[lens[k]] = '&';
			dts_buf_init(&sts);
			dts_buf_init(&sig);
			snprintf(what, sizeof what, "HMAC-SHA1 (V1), %zu-byte secret", lens[k]);
			if (dts_v1_signature_with(&s, S("GET"), &p, 1, kk, &sts, &sig, err) != 0) {
				check_true(what, 0);
			} else {
				HMAC(EVP_sha1(), amp_key, (int)lens[k] + 1,
				     (const unsigned char *)sts.data, sts.len, md, &len);
				n = dts_base64(b64, md, len);
				check_true(what, sig.len == n && memcmp(sig.data, b64, n) == 0);
			}
			dts_buf_free(&sts);
			dts_buf_free(&sig);
		}
	}
	dts_signer_free(&s);
}

static int is_hex32(const char *h)
{
	size_t i;

	for (i = 0; i < 32; i++)
		if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
			return 0;
	return 1;
}

/*
 * A pool filled before fork() must not hand the child what it hands the
 * parent: both the kernel's wipe-on-fork and the pid check are tried.
 */
static void test_nonce_fork(void)
{
	int mode;

	for (mode = 0; mode < 2; mode++) {
		struct dts_nonce_pool *pool = dts_nonce_pool_new(mode);
		char first[32], parent[4][32], child[4][32], what[80];
		int fds[2], status = 0, i, j, unique = 1;
		pid_t pid;

		check_true("nonce pool", pool != NULL && dts_nonce_hex(pool, first) == 0);
		if (pool == NULL || pipe(fds) != 0)
			return;
		pid = fork();
		if (pid == 0) {
			for (i = 0; i < 4; i++)
				if (dts_nonce_hex(pool, child[i]) != 0)
					_exit(1);
			_exit(write(fds[1], child, sizeof child) == (ssize_t)sizeof child ? 0 : 1);
		}
		for (i = 0; i < 4; i++)
			dts_nonce_hex(pool, parent[i]);
		close(fds[1]);
		check_true("child ran", pid > 0 && read(fds[0], child, sizeof child) ==
			   (ssize_t)sizeof child && waitpid(pid, &status, 0) == pid &&
			   WIFEXITED(status) && WEXITSTATUS(status) == 0);
		close(fds[0]);
		for (i = 0; i < 4; i++)
			for (j = 0; j < 4; j++)
				if (memcmp(parent[i], child[j], 32) == 0)
					unique = 0;
		snprintf(what, sizeof what, "nonces differ between parent and child "
			 "after fork (%s)", mode ? "pid check" : "wiped on fork");
		check_true(what, unique && is_hex32(parent[0]) && is_hex32(child[0]) &&
			   memcmp(first, parent[0], 32) != 0);
		dts_nonce_pool_free(pool);
	}
}

#define THREADS 4
#define PER_THREAD 3000

struct drawn {
	char n[PER_THREAD][32];
	int ok;
};

static void *draw_many(void *ud)
{
	struct drawn *d = ud;
	struct dts_nonce_pool *pool = dts_nonce_pool_new(0);
	int i;

	d->ok = pool != NULL;
	for (i = 0; d->ok && i < PER_THREAD; i++)
		d->ok = dts_nonce_hex(pool, d->n[i]) == 0;
	dts_nonce_pool_free(pool);
	return NULL;
}

static int cmp32(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

/* A pool per thread (as dts.core has one per Lua state): no nonce twice. */
static void test_nonce_threads(void)
{
	static struct drawn d[THREADS];
	static char all[THREADS * PER_THREAD][32];
	pthread_t t[THREADS];
	int i, ok = 1;

	for (i = 0; i < THREADS; i++)
		ok = ok && pthread_create(&t[i], NULL, draw_many, &d[i]) == 0;
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < THREADS; i++) {
		ok = ok && d[i].ok;
		memcpy(all[i * PER_THREAD], d[i].n, sizeof d[i].n);
	}
	qsort(all, THREADS * PER_THREAD, 32, cmp32);
	for (i = 1; i < THREADS * PER_THREAD; i++)
		if (memcmp(all[i - 1], all[i], 32) == 0 || !is_hex32(all[i]))
			ok = 0;
	check_true("nonces unique across threads", ok);
}

int main(void)
{
	test_encoder();
	test_encoder_exhaustive();
	test_utf8();
	test_field_bytes();
	test_own_headers();
	test_base64();
	test_doc_v3();
	test_doc_v1();
	test_v1_primitive();
	test_v3_headers();
	test_errors();
	test_hmac_reference();
	test_nonce_fork();
	test_nonce_threads();
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
