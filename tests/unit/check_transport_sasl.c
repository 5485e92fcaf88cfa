/* check_transport_sasl.c: base64 and the SASL mechanisms (PLAIN, LOGIN,
 * CRAM-MD5, XOAUTH2, OAUTHBEARER) against the RFC vectors.  A decoder that let bad
 * base64 through would feed a server's garbage to the mechanism, and a
 * mechanism must cancel a challenge it does not expect rather than answer
 * it with the secret again. */
#include "config.h"
#include <check.h>
#include <string.h>

#include "buf.h"
#include "check_transport_util.h"
#include "sasl.h"

START_TEST(test_base64_rfc4648_vectors)
{
	static const char *const vec[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
		struct buf enc = BUF_INIT, dec = BUF_INIT, err = BUF_INIT;
		sasl_base64_encode(&enc, vec[i][0], strlen(vec[i][0]));
		ck_assert_str_eq(enc.data, vec[i][1]);
		ck_assert_int_eq(sasl_base64_decode(&dec, vec[i][1], strlen(vec[i][1]), &err), 0);
		ck_assert_uint_eq(dec.len, strlen(vec[i][0]));
		ck_assert_str_eq(dec.data, vec[i][0]);
		buf_free(&enc);
		buf_free(&dec);
		buf_free(&err);
	}
	/* Every byte value survives a round trip, and '+' '/' are used. */
	unsigned char all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	struct buf enc = BUF_INIT, dec = BUF_INIT;
	sasl_base64_encode(&enc, all, sizeof all);
	ck_assert_ptr_nonnull(strchr(enc.data, '+'));
	ck_assert_ptr_nonnull(strchr(enc.data, '/'));
	ck_assert_int_eq(sasl_base64_decode(&dec, enc.data, enc.len, NULL), 0);
	ck_assert_uint_eq(dec.len, sizeof all);
	ck_assert_int_eq(memcmp(dec.data, all, sizeof all), 0);
	buf_free(&enc);
	buf_free(&dec);
}
END_TEST

START_TEST(test_base64_rejects_bad_input)
{
	static const char *const bad[] = {
		"Zm9", "Zm9v!", "Zg=", "Z===", "Zm=v", "Zh==", "Zm9=", "Zm9=Zm9v", "Zm 9v", "Zm9v\r\n",
		"=Zm9", "Zm9v====", "Zg==Zg==", "Zm9-", "Zm9_",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct buf dec = BUF_INIT, err = BUF_INIT;
		buf_addstr(&dec, "kept");
		ck_assert_msg(sasl_base64_decode(&dec, bad[i], strlen(bad[i]), &err) == -1,
			      "accepted '%s'", bad[i]);
		ck_assert_str_eq(dec.data, "kept");
		ck_assert_msg(strstr(err.data, "invalid base64") != NULL, "got: %s", err.data);
		buf_free(&dec);
		buf_free(&err);
	}
}
END_TEST

static void step_ok(struct sasl *a, const char *challenge, const void *want, size_t wantlen)
{
	struct buf resp = BUF_INIT;
	bool cancel = true;
	ck_assert_int_eq(sasl_step(a, challenge, strlen(challenge), &resp, &cancel), 0);
	ck_assert(!cancel);
	ck_assert_uint_eq(resp.len, wantlen);
	ck_assert_int_eq(memcmp(resp.data, want, wantlen), 0);
	sasl_wipe(&resp);
	ck_assert_uint_eq(resp.len, 0);
}

static void step_cancels(struct sasl *a, const char *challenge)
{
	struct buf resp = BUF_INIT;
	bool cancel = false;
	ck_assert_int_eq(sasl_step(a, challenge, strlen(challenge), &resp, &cancel), 0);
	ck_assert(cancel);
	ck_assert_uint_eq(resp.len, 0);
	sasl_wipe(&resp);
}

