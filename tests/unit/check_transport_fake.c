/* check_transport_fake.c: the scripted fake server itself.  Every other
 * test trusts it to catch a wrong client line, so a mismatch, a bare LF,
 * an early close, a timeout or a bad script must each make it fail and
 * say where. */
#include "config.h"
#include <check.h>
#include <string.h>

#include "buf.h"
#include "check_transport_util.h"
#include "fake.h"
#include "transport.h"

START_TEST(test_fake_reports_wrong_client_line)
{
	struct fake_server *f = start_fake("S: * OK ready\n"
					   "C: <tag1> LOGIN alice \"secret\"\n"
					   "S: <tag1> OK LOGIN completed\n", NULL);
	struct transport *t = connect_ok("127.0.0.1", f);
	struct buf in = BUF_INIT, err = BUF_INIT;
	expect_line(t, &in, "* OK ready\r\n");
	send_str(t, "a1 LOGIN alice wrong\r\n");
	ck_assert_int_eq(fake_finish(f, &err), -1);
	ck_assert_msg(strstr(err.data, "script line 2") != NULL, "got: %s", err.data);
	ck_assert_msg(strstr(err.data, "expected C: '<tag1> LOGIN alice \"secret\"'") != NULL,
		      "got: %s", err.data);
	ck_assert_msg(strstr(err.data, "got 'a1 LOGIN alice wrong'") != NULL, "got: %s", err.data);
	transport_close(t);
	buf_free(&in);
	buf_free(&err);
}
END_TEST

START_TEST(test_fake_binds_tags_and_escapes)
{
	struct fake_server *f = start_fake("# comments and blank lines are skipped\n"
					   "\n"
					   "S+ * OK \\x41\\\\B\\tC\\r\\n\n"
					   "C: <tag7> SELECT \"x\\x3ctag1>\"\n"
					   "S: <tag7> OK [READ-WRITE] done\n"
					   "LITERAL 5 z\n"
					   "S:\n"
					   "C: DONE\n"
					   "EOF\n", NULL);
	struct transport *t = connect_ok("127.0.0.1", f);
	struct buf in = BUF_INIT;
	expect_line(t, &in, "* OK A\\B\tC\r\n");
	send_str(t, "X0042 SELECT \"x<tag1>\"\r\n");
	expect_line(t, &in, "X0042 OK [READ-WRITE] done\r\n");
	expect_line(t, &in, "zzzzz\r\n");
	send_str(t, "DONE\r\n");
	transport_close(t);
	finish_ok(f);
	buf_free(&in);
}
END_TEST

START_TEST(test_fake_reports_bare_lf_and_early_close)
{
	struct fake_server *f = start_fake("C: a1 NOOP\n", NULL);
	struct transport *t = connect_ok("127.0.0.1", f);
	struct buf err = BUF_INIT;
	send_str(t, "a1 NOOP\n");
	ck_assert_int_eq(fake_finish(f, &err), -1);
	ck_assert_msg(strstr(err.data, "bare LF") != NULL, "got: %s", err.data);
	transport_close(t);

	buf_reset(&err);
	f = start_fake("C: a1 NOOP\nC: a2 NOOP\n", NULL);
	t = connect_ok("127.0.0.1", f);
	send_str(t, "a1 NOOP\r\n");
	transport_close(t);
	ck_assert_int_eq(fake_finish(f, &err), -1);
	ck_assert_msg(strstr(err.data, "script line 2: expected C: 'a2 NOOP', got end of stream") != NULL,
		      "got: %s", err.data);
	buf_free(&err);
}
END_TEST

START_TEST(test_fake_times_out)
{
	struct fake_opts o = { .timeout_ms = 200 };
	struct fake_server *f = start_fake("S: * OK\nC: a1 NOOP\n", &o);
	struct transport *t = connect_ok("127.0.0.1", f);
	struct buf err = BUF_INIT;
	ck_assert_int_eq(fake_finish(f, &err), -1); /* we never send the command */
	ck_assert_msg(strstr(err.data, "timed out after 200 ms awaiting a client line") != NULL,
		      "got: %s", err.data);
	transport_close(t);

	buf_reset(&err);
	f = start_fake("S: * OK\n", &o); /* nobody connects */
	ck_assert_int_eq(fake_finish(f, &err), -1);
	ck_assert_msg(strstr(err.data, "waiting for a client to connect") != NULL, "got: %s",
		      err.data);
	buf_free(&err);
}
END_TEST

