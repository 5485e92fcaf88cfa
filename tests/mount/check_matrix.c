/* check_matrix.c: the server matrix: the same mount checks (check_matrix.h)
 * against Dovecot, Dovecot advertising bare IMAP4rev1, Cyrus, Courier and
 * GNU mailutils imap4d, one TCase each.  Dovecot and Cyrus are private
 * daemons on 127.0.0.1; Courier and mailutils run one session per process
 * (-o command=, PREAUTH) over a store of the test's (harness_piped.h).  A
 * server that cannot run here is left out with one line saying why;
 * without root, Dovecot or /dev/fuse the whole program skips.  mailutils
 * runs on maildir: in mbox mode a folder with messages cannot have
 * sub-folders and stored messages gain X-UID and Status headers, so the
 * tree and byte checks do not apply (harness_piped.h can still make one).
 *
 * Run it alone: make check TESTS=tests/mount/check_matrix (as root), or
 * CK_RUN_CASE=courier tests/mount/check_matrix for one server;
 * IMAPFS_MATRIX_LOGS=DIR keeps the imapfs logs there. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "check_matrix.h"
#include "check_run.h"
#include "date.h"
#include "harness.h"
#include "harness_cyrus.h"
#include "harness_piped.h"
#include "harness_srv.h"
#include "imaplib.h"
#include "mutf7.h"

#define PROGRAM "check_matrix"

enum mx_kind { MX_DOVECOT, MX_DOVECOT_BARE, MX_CYRUS, MX_COURIER, MX_MAILUTILS, MX_KINDS };

/* Cyrus's IDLE (without idled), Courier's (without FAM) and imap4d's never
 * report anything: imapfs hears of a change there only at the end of its
 * 30 s IDLE round (and after two such rounds asks every 5 s), which would
 * add half a minute to each server's run, so their mounts poll every 2 s.
 * Bare Dovecot, without IDLE, gets the NOOP every 5 s from the start. */
static const struct mx_server servers[MX_KINDS] = {
	[MX_DOVECOT] = { "dovecot", "", '.', true, false, "", false },
	[MX_DOVECOT_BARE] = { "dovecot_bare", "", '.', false, false, "", false },
	[MX_CYRUS] = { "cyrus", "INBOX.", '.', true, false, "poll=2", true },
	[MX_COURIER] = { "courier", "INBOX.", '.', true, false, "poll=2", false },
	[MX_MAILUTILS] = { "mailutils", "", '/', false, true, "poll=2", false },
};

const struct mx_server *mx;
static struct mount_env env;
static struct dovecot dc;
static struct cyrus cy;
static struct piped pp;
static int tcp_port;            /* Dovecot's or Cyrus's; 0 for a piped server */
static char setup_error[1024];  /* why the TCase's server did not start */

static void mx_fail_setup(const char *what, const struct buf *err)
{
	snprintf(setup_error, sizeof setup_error, "%s: %s", what, err->data ? err->data : "");
}

static void mx_start_dovecot(bool bare)
{
	struct dovecot_opts o = { .bare = bare };
	struct buf err = BUF_INIT;
	mx = &servers[bare ? MX_DOVECOT_BARE : MX_DOVECOT];
	setup_error[0] = '\0';
	if (dovecot_start(&dc, &o, &err) < 0)
		mx_fail_setup("dovecot", &err);
	tcp_port = dc.imap_port;
	buf_free(&err);
}

static void mx_setup_dovecot(void)
{
	mx_start_dovecot(false);
}

static void mx_setup_dovecot_bare(void)
{
	mx_start_dovecot(true);
}

static void mx_teardown_dovecot(void)
{
	dovecot_stop(&dc, NULL);
}

static void mx_setup_cyrus(void)
{
	struct buf err = BUF_INIT;
	mx = &servers[MX_CYRUS];
	setup_error[0] = '\0';
	if (cyrus_start(&cy, &err) < 0)
		mx_fail_setup("cyrus", &err);
	tcp_port = cy.port;
	buf_free(&err);
}

