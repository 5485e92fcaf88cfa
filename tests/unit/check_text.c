/* check_text.c: the text helpers: modified UTF-7, INTERNALDATE, sequence sets, imaplib's
 * helpers and argument quoting, Python repr.
 *
 * Expected values are written by hand (from the RFCs and CPython's own
 * test_imaplib vectors) and, where a rule is large, compared with the real
 * /usr/bin/python3 (imaplib, repr, base64) on generated inputs.  Each
 * topic has its own file, check_text_<topic>.c; this one builds the suite. */
#include "config.h"
#include <check.h>
#include <stdlib.h>

#include "check_run.h"
#include "check_text_util.h"

static Suite *text_suite(void)
{
	Suite *s = suite_create("text");
	TCase *tc;

	/* Comparisons with the real interpreter: larger, so a longer timeout
	 * (Check's default is 4 s, too short under valgrind). */
	TCase *python = tcase_create("python");
	tcase_set_timeout(python, 300);

	tc = tcase_create("mutf7");
	check_text_add_mutf7(tc, python);
	suite_add_tcase(s, tc);

	tc = tcase_create("date");
	check_text_add_date(tc, python);
	suite_add_tcase(s, tc);

	tc = tcase_create("util");
	check_text_add_quote(tc, python);
	suite_add_tcase(s, tc);

	tc = tcase_create("seqset");
	check_text_add_seqset(tc);
	suite_add_tcase(s, tc);

	tc = tcase_create("pyrepr");
	check_text_add_pyrepr(tc, python);
	suite_add_tcase(s, tc);

	suite_add_tcase(s, python);
	return s;
}

int main(void)
{
	int failed = check_run_suite(text_suite());
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
