/* check_mount_cap.c: a server that allows each user two connections (as
 * Gmail allows 15 per account, shared with the user's phone and other
 * clients): a mount that asks for four works with what it gets.  Its own
 * Dovecot, with mail_max_userip_connections = 2. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "harness_mount.h"
#include "harness_srv.h"
#include "imap.h"

static struct dovecot dc;
static struct mount_env env;

/* Another client holds one of the two connections; four readers at once,
 * each in its own folder, want four: the refused ones rest, the reads all
 * succeed on the one left, and the log says so instead of going offline. */
START_TEST(test_connection_cap_shrinks_the_pool)
{
	struct imap *s = mount_second(&env, "alice");
	const char *folders[] = { "CapA", "CapB", "CapC", "CapD" };
	for (int i = 0; i < 4; i++)
		srv_folder(s, folders[i], 30);
	/* s stays logged in (the user's phone): the mount gets one connection */
	struct fsmount m = { .pid = 0 };
	mount_start(&env, &m, "capped", "connections=4");
	struct buf out = BUF_INIT;
	ck_assert_int_eq(mount_sh(&out, "cd '%s' && for f in CapA CapB CapC CapD; do "
				  "grep -rl body $f > /dev/null & done; wait; grep -rl body Cap? | wc -l", m.dir), 0);
	ck_assert_int_eq(atoi(out.data), 120);
	buf_reset(&out);
	ck_assert_int_eq(mount_sh(&out, "cat '%s/CapD/30.eml'", m.dir), 0);
	ck_assert_msg(strstr(out.data, "body 30 of CapD"), "%s", out.data);
	ck_assert_uint_ge(fsmount_log_count(&m, "working with fewer connections"), 1);
	ck_assert_uint_eq(fsmount_log_count(&m, "offline:"), 0);
	buf_free(&out);
	mount_stop(&m);
	imap_close(s);
}
END_TEST

static void add_tests(TCase *tc)
{
	tcase_add_test(tc, test_connection_cap_shrinks_the_pool);
}

int main(void)
{
	struct dovecot_opts o = { .max_connections = 2 };
	return mount_test_main_with("check_mount_cap", &dc, &o, &env, add_tests, 240);
}
