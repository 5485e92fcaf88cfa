/* check_cyrus.c: the imaplib layer against a real, private Cyrus IMAP 3.6:
 * SETANNOTATION/GETANNOTATION (which Dovecot lacks) read back on another
 * connection and by another user, Cyrus's quoting rules for them, ACL and
 * MYRIGHTS seen from both sides, QUOTA refused to a user and granted to the
 * admin, and the harness leaving nothing behind, also when the process that
 * started Cyrus dies without exiting.  And a real imapfs mount: a message
 * copied in reads back as Cyrus stores it (8-bit header bytes munged), not
 * as it was written, also after a remount.
 *
 * Results are compared as the Python repr imaplib's caller would print. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "check_run.h"
#include "harness_cyrus.h"
#include "harness_mount.h"
#include "harness_os.h"
#include "imap.h"
#include "imaplib.h"

#define WAIT_MS 20000  /* generous bound for things that happen by themselves */

static struct cyrus cy;
static struct mount_env env;  /* mounts of alice's account on cy */

static struct imap *connect_as(const struct cyrus *c, const char *user)
{
	struct imap_opts o = { .timeout_ms = 20000, .allow_plaintext = true };
	struct buf err = BUF_INIT;
	struct imap *s;
	char port[16];
	snprintf(port, sizeof port, "%d", c->port);
	ck_assert_msg(imap_open(&s, "127.0.0.1", port, &o, &err) == IMAP_OK, "connect: %s", err.data);
	struct imap_result r = { .n = 0 };
	ck_assert_msg(imap_login(s, user, CYRUS_PASSWORD, &r) == IMAP_OK, "login %s: %s", user,
		      imap_errmsg(s));
	ck_assert_str_eq(r.type, "OK");
	imap_result_free(&r);
	buf_free(&err);
	return s;
}

static struct imap *login(const char *user)
{
	return connect_as(&cy, user);
}

