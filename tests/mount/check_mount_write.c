/* check_mount_write.c: the write path through a real mount over a private
 * Dovecot, every effect checked on the server through a second IMAP
 * connection: rm, mv between folders, mkdir/rmdir/rename with UTF-8
 * names, cp of small and 20 MiB messages, flags as xattrs, -o ro refusing
 * everything, and a refused APPEND (quota) keeping the bytes; writing over
 * a message is check_mount_write_over.c's. */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "date.h"
#include "harness.h"
#include "harness_mount.h"
#include "harness_srv.h"
#include "imap.h"
#include "check_mount_write.h"
#include "imaplib.h"
#include "xalloc.h"

static struct dovecot dc;
struct mount_env env;

void path_of(struct buf *out, const struct fsmount *m, const char *rel)
{
	buf_reset(out);
	buf_addf(out, "%s/%s", m->dir, rel);
}

bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* ---- tests ---- */

START_TEST(test_rm_expunges_that_message_only)
{
	struct imap *s = mount_second(&env, "alice");
	srv_folder(s, "RmTest", 3);
	/* another client's \Deleted message must survive our rm */
	srv_select(s, "RmTest", false);
	struct imap_result r = { .n = 0 };
	srv_ok(imap_store(s, "3", "+FLAGS", "(\\Deleted)", &r), &r, "STORE");
	imap_result_free(&r);
	struct fsmount m = { .pid = 0 };
	mount_start(&env, &m, "rm", NULL);
	struct buf p = BUF_INIT;
	path_of(&p, &m, "RmTest/2.eml");
	ck_assert_int_eq(unlink(p.data), 0);
	ck_assert(!exists(p.data));
	path_of(&p, &m, "RmTest");
	ck_assert_uint_eq(mount_count_files(p.data), 2);
	uint32_t uids[8];
	ck_assert_uint_eq(srv_uids(s, "RmTest", uids, 8), 2);
	ck_assert_uint_eq(uids[0], 1);
	ck_assert_uint_eq(uids[1], 3);
	/* gone already: ENOENT, nothing else touched */
	path_of(&p, &m, "RmTest/2.eml");
	ck_assert_int_eq(unlink(p.data), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_uint_eq(srv_uids(s, "RmTest", uids, 8), 2);
	buf_free(&p);
	imap_close(s);
	mount_stop(&m);
}
END_TEST

START_TEST(test_mv_between_folders)
{
	struct imap *s = mount_second(&env, "alice");
	srv_folder(s, "MvFrom", 3);
	srv_folder(s, "MvTo", 1);
	struct buf orig = BUF_INIT, moved = BUF_INIT, p = BUF_INIT, q = BUF_INIT;
	srv_fetch(s, "MvFrom", 2, "(BODY.PEEK[])", NULL, &orig);
	struct fsmount m = { .pid = 0 };
	mount_start(&env, &m, "mv", NULL);
	path_of(&q, &m, "MvTo");
	ck_assert_uint_eq(mount_count_files(q.data), 1);  /* the listing is loaded before */
	path_of(&p, &m, "MvFrom/2.eml");
	path_of(&q, &m, "MvTo/");
	buf_addstr(&q, "2.eml");
	ck_assert_msg(rename(p.data, q.data) == 0, "rename: %s", strerror(errno));
	ck_assert(!exists(p.data));
	uint32_t uids[8];
	ck_assert_uint_eq(srv_uids(s, "MvFrom", uids, 8), 2);
	ck_assert_uint_eq(srv_uids(s, "MvTo", uids, 8), 2);
	srv_fetch(s, "MvTo", uids[1], "(BODY.PEEK[])", NULL, &moved);
	ck_assert_uint_eq(moved.len, orig.len);
	ck_assert(!memcmp(moved.data, orig.data, orig.len));
	/* it shows in the target under the name it was moved to, with the
	 * same bytes, and user.imap.uid tells its new UID */
	path_of(&q, &m, "MvTo/2.eml");
	buf_reset(&moved);
	ck_assert_msg(mount_slurp(q.data, &moved) == 0, "%s: %s", q.data, strerror(errno));
	ck_assert_uint_eq(moved.len, orig.len);
	ck_assert(!memcmp(moved.data, orig.data, orig.len));
	char v[32];
	ssize_t vn = getxattr(q.data, "user.imap.uid", v, sizeof v - 1);
	ck_assert_int_gt(vn, 0);
	v[vn] = '\0';
	ck_assert_uint_eq(strtoul(v, NULL, 10), uids[1]);
	/* a rename within a folder only names the message: the server keeps
	 * it as it was, and the old name goes */
	path_of(&p, &m, "MvFrom/1.eml");
	path_of(&q, &m, "MvFrom/Kept name.eml");
	ck_assert_msg(rename(p.data, q.data) == 0, "rename: %s", strerror(errno));
	ck_assert(!exists(p.data));
	ck_assert_uint_eq(srv_uids(s, "MvFrom", uids, 8), 2);
	ck_assert_uint_eq(uids[0], 1);
	buf_reset(&moved);
	ck_assert_int_eq(mount_slurp(q.data, &moved), 0);
	struct buf first = BUF_INIT;
	srv_fetch(s, "MvFrom", 1, "(BODY.PEEK[])", NULL, &first);
	ck_assert(moved.len == first.len && !memcmp(moved.data, first.data, first.len));
	buf_free(&first);
	buf_free(&orig);
	buf_free(&moved);
	buf_free(&p);
	buf_free(&q);
	imap_close(s);
	mount_stop(&m);
}
END_TEST

START_TEST(test_mkdir_rmdir_rename_utf8)
{
	struct imap *s = mount_second(&env, "alice");
	struct fsmount m = { .pid = 0 };
	mount_start(&env, &m, "dirs", NULL);
	struct buf p = BUF_INIT, q = BUF_INIT, list = BUF_INIT;
	path_of(&p, &m, "Zürich Neu");
	ck_assert_int_eq(mkdir(p.data, 0755), 0);
	ck_assert_int_eq(mkdir(p.data, 0755), -1);
	ck_assert_int_eq(errno, EEXIST);
	path_of(&p, &m, "Zürich Neu/Unter");
	ck_assert_int_eq(mkdir(p.data, 0755), 0);
	srv_list(s, &list);
	ck_assert_msg(srv_listed(&list, "Z&APw-rich Neu"), "%s", list.data);
	ck_assert_msg(srv_listed(&list, "Z&APw-rich Neu.Unter"), "%s", list.data);
	/* a message inside keeps its folder from going */
	srv_append(s, "Z&APw-rich Neu.Unter", "Subject: inside\r\n\r\nx\r\n");
	path_of(&p, &m, "Zürich Neu");
	ck_assert_int_eq(rmdir(p.data), -1);
	ck_assert_int_eq(errno, ENOTEMPTY);
	path_of(&p, &m, "Zürich Neu/Unter");
	ck_assert_int_eq(rmdir(p.data), -1);
	ck_assert_int_eq(errno, ENOTEMPTY);
	/* rename to another parent, children follow */
	path_of(&p, &m, "Zürich Neu");
	path_of(&q, &m, "Reisen/Genève");
	ck_assert_msg(rename(p.data, q.data) == 0, "rename: %s", strerror(errno));
	buf_reset(&list);
	srv_list(s, &list);
	ck_assert_msg(srv_listed(&list, "Reisen.Gen&AOg-ve"), "%s", list.data);
	ck_assert_msg(srv_listed(&list, "Reisen.Gen&AOg-ve.Unter"), "%s", list.data);
	ck_assert_msg(!strstr(list.data, "Z&APw-rich Neu"), "%s", list.data);
	ck_assert(!exists(p.data));
	path_of(&p, &m, "Reisen/Genève/Unter/1.eml");
	struct buf body = BUF_INIT;
	ck_assert_int_eq(mount_slurp(p.data, &body), 0);
	ck_assert_msg(strstr(body.data, "Subject: inside"), "%s", body.data);
	/* empty it, then both go */
	ck_assert_int_eq(unlink(p.data), 0);
	path_of(&p, &m, "Reisen/Genève/Unter");
	ck_assert_int_eq(rmdir(p.data), 0);
	path_of(&p, &m, "Reisen/Genève");
	ck_assert_int_eq(rmdir(p.data), 0);
	ck_assert(!exists(p.data));
	buf_reset(&list);
	srv_list(s, &list);
	ck_assert_msg(!strstr(list.data, "Gen&AOg-ve"), "%s", list.data);
	ck_assert_msg(srv_listed(&list, "Reisen"), "%s", list.data);
	buf_free(&body);
	buf_free(&p);
	buf_free(&q);
	buf_free(&list);
	imap_close(s);
	mount_stop(&m);
}
END_TEST

/* ---- a second client on the core: names go by RFC 3501 (the imaplib
 * layer above sends an argument that looks quoted as it is) ---- */

struct core_seen {
	struct buf names;        /* LIST: one name a line */
	uint32_t messages;       /* STATUS MESSAGES */
};

static void core_on_untagged(void *ctx, struct imap *s, const struct imap_response *raw,
			     const struct imap_resp *r)
{
	(void)s;
	(void)raw;
	struct core_seen *seen = ctx;
	const char *name;
	size_t len;
	if (!r)
		return;
	if (!strcmp(r->name, "LIST") && r->nargs >= 3 && imap_arg_astring(&r->args[2], &name, &len)) {
		buf_add(&seen->names, name, len);
		buf_addch(&seen->names, '\n');
	} else if (!strcmp(r->name, "STATUS") && r->nargs >= 2 && r->args[1].type == IMAP_ARG_LIST &&
		   r->args[1].count == 2) {
		uint64_t v;
		ck_assert(imap_arg_number(&r->args[1].list[1], &v));
		seen->messages = (uint32_t)v;
	}
}

static struct imap *core_login(const char *user, struct core_seen *seen)
{
	char port[16];
	snprintf(port, sizeof port, "%d", env.imap_port);
	struct imap_endpoint ep = { .kind = IMAP_LINK_TCP, .host = "127.0.0.1", .port = port };
	struct imap_opts o = { .timeout_ms = 20000, .allow_plaintext = true };
	struct buf err = BUF_INIT;
	struct imap *s;
	ck_assert_msg(imap_client_open(&s, &ep, &o, &err) == 0, "%s", err.data);
	ck_assert_msg(imap_client_login(s, user, "secret") == 0, "%s", imap_errmsg(s));
	imap_set_untagged_handler(s, core_on_untagged, seen);
	buf_free(&err);
	return s;
}

/* "VERB mailbox [arg]" by the core; ok or not. */
static bool core_cmd(struct imap *s, const char *verb, const char *mailbox, const char *rest)
{
	struct imap_cmd *c = imap_cmd_new(verb);
	ck_assert_int_eq(imap_cmd_add_astring(c, mailbox, strlen(mailbox)), 0);
	if (rest)
		imap_cmd_add(c, rest);
	ck_assert_int_eq(imap_submit(s, c), 0);
	ck_assert_int_eq(imap_wait(s, c), 0);
	bool ok = imap_cmd_ok(c);
	imap_cmd_free(c);
	return ok;
}

static void core_append(struct imap *s, const char *mailbox, const char *msg)
{
	struct imap_cmd *c = imap_cmd_new("APPEND");
	ck_assert_int_eq(imap_cmd_add_astring(c, mailbox, strlen(mailbox)), 0);
	imap_cmd_add_literal(c, msg, strlen(msg));
	ck_assert_int_eq(imap_submit(s, c), 0);
	ck_assert_int_eq(imap_wait(s, c), 0);
	ck_assert_msg(imap_cmd_ok(c), "APPEND %s: %s", mailbox, imap_cmd_text(c));
	imap_cmd_free(c);
}

static uint32_t core_count(struct imap *s, struct core_seen *seen, const char *mailbox)
{
	seen->messages = UINT32_MAX;
	ck_assert_msg(core_cmd(s, "STATUS", mailbox, " (MESSAGES)"), "STATUS %s", mailbox);
	ck_assert_uint_ne(seen->messages, UINT32_MAX);
	return seen->messages;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The server's mailboxes, sorted, one a line. */
static void core_list(struct imap *s, struct core_seen *seen, struct buf *out)
{
	buf_reset(&seen->names);
	struct imap_cmd *c = imap_cmd_new("LIST \"\" \"*\"");
	ck_assert_int_eq(imap_submit(s, c), 0);
	ck_assert_int_eq(imap_wait(s, c), 0);
	ck_assert(imap_cmd_ok(c));
	imap_cmd_free(c);
	char *v[64];
	size_t n = 0;
	for (char *line = strtok(seen->names.data, "\n"); line && n < 64; line = strtok(NULL, "\n"))
		v[n++] = line;
	qsort(v, n, sizeof *v, cmp_str);
	buf_reset(out);
	for (size_t i = 0; i < n; i++)
		buf_addf(out, "%s\n", v[i]);
}

/* The one message file in dir: its name into out. */
static void only_message(const char *dir, char *out, size_t size)
{
	DIR *d = opendir(dir);
	ck_assert_msg(d != NULL, "%s: %s", dir, strerror(errno));
	struct dirent *de;
	int n = 0;
	while ((de = readdir(d)))
		if (strstr(de->d_name, ".eml") && n++ == 0)
			snprintf(out, size, "%s", de->d_name);
	closedir(d);
	ck_assert_msg(n == 1, "%s holds %d messages", dir, n);
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	for (size_t off = 0; off < len;) {
		size_t chunk = len - off < 1000000 ? len - off : 1000000;
		ssize_t w = write(fd, (const char *)data + off, chunk);
		ck_assert_int_gt(w, 0);
		off += (size_t)w;
	}
	ck_assert_int_eq(close(fd), 0);
}

/* The one UID in mailbox above before[], or 0. */
static uint32_t new_uid(struct imap *s, const char *mailbox, size_t nbefore)
{
	uint32_t uids[64];
	size_t n = srv_uids(s, mailbox, uids, 64);
	ck_assert_uint_eq(n, nbefore + 1);
	return uids[n - 1];
}

/* Every name reaches the server by its bytes: a folder literally named
 * "Proj" (quotes included) is not Proj, (X) is not a list, X% and X* are
 * not patterns.  Each change through the mount lands in the folder named,
 * and a second client lists exactly what exists afterwards. */
START_TEST(test_names_go_by_their_bytes)
{
	struct core_seen seen = { .names = BUF_INIT };
	struct imap *s = core_login("bob", &seen);
	ck_assert(core_cmd(s, "CREATE", "Proj", NULL));
	core_append(s, "Proj", "Subject: plain Proj\r\n\r\nstays\r\n");
	ck_assert(core_cmd(s, "CREATE", "X", NULL));
	core_append(s, "X", "Subject: plain X\r\n\r\nstays\r\n");
	struct fsmount m = { .pid = 0 };
	mount_start_user(&env, &m, "names", "bob", NULL);
	/* mount paths: '%' shows as %25 */
	static const char *const dirs[] = {
		"\"Proj\"", "\"a\" \"b\"", "(X)", "X%25", "X*", "{5}", "NIL", "a\\b", "a b", "Grüße",
	};
	struct buf p = BUF_INIT, q = BUF_INIT, list = BUF_INIT, body = BUF_INIT;
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		path_of(&p, &m, dirs[i]);
		ck_assert_msg(mkdir(p.data, 0700) == 0, "mkdir %s: %s", dirs[i], strerror(errno));
	}
	core_list(s, &seen, &list);
	ck_assert_str_eq(list.data, "\"Proj\"\n\"a\" \"b\"\n(X)\nGr&APwA3w-e\nINBOX\nNIL\nProj\nX\n"
				    "X%\nX*\na b\na\\b\n{5}\n");
	/* read: a message the other client put in X% */
	const char *msg = "Subject: in X%\r\n\r\npercent\r\n";
	core_append(s, "X%", msg);
	char name[NAME_MAX + 1];
	path_of(&p, &m, "X%25");
	only_message(p.data, name, sizeof name);
	buf_addf(&p, "/%s", name);
	ck_assert_int_eq(mount_slurp(p.data, &body), 0);
	ck_assert_str_eq(body.data, msg);
	/* cp into (X), mv to "Proj", rm there: X and Proj never change */
	path_of(&p, &m, "(X)/new.eml");
	write_file(p.data, "Subject: new\r\n\r\nnew\r\n", 21);
	ck_assert_uint_eq(core_count(s, &seen, "(X)"), 1);
	path_of(&p, &m, "(X)");
	only_message(p.data, name, sizeof name);
	buf_addf(&p, "/%s", name);
	path_of(&q, &m, "\"Proj\"/");
	buf_addstr(&q, name);
	ck_assert_msg(rename(p.data, q.data) == 0, "mv: %s", strerror(errno));
	ck_assert_uint_eq(core_count(s, &seen, "(X)"), 0);
	ck_assert_uint_eq(core_count(s, &seen, "\"Proj\""), 1);
	path_of(&p, &m, "\"Proj\"");
	only_message(p.data, name, sizeof name);
	buf_addf(&p, "/%s", name);
	ck_assert_int_eq(unlink(p.data), 0);
	ck_assert_uint_eq(core_count(s, &seen, "\"Proj\""), 0);
	ck_assert_uint_eq(core_count(s, &seen, "Proj"), 1);
	ck_assert_uint_eq(core_count(s, &seen, "X"), 1);
	/* rmdir "Proj" removes that folder, not Proj; a rename keeps names whole */
	path_of(&p, &m, "\"Proj\"");
	ck_assert_int_eq(rmdir(p.data), 0);
	path_of(&p, &m, "{5}");
	path_of(&q, &m, "NIL/{5} \"x\"");
	ck_assert_msg(rename(p.data, q.data) == 0, "mv: %s", strerror(errno));
	core_list(s, &seen, &list);
	ck_assert_str_eq(list.data, "\"a\" \"b\"\n(X)\nGr&APwA3w-e\nINBOX\nNIL\nNIL.{5} \"x\"\nProj\nX\n"
				    "X%\nX*\na b\na\\b\n");
	ck_assert_uint_eq(core_count(s, &seen, "Proj"), 1);
	buf_free(&p);
	buf_free(&q);
	buf_free(&list);
	buf_free(&body);
	buf_free(&seen.names);
	imap_close(s);
	mount_stop(&m);
}
END_TEST

START_TEST(test_cp_in_small_and_large)
{
	struct imap *s = mount_second(&env, "alice");
	srv_folder(s, "CpTest", 1);
	struct fsmount m = { .pid = 0 };
	mount_start(&env, &m, "cp", NULL);
	struct buf p = BUF_INIT, got = BUF_INIT, text = BUF_INIT;
	/* bare LF (as a Unix editor writes) arrives as CRLF */
	path_of(&p, &m, "CpTest/note.eml");
	const char *unix_msg = "Subject: small\nFrom: me@example.org\n\nline one\nline two\n";
	write_file(p.data, unix_msg, strlen(unix_msg));
	uint32_t uid = new_uid(s, "CpTest", 1);
	srv_fetch(s, "CpTest", uid, "(BODY.PEEK[])", NULL, &got);
	const char *crlf = "Subject: small\r\nFrom: me@example.org\r\n\r\nline one\r\nline two\r\n";
	ck_assert_uint_eq(got.len, strlen(crlf));
	ck_assert(!memcmp(got.data, crlf, got.len));
	/* the new message keeps the name written (no <UID>.eml besides) */
	char name[64];
	snprintf(name, sizeof name, "CpTest/%u.eml", uid);
	path_of(&p, &m, name);
	ck_assert(!exists(p.data));
	path_of(&p, &m, "CpTest/note.eml");
	buf_reset(&got);
	ck_assert_int_eq(mount_slurp(p.data, &got), 0);
	ck_assert_uint_eq(got.len, strlen(crlf));
	path_of(&p, &m, "CpTest");
	ck_assert_uint_eq(mount_count_files(p.data), 2);

	/* 20 MiB with CRLF: the bytes exactly as written; mtime set before
	 * close becomes INTERNALDATE, flags set before close go with it */
	size_t big = 20u << 20;
	char *data = xmalloc(big);
	for (size_t i = 0; i < big; i++)
		data[i] = (char)('a' + (i * 7 + i / 97) % 26);
	memcpy(data, "Subject: big\r\n\r\n", 16);
	for (size_t i = 100; i + 1 < big; i += 100) {
		data[i] = '\r';
		data[i + 1] = '\n';
	}
	path_of(&p, &m, "CpTest/big.eml");
	int fd = open(p.data, O_WRONLY | O_CREAT | O_EXCL, 0644);
	ck_assert_int_ge(fd, 0);
	for (size_t off = 0; off < big; off += 1u << 20)
		ck_assert_int_eq(write(fd, data + off, 1u << 20), 1 << 20);
	struct timespec times[2] = { { 1700000000, 0 }, { 1700000000, 0 } };
	ck_assert_int_eq(futimens(fd, times), 0);
	const char *flags = "\\Flagged $Big";
	ck_assert_int_eq(fsetxattr(fd, "user.imap.flags", flags, strlen(flags), 0), 0);
	ck_assert_int_eq(close(fd), 0);
	uid = new_uid(s, "CpTest", 2);
	buf_reset(&got);
	srv_fetch(s, "CpTest", uid, "(FLAGS INTERNALDATE BODY.PEEK[])", &text, &got);
	ck_assert_uint_eq(got.len, big);
	ck_assert(!memcmp(got.data, data, big));
	ck_assert_msg(strstr(text.data, "\\Flagged") && strstr(text.data, "$Big"), "%s", text.data);
	const char *d = strstr(text.data, "INTERNALDATE \"");
	ck_assert_ptr_nonnull(d);
	time_t when;
	ck_assert_int_eq(imap_internaldate_parse(d + 14, 26, &when), 0);
	ck_assert_int_eq(when, 1700000000);
	path_of(&p, &m, "CpTest/big.eml");
	struct stat st;
	ck_assert_int_eq(stat(p.data, &st), 0);
	ck_assert_int_eq(st.st_size, (off_t)big);
	ck_assert_int_eq(st.st_mtime, 1700000000);
	buf_reset(&got);
	ck_assert_int_eq(mount_slurp(p.data, &got), 0);
	ck_assert(got.len == big && !memcmp(got.data, data, big));
	free(data);

	/* write a temp name, then rename it (rsync, editors): works, and the
	 * message is there once */
	path_of(&p, &m, "CpTest/.tmp.x1234");
	const char *renamed = "Subject: renamed\r\n\r\nwritten as a temp file\r\n";
	write_file(p.data, renamed, strlen(renamed));
	struct buf q = BUF_INIT;
	path_of(&q, &m, "CpTest/final.eml");
	ck_assert_msg(rename(p.data, q.data) == 0, "rename: %s", strerror(errno));
	new_uid(s, "CpTest", 3);
	ck_assert(!exists(p.data));
	buf_reset(&got);
	ck_assert_int_eq(mount_slurp(q.data, &got), 0);
	ck_assert(got.len == strlen(renamed) && !memcmp(got.data, renamed, got.len));
	/* the bytes of a message the folder holds (a backup copied in again):
	 * no second copy */
	path_of(&p, &m, "CpTest/again.eml");
	write_file(p.data, crlf, strlen(crlf));
	uint32_t uids[8];
	ck_assert_uint_eq(srv_uids(s, "CpTest", uids, 8), 4);
	buf_free(&q);
	buf_free(&p);
	buf_free(&got);
	buf_free(&text);
	imap_close(s);
	mount_stop(&m);
}
END_TEST

/* A folder renamed away keeps its inode (the kernel moved it); a new
 * folder made at its old path must be another directory, not an alias. */
START_TEST(test_new_folder_at_a_renamed_ones_path)
{
	struct imap *s = mount_second(&env, "alice");
	struct fsmount m = { .pid = 0 };
	mount_start(&env, &m, "reuse", NULL);
	struct buf p = BUF_INIT, q = BUF_INIT;
	path_of(&p, &m, "Reused");
	path_of(&q, &m, "Reisen/Moved");
	ck_assert_int_eq(mkdir(p.data, 0755), 0);
	ck_assert_int_eq(rename(p.data, q.data), 0);
	ck_assert_int_eq(mkdir(p.data, 0755), 0);
	struct stat a, b;
	ck_assert_int_eq(stat(p.data, &a), 0);
	ck_assert_int_eq(stat(q.data, &b), 0);
	ck_assert_uint_ne(a.st_ino, b.st_ino);
	path_of(&p, &m, "Reused/new.eml");
	const char *msg = "Subject: where\r\n\r\nhere\r\n";
	write_file(p.data, msg, strlen(msg));
	uint32_t uids[4];
	ck_assert_uint_eq(srv_uids(s, "Reused", uids, 4), 1);
	ck_assert_uint_eq(srv_uids(s, "Reisen.Moved", uids, 4), 0);
	buf_free(&p);
	buf_free(&q);
	imap_close(s);
	mount_stop(&m);
}
END_TEST

START_TEST(test_flags_as_xattrs)
{
	struct imap *s = mount_second(&env, "alice");
	srv_folder(s, "FlagTest", 2);
	struct fsmount m = { .pid = 0 };
	mount_start(&env, &m, "flags", NULL);
	struct buf p = BUF_INIT, text = BUF_INIT;
	path_of(&p, &m, "FlagTest/1.eml");
	char v[256];
	ssize_t n = getxattr(p.data, "user.imap.flags", v, sizeof v);
	ck_assert_int_eq(n, 0);  /* APPEND without flags */
	const char *set = "\\Seen \\Answered $Label1\n";
	ck_assert_int_eq(setxattr(p.data, "user.imap.flags", set, strlen(set), 0), 0);
	srv_fetch(s, "FlagTest", 1, "(FLAGS)", &text, NULL);
	ck_assert_msg(strstr(text.data, "\\Seen") && strstr(text.data, "\\Answered") &&
			      strstr(text.data, "$Label1"),
		      "%s", text.data);
	/* another client changes them: the xattr says so once the mount hears
	 * of it (IDLE on the folder in use: about a second), and the file's
	 * ctime moves, its mtime (the INTERNALDATE) stays */
	struct stat before, after;
	ck_assert_int_eq(stat(p.data, &before), 0);
	usleep(1100 * 1000);  /* the change falls in a later second than the APPEND */
	time_t stored = time(NULL);
	srv_select(s, "FlagTest", false);
	struct imap_result r = { .n = 0 };
	srv_ok(imap_store(s, "1", "FLAGS", "(\\Flagged)", &r), &r, "STORE");
	imap_result_free(&r);
	for (int tries = 0; tries < 300; tries++) {  /* 30 s at most */
		n = getxattr(p.data, "user.imap.flags", v, sizeof v - 1);
		ck_assert_int_ge(n, 0);
		v[n] = '\0';
		if (!strcmp(v, "\\Flagged"))
			break;
		usleep(100 * 1000);
	}
	ck_assert_str_eq(v, "\\Flagged");
	ck_assert_int_eq(stat(p.data, &after), 0);
	ck_assert_int_eq(after.st_mtime, before.st_mtime);
	ck_assert_int_ge(after.st_ctime, stored);
	/* read-only attributes */
	n = getxattr(p.data, "user.imap.uid", v, sizeof v - 1);
	ck_assert_int_gt(n, 0);
	v[n] = '\0';
	ck_assert_str_eq(v, "1");
	n = getxattr(p.data, "user.imap.internaldate", v, sizeof v - 1);
	ck_assert_int_eq(n, 26);
	n = getxattr(p.data, "user.imap.modseq", v, sizeof v - 1);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(setxattr(p.data, "user.imap.uid", "7", 1, 0), -1);
	ck_assert_int_eq(errno, EPERM);
	/* what rsync -X brings back from a copy of the mount is accepted */
	ck_assert_int_eq(setxattr(p.data, "user.imap.uid", "1", 1, 0), 0);
	ck_assert_int_eq(setxattr(p.data, "user.imap.flags", "\\Recent", 7, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(setxattr(p.data, "user.imap.flags", "(bad", 4, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	/* only the flags are listed (what a copy can carry back), and only
	 * while there are some */
	n = listxattr(p.data, v, sizeof v);
	ck_assert_int_eq(n, (ssize_t)sizeof "user.imap.flags");
	ck_assert_str_eq(v, "user.imap.flags");
	/* removing the attribute clears the flags; message 2 never changed */
	ck_assert_int_eq(removexattr(p.data, "user.imap.flags"), 0);
	ck_assert_int_eq(listxattr(p.data, v, sizeof v), 0);
	buf_reset(&text);
	srv_fetch(s, "FlagTest", 1, "(FLAGS)", &text, NULL);
	ck_assert_msg(strstr(text.data, "FLAGS ()"), "%s", text.data);
	buf_reset(&text);
	srv_fetch(s, "FlagTest", 2, "(FLAGS)", &text, NULL);
	ck_assert_msg(strstr(text.data, "FLAGS ()"), "%s", text.data);
	buf_free(&p);
	buf_free(&text);
	imap_close(s);
	mount_stop(&m);
}
END_TEST

/* Every close of a new file sends what was written since the last one and
 * then removes the copy it replaces: descriptors that close early (a
 * reader, a shell's children, dup) never leave a partial message behind. */
START_TEST(test_each_close_leaves_exactly_the_last_bytes)
{
	struct imap *s = mount_second(&env, "alice");
	srv_folder(s, "CloseTest", 1);
	struct fsmount m = { .pid = 0 };
	mount_start(&env, &m, "close", NULL);
	struct buf p = BUF_INIT, got = BUF_INIT;
	path_of(&p, &m, "CloseTest/draft.eml");
	int fd = open(p.data, O_WRONLY | O_CREAT | O_EXCL, 0644);
	ck_assert_int_ge(fd, 0);
	const char *one = "Subject: parts\r\n\r\nfirst part\r\n";
	const char *two = "second part\r\n";
	ck_assert_int_eq(write(fd, one, strlen(one)), (ssize_t)strlen(one));
	int reader = open(p.data, O_RDONLY);  /* someone looks at it meanwhile */
	ck_assert_int_ge(reader, 0);
	ck_assert_int_eq(close(reader), 0);
	int dup_fd = dup(fd);
	ck_assert_int_eq(close(dup_fd), 0);
	ck_assert_int_eq(write(fd, two, strlen(two)), (ssize_t)strlen(two));
	ck_assert_int_eq(close(fd), 0);
	uint32_t uids[8];
	ck_assert_uint_eq(srv_uids(s, "CloseTest", uids, 8), 2);
	srv_fetch(s, "CloseTest", uids[1], "(BODY.PEEK[])", NULL, &got);
	struct buf want = BUF_INIT;
	buf_addf(&want, "%s%s", one, two);
	ck_assert_uint_eq(got.len, want.len);
	ck_assert(!memcmp(got.data, want.data, want.len));
	/* written again right away under the same name: it replaces it */
	const char *again = "Subject: again\r\n\r\nnew\r\n";
	fd = open(p.data, O_WRONLY | O_TRUNC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, again, strlen(again)), (ssize_t)strlen(again));
	ck_assert_int_eq(close(fd), 0);
	ck_assert_uint_eq(srv_uids(s, "CloseTest", uids, 8), 2);
	buf_reset(&got);
	srv_fetch(s, "CloseTest", uids[1], "(BODY.PEEK[])", NULL, &got);
	ck_assert_uint_eq(got.len, strlen(again));
	ck_assert(!memcmp(got.data, again, got.len));
	buf_free(&want);
	buf_free(&got);
	buf_free(&p);
	imap_close(s);
	mount_stop(&m);
}
END_TEST

static void expect_erofs(int rc, const char *what)
{
	ck_assert_msg(rc == -1 && errno == EROFS, "%s: rc %d, %s", what, rc, strerror(errno));
}

START_TEST(test_readonly_refuses_every_write)
{
	struct imap *s = mount_second(&env, "alice");
	srv_folder(s, "RoTest", 2);
	struct buf before = BUF_INIT, after = BUF_INIT, p = BUF_INIT, q = BUF_INIT;
	srv_list(s, &before);
	struct fsmount m = { .pid = 0 };
	mount_start(&env, &m, "rofs", "ro");
	path_of(&p, &m, "RoTest/1.eml");
	path_of(&q, &m, "INBOX/1.eml");
	expect_erofs(unlink(p.data), "unlink");
	expect_erofs(rename(p.data, q.data), "rename");
	expect_erofs(open(p.data, O_WRONLY), "open for writing");
	expect_erofs(truncate(p.data, 0), "truncate");
	expect_erofs(setxattr(p.data, "user.imap.flags", "\\Seen", 5, 0), "setxattr");
	path_of(&p, &m, "RoTest/new.eml");
	expect_erofs(open(p.data, O_WRONLY | O_CREAT, 0644), "create");
	path_of(&p, &m, "RoNew");
	expect_erofs(mkdir(p.data, 0755), "mkdir");
	path_of(&p, &m, "RoTest");
	expect_erofs(rmdir(p.data), "rmdir");
	path_of(&q, &m, "RoTest2");
	expect_erofs(rename(p.data, q.data), "rename dir");
	/* and the server holds what it held */
	srv_list(s, &after);
	ck_assert_str_eq(after.data, before.data);
	uint32_t uids[4];
	ck_assert_uint_eq(srv_uids(s, "RoTest", uids, 4), 2);
	struct buf text = BUF_INIT;
	srv_fetch(s, "RoTest", 1, "(FLAGS)", &text, NULL);
	ck_assert_msg(!strstr(text.data, "\\Seen"), "%s", text.data);
	buf_free(&text);
	buf_free(&before);
	buf_free(&after);
	buf_free(&p);
	buf_free(&q);
	imap_close(s);
	mount_stop(&m);
}
END_TEST

START_TEST(test_refused_append_keeps_the_bytes)
{
	struct fsmount m = { .pid = 0 };
	mount_start_user(&env, &m, "quota", "tiny", NULL);
	size_t len = 10000;  /* tiny's quota is 2 KiB */
	char *msg = xmalloc(len);
	memset(msg, 'q', len);
	memcpy(msg, "Subject: too big\r\n\r\n", 20);
	struct buf p = BUF_INIT;
	path_of(&p, &m, "INBOX/big.eml");
	int fd = open(p.data, O_WRONLY | O_CREAT | O_EXCL, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, msg, len), (ssize_t)len);
	errno = 0;
	ck_assert_int_eq(close(fd), -1);
	ck_assert_int_eq(errno, EDQUOT);
	ck_assert(!exists(p.data));
	/* the recovery folder has it, byte for byte */
	struct buf rec = BUF_INIT;
	buf_addf(&rec, "%s/recovery", m.cache);
	DIR *d = opendir(rec.data);
	ck_assert_ptr_nonnull(d);
	struct dirent *de;
	size_t found = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		struct buf f = BUF_INIT, got = BUF_INIT;
		buf_addf(&f, "%s/%s", rec.data, de->d_name);
		ck_assert_int_eq(mount_slurp(f.data, &got), 0);
		ck_assert(got.len == len && !memcmp(got.data, msg, len));
		ck_assert_msg(strstr(de->d_name, "big.eml"), "%s", de->d_name);
		found++;
		buf_free(&f);
		buf_free(&got);
	}
	closedir(d);
	ck_assert_uint_eq(found, 1);
	struct imap *s = mount_second(&env, "tiny");
	uint32_t uids[4];
	ck_assert_uint_eq(srv_uids(s, "INBOX", uids, 4), 0);
	imap_close(s);
	free(msg);
	buf_free(&rec);
	buf_free(&p);
	mount_stop(&m);
}
END_TEST

static void add_tests(TCase *tc)
{
	tcase_add_test(tc, test_rm_expunges_that_message_only);
	tcase_add_test(tc, test_mv_between_folders);
	tcase_add_test(tc, test_mkdir_rmdir_rename_utf8);
	tcase_add_test(tc, test_names_go_by_their_bytes);
	tcase_add_test(tc, test_cp_in_small_and_large);
	tcase_add_test(tc, test_each_close_leaves_exactly_the_last_bytes);
	tcase_add_test(tc, test_flags_as_xattrs);
	tcase_add_test(tc, test_new_folder_at_a_renamed_ones_path);
	tcase_add_test(tc, test_readonly_refuses_every_write);
	tcase_add_test(tc, test_refused_append_keeps_the_bytes);
	check_mount_write_add_over(tc);
}

int main(void)
{
	return mount_test_main("check_mount_write", &dc, &env, add_tests, 240);
}
