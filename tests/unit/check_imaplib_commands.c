/* check_imaplib_commands.c: commands in the authenticated state, as
 * imaplib answers them: ENABLE, APPEND (a NO before the literal, LITERAL+),
 * SELECT read-only, and the answers a server may give that must abort the
 * connection (BYE, a tag we never sent, silence) rather than be taken for
 * a result, while a line over the limit is one error and the connection
 * goes on. */
#include "config.h"
#include <check.h>
#include <string.h>

#include "buf.h"
#include "check_imaplib_scene.h"
#include "imap.h"
#include "imaplib.h"

START_TEST(test_enable_in_wrong_state)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, GREETING "EOF\n", NULL), IMAP_OK);
	ck_assert_int_eq(imap_enable(sc.s, "CONDSTORE", &sc.r), IMAP_ERROR);
	ck_assert_str_eq(imap_errmsg(sc.s),
			 "command ENABLE illegal in state NONAUTH, only allowed in states AUTH");
	scene_end(&sc);
}
END_TEST

START_TEST(test_enable_without_capability)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, "S: * PREAUTH hi\nC: <tag0> CAPABILITY\n"
				    "S: * CAPABILITY IMAP4rev1\nS: <tag0> OK done\nEOF\n", NULL), IMAP_OK);
	ck_assert_int_eq(imap_enable(sc.s, "CONDSTORE", &sc.r), IMAP_ERROR);
	ck_assert_str_eq(imap_errmsg(sc.s), "Server does not support ENABLE");
	scene_end(&sc);
}
END_TEST

START_TEST(test_enable_utf8_wraps_append_and_forbids_charset)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, "S: * PREAUTH hi\nC: <tag0> CAPABILITY\n"
				    "S: * CAPABILITY IMAP4rev1 ENABLE UTF8=ACCEPT\nS: <tag0> OK done\n"
				    "C: <tag1> ENABLE UTF8=ACCEPT\n"
				    "S: * ENABLED UTF8=ACCEPT\n"
				    "S: <tag1> OK ENABLE successful\n"
				    "C: <tag2> APPEND INBOX {12}\n"
				    "S: + go ahead\n"
				    "C-LITERAL 12 sha256:b962abee8fed5a4fe9c90f15fe379da838c2f964419d1ec7d7fc560b58a7bdbc\n"
				    "C:\n"
				    "S: <tag2> OK [APPENDUID 1 2] Append completed\n"
				    "EOF\n", NULL), IMAP_OK);
	ck_assert_int_eq(imap_enable(sc.s, "UTF8=ACCEPT", &sc.r), IMAP_OK);
	ck_assert(imap_utf8_enabled(sc.s));
	ck_assert_int_eq(imap_append(sc.s, NULL, NULL, NULL, "a\xc3\xa4\n", 4, &sc.r), IMAP_OK);
	ck_assert_int_eq(imap_search(sc.s, "UTF-8", (const char *[]){ "ALL" }, 1, &sc.r), IMAP_ERROR);
	ck_assert_str_eq(imap_errmsg(sc.s), "Non-None charset not valid in UTF8 mode");
	scene_end(&sc);
}
END_TEST

START_TEST(test_append_rejected_before_literal)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, "S: * PREAUTH hi\nC: <tag0> CAPABILITY\n"
				    "S: * CAPABILITY IMAP4rev1\nS: <tag0> OK done\n"
				    "C: <tag1> APPEND INBOX (\\\\Seen) {5}\n"
				    "S: <tag1> NO [OVERQUOTA] Quota exceeded\n"
				    "C: <tag2> NOOP\n"
				    "S: <tag2> OK NOOP completed\n"
				    "EOF\n", NULL), IMAP_OK);
	ck_assert_int_eq(imap_append(sc.s, "INBOX", "\\Seen", NULL, "hello", 5, &sc.r), IMAP_OK);
	ck_assert_str_eq(repr(&sc), "('NO', [b'[OVERQUOTA] Quota exceeded'])");
	/* the literal was never sent: the next command follows directly */
	ck_assert_int_eq(imap_noop(sc.s, &sc.r), IMAP_OK);
	scene_end(&sc);
}
END_TEST

