/* check_parser.c: the incremental IMAP response parser (proto/parser.c).
 *
 * Most tests are conversations as data (check_parser_conv.c): server
 * bytes in, a transcript out, the same however the bytes arrive.  The
 * tests are in check_parser_<topic>.c; this file runs them. */
#include "config.h"
#include <check.h>
#include <stdlib.h>

#include "check_parser_conv.h"
#include "check_run.h"

int main(void)
{
	Suite *s = suite_create("parser");
	TCase *tc = tcase_create("framing");
	tcase_set_timeout(tc, 120);
	check_parser_add_simple(tc);
	check_parser_add_literals(tc);
	check_parser_add_framing(tc);
	check_parser_add_state(tc);
	suite_add_tcase(s, tc);

	tc = tcase_create("structure");
	tcase_set_timeout(tc, 120);
	check_parser_add_structure(tc);
	suite_add_tcase(s, tc);

	tc = tcase_create("gmail");
	tcase_set_timeout(tc, 120);
	check_parser_add_gmail(tc);
	suite_add_tcase(s, tc);

	int failed = check_run_suite(s);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