static void mx_teardown_cyrus(void)
{
	cyrus_stop(&cy, NULL);
}

static void mx_start_piped(enum mx_kind kind, enum piped_kind pk)
{
	struct buf err = BUF_INIT;
	mx = &servers[kind];
	setup_error[0] = '\0';
	tcp_port = 0;
	if (piped_make(&pp, pk, &err) < 0)
		mx_fail_setup(mx->name, &err);
	buf_free(&err);
}

static void mx_setup_courier(void)
{
	mx_start_piped(MX_COURIER, PIPED_COURIER);
}

static void mx_setup_mailutils(void)
{
	mx_start_piped(MX_MAILUTILS, PIPED_MAILUTILS);
}

static void mx_teardown_piped(void)
{
	struct buf err = BUF_INIT;
	if (piped_count_processes(&pp) > 0)
		fprintf(stderr, PROGRAM ": %s: sessions left running after the tests\n", mx->name);
	if (piped_remove(&pp, &err) < 0)
		fprintf(stderr, PROGRAM ": %s: %s\n", mx->name, err.data);
	buf_free(&err);
}

/* Runs in each test's process: the server must be there. */
static void mx_require_server(void)
{
	ck_assert_msg(!setup_error[0], "%s", setup_error);
}

/* ---- what the checks share ---- */

void mx_mount(struct fsmount *m, const char *name, const char *extra_opts)
{
	memset(m, 0, sizeof *m);
	snprintf(m->dir, sizeof m->dir, "%s/mnt-%s-%s", env.work, mx->name, name);
	snprintf(m->log, sizeof m->log, "%s/log-%s-%s", env.work, mx->name, name);
	snprintf(m->cache, sizeof m->cache, "%s/cache-%s-%s", env.work, mx->name, name);
	struct buf opts = BUF_INIT, url = BUF_INIT, err = BUF_INIT;
	if (tcp_port) {
		buf_addf(&opts, "tls=none,passfile=%s,", env.passfile);
		buf_addf(&url, "imap://alice@127.0.0.1:%d", tcp_port);
	} else {
		buf_addf(&opts, "command=%s,", pp.command);
		buf_addstr(&url, "imap://localhost");
	}
	buf_addf(&opts, "cachedir=%s", m->cache);
	if (mx->opts[0])
		buf_addf(&opts, ",%s", mx->opts);
	if (extra_opts)
		buf_addf(&opts, ",%s", extra_opts);
	int rc = mount_run(&env, m, opts.data, url.data, &err);
	ck_assert_msg(rc == -1, "imapfs exited %d: %s", rc, err.data);
	buf_free(&opts);
	buf_free(&url);
	buf_free(&err);
}

struct imap *mx_second(void)
{
	return tcp_port ? harness_login(tcp_port, "alice") : piped_second(&pp);
}

void mx_close(struct imap *s)
{
	struct imap_result r = { .n = 0 };
	imap_logout(s, &r);
	imap_result_free(&r);
	imap_close(s);
}

void mx_begin(struct mx_case *c, const char *rel, unsigned n, const char *name, const char *extra_opts)
{
	c->s = mx_second();
	mx_seed(c->s, rel, n, name);
	mx_mount(&c->m, name, extra_opts);
}

void mx_end(struct mx_case *c)
{
	if (c->m.pid)  /* not stopped by the check already */
		mount_stop(&c->m);
	mx_close(c->s);
}

void mx_assert_file_is(const char *path, const struct buf *want)
{
	struct buf got = BUF_INIT;
	ck_assert_msg(mount_slurp(path, &got) == 0, "%s: %s", path, strerror(errno));
	ck_assert_msg(got.len == want->len && memcmp(got.data, want->data, got.len) == 0,
		      "%s: %zu bytes read, %zu expected", path, got.len, want->len);
	buf_free(&got);
}

