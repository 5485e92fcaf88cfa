/* check_cache.c: the on-disk cache of bodies and listings.  The tests are
 * in check_cache_<topic>.c, their shared helpers in check_cache_util.c;
 * this file gives every test a directory of its own and runs them. */
#include "config.h"
#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check_cache_util.h"
#include "check_run.h"

/* Each test gets a fresh directory <base>/t.XXXXXX; the cache lives in
 * <top>/c.  The base of a test case is made and removed by the runner
 * process itself, so a test that fails (its process ends without the
 * checked teardown) leaves nothing behind either. */
static char base[64];
char top[96];
char cdir[128];

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st, (void)type, (void)f;
	return remove(path);
}

static void rm_tree(const char *path)
{
	chmod(path, 0700);
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void base_setup(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(base, sizeof base, "%s/check_cache.XXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp");
	if (!mkdtemp(base))
		abort();
}

static void base_teardown(void)
{
	rm_tree(base);
}

static void setup(void)
{
	snprintf(top, sizeof top, "%s/t.XXXXXX", base);
	ck_assert_ptr_nonnull(mkdtemp(top));
	snprintf(cdir, sizeof cdir, "%s/c", top);
}

static void teardown(void)
{
	rm_tree(top);
}

int main(void)
{
	Suite *s = suite_create("cache");
	TCase *tc = tcase_create("bodies");
	tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	check_cache_add_bodies(tc);
	check_cache_add_budget(tc);
	check_cache_add_packs(tc);
	check_cache_add_mailboxes(tc);
	suite_add_tcase(s, tc);

	tc = tcase_create("listings");
	tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	check_cache_add_listings(tc);
	suite_add_tcase(s, tc);

	tc = tcase_create("directory");
	tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	check_cache_add_directory(tc);
	check_cache_add_restarts(tc);
	suite_add_tcase(s, tc);

	tc = tcase_create("threads");
	tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	check_cache_add_threads(tc);
	suite_add_tcase(s, tc);

	int failed = check_run_suite(s);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