START_TEST(test_sasl_plain)
{
	struct sasl *a = sasl_new("plain", "tim", "tanstaaftanstaaf", NULL);
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(sasl_mechanism(a), "PLAIN");
	ck_assert(sasl_has_initial_response(a));
	step_ok(a, "", "\0tim\0tanstaaftanstaaf", 21);
	step_cancels(a, "again?");
	sasl_free(a);

	a = sasl_new("PLAIN", "tim", "secret", NULL);
	sasl_set_authzid(a, "admin");
	step_ok(a, "", "admin\0tim\0secret", 16);
	sasl_free(a);

	struct buf out = BUF_INIT, enc = BUF_INIT;
	sasl_plain_response(&out, NULL, "alice", "secret");
	sasl_base64_encode(&enc, out.data, out.len);
	ck_assert_str_eq(enc.data, "AGFsaWNlAHNlY3JldA==");
	sasl_wipe(&out);
	buf_free(&enc);
}
END_TEST

START_TEST(test_sasl_login)
{
	struct sasl *a = sasl_new("LOGIN", "tim", "tanstaaftanstaaf", NULL);
	ck_assert_ptr_nonnull(a);
	ck_assert(!sasl_has_initial_response(a));
	step_ok(a, "Username:", "tim", 3);
	step_ok(a, "Password:", "tanstaaftanstaaf", 16);
	step_cancels(a, "Password:");
	sasl_free(a);

	/* Prompts are matched by meaning, and unknown ones go by order. */
	a = sasl_new("login", "tim", "pw", NULL);
	step_ok(a, "PASSWORD", "pw", 2);
	step_ok(a, "User Name", "tim", 3);
	step_cancels(a, "anything else");
	sasl_free(a);
	a = sasl_new("login", "tim", "pw", NULL);
	step_ok(a, "", "tim", 3);
	step_ok(a, "", "pw", 2);
	sasl_free(a);
}
END_TEST