void mx_assert_file_is_message(struct imap *s, const char *rel, uint32_t uid, const char *path)
{
	struct buf want = BUF_INIT;
	mx_body(s, rel, uid, &want);
	mx_assert_file_is(path, &want);
	buf_free(&want);
}

void mx_imap_name(const char *rel, char *out, size_t size)
{
	struct buf name = BUF_INIT, enc = BUF_INIT, err = BUF_INIT;
	buf_addstr(&name, mx->prefix);
	for (const char *p = rel; *p; p++)
		buf_addch(&name, *p == '/' ? mx->sep : *p);
	ck_assert_msg(mutf7_from_utf8(name.data, name.len, &enc, &err) == 0, "%s", err.data);
	ck_assert_uint_lt(enc.len, size);
	memcpy(out, enc.data, enc.len + 1);
	buf_free(&name);
	buf_free(&enc);
	buf_free(&err);
}

/* The prefix "INBOX." is the directory INBOX on the mount. */
void mx_path(const struct fsmount *m, const char *rel, const char *file, char *out, size_t size)
{
	int n = snprintf(out, size, "%s/%s%s%s%s", m->dir, mx->prefix[0] ? "INBOX/" : "", rel,
			 file ? "/" : "", file ? file : "");
	ck_assert(n > 0 && (size_t)n < size);
}

static void mx_create(struct imap *s, const char *rel)
{
	char name[256];
	mx_imap_name(rel, name, sizeof name);
	struct imap_result r = { .n = 0 };
	srv_ok(imap_create(s, name, &r), &r, name);
	imap_result_free(&r);
}

void mx_seed(struct imap *s, const char *rel, unsigned n, const char *tag)
{
	char name[256], parent[256];
	const char *slash = strrchr(rel, '/');
	if (slash) {  /* the parent may be there already */
		snprintf(parent, sizeof parent, "%.*s", (int)(slash - rel), rel);
		if (!mx_listed(s, parent))
			mx_create(s, parent);
	}
	mx_create(s, rel);
	mx_imap_name(rel, name, sizeof name);
	for (unsigned i = 1; i <= n; i++) {
		struct buf msg = BUF_INIT;
		time_t when = 1700000000 + (time_t)i * 86400;
		char day[64];
		strftime(day, sizeof day, "%a, %d %b %Y %H:%M:%S +0000", gmtime(&when));
		buf_addf(&msg, "From: matrix@example.org\r\nTo: alice@example.org\r\n"
			 "Subject: %s %u\r\nDate: %s\r\nMessage-ID: <%s-%u@matrix.example.org>\r\n\r\n"
			 "Message %u of %s, matrix-%s-%u.\r\nA second line.\r\n",
			 tag, i, day, tag, i, i, rel, tag, i);
		strftime(day, sizeof day, "\"%d-%b-%Y %H:%M:%S +0000\"", gmtime(&when));
		struct imap_result r = { .n = 0 };
		srv_ok(imap_append(s, name, NULL, day, msg.data, msg.len, &r), &r, "APPEND");
		imap_result_free(&r);
		buf_free(&msg);
	}
	srv_select(s, name, false);
}

size_t mx_uids(struct imap *s, const char *rel, uint32_t *uids, size_t max)
{
	char name[256];
	mx_imap_name(rel, name, sizeof name);
	/* mailutils' maildir numbers a message in new/ anew in each read-only
	 * session until one opens the folder read-write */
	srv_select(s, name, false);
	return srv_uids(s, name, uids, max);
}

void mx_body(struct imap *s, const char *rel, uint32_t uid, struct buf *out)
{
	char name[256];
	mx_imap_name(rel, name, sizeof name);
	srv_fetch(s, name, uid, "BODY.PEEK[]", NULL, out);
}

