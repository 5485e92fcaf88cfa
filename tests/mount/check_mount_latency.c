/* check_mount_latency.c: what a far server's round trips cost a mount is
 * paid per connection, not per folder.  A proxy in front of a private
 * Dovecot notes the commands the mount sends (harness_proxy.h), and the
 * tests check their structure, never a time: the pool's connections log
 * in at mount, all at once, not one by one when the reads first want
 * them. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "harness.h"
#include "harness_mount.h"
#include "harness_proxy.h"

static struct dovecot dc;
static struct mount_env env;

/* "Happens": a generous bound, only proving nothing hangs (sanitizers,
 * valgrind and a loaded machine make everything slow). */
#define HAPPENS_WITHIN_MS 20000

/* A mount of alice's mail through the proxy p. */
static void mount_via(struct fsmount *m, struct proxy *p, const char *name, const char *extra)
{
	struct mount_env e = env;
	e.imap_port = proxy_port(p);
	memset(m, 0, sizeof *m);
	mount_start(&e, m, name, extra);
}

static struct proxy *proxy_new(void)
{
	struct buf err = BUF_INIT;
	struct proxy *p = proxy_start(dc.imap_port, 0, &err);
	ck_assert_msg(p, "%s", err.data);
	buf_free(&err);
	return p;
}

static unsigned logins(struct proxy *p)
{
	return proxy_commands(p, "LOGIN", NULL) + proxy_commands(p, "AUTHENTICATE", NULL);
}

struct want_logins {
	struct proxy *p;
	unsigned n;
};

static bool logged_in(void *ctx)
{
	struct want_logins *w = ctx;
	return logins(w->p) >= w->n;
}

/* Polls cond every 50 ms for up to ms. */
static bool happens(int ms, bool (*cond)(void *), void *ctx)
{
	for (int waited = 0;; waited += 50) {
		if (cond(ctx))
			return true;
		if (waited >= ms)
			return false;
		usleep(50 * 1000);
	}
}

/* All four connections log in at mount, before anything is read (nowatch:
 * no IDLE connection either), and the reads after use them: no login
 * more. */
START_TEST(test_every_connection_logs_in_at_mount)
{
	struct proxy *p = proxy_new();
	struct fsmount m;
	mount_via(&m, p, "logins", "connections=4,nowatch");
	struct want_logins w = { p, 4 };
	ck_assert_msg(happens(HAPPENS_WITHIN_MS, logged_in, &w),
		      "%u login(s) after the mount, not one per connection (4)", logins(p));
	struct buf out = BUF_INIT;
	ck_assert_int_eq(mount_sh(&out, "cd '%s' && for f in *; do grep -r -l . \"$f\" > /dev/null & done; wait; "
				  "grep -r -l . . | wc -l", m.dir), 0);
	ck_assert_uint_gt(strtoul(out.data, NULL, 10), 0);
	ck_assert_uint_eq(logins(p), 4);
	buf_free(&out);
	mount_stop(&m);
	proxy_stop(p);
}
END_TEST

static void add_tests(TCase *tc)
{
	tcase_add_test(tc, test_every_connection_logs_in_at_mount);
}

int main(void)
{
	return mount_test_main("check_mount_latency", &dc, &env, add_tests, 240);
}