START_TEST(test_append_uses_literal_plus)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, "S: * PREAUTH hi\nC: <tag0> CAPABILITY\n"
				    "S: * CAPABILITY IMAP4rev1 LITERAL+\nS: <tag0> OK done\n"
				    "C: <tag1> APPEND Drafts \"01-Jan-2020 10:00:00 +0000\" {7+}\n"
				    "C-LITERAL 7\n"
				    "C:\n"
				    "S: <tag1> OK done\n"
				    "EOF\n", NULL), IMAP_OK);
	ck_assert_int_eq(imap_append(sc.s, "Drafts", NULL, "\"01-Jan-2020 10:00:00 +0000\"",
				     "a\nb\rc", 5, &sc.r), IMAP_OK);
	ck_assert_str_eq(repr(&sc), "('OK', [b'done'])");
	scene_end(&sc);
}
END_TEST

START_TEST(test_arguments_with_crlf_are_refused)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, "S: * PREAUTH hi\nC: <tag0> CAPABILITY\n"
				    "S: * CAPABILITY IMAP4rev1\nS: <tag0> OK done\nEOF\n", NULL), IMAP_OK);
	ck_assert_int_eq(imap_create(sc.s, "x\r\nA2 DELETE INBOX", &sc.r), IMAP_ERROR);
	scene_end(&sc);
}
END_TEST

START_TEST(test_bracket_flags_in_response_code)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, "S: * PREAUTH hi\nC: <tag0> CAPABILITY\n"
				    "S: * CAPABILITY IMAP4rev1\nS: <tag0> OK done\n"
				    "C: <tag1> SELECT test\n"
				    "S: * 2 EXISTS\n"
				    "S: * FLAGS (\\\\Answered \\\\Seen [test] foo]bar)\n"
				    "S: * OK [PERMANENTFLAGS (\\\\Answered \\\\Seen [test] \\\\*)] Flags permitted.\n"
				    "S: <tag1> OK [READ-WRITE] SELECT completed\n"
				    "C: <tag2> STORE 1 +FLAGS ([test])\n"
				    "S: * 1 FETCH (FLAGS (\\\\Seen [test] foo]bar))\n"
				    "S: <tag2> OK STORE completed\n"
				    "EOF\n", NULL), IMAP_OK);
	ck_assert_int_eq(imap_select(sc.s, "test", false, &sc.r), IMAP_OK);
	ck_assert_str_eq(repr(&sc), "('OK', [b'2'])");
	ck_assert_int_eq(imap_response(sc.s, "PERMANENTFLAGS", &sc.r), IMAP_OK);
	ck_assert_str_eq(repr(&sc), "('PERMANENTFLAGS', [b'(\\\\Answered \\\\Seen [test] \\\\*)'])");
	ck_assert_int_eq(imap_store(sc.s, "1", "+FLAGS", "[test]", &sc.r), IMAP_OK);
	ck_assert_str_eq(repr(&sc), "('OK', [b'1 (FLAGS (\\\\Seen [test] foo]bar))'])");
	scene_end(&sc);
}
END_TEST

START_TEST(test_select_readonly_raises_readonly)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, "S: * PREAUTH hi\nC: <tag0> CAPABILITY\n"
				    "S: * CAPABILITY IMAP4rev1\nS: <tag0> OK done\n"
				    "C: <tag1> SELECT shared\n"
				    "S: * 0 EXISTS\n"
				    "S: <tag1> OK [READ-ONLY] SELECT completed\n"
				    "EOF\n", NULL), IMAP_OK);
	ck_assert_int_eq(imap_select(sc.s, "shared", false, &sc.r), IMAP_READONLY);
	ck_assert_str_eq(imap_errmsg(sc.s), "shared is not writable");
	/* and every later command says the mailbox turned read-only */
	ck_assert_int_eq(imap_noop(sc.s, &sc.r), IMAP_READONLY);
	scene_end(&sc);
}
END_TEST

START_TEST(test_bye_during_command_aborts)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, GREETING
				    "C: <tag1> NOOP\n"
				    "S: * BYE server shutting down\n"
				    "CLOSE\n", NULL), IMAP_OK);
	ck_assert_int_eq(imap_noop(sc.s, &sc.r), IMAP_ABORT);
	ck_assert_str_eq(imap_errmsg(sc.s), "command: NOOP => server shutting down");
	scene_end(&sc);
}
END_TEST