void mx_meta(struct imap *s, const char *rel, uint32_t uid, uint64_t *size, int64_t *date,
	     struct buf *flags)
{
	char name[256];
	struct buf text = BUF_INIT;
	mx_imap_name(rel, name, sizeof name);
	srv_fetch(s, name, uid, "(RFC822.SIZE INTERNALDATE FLAGS)", &text, NULL);
	const char *sz = strstr(text.data, "RFC822.SIZE ");
	const char *id = strstr(text.data, "INTERNALDATE \"");
	const char *fl = strstr(text.data, "FLAGS (");
	ck_assert_msg(sz && id && fl, "FETCH said: %s", text.data);
	if (size)
		*size = strtoull(sz + 12, NULL, 10);
	time_t t = 0;
	ck_assert_msg(strlen(id + 14) >= 26 && imap_internaldate_parse(id + 14, 26, &t) == 0,
		      "INTERNALDATE in: %s", text.data);
	if (date)
		*date = (int64_t)t;
	if (flags)
		buf_add(flags, fl + 7, strcspn(fl + 7, ")"));
	buf_free(&text);
}

bool mx_listed(struct imap *s, const char *rel)
{
	char name[256];
	struct buf list = BUF_INIT;
	mx_imap_name(rel, name, sizeof name);
	srv_list(s, &list);
	bool found = srv_listed(&list, name);
	buf_free(&list);
	return found;
}

/* ---- the suite ---- */

struct mx_suite_case {
	enum mx_kind kind;
	void (*setup)(void);
	void (*teardown)(void);
	int (*usable)(struct buf *why);
};

static int mx_dovecot_usable(struct buf *why)
{
	return dovecot_usable(why);
}

static int mx_courier_usable(struct buf *why)
{
	return piped_usable(PIPED_COURIER, why);
}

static int mx_mailutils_usable(struct buf *why)
{
	return piped_usable(PIPED_MAILUTILS, why);
}

static const struct mx_suite_case cases[] = {
	{ MX_DOVECOT, mx_setup_dovecot, mx_teardown_dovecot, mx_dovecot_usable },
	{ MX_DOVECOT_BARE, mx_setup_dovecot_bare, mx_teardown_dovecot, mx_dovecot_usable },
	{ MX_CYRUS, mx_setup_cyrus, mx_teardown_cyrus, cyrus_usable },
	{ MX_COURIER, mx_setup_courier, mx_teardown_piped, mx_courier_usable },
	{ MX_MAILUTILS, mx_setup_mailutils, mx_teardown_piped, mx_mailutils_usable },
};

int main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, PROGRAM ": SKIP: needs root for FUSE mounts and private servers\n");
		return HARNESS_EXIT_SKIP;
	}
	dovecot_require_or_skip(PROGRAM);
	if (access("/dev/fuse", R_OK | W_OK) != 0) {
		fprintf(stderr, PROGRAM ": SKIP: no /dev/fuse\n");
		return HARNESS_EXIT_SKIP;
	}
	if (mount_env_init(&env) < 0)
		return EXIT_FAILURE;
	Suite *su = suite_create(PROGRAM);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *name = servers[cases[i].kind].name;
		struct buf why = BUF_INIT;
		if (cases[i].usable(&why) < 0) {
			fprintf(stderr, PROGRAM ": %s skipped: %s\n", name, why.data);
			buf_free(&why);
			continue;
		}
		buf_free(&why);
		TCase *tc = tcase_create(name);
		tcase_set_timeout(tc, 120);
		tcase_add_unchecked_fixture(tc, cases[i].setup, cases[i].teardown);
		tcase_add_checked_fixture(tc, mx_require_server, NULL);
		mx_add_read_tests(tc);
		mx_add_write_tests(tc);
		suite_add_tcase(su, tc);
	}
	int failed = check_run_suite(su);
	/* the imapfs logs (with -d, IMAPFS_DAEMON_WRAPPER's business) for a report */
	const char *keep = getenv("IMAPFS_MATRIX_LOGS");
	if (keep && *keep) {
		char cmd[1024];
		snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp '%s'/log-* '%s'/", keep, env.work, keep);
		if (system(cmd) != 0)
			fprintf(stderr, PROGRAM ": could not keep the logs in %s\n", keep);
	}
	failed += mount_env_cleanup(&env);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