START_TEST(test_fake_rejects_bad_scripts)
{
	static const char *const bad[][2] = {
		{ "S: ok\nBOGUS 1\n", "line 2: unknown directive 'BOGUS'" },
		{ "SLEEP soon\n", "SLEEP MS" },
		{ "C-LITERAL 5 sha256:zz\n", "C-LITERAL N" },
		{ "S: \\q\n", "bad escape" },
		{ "C: <tag99> NOOP\n", "at most" },
		{ "TLS\n", "certs is NULL" },
		{ "EOF now\n", "takes no argument" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct buf err = BUF_INIT;
		ck_assert_ptr_null(fake_start(bad[i][0], NULL, &err));
		ck_assert_msg(strstr(err.data, bad[i][1]) != NULL, "script '%s': got %s", bad[i][0],
			      err.data);
		buf_free(&err);
	}
	/* A tag sent before any C: line bound it fails at run time. */
	struct buf err = BUF_INIT;
	struct fake_server *f = start_fake("S: <tag3> OK\n", NULL);
	struct transport *t = connect_ok("127.0.0.1", f);
	ck_assert_int_eq(fake_finish(f, &err), -1);
	ck_assert_msg(strstr(err.data, "<tag3> is used before") != NULL, "got: %s", err.data);
	transport_close(t);
	buf_free(&err);
}
END_TEST

START_TEST(test_fake_accepts_a_second_connection)
{
	struct fake_server *f = start_fake("S: * OK first\n"
					   "EOF\n"
					   "ACCEPT\n"
					   "S: * OK second\n"
					   "C: <tag1> LOGOUT\n"
					   "S: * BYE\n"
					   "CLOSE\n", NULL);
	struct buf in = BUF_INIT, line = BUF_INIT, err = BUF_INIT;
	struct transport *t = connect_ok("127.0.0.1", f);
	expect_line(t, &in, "* OK first\r\n");
	transport_close(t);
	buf_reset(&in);
	t = connect_ok("127.0.0.1", f);
	expect_line(t, &in, "* OK second\r\n");
	send_str(t, "a1 LOGOUT\r\n");
	expect_line(t, &in, "* BYE\r\n");
	ck_assert_int_eq(read_line(t, &in, &line, &err), -1);
	ck_assert(transport_eof(t));
	transport_close(t);
	finish_ok(f);
	buf_free(&in);
	buf_free(&line);
	buf_free(&err);
}
END_TEST

START_TEST(test_fake_checks_client_literal_fill)
{
	struct fake_server *f = start_fake("C: a1 APPEND INBOX {6}\nC-LITERAL 6 q\nC: \n", NULL);
	struct transport *t = connect_ok("127.0.0.1", f);
	struct buf err = BUF_INIT;
	send_str(t, "a1 APPEND INBOX {6}\r\nqqqxqq\r\n");
	ck_assert_int_eq(fake_finish(f, &err), -1);
	ck_assert_msg(strstr(err.data, "byte 3 is 0x78, expected 'q'") != NULL, "got: %s", err.data);
	transport_close(t);
	buf_free(&err);
}
END_TEST

void check_transport_add_fake(Suite *s)
{
	TCase *fake = tcase_create("fake");
	tcase_set_timeout(fake, 60);
	tcase_add_test(fake, test_fake_reports_wrong_client_line);
	tcase_add_test(fake, test_fake_binds_tags_and_escapes);
	tcase_add_test(fake, test_fake_reports_bare_lf_and_early_close);
	tcase_add_test(fake, test_fake_times_out);
	tcase_add_test(fake, test_fake_rejects_bad_scripts);
	tcase_add_test(fake, test_fake_accepts_a_second_connection);
	tcase_add_test(fake, test_fake_checks_client_literal_fill);
	suite_add_tcase(s, fake);
}
