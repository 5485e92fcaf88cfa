/* check_mount_write.c: the write path through a real mount over a private
 * Dovecot, every effect checked on the server through a second IMAP
 * connection: rm, mv between folders, mkdir/rmdir/rename with UTF-8
 * names, cp of small and 20 MiB messages, flags as xattrs, -o ro refusing
 * everything, and a refused APPEND (quota) keeping the bytes. */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "date.h"
#include "harness.h"
#include "harness_mount.h"
#include "imap.h"

static struct dovecot dc;
static struct mount_env env;

/* ---- what the server holds (second connection) ---- */

static void srv_ok(int rc, const struct imap_result *r, const char *what)
{
	ck_assert_msg(rc == 0 && !strcmp(r->type, "OK"), "%s: %d %s", what, rc, r->type);
}

static void srv_select(struct imap *s, const char *mailbox, bool readonly)
{
	struct imap_result r = { .n = 0 };
	srv_ok(imap_select(s, mailbox, readonly, &r), &r, mailbox);
	imap_result_free(&r);
}

/* The UIDs of mailbox, ascending; returns how many. */
static size_t srv_uids(struct imap *s, const char *mailbox, uint32_t *uids, size_t max)
{
	srv_select(s, mailbox, true);
	struct imap_result r = { .n = 0 };
	const char *args[] = { "ALL" };
	srv_ok(imap_uid(s, "SEARCH", args, 1, &r), &r, "UID SEARCH");
	size_t n = 0;
	for (size_t i = 0; i < r.n; i++) {
		const char *p = r.items[i].text.data ? r.items[i].text.data : "";
		while (*p) {
			char *end;
			unsigned long v = strtoul(p, &end, 10);
			if (end == p) {
				p++;
				continue;
			}
			if (n < max)
				uids[n] = (uint32_t)v;
			n++;
			p = end;
		}
	}
	imap_result_free(&r);
	return n;
}

static void srv_fetch(struct imap *s, const char *mailbox, uint32_t uid, const char *item,
		      struct buf *text, struct buf *lit)
{
	srv_select(s, mailbox, true);
	char set[16];
	snprintf(set, sizeof set, "%u", uid);
	const char *args[] = { "FETCH", set, item };
	struct imap_result r = { .n = 0 };
	srv_ok(imap_uid(s, args[0], args + 1, 2, &r), &r, "UID FETCH");
	ck_assert_uint_ge(r.n, 1);
	if (text)
		buf_addstr(text, r.items[0].text.data ? r.items[0].text.data : "");
	if (lit) {
		ck_assert(r.items[0].has_lit);
		buf_add(lit, r.items[0].lit.data, r.items[0].lit.len);
	}
	imap_result_free(&r);
}

static void srv_list(struct imap *s, struct buf *out)
{
	struct imap_result r = { .n = 0 };
	srv_ok(imap_list(s, "\"\"", "*", &r), &r, "LIST");
	for (size_t i = 0; i < r.n; i++)
		buf_addf(out, "%s\n", r.items[i].text.data ? r.items[i].text.data : "");
	imap_result_free(&r);
}

/* Whether a LIST (srv_list) names mailbox, quoted or as an atom. */
static bool listed(const struct buf *list, const char *mailbox)
{
	char atom[256], quoted[256];
	snprintf(atom, sizeof atom, "\" %s\n", mailbox);
	snprintf(quoted, sizeof quoted, "\"%s\"\n", mailbox);
	return strstr(list->data, atom) || strstr(list->data, quoted);
}

static void srv_append(struct imap *s, const char *mailbox, const char *msg)
{
	struct imap_result r = { .n = 0 };
	srv_ok(imap_append(s, mailbox, NULL, NULL, msg, strlen(msg), &r), &r, "APPEND");
	imap_result_free(&r);
}

/* A folder of its own for one test, with n small messages. */
static void srv_folder(struct imap *s, const char *mailbox, unsigned n)
{
	struct imap_result r = { .n = 0 };
	srv_ok(imap_create(s, mailbox, &r), &r, "CREATE");
	imap_result_free(&r);
	char msg[256];
	for (unsigned i = 1; i <= n; i++) {
		snprintf(msg, sizeof msg, "Subject: %s %u\r\nFrom: t@example.org\r\n\r\nbody %u of %s\r\n",
			 mailbox, i, i, mailbox);
		srv_append(s, mailbox, msg);
	}
}