/* Asserts the call returned normally and the result reads exactly want. */
#define ck_assert_result(call, r, want)                                                 \
	do {                                                                            \
		int rc_ = (call);                                                       \
		struct buf repr_ = BUF_INIT;                                            \
		imap_result_repr((r), &repr_);                                          \
		ck_assert_msg(rc_ == IMAP_OK, "%s returned %d: %s", #call, rc_, repr_.data); \
		ck_assert_str_eq(repr_.data, (want));                                   \
		buf_free(&repr_);                                                       \
	} while (0)

/* CREATE's answer carries a random MAILBOXID, so only its type is fixed. */
static void create_mailbox(struct imap *s, const char *name)
{
	struct imap_result r = { .n = 0 };
	ck_assert_int_eq(imap_create(s, name, &r), IMAP_OK);
	ck_assert_msg(strcmp(r.type, "OK") == 0, "CREATE %s: %s", name, r.n ? r.items[0].text.data : "");
	imap_result_free(&r);
}

START_TEST(test_annotation_set_then_get_elsewhere)
{
	struct imap *s = login(CYRUS_USER);
	struct imap_result r = { .n = 0 };
	/* Cyrus wants both the entry and the attribute as quoted strings;
	 * imaplib (and so imap_setannotation) passes them through as given. */
	const char *set[] = { "INBOX", "\"/comment\"", "(\"value.priv\" \"x\")" };
	ck_assert_result(imap_setannotation(s, set, 3, &r), &r, "('OK', [None])");
	ck_assert_result(imap_logout(s, &r), &r, "('BYE', [b'LOGOUT received'])");
	imap_close(s);

	/* A second connection sees the stored value. */
	s = login(CYRUS_USER);
	ck_assert_result(imap_getannotation(s, "INBOX", "\"/comment\"", "\"value.priv\"", &r), &r,
			 "('OK', [b'INBOX \"/comment\" (\"value.priv\" \"x\")'])");

	/* A shared value set by the admin sits beside alice's private one,
	 * and the admin does not see alice's private value. */
	struct imap *admin = login(CYRUS_ADMIN);
	const char *shared[] = { "user.alice", "\"/comment\"", "(\"value.shared\" \"from admin\")" };
	ck_assert_result(imap_setannotation(admin, shared, 3, &r), &r, "('OK', [None])");
	ck_assert_result(imap_getannotation(admin, "user.alice", "\"/comment\"", "\"value.priv\"", &r),
			 &r, "('OK', [b'user.alice \"/comment\" (\"value.priv\" NIL)'])");
	ck_assert_result(imap_getannotation(s, "INBOX", "\"/comment\"",
					    "(\"value.priv\" \"value.shared\")", &r), &r,
			 "('OK', [b'INBOX \"/comment\" (\"value.shared\" \"from admin\" "
			 "\"value.priv\" \"x\")'])");

	/* NIL removes a value. */
	const char *unset[] = { "INBOX", "\"/comment\"", "(\"value.priv\" NIL)" };
	ck_assert_result(imap_setannotation(s, unset, 3, &r), &r, "('OK', [None])");
	const char *unshare[] = { "user.alice", "\"/comment\"", "(\"value.shared\" NIL)" };
	ck_assert_result(imap_setannotation(admin, unshare, 3, &r), &r, "('OK', [None])");
	ck_assert_result(imap_getannotation(s, "INBOX", "\"/comment\"", "\"value.priv\"", &r), &r,
			 "('OK', [b'INBOX \"/comment\" (\"value.priv\" NIL)'])");
	ck_assert_result(imap_getannotation(s, "INBOX", "\"/comment\"", "\"value.shared\"", &r), &r,
			 "('OK', [b'INBOX \"/comment\" (\"value.shared\" NIL)'])");
	imap_result_free(&r);
	imap_close(admin);
	imap_close(s);
}
END_TEST

START_TEST(test_annotation_quoting_rules)
{
	struct imap *s = login(CYRUS_USER);
	struct imap_result r = { .n = 0 };
	/* Unquoted, "/comment" is an atom, which Cyrus does not take. */
	ck_assert_int_eq(imap_getannotation(s, "INBOX", "/comment", "value.priv", &r), IMAP_ERROR);
	ck_assert_str_eq(imap_errmsg(s), "GETANNOTATION command error: BAD [b'Missing annotation entry']");
	const char *unquoted[] = { "INBOX", "/comment", "(value.priv x)" };
	ck_assert_int_eq(imap_setannotation(s, unquoted, 3, &r), IMAP_ERROR);
	ck_assert_str_eq(imap_errmsg(s), "SETANNOTATION command error: BAD [b'Missing annotation entry']");
	/* The connection is still usable after BAD.  A value holding quotes
	 * comes back as a literal, which imaplib shows as a (head, literal)
	 * tuple followed by the rest of the line. */
	create_mailbox(s, "INBOX.Quoting");
	const char *quotes[] = { "INBOX.Quoting", "\"/comment\"", "(\"value.priv\" \"say \\\"hi\\\"\")" };
	ck_assert_result(imap_setannotation(s, quotes, 3, &r), &r, "('OK', [None])");
	ck_assert_result(imap_getannotation(s, "INBOX.Quoting", "\"/comment\"", "\"value.priv\"", &r), &r,
			 "('OK', [(b'INBOX.Quoting \"/comment\" (\"value.priv\" {8}', b'say \"hi\"'), b')'])");
	imap_result_free(&r);
	imap_close(s);
}
END_TEST

START_TEST(test_acl_and_myrights_from_both_sides)
{
	struct imap *s = login(CYRUS_USER);
	struct imap *admin = login(CYRUS_ADMIN);
	struct imap_result r = { .n = 0 };
	ck_assert_result(imap_myrights(s, "INBOX", &r), &r, "('OK', [b'INBOX lrswipkxtecdan'])");
	ck_assert_result(imap_getacl(s, "INBOX", &r), &r, "('OK', [b'INBOX alice lrswipkxtecdan'])");

	create_mailbox(s, "INBOX.Acl");
	/* An admin may always list and administer, nothing more. */
	ck_assert_result(imap_myrights(admin, "user.alice.Acl", &r), &r, "('OK', [b'user.alice.Acl la'])");
	ck_assert_result(imap_select(admin, "user.alice.Acl", true, &r), &r,
			 "('NO', [b'Permission denied'])");

	ck_assert_result(imap_setacl(s, "INBOX.Acl", CYRUS_ADMIN, "lrs", &r), &r, "('OK', [b'Completed'])");
	ck_assert_result(imap_getacl(s, "INBOX.Acl", &r), &r,
			 "('OK', [b'INBOX.Acl alice lrswipkxtecdan admin lrs'])");
	ck_assert_result(imap_myrights(admin, "user.alice.Acl", &r), &r, "('OK', [b'user.alice.Acl lrsa'])");
	ck_assert_result(imap_select(admin, "user.alice.Acl", true, &r), &r, "('OK', [b'0'])");
	ck_assert_result(imap_close_mailbox(admin, &r), &r, "('OK', [b'Completed'])");

	/* A right Cyrus does not know is a BAD, which imaplib raises. */
	ck_assert_int_eq(imap_setacl(s, "INBOX.Acl", CYRUS_ADMIN, "z", &r), IMAP_ERROR);
	ck_assert_str_eq(imap_errmsg(s), "SETACL command error: BAD [b'The z right is not supported']");

	/* "-s" takes one right away; DELETEACL takes the entry away. */
	ck_assert_result(imap_setacl(s, "INBOX.Acl", CYRUS_ADMIN, "-s", &r), &r, "('OK', [b'Completed'])");
	ck_assert_result(imap_getacl(s, "INBOX.Acl", &r), &r,
			 "('OK', [b'INBOX.Acl alice lrswipkxtecdan admin lr'])");
	ck_assert_result(imap_deleteacl(s, "INBOX.Acl", CYRUS_ADMIN, &r), &r, "('OK', [b'Completed'])");
	ck_assert_result(imap_getacl(s, "INBOX.Acl", &r), &r, "('OK', [b'INBOX.Acl alice lrswipkxtecdan'])");
	ck_assert_result(imap_myrights(admin, "user.alice.Acl", &r), &r, "('OK', [b'user.alice.Acl la'])");
	ck_assert_result(imap_myrights(s, "INBOX.Missing", &r), &r, "('NO', [b'Mailbox does not exist'])");
	imap_result_free(&r);
	imap_close(admin);
	imap_close(s);
}
END_TEST

START_TEST(test_quota_is_the_admins)
{
	struct imap *s = login(CYRUS_USER);
	struct imap *admin = login(CYRUS_ADMIN);
	struct imap_result r = { .n = 0 };
	ck_assert_result(imap_getquotaroot(s, "INBOX", &r), &r, "('OK', [[b'INBOX'], [None]])");
	/* GETQUOTA and SETQUOTA are for admins only in Cyrus. */
	ck_assert_result(imap_getquota(s, "user.alice", &r), &r, "('NO', [b'Permission denied'])");
	ck_assert_result(imap_setquota(s, "user.alice", "(STORAGE 5000)", &r), &r,
			 "('NO', [b'Permission denied'])");
	ck_assert_result(imap_getquota(admin, "user.alice", &r), &r, "('NO', [b'Quota root does not exist'])");

	ck_assert_result(imap_setquota(admin, "user.alice", "(STORAGE 1000)", &r), &r, "('OK', [None])");
	ck_assert_result(imap_getquota(admin, "user.alice", &r), &r, "('OK', [b'user.alice (STORAGE 0 1000)'])");
	ck_assert_result(imap_getquotaroot(admin, "user.alice", &r), &r,
			 "('OK', [[b'user.alice user.alice'], [b'user.alice (STORAGE 0 1000)']])");
	/* alice sees the limit through her own names, for every folder below
	 * the root, on a connection opened before it was set. */
	ck_assert_result(imap_getquotaroot(s, "INBOX", &r), &r,
			 "('OK', [[b'INBOX INBOX'], [b'INBOX (STORAGE 0 1000)']])");
	create_mailbox(s, "INBOX.Quota");
	ck_assert_result(imap_getquotaroot(s, "INBOX.Quota", &r), &r,
			 "('OK', [[b'INBOX.Quota INBOX'], [b'INBOX (STORAGE 0 1000)']])");
	ck_assert_result(imap_getquota(s, "user.alice", &r), &r, "('NO', [b'Permission denied'])");
	imap_result_free(&r);
	imap_close(admin);
	imap_close(s);
}
END_TEST

/* Syslog lines arrive through the watchdog, so they are awaited (bounded). */
static bool log_contains(const struct cyrus *c, const char *needle)
{
	struct buf tail = BUF_INIT;
	bool found = false;
	for (int waited = 0; !found && waited < WAIT_MS; waited += 20) {
		cyrus_log_tail(c, 1 << 20, &tail);
		found = strstr(tail.data, needle) != NULL;
		if (!found)
			os_sleep_ms(20);
	}
	buf_free(&tail);
	return found;
}

/* The one message of mailbox, as the server stores it: its UID. */
static uint32_t only_message(struct imap *s, const char *mailbox, struct buf *bytes)
{
	struct imap_result r = { .n = 0 };
	ck_assert_int_eq(imap_select(s, mailbox, true, &r), IMAP_OK);
	ck_assert_str_eq(r.type, "OK");
	const char *args[] = { "1:*", "(UID BODY.PEEK[])" };
	ck_assert_int_eq(imap_uid(s, "FETCH", args, 2, &r), IMAP_OK);
	ck_assert_str_eq(r.type, "OK");
	ck_assert_uint_eq(r.n, 2);  /* the message, and imaplib's closing ")" */
	ck_assert(r.items[0].has_lit);
	const char *uid = strstr(r.items[0].text.data, "UID ");
	ck_assert_ptr_nonnull(uid);
	buf_set(bytes, r.items[0].lit.data, r.items[0].lit.len);
	uint32_t v = (uint32_t)strtoul(uid + 4, NULL, 10);
	imap_result_free(&r);
	return v;
}

static void read_through(const struct fsmount *m, const char *rel, struct buf *out)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", m->dir, rel);
	buf_reset(out);
	ck_assert_msg(mount_slurp(path, out) == 0, "%s: %s", path, strerror(errno));
}

