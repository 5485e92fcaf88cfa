/* check_fresh_util.c: mounts on a private Dovecot and a second
 * connection to it, for the parts of check_fresh: the second connection
 * changes the mail elsewhere, and what the mount shows is compared with
 * what the server holds afterwards, never taken on trust. */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check_fresh_util.h"
#include "clock.h"
#include "harness_os.h"

/* ---- helpers ---- */

/* The shared environment, pointed at another Dovecot. */
static struct mount_env env_for(const struct dovecot *d)
{
	struct mount_env e = env;
	e.imap_port = d->imap_port;
	return e;
}

void mount_on(struct fsmount *m, const struct dovecot *d, const char *name, const char *extra)
{
	memset(m, 0, sizeof *m);
	struct mount_env e = env_for(d);
	mount_start(&e, m, name, extra);
}

struct imap *second_to(const struct dovecot *d)
{
	return harness_login(d->imap_port, "alice");
}

bool same_bytes(const struct buf *b, const void *p, size_t n)
{
	return b->len == n && (!n || !memcmp(b->data, p, n));
}

/* The next UID of mailbox, by STATUS. */
static unsigned uidnext(struct imap *s, const char *mailbox)
{
	struct imap_result r = { .n = 0 };
	ck_assert_int_eq(imap_status(s, mailbox, "(UIDNEXT)", &r), 0);
	ck_assert_str_eq(r.type, "OK");
	const char *p = strstr(r.items[0].text.data, "UIDNEXT ");
	ck_assert_ptr_nonnull(p);
	unsigned v = (unsigned)strtoul(p + 8, NULL, 10);
	imap_result_free(&r);
	return v;
}

/* Appends msg and returns its UID. */
unsigned append(struct imap *s, const char *mailbox, const void *msg, size_t len)
{
	unsigned uid = uidnext(s, mailbox);
	struct imap_result r = { .n = 0 };
	ck_assert_int_eq(imap_append(s, mailbox, NULL, NULL, msg, len, &r), 0);
	ck_assert_str_eq(r.type, "OK");
	imap_result_free(&r);
	return uid;
}

void expunge_uid(struct imap *s, const char *mailbox, unsigned uid)
{
	struct imap_result r = { .n = 0 };
	ck_assert_int_eq(imap_select(s, mailbox, false, &r), 0);
	char set[16];
	snprintf(set, sizeof set, "%u", uid);
	const char *store[] = { set, "+FLAGS.SILENT", "(\\Deleted)" };
	ck_assert_int_eq(imap_uid(s, "STORE", store, 3, &r), 0);
	const char *ex[] = { set };
	ck_assert_int_eq(imap_uid(s, "EXPUNGE", ex, 1, &r), 0);
	ck_assert_str_eq(r.type, "OK");
	ck_assert_int_eq(imap_close_mailbox(s, &r), 0);
	imap_result_free(&r);
}

void imap_call_ok(int rc, struct imap_result *r)
{
	ck_assert_int_eq(rc, 0);
	ck_assert_msg(!strcmp(r->type, "OK"), "%s", r->type);
	imap_result_free(r);
}

/* The server's UIDs of mailbox, ascending, as "1 2 3". */
void server_uids(struct imap *s, const char *mailbox, struct buf *out)
{
	struct imap_result r = { .n = 0 };
	ck_assert_int_eq(imap_select(s, mailbox, true, &r), 0);
	const char *args[] = { "ALL" };
	ck_assert_int_eq(imap_uid(s, "SEARCH", args, 1, &r), 0);
	buf_reset(out);
	buf_addstr(out, r.n && r.items[0].text.data ? r.items[0].text.data : "");
	ck_assert_int_eq(imap_close_mailbox(s, &r), 0);
	imap_result_free(&r);
}

static int cmp_uint(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	return x < y ? -1 : x > y;
}

/* The UIDs the mount shows in dir, as "1 2 3". */
void mount_uids(const char *dir, struct buf *out)
{
	unsigned v[4096];
	size_t n = 0;
	DIR *d = opendir(dir);
	ck_assert_msg(d != NULL, "%s: %s", dir, strerror(errno));
	struct dirent *de;
	while ((de = readdir(d)) && n < sizeof v / sizeof v[0])
		if (de->d_type == DT_REG)
			v[n++] = (unsigned)strtoul(de->d_name, NULL, 10);
	closedir(d);
	qsort(v, n, sizeof v[0], cmp_uint);
	buf_reset(out);
	for (size_t i = 0; i < n; i++)
		buf_addf(out, "%s%u", i ? " " : "", v[i]);
}

bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* Polls cond(ctx) every 100 ms for up to ms. */
bool within(int ms, bool (*cond)(void *ctx), void *ctx)
{
	long long end = clock_ms() + ms;
	do {
		if (cond(ctx))
			return true;
		os_sleep_ms(100);
	} while (clock_ms() < end);
	return cond(ctx);
}

bool path_exists(void *p)
{
	return exists(p);
}

bool path_gone(void *p)
{
	return !exists(p) && errno == ENOENT;
}
bool reads_as(void *p)
{
	struct reads_as *ra = p;
	struct buf b = BUF_INIT;
	bool ok = mount_slurp(ra->path, &b) == 0 && same_bytes(&b, ra->want, ra->len);
	buf_free(&b);
	return ok;
}
void big_message(struct buf *out, size_t size, unsigned seed)
{
	buf_addf(out, "Subject: big %u\r\n\r\n", seed);
	while (out->len < size)
		buf_addf(out, "line %zu of a big message, seed %u, to be read whole\r\n", out->len, seed);
}
