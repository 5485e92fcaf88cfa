/* check_fresh.c: a mount stays fresh and survives faults.  Real mounts over
 * a private Dovecot, changed and checked through a second IMAP connection:
 * mail appended and expunged elsewhere shows within seconds (IDLE), folders
 * made, renamed and deleted elsewhere show, a folder recreated with new
 * content never serves the old bytes once seen, `doveadm kick` during a
 * large read, a server restart (cached mail readable meanwhile), a bounded
 * concurrent stress run; and a scripted server that stalls mid-literal.
 * The core over a scripted server alone is in tests/unit/check_fresh.c.
 * The topics are parts of their own (check_fresh_live.c,
 * check_fresh_faults.c, check_fresh_load.c) over check_fresh_util.c. */
#include "config.h"

#include <check.h>

#include "check_fresh_util.h"
#include "harness.h"
#include "harness_mount.h"

struct dovecot dc;
struct mount_env env;

static void add_tests(TCase *tc)
{
	check_fresh_add_live(tc);
	check_fresh_add_faults(tc);
	check_fresh_add_load(tc);
}

int main(void)
{
	return mount_test_main("check_fresh", &dc, &env, add_tests, 240);
}