START_TEST(test_sasl_cram_md5_rfc2195)
{
	const char *challenge_b64 = "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+";
	struct buf challenge = BUF_INIT, resp = BUF_INIT, enc = BUF_INIT;
	ck_assert_int_eq(sasl_base64_decode(&challenge, challenge_b64, strlen(challenge_b64), NULL), 0);
	ck_assert_str_eq(challenge.data, "<1896.697170952@postoffice.reston.mci.net>");

	struct sasl *a = sasl_new("cram-md5", "tim", "tanstaaftanstaaf", NULL);
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(sasl_mechanism(a), "CRAM-MD5");
	ck_assert(!sasl_has_initial_response(a));
	bool cancel = true;
	ck_assert_int_eq(sasl_step(a, challenge.data, challenge.len, &resp, &cancel), 0);
	ck_assert(!cancel);
	ck_assert_str_eq(resp.data, "tim b913a602c7eda7a495b4e6e7334d3890");
	sasl_base64_encode(&enc, resp.data, resp.len);
	ck_assert_str_eq(enc.data, "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
	step_cancels(a, "more?");
	sasl_free(a);

	sasl_wipe(&resp);
	ck_assert_int_eq(sasl_cram_md5_response(&resp, "tim", "tanstaaftanstaaf", challenge.data,
						challenge.len, NULL), 0);
	ck_assert_str_eq(resp.data, "tim b913a602c7eda7a495b4e6e7334d3890");
	sasl_wipe(&resp);
	buf_free(&challenge);
	buf_free(&enc);
}
END_TEST

START_TEST(test_sasl_xoauth2)
{
	const char *token = "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg";
	const char *want = "user=someuser@example.com\001auth=Bearer "
			   "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\001\001";
	struct sasl *a = sasl_new("XOAUTH2", "someuser@example.com", token, NULL);
	ck_assert_ptr_nonnull(a);
	ck_assert(sasl_has_initial_response(a));
	step_ok(a, "", want, strlen(want));
	/* A failure comes as a JSON challenge that wants an empty answer. */
	step_ok(a, "{\"status\":\"401\",\"schemes\":\"bearer\"}", "", 0);
	step_cancels(a, "{}");
	sasl_free(a);

	struct buf out = BUF_INIT, enc = BUF_INIT, err = BUF_INIT;
	ck_assert_int_eq(sasl_xoauth2_response(&out, "someuser@example.com", token, &err), 0);
	sasl_base64_encode(&enc, out.data, out.len);
	ck_assert_str_eq(enc.data, "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxb"
				   "VRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==");
	ck_assert_ptr_null(sasl_new("XOAUTH2", "evil\001auth=Bearer x", token, &err));
	ck_assert_msg(strstr(err.data, "\\001") != NULL, "got: %s", err.data);
	sasl_wipe(&out);
	buf_free(&enc);
	buf_free(&err);
}
END_TEST

START_TEST(test_sasl_xoauth2_keeps_the_error_json)
{
	struct sasl *a = sasl_new("xoauth2", "alice", "tok", NULL);
	step_ok(a, "", "user=alice\001auth=Bearer tok\001\001", 28);
	ck_assert_ptr_null(sasl_server_error(a));
	/* the server's words, made printable: no control byte reaches a log */
	step_ok(a, "{\"status\":\"401\"}\r\n\033", "", 0);
	ck_assert_str_eq(sasl_server_error(a), "{\"status\":\"401\"}???");
	sasl_free(a);
}
END_TEST

/* RFC 7628 4.1: the example's exact bytes. */
START_TEST(test_sasl_oauthbearer_rfc7628)
{
	const char *want = "n,a=user@example.com,\001host=server.example.com\001port=143\001"
			   "auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\001\001";
	struct sasl *a = sasl_new("oauthbearer", "user@example.com",
				  "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==", NULL);
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(sasl_mechanism(a), "OAUTHBEARER");
	ck_assert(sasl_has_initial_response(a));
	sasl_set_host(a, "server.example.com", "143");
	step_ok(a, "", want, strlen(want));
	struct buf enc = BUF_INIT;
	sasl_base64_encode(&enc, want, strlen(want));
	ck_assert_str_eq(enc.data, "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQz"
				   "AWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB");
	buf_free(&enc);
	/* the failure: the error JSON is answered with a lone \001, once */
	const char *json = "{\"status\":\"invalid_token\",\"scope\":\"example_scope\","
			   "\"openid-configuration\":\"https://example.com/.well-known/openid-configuration\"}";
	step_ok(a, json, "\001", 1);
	ck_assert_str_eq(sasl_server_error(a), json);
	step_cancels(a, "{}");
	sasl_free(a);
}
END_TEST

START_TEST(test_sasl_oauthbearer_escapes_the_user)
{
	struct buf out = BUF_INIT, err = BUF_INIT;
	ck_assert_int_eq(sasl_oauthbearer_response(&out, "a,b=c", NULL, NULL, "t", &err), 0);
	const char want[] = "n,a=a=2Cb=3Dc,\001auth=Bearer t\001\001";
	ck_assert_uint_eq(out.len, sizeof want - 1);
	ck_assert_int_eq(memcmp(out.data, want, out.len), 0);
	sasl_wipe(&out);
	ck_assert_int_eq(sasl_oauthbearer_response(&out, "u", "h\001auth=Bearer x", NULL, "t", &err), -1);
	ck_assert_msg(strstr(err.data, "\\001") != NULL, "got: %s", err.data);
	ck_assert_ptr_null(sasl_new("OAUTHBEARER", "u", "tok\001", NULL));
	buf_free(&err);
}
END_TEST

START_TEST(test_sasl_unknown_mechanism)
{
	struct buf err = BUF_INIT;
	ck_assert_ptr_null(sasl_new("GSSAPI", "u", "p", &err));
	ck_assert_str_eq(err.data, "SASL mechanism not supported: GSSAPI");
	buf_free(&err);
}
END_TEST

void check_transport_add_sasl(Suite *s)
{
	TCase *sasl = tcase_create("sasl");
	tcase_add_test(sasl, test_base64_rfc4648_vectors);
	tcase_add_test(sasl, test_base64_rejects_bad_input);
	tcase_add_test(sasl, test_sasl_plain);
	tcase_add_test(sasl, test_sasl_login);
	tcase_add_test(sasl, test_sasl_cram_md5_rfc2195);
	tcase_add_test(sasl, test_sasl_xoauth2);
	tcase_add_test(sasl, test_sasl_xoauth2_keeps_the_error_json);
	tcase_add_test(sasl, test_sasl_oauthbearer_rfc7628);
	tcase_add_test(sasl, test_sasl_oauthbearer_escapes_the_user);
	tcase_add_test(sasl, test_sasl_unknown_mechanism);
	suite_add_tcase(s, sasl);
}
