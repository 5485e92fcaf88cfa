/* check_run.h: every test program runs its suite the same way.  Returns
 * the number of checks that failed; the suite is freed. */
#ifndef IMAPFS_CHECK_RUN_H
#define IMAPFS_CHECK_RUN_H

#include <check.h>

static inline int check_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed;
}

#endif