/* cp of a message with a raw 8-bit header into the mount: Cyrus stores
 * its header bytes as 'X'.  Reading it back through the mount, under the
 * name it was written as (which it keeps), gives what the server holds,
 * never the bytes written; so does a new mount on the same cache. */
START_TEST(test_written_message_reads_as_the_server_stores_it)
{
	if (access("/dev/fuse", R_OK | W_OK) != 0) {
		fprintf(stderr, "check_cyrus: no /dev/fuse: the mount test is skipped\n");
		return;
	}
	struct imap *s = login(CYRUS_USER);
	create_mailbox(s, "INBOX.Munge");
	struct fsmount m = { .pid = 0 };
	mount_start(&env, &m, "munge", NULL);
	const char msg[] = "From: me@example.org\r\n"
			   "Subject: Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln\r\n"
			   "\r\n"
			   "Der Text bleibt: \xc3\xa9\r\n";
	char path[512];
	snprintf(path, sizeof path, "%s/INBOX/Munge/gruss.eml", m.dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(write(fd, msg, sizeof msg - 1), (ssize_t)(sizeof msg - 1));
	ck_assert_int_eq(close(fd), 0);

	struct buf server = BUF_INIT, got = BUF_INIT;
	uint32_t uid = only_message(s, "INBOX.Munge", &server);
	ck_assert_uint_eq(server.len, sizeof msg - 1);
	ck_assert_msg(memcmp(server.data, msg, server.len) != 0, "Cyrus stored the bytes unchanged");
	ck_assert_ptr_nonnull(strstr(server.data, "Subject: GrXXXXe aus KXXln\r\n"));
	const char *name = "INBOX/Munge/gruss.eml";  /* the message keeps it */
	snprintf(path, sizeof path, "%s/%s", m.dir, name);
	char v[32];
	ssize_t vn = getxattr(path, "user.imap.uid", v, sizeof v - 1);
	ck_assert_int_gt(vn, 0);
	v[vn] = '\0';
	ck_assert_uint_eq(strtoul(v, NULL, 10), uid);
	read_through(&m, name, &got);
	ck_assert_uint_eq(got.len, server.len);
	ck_assert_msg(!memcmp(got.data, server.data, server.len), "the name written serves: %s", got.data);
	mount_stop(&m);

	mount_start(&env, &m, "munge", NULL);  /* the same cache */
	read_through(&m, name, &got);
	ck_assert_uint_eq(got.len, server.len);
	ck_assert_msg(!memcmp(got.data, server.data, server.len), "after a remount: %s", got.data);
	mount_stop(&m);
	struct imap_result r = { .n = 0 };
	ck_assert_int_eq(imap_delete(s, "INBOX.Munge", &r), IMAP_OK);
	ck_assert_str_eq(r.type, "OK");
	imap_result_free(&r);
	imap_close(s);
	buf_free(&server);
	buf_free(&got);
}
END_TEST

START_TEST(test_log_captures_syslog)
{
	if (!cy.syslog_captured) {
		fprintf(stderr, "check_cyrus: no private mount namespace here: syslog not captured, "
			"nothing to check\n");
		return;
	}
	struct imap_opts o = { .timeout_ms = 20000, .allow_plaintext = true };
	struct buf err = BUF_INIT;
	struct imap *s;
	struct imap_result r = { .n = 0 };
	char port[16];
	snprintf(port, sizeof port, "%d", cy.port);
	ck_assert_int_eq(imap_open(&s, "127.0.0.1", port, &o, &err), IMAP_OK);
	ck_assert_int_eq(imap_login(s, CYRUS_USER, "not-the-password", &r), IMAP_ERROR);
	ck_assert_msg(log_contains(&cy, "badlogin: "), "no badlogin line in %s", cy.log);
	imap_result_free(&r);
	imap_close(s);
	buf_free(&err);
}
END_TEST

static void read_all(int fd, void *p, size_t n)
{
	char *q = p;
	while (n > 0) {
		ssize_t got = read(fd, q, n);
		if (got < 0 && errno == EINTR)
			continue;
		ck_assert_int_gt(got, 0);
		q += got;
		n -= (size_t)got;
	}
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* Waits (bounded) until nothing of the instance runs, reaping what was
 * handed to us as the subreaper. */
static int wait_all_gone(const struct cyrus *c)
{
	int n = cyrus_count_processes(c);
	for (int waited = 0; n != 0 && waited < WAIT_MS; waited += 20) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		os_sleep_ms(20);
		n = cyrus_count_processes(c);
	}
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	return n;
}

START_TEST(test_nothing_left_after_stop_or_crash)
{
	/* A starter that dies without exiting, as a failed Check test does:
	 * its watchdog must stop Cyrus.  Orphans come to us to be reaped. */
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	pid_t starter = fork();
	ck_assert_int_ge(starter, 0);
	if (starter == 0) {
		struct cyrus c;
		struct buf e = BUF_INIT;
		close(p[0]);
		int rc = cyrus_start(&c, &e);
		if (rc < 0)
			fprintf(stderr, "crash starter: %s\n", e.data);
		if (write(p[1], &c, sizeof c) != (ssize_t)sizeof c)
			rc = -1;
		_exit(rc < 0 ? 1 : 0);
	}
	close(p[1]);
	struct cyrus crashed;
	read_all(p[0], &crashed, sizeof crashed);
	close(p[0]);
	int st;
	ck_assert_int_eq(waitpid(starter, &st, 0), starter);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_int_eq(os_child_wait(crashed.master, WAIT_MS, NULL), 0);
	ck_assert_int_eq(os_child_wait(crashed.watchdog, WAIT_MS, NULL), 0);
	ck_assert_int_eq(wait_all_gone(&crashed), 0);
	ck_assert(!os_port_accepts(crashed.port));

	/* The next start sweeps its directory away; a stop leaves nothing. */
	struct cyrus c;
	struct buf err = BUF_INIT;
	ck_assert_msg(cyrus_start(&c, &err) == 0, "cyrus_start: %s", err.data);
	ck_assert(!exists(crashed.dir));
	ck_assert_int_gt(cyrus_count_processes(&c), 0);
	ck_assert(os_alive(c.master));
	ck_assert(os_alive(c.watchdog));
	ck_assert(os_port_accepts(c.port));
	struct imap *s = connect_as(&c, CYRUS_USER);
	struct imap_result r = { .n = 0 };
	ck_assert_result(imap_select(s, "INBOX", false, &r), &r, "('OK', [b'0'])");
	imap_result_free(&r);
	imap_close(s);

	struct cyrus stopped = c;
	ck_assert_msg(cyrus_stop(&c, &err) == 0, "cyrus_stop: %s", err.data);
	ck_assert(!c.running);
	ck_assert(!os_alive(stopped.master));
	ck_assert(!os_alive(stopped.watchdog));
	ck_assert_int_eq(cyrus_count_processes(&stopped), 0);
	ck_assert(!os_port_accepts(stopped.port));
	ck_assert(!exists(stopped.dir));
	buf_free(&err);
}
END_TEST

int main(void)
{
	cyrus_require_or_skip("check_cyrus");
	struct buf err = BUF_INIT;
	if (cyrus_start(&cy, &err) < 0) {
		fprintf(stderr, "cyrus: %s\n", err.data);
		return EXIT_FAILURE;
	}
	if (mount_env_init(&env) < 0) {
		fprintf(stderr, "check_cyrus: cannot make the mount test's directory\n");
		cyrus_stop(&cy, NULL);
		return EXIT_FAILURE;
	}
	env.imap_port = cy.port;
	Suite *su = suite_create("cyrus");
	TCase *tc = tcase_create("imaplib");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_annotation_set_then_get_elsewhere);
	tcase_add_test(tc, test_annotation_quoting_rules);
	tcase_add_test(tc, test_acl_and_myrights_from_both_sides);
	tcase_add_test(tc, test_quota_is_the_admins);
	tcase_add_test(tc, test_log_captures_syslog);
	suite_add_tcase(su, tc);
	TCase *mount = tcase_create("mount");
	tcase_set_timeout(mount, 120);
	tcase_add_test(mount, test_written_message_reads_as_the_server_stores_it);
	suite_add_tcase(su, mount);
	TCase *life = tcase_create("lifecycle");
	tcase_set_timeout(life, 120);
	tcase_add_test(life, test_nothing_left_after_stop_or_crash);
	suite_add_tcase(su, life);
	int failed = check_run_suite(su);
	if (failed) {
		struct buf tail = BUF_INIT;
		cyrus_log_tail(&cy, 4000, &tail);
		fprintf(stderr, "check_cyrus: the end of %s:\n%s\n", cy.log, tail.data);
		buf_free(&tail);
	}
	failed += mount_env_cleanup(&env);
	if (cyrus_stop(&cy, &err) < 0) {
		fprintf(stderr, "cyrus_stop: %s\n", err.data);
		failed++;
	}
	buf_free(&err);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
