/* Tests for Signature Version 4: the four worked examples of S3's
 * "Authenticating Requests: Using the Authorization Header" page (bucket
 * examplebucket, key AKIAIOSFODNN7EXAMPLE, 2013-05-24) must give the published
 * canonical-request hashes and signatures exactly; URI encoding; the hashes
 * against FIPS 180-4 / RFC 4231 / RFC 1321 vectors. */
#include <string.h>

#include "harness.h"
#include "s3/sigv4.h"

#define EX_TIME ((time_t)1369353600) /* 2013-05-24T00:00:00Z */
#define EX_HOST "examplebucket.s3.amazonaws.com"

static struct tpq_s3_credentials ex_creds(void)
{
	struct tpq_s3_credentials c;
	memset(&c, 0, sizeof(c));
	strcpy(c.access_key_id, "AKIAIOSFODNN7EXAMPLE");
	strcpy(c.secret_access_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
	return c;
}

/* Signs and checks the canonical request's hash and the signature. */
static void check_example(const struct tpq_sigv4_request *req, const char *want_creq_hash,
			  const char *want_signed, const char *want_sig)
{
	struct tpq_s3_credentials c = ex_creds();
	struct tpq_buf creq, sh;
	tpq_buf_init(&creq);
	tpq_buf_init(&sh);
	ASSERT_EQ(tpq_sigv4_canonical_request(req, "20130524T000000Z", "", &creq, &sh, NULL), TPQ_OK);
	char h[65];
	tpq_sha256_hex(creq.p, creq.len, h);
	ASSERT_STR_EQ(h, want_creq_hash);
	tpq_buf_put_u8(&sh, 0);
	ASSERT_STR_EQ((const char *)sh.p, want_signed);

	struct tpq_sigv4_result r;
	ASSERT_EQ(tpq_sigv4_sign(req, &c, "us-east-1", "s3", EX_TIME, &r, NULL), TPQ_OK);
	ASSERT_STR_EQ(r.amz_date, "20130524T000000Z");
	ASSERT_STR_EQ(r.signature, want_sig);
	char auth[1024];
	snprintf(auth, sizeof(auth),
		 "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
		 "aws4_request,SignedHeaders=%s,Signature=%s",
		 want_signed, want_sig);
	ASSERT_STR_EQ(r.authorization, auth);
	tpq_buf_release(&creq);
	tpq_buf_release(&sh);
}

TEST(example_get_object_range)
{
	const struct tpq_sigv4_pair hdr[] = {{"Range", "bytes=0-9"}};
	struct tpq_sigv4_request req = {
		.method = "GET", .host = EX_HOST, .path = "/test.txt",
		.headers = hdr, .nheaders = 1, .payload_hash = TPQ_SIGV4_EMPTY_SHA256,
	};
	/* The published canonical request, byte for byte. */
	const char *want = "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\n"
			   "range:bytes=0-9\n"
			   "x-amz-content-sha256:" TPQ_SIGV4_EMPTY_SHA256 "\n"
			   "x-amz-date:20130524T000000Z\n\n"
			   "host;range;x-amz-content-sha256;x-amz-date\n" TPQ_SIGV4_EMPTY_SHA256;
	struct tpq_buf creq, sh;
	tpq_buf_init(&creq);
	tpq_buf_init(&sh);
	ASSERT_EQ(tpq_sigv4_canonical_request(&req, "20130524T000000Z", NULL, &creq, &sh, NULL),
		  TPQ_OK);
	ASSERT_EQ(creq.len, strlen(want));
	ASSERT_MEM_EQ(creq.p, want, strlen(want));
	tpq_buf_release(&creq);
	tpq_buf_release(&sh);
	check_example(&req, "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
		      "host;range;x-amz-content-sha256;x-amz-date",
		      "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(example_put_object)
{
	const char *body = "Welcome to Amazon S3.";
	char ph[65];
	tpq_sha256_hex(body, strlen(body), ph);
	ASSERT_STR_EQ(ph, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
	/* Mixed case and padding in the caller's headers must not matter. */
	const struct tpq_sigv4_pair hdr[] = {{"x-amz-storage-class", "  REDUCED_REDUNDANCY "},
					     {"Date", "Fri, 24 May 2013 00:00:00 GMT"}};
	struct tpq_sigv4_request req = {
		.method = "PUT", .host = EX_HOST, .path = "/test$file.text",
		.headers = hdr, .nheaders = 2, .payload_hash = ph,
	};
	check_example(&req, "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d",
		      "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
		      "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(example_get_bucket_lifecycle)
{
	const struct tpq_sigv4_pair q[] = {{"lifecycle", ""}};
	struct tpq_sigv4_request req = {
		.method = "GET", .host = EX_HOST, .path = "/",
		.query = q, .nquery = 1, .payload_hash = TPQ_SIGV4_EMPTY_SHA256,
	};
	check_example(&req, "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca",
		      "host;x-amz-content-sha256;x-amz-date",
		      "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(example_list_objects)
{
	/* Given out of order: the signer sorts by encoded name. */
	const struct tpq_sigv4_pair q[] = {{"prefix", "J"}, {"max-keys", "2"}};
	struct tpq_sigv4_request req = {
		.method = "GET", .host = EX_HOST, .path = "/",
		.query = q, .nquery = 2, .payload_hash = TPQ_SIGV4_EMPTY_SHA256,
	};
	struct tpq_s3_credentials c = ex_creds();
	struct tpq_sigv4_result r;
	ASSERT_EQ(tpq_sigv4_sign(&req, &c, "us-east-1", "s3", EX_TIME, &r, NULL), TPQ_OK);
	ASSERT_STR_EQ(r.signature, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
	/* One more second and the signature must change. */
	ASSERT_EQ(tpq_sigv4_sign(&req, &c, "us-east-1", "s3", EX_TIME + 1, &r, NULL), TPQ_OK);
	ASSERT_STR_EQ(r.amz_date, "20130524T000001Z");
	ASSERT_TRUE(strcmp(r.signature, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef6"
					"9dc6f7") != 0);
}

TEST(session_token_is_signed)
{
	struct tpq_s3_credentials c = ex_creds();
	strcpy(c.session_token, "FQoGZXIvYXdzEXAMPLETOKEN");
	struct tpq_sigv4_request req = {
		.method = "GET", .host = EX_HOST, .path = "/test.txt",
		.payload_hash = TPQ_SIGV4_UNSIGNED_PAYLOAD,
	};
	struct tpq_sigv4_result r;
	ASSERT_EQ(tpq_sigv4_sign(&req, &c, "us-east-1", "s3", EX_TIME, &r, NULL), TPQ_OK);
	ASSERT_TRUE(strstr(r.authorization,
			   "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,") !=
		    NULL);
	/* The secret and the token never appear in what goes on the wire. */
	ASSERT_TRUE(strstr(r.authorization, "EXAMPLEKEY") == NULL);
	ASSERT_TRUE(strstr(r.authorization, "EXAMPLETOKEN") == NULL);

	struct tpq_buf creq, sh;
	tpq_buf_init(&creq);
	tpq_buf_init(&sh);
	ASSERT_EQ(tpq_sigv4_canonical_request(&req, r.amz_date, c.session_token, &creq, &sh, NULL),
		  TPQ_OK);
	tpq_buf_put_u8(&creq, 0);
	ASSERT_TRUE(strstr((const char *)creq.p,
			   "\nx-amz-security-token:FQoGZXIvYXdzEXAMPLETOKEN\n\n") != NULL);
	ASSERT_TRUE(strstr((const char *)creq.p, "\nUNSIGNED-PAYLOAD") != NULL);
	tpq_buf_release(&creq);
	tpq_buf_release(&sh);
	tpq_s3_credentials_wipe(&c);
	ASSERT_EQ(c.secret_access_key[0], 0);
}

TEST(rejects_bad_requests)
{
	struct tpq_s3_credentials c = ex_creds();
	struct tpq_sigv4_result r;
	struct tpq_error err;
	const struct tpq_sigv4_pair owned[] = {{"X-Amz-Date", "x"}};
	struct tpq_sigv4_request req = {
		.method = "GET", .host = EX_HOST, .path = "/",
		.headers = owned, .nheaders = 1, .payload_hash = TPQ_SIGV4_EMPTY_SHA256,
	};
	tpq_error_clear(&err);
	ASSERT_EQ(tpq_sigv4_sign(&req, &c, "us-east-1", "s3", EX_TIME, &r, &err), TPQ_EINVAL);
	ASSERT_TRUE(strstr(err.msg, "X-Amz-Date") != NULL);
	req.nheaders = 0;
	req.path = "no-slash";
	ASSERT_EQ(tpq_sigv4_sign(&req, &c, "us-east-1", "s3", EX_TIME, &r, NULL), TPQ_EINVAL);
	req.path = "/";
	c.secret_access_key[0] = 0;
	ASSERT_EQ(tpq_sigv4_sign(&req, &c, "us-east-1", "s3", EX_TIME, &r, NULL), TPQ_EINVAL);
	c = ex_creds();
	const struct tpq_sigv4_pair twice[] = {{"Range", "a"}, {"range", "b"}};
	req.headers = twice;
	req.nheaders = 2;
	ASSERT_EQ(tpq_sigv4_sign(&req, &c, "us-east-1", "s3", EX_TIME, &r, NULL), TPQ_EINVAL);
}

static void check_encode(const char *in, int keep_slash, const char *want)
{
	struct tpq_buf b;
	tpq_buf_init(&b);
	tpq_sigv4_uri_encode(&b, in, strlen(in), keep_slash);
	tpq_buf_put_u8(&b, 0);
	ASSERT_STR_EQ((const char *)b.p, want);
	tpq_buf_release(&b);
}

TEST(uri_encode)
{
	check_encode("AZaz09-._~", 0, "AZaz09-._~");
	check_encode("a b+c=d&e", 0, "a%20b%2Bc%3Dd%26e");
	check_encode("a/b", 0, "a%2Fb");
	check_encode("/AWSLogs/o-1/a b/x.json.gz", 1, "/AWSLogs/o-1/a%20b/x.json.gz");
	check_encode("!'()*$:@", 1, "%21%27%28%29%2A%24%3A%40");
	check_encode("\xc3\xa9", 1, "%C3%A9");
	check_encode("//", 1, "//"); /* S3 keys are not normalised */
}

TEST(hash_vectors)
{
	char h[65];
	tpq_sha256_hex("", 0, h);
	ASSERT_STR_EQ(h, TPQ_SIGV4_EMPTY_SHA256);
	tpq_sha256_hex("abc", 3, h);
	ASSERT_STR_EQ(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	tpq_sha256_hex(m, strlen(m), h);
	ASSERT_STR_EQ(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	/* RFC 4231 test case 2. */
	uint8_t mac[32];
	const char *d = "what do ya want for nothing?";
	tpq_hmac_sha256("Jefe", 4, d, strlen(d), mac);
	const uint8_t want_mac[4] = {0x5b, 0xdc, 0xc1, 0x46};
	ASSERT_MEM_EQ(mac, want_mac, 4);
	ASSERT_EQ(mac[31], 0x43);
	/* RFC 1321. */
	char m5[33];
	tpq_md5_hex("abc", 3, m5);
	ASSERT_STR_EQ(m5, "900150983cd24fb0d6963f7d28e17f72");
	char b64[16];
	tpq_base64("hello", 5, b64);
	ASSERT_STR_EQ(b64, "aGVsbG8=");
}

int main(void)
{
	RUN(example_get_object_range);
	RUN(example_put_object);
	RUN(example_get_bucket_lifecycle);
	RUN(example_list_objects);
	RUN(session_token_is_signed);
	RUN(rejects_bad_requests);
	RUN(uri_encode);
	RUN(hash_vectors);
	return harness_done();
}