START_TEST(test_unexpected_tagged_response_aborts)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, GREETING
				    "C: <tag1> NOOP\n"
				    "S: ZZZ9 OK what\n"
				    "DRAIN\n", NULL), IMAP_OK);
	ck_assert_int_eq(imap_noop(sc.s, &sc.r), IMAP_ABORT);
	ck_assert_msg(strstr(imap_errmsg(sc.s), "unexpected tagged response") != NULL, "%s",
		      imap_errmsg(sc.s));
	scene_end(&sc);
}
END_TEST

START_TEST(test_timeout_aborts)
{
	struct scene sc;
	struct imap_opts o = default_opts();
	o.timeout_ms = 300;
	ck_assert_int_eq(scene_open(&sc, GREETING "C: <tag1> NOOP\nDRAIN\n", &o), IMAP_OK);
	ck_assert_int_eq(imap_noop(sc.s, &sc.r), IMAP_ABORT);
	ck_assert_msg(strstr(imap_errmsg(sc.s), "timed out") != NULL, "%s", imap_errmsg(sc.s));
	scene_end(&sc);
}
END_TEST

START_TEST(test_line_too_long_is_an_error_not_an_abort)
{
	struct scene sc;
	struct imap_opts o = default_opts();
	o.limits.max_line = 1000;
	ck_assert_int_eq(scene_open(&sc, GREETING
				    "C: <tag1> NOOP\n"
				    "S+ * OK \n"
				    "LITERAL 5000 a\n"
				    "S: \n"
				    "S: <tag1> OK done\n"
				    "C: <tag2> NOOP\n"
				    "S: <tag2> OK still here\n"
				    "EOF\n", &o), IMAP_OK);
	ck_assert_int_eq(imap_noop(sc.s, &sc.r), IMAP_ERROR);
	ck_assert_int_eq(imap_noop(sc.s, &sc.r), IMAP_OK);
	ck_assert_str_eq(repr(&sc), "('OK', [b'still here'])");
	scene_end(&sc);
}
END_TEST

START_TEST(test_untagged_literals_as_imaplib_tuples)
{
	struct scene sc;
	ck_assert_int_eq(scene_open(&sc, "S: * PREAUTH hi\nC: <tag0> CAPABILITY\n"
				    "S: * CAPABILITY IMAP4rev1\nS: <tag0> OK done\n"
				    "C: <tag1> SELECT INBOX\nS: * 1 EXISTS\nS: <tag1> OK [READ-WRITE] done\n"
				    "C: <tag2> FETCH 1 (BODY[] BODY[HEADER])\n"
				    "S: * 1 FETCH (BODY[] {3}\n"
				    "S+ a\"c BODY[HEADER] {0}\\r\\n\n"
				    "S: )\n"
				    "S: <tag2> OK FETCH completed\n"
				    "EOF\n", NULL), IMAP_OK);
	ck_assert_int_eq(imap_select(sc.s, NULL, false, &sc.r), IMAP_OK);
	ck_assert_int_eq(imap_fetch(sc.s, "1", "(BODY[] BODY[HEADER])", &sc.r), IMAP_OK);
	ck_assert_str_eq(repr(&sc), "('OK', [(b'1 (BODY[] {3}', b'a\"c'), "
				    "(b' BODY[HEADER] {0}', b''), b')'])");
	scene_end(&sc);
}
END_TEST

void check_imaplib_add_commands(TCase *tc)
{
	tcase_add_test(tc, test_enable_in_wrong_state);
	tcase_add_test(tc, test_enable_without_capability);
	tcase_add_test(tc, test_enable_utf8_wraps_append_and_forbids_charset);
	tcase_add_test(tc, test_append_rejected_before_literal);
	tcase_add_test(tc, test_append_uses_literal_plus);
	tcase_add_test(tc, test_arguments_with_crlf_are_refused);
	tcase_add_test(tc, test_bracket_flags_in_response_code);
	tcase_add_test(tc, test_select_readonly_raises_readonly);
	tcase_add_test(tc, test_bye_during_command_aborts);
	tcase_add_test(tc, test_unexpected_tagged_response_aborts);
	tcase_add_test(tc, test_timeout_aborts);
	tcase_add_test(tc, test_line_too_long_is_an_error_not_an_abort);
	tcase_add_test(tc, test_untagged_literals_as_imaplib_tuples);
}
