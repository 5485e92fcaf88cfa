/* check_imaplib.c: the imaplib layer and the pipelined core against scripted
 * fake servers: CPython's test_imaplib scenarios ported to C, plus what a
 * real server cannot be made to do (STARTTLS injection, PREAUTH downgrade,
 * cut-short greetings).  Every script must run to its end exactly: the wire
 * bytes are asserted, not just the results.  Each topic has its own file,
 * check_imaplib_<topic>.c; this one builds the suite. */
#include "config.h"

#include <check.h>
#include <stdlib.h>

#include "check_imaplib_scene.h"
#include "check_run.h"

int main(void)
{
	Suite *s = suite_create("imaplib");
	TCase *tc = tcase_create("fake-server");
	tcase_set_timeout(tc, 30);
	check_imaplib_add_login(tc);
	check_imaplib_add_commands(tc);
	check_imaplib_add_idle(tc);
	check_imaplib_add_starttls(tc);
	check_imaplib_add_pipeline(tc);
	suite_add_tcase(s, tc);
	int failed = check_run_suite(s);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