static void path_of(struct buf *out, const struct fsmount *m, const char *rel)
{
	buf_reset(out);
	buf_addf(out, "%s/%s", m->dir, rel);
}

static bool exists(const char *path)
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
	/* it shows in the target under its new UID, with the same bytes */
	char name[64];
	snprintf(name, sizeof name, "MvTo/%u.eml", uids[1]);
	path_of(&q, &m, name);
	buf_reset(&moved);
	ck_assert_msg(mount_slurp(q.data, &moved) == 0, "%s: %s", q.data, strerror(errno));
	ck_assert_uint_eq(moved.len, orig.len);
	ck_assert(!memcmp(moved.data, orig.data, orig.len));
	/* UIDs are not names: no rename within a folder */
	path_of(&p, &m, "MvFrom/1.eml");
	path_of(&q, &m, "MvFrom/100.eml");
	ck_assert_int_eq(rename(p.data, q.data), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_uint_eq(srv_uids(s, "MvFrom", uids, 8), 2);
	ck_assert_uint_eq(uids[0], 1);
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
	ck_assert_msg(listed(&list, "Z&APw-rich Neu"), "%s", list.data);
	ck_assert_msg(listed(&list, "Z&APw-rich Neu.Unter"), "%s", list.data);
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
	ck_assert_msg(listed(&list, "Reisen.Gen&AOg-ve"), "%s", list.data);
	ck_assert_msg(listed(&list, "Reisen.Gen&AOg-ve.Unter"), "%s", list.data);
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
	ck_assert_msg(listed(&list, "Reisen"), "%s", list.data);
	buf_free(&body);
	buf_free(&p);
	buf_free(&q);
	buf_free(&list);
	imap_close(s);
	mount_stop(&m);
}
END_TEST

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
	/* the new message shows under its UID; the name written goes */
	char name[64];
	snprintf(name, sizeof name, "CpTest/%u.eml", uid);
	path_of(&p, &m, name);
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
	snprintf(name, sizeof name, "CpTest/%u.eml", uid);
	path_of(&p, &m, name);
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
	write_file(p.data, crlf, strlen(crlf));
	struct buf q = BUF_INIT;
	path_of(&q, &m, "CpTest/final.eml");
	ck_assert_msg(rename(p.data, q.data) == 0, "rename: %s", strerror(errno));
	new_uid(s, "CpTest", 3);
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
	/* another client changes them: the xattr says so */
	srv_select(s, "FlagTest", false);
	struct imap_result r = { .n = 0 };
	srv_ok(imap_store(s, "1", "FLAGS", "(\\Flagged)", &r), &r, "STORE");
	imap_result_free(&r);
	n = getxattr(p.data, "user.imap.flags", v, sizeof v - 1);
	ck_assert_int_gt(n, 0);
	v[n] = '\0';
	ck_assert_str_eq(v, "\\Flagged");
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
	n = listxattr(p.data, v, sizeof v);
	ck_assert_int_gt(n, 0);
	size_t names = 0;
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(v + i) + 1)
		names += !strncmp(v + i, "user.imap.", 10);
	ck_assert_uint_eq(names, 4);
	/* removing the attribute clears the flags; message 2 never changed */
	ck_assert_int_eq(removexattr(p.data, "user.imap.flags"), 0);
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
	/* a message itself never changes */
	path_of(&p, &m, "CloseTest/1.eml");
	ck_assert_int_eq(open(p.data, O_WRONLY | O_TRUNC), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(truncate(p.data, 3), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_uint_eq(srv_uids(s, "CloseTest", uids, 8), 2);
	buf_reset(&got);
	srv_fetch(s, "CloseTest", 1, "(BODY.PEEK[])", NULL, &got);
	ck_assert_msg(strstr(got.data, "body 1 of CloseTest"), "%s", got.data);
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
	tcase_add_test(tc, test_cp_in_small_and_large);
	tcase_add_test(tc, test_each_close_leaves_exactly_the_last_bytes);
	tcase_add_test(tc, test_flags_as_xattrs);
	tcase_add_test(tc, test_new_folder_at_a_renamed_ones_path);
	tcase_add_test(tc, test_readonly_refuses_every_write);
	tcase_add_test(tc, test_refused_append_keeps_the_bytes);
}

int main(void)
{
	return mount_test_main("check_mount_write", &dc, &env, add_tests, 240);
}
