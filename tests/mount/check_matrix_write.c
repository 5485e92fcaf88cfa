/* check_matrix_write.c: the matrix's changing checks, each confirmed by
 * the second client: rm, mv between folders, mkdir/rename/rmdir, cp in,
 * and flags.  Where a server lacks UIDPLUS (bare Dovecot, mailutils), rm
 * and mv must fail with EOPNOTSUPP and leave the mail as it was, as
 * imapfs(1) says, and work with -o plain_expunge. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "buf.h"
#include "check_matrix.h"
#include "imaplib.h"

#define MX_MAX 32

static bool mx_has_uid(struct imap *s, const char *rel, uint32_t uid)
{
	uint32_t uids[MX_MAX];
	size_t n = mx_uids(s, rel, uids, MX_MAX);
	for (size_t i = 0; i < n && i < MX_MAX; i++)
		if (uids[i] == uid)
			return true;
	return false;
}

/* rm of a message: gone from the server, the others kept. */
static void mx_rm_works(struct imap *s, const struct fsmount *m, const char *rel, uint32_t uid,
			size_t before)
{
	char path[600], file[32];
	snprintf(file, sizeof file, "%u.eml", uid);
	mx_path(m, rel, file, path, sizeof path);
	ck_assert_msg(unlink(path) == 0, "rm %s: %s", path, strerror(errno));
	ck_assert(!mx_has_uid(s, rel, uid));
	uint32_t uids[MX_MAX];
	ck_assert_uint_eq(mx_uids(s, rel, uids, MX_MAX), before - 1);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), -1);
}

START_TEST(test_rm)
{
	struct mx_case c;
	mx_begin(&c, "Rm", 3, "rm", NULL);
	struct imap *s = c.s;
	uint32_t uids[MX_MAX];
	ck_assert_uint_eq(mx_uids(s, "Rm", uids, MX_MAX), 3);
	if (mx->uidplus) {
		mx_rm_works(s, &c.m, "Rm", uids[1], 3);
	} else {
		char path[600], file[32];
		snprintf(file, sizeof file, "%u.eml", uids[1]);
		mx_path(&c.m, "Rm", file, path, sizeof path);
		errno = 0;
		ck_assert_int_eq(unlink(path), -1);
		ck_assert_msg(errno == EOPNOTSUPP, "rm without UIDPLUS: %s", strerror(errno));
		ck_assert_uint_eq(mx_uids(s, "Rm", uids, MX_MAX), 3);
		ck_assert(mx_has_uid(s, "Rm", uids[1]));
		mount_stop(&c.m);
		mx_mount(&c.m, "rm-plain", "plain_expunge");
		mx_rm_works(s, &c.m, "Rm", uids[1], 3);
	}
	mx_end(&c);
}
END_TEST

/* mv of a message into another folder: the same bytes there, gone here. */
static void mx_mv_works(struct imap *s, const struct fsmount *m, uint32_t uid, const struct buf *bytes)
{
	char from[600], to[600], file[32];
	snprintf(file, sizeof file, "%u.eml", uid);
	mx_path(m, "MvFrom", file, from, sizeof from);
	mx_path(m, "MvTo", file, to, sizeof to);
	ck_assert_msg(rename(from, to) == 0, "mv %s %s: %s", from, to, strerror(errno));
	uint32_t uids[MX_MAX];
	ck_assert(!mx_has_uid(s, "MvFrom", uid));
	ck_assert_uint_eq(mx_uids(s, "MvFrom", uids, MX_MAX), 1);
	ck_assert_uint_eq(mx_uids(s, "MvTo", uids, MX_MAX), 1);
	struct buf there = BUF_INIT;
	mx_body(s, "MvTo", uids[0], &there);
	ck_assert(there.len == bytes->len && !memcmp(there.data, bytes->data, there.len));
	if (!mx->uidplus) {
		/* without COPYUID imapfs cannot know the copy's UID: it shows
		 * under UID.eml, not under the name it was moved to */
		char dir[600];
		mx_path(m, "MvTo", NULL, dir, sizeof dir);
		ck_assert_uint_eq(mount_count_files(dir), 1);
		snprintf(file, sizeof file, "%u.eml", uids[0]);
		mx_path(m, "MvTo", file, to, sizeof to);
	}
	mx_assert_file_is(to, bytes);
	buf_free(&there);
}

START_TEST(test_mv)
{
	struct mx_case c = { .s = mx_second() };
	struct imap *s = c.s;
	mx_seed(s, "MvFrom", 2, "mv");
	mx_seed(s, "MvTo", 0, "mvto");
	uint32_t uids[MX_MAX];
	ck_assert_uint_eq(mx_uids(s, "MvFrom", uids, MX_MAX), 2);
	struct buf bytes = BUF_INIT;
	mx_body(s, "MvFrom", uids[0], &bytes);
	mx_mount(&c.m, "mv", NULL);
	if (!mx->uidplus) {
		char from[600], to[600], file[32];
		snprintf(file, sizeof file, "%u.eml", uids[0]);
		mx_path(&c.m, "MvFrom", file, from, sizeof from);
		mx_path(&c.m, "MvTo", file, to, sizeof to);
		errno = 0;
		ck_assert_int_eq(rename(from, to), -1);
		ck_assert_msg(errno == EOPNOTSUPP, "mv without UIDPLUS or MOVE: %s", strerror(errno));
		ck_assert_uint_eq(mx_uids(s, "MvFrom", uids, MX_MAX), 2);
		ck_assert_uint_eq(mx_uids(s, "MvTo", uids, MX_MAX), 0);
		mount_stop(&c.m);
		mx_mount(&c.m, "mv-plain", "plain_expunge");
		ck_assert_uint_eq(mx_uids(s, "MvFrom", uids, MX_MAX), 2);
	}
	mx_mv_works(s, &c.m, uids[0], &bytes);
	buf_free(&bytes);
	mx_end(&c);
}
END_TEST

/* mkdir, mv of a directory, rmdir: CREATE, RENAME, DELETE. */
START_TEST(test_dirs)
{
	struct mx_case c;
	mx_begin(&c, "Dirs", 0, "dirs", NULL);
	struct imap *s = c.s;
	char made[600], renamed[600];
	mx_path(&c.m, "Dirs/Neu-Ü", NULL, made, sizeof made);
	mx_path(&c.m, "Dirs/Umbenannt-ß", NULL, renamed, sizeof renamed);
	ck_assert_msg(mkdir(made, 0700) == 0, "mkdir %s: %s", made, strerror(errno));
	ck_assert(mx_listed(s, "Dirs/Neu-Ü"));
	ck_assert_msg(rename(made, renamed) == 0, "mv %s: %s", made, strerror(errno));
	ck_assert(mx_listed(s, "Dirs/Umbenannt-ß"));
	ck_assert(!mx_listed(s, "Dirs/Neu-Ü"));
	ck_assert_msg(rmdir(renamed) == 0, "rmdir %s: %s", renamed, strerror(errno));
	ck_assert(!mx_listed(s, "Dirs/Umbenannt-ß"));
	struct stat st;
	ck_assert_int_eq(stat(renamed, &st), -1);
	mx_end(&c);
}
END_TEST

/* cp of a local file into a folder: APPENDed with exactly its bytes. */
START_TEST(test_cp_in)
{
	struct mx_case c;
	mx_begin(&c, "CpIn", 1, "cpin", NULL);
	struct imap *s = c.s;
	/* raw UTF-8 in a header: Courier complains (an ALERT) unless UTF8=ACCEPT
	 * was enabled, which imapfs does where offered */
	const char msg[] = "From: local@example.org\r\nTo: alice@example.org\r\n"
			   "Subject: Gr\xc3\xbc\xc3\x9f" "e aus Z\xc3\xbcrich\r\n"
			   "Date: Mon, 01 Jan 2024 10:00:00 +0000\r\n\r\nmatrix-cp-in body\r\n";
	char src[600], dst[600];
	snprintf(src, sizeof src, "%s-cp-in.eml", c.m.dir);
	FILE *f = fopen(src, "w");
	ck_assert_ptr_nonnull(f);
	fwrite(msg, 1, sizeof msg - 1, f);
	ck_assert_int_eq(fclose(f), 0);
	mx_path(&c.m, "CpIn", "copied.eml", dst, sizeof dst);
	ck_assert_int_eq(mount_sh(NULL, "cp '%s' '%s'", src, dst), 0);
	unlink(src);
	uint32_t uids[MX_MAX];
	ck_assert_uint_eq(mx_uids(s, "CpIn", uids, MX_MAX), 2);
	struct buf there = BUF_INIT;
	mx_body(s, "CpIn", uids[1], &there);
	if (!mx->munges_8bit)
		ck_assert_msg(there.len == sizeof msg - 1 && !memcmp(there.data, msg, there.len),
			      "the server holds: %s", there.data);
	ck_assert_uint_eq(fsmount_log_count(&c.m, "server alert"), 0);
	mx_assert_file_is(dst, &there);
	buf_free(&there);
	mx_end(&c);
}
END_TEST

/* setxattr user.imap.flags: the server has the flags. */
START_TEST(test_flags)
{
	struct mx_case c;
	mx_begin(&c, "Flags", 2, "flags", NULL);
	struct imap *s = c.s;
	uint32_t uids[MX_MAX];
	ck_assert_uint_eq(mx_uids(s, "Flags", uids, MX_MAX), 2);
	char path[600], file[32];
	snprintf(file, sizeof file, "%u.eml", uids[0]);
	mx_path(&c.m, "Flags", file, path, sizeof path);
	const char flags[] = "\\Seen \\Flagged";
	ck_assert_msg(setxattr(path, "user.imap.flags", flags, sizeof flags - 1, 0) == 0, "setxattr %s: %s",
		      path, strerror(errno));
	char back[256];
	ssize_t n = getxattr(path, "user.imap.flags", back, sizeof back - 1);
	ck_assert_int_gt(n, 0);
	back[n] = '\0';
	ck_assert_msg(strstr(back, "\\Seen") && strstr(back, "\\Flagged"), "read back: %s", back);
	if (mx->flags_on_close)
		mount_stop(&c.m);  /* imapfs's LOGOUT closes the folder */
	struct buf on_server = BUF_INIT, other = BUF_INIT;
	mx_meta(s, "Flags", uids[0], NULL, NULL, &on_server);
	ck_assert_msg(strstr(on_server.data, "\\Seen") && strstr(on_server.data, "\\Flagged"),
		      "the server has: %s", on_server.data);
	mx_meta(s, "Flags", uids[1], NULL, NULL, &other);
	ck_assert_msg(!other.data || !strstr(other.data, "\\Seen"), "the other message got: %s", other.data);
	buf_free(&on_server);
	buf_free(&other);
	mx_end(&c);
}
END_TEST

void mx_add_write_tests(TCase *tc)
{
	tcase_add_test(tc, test_rm);
	tcase_add_test(tc, test_mv);
	tcase_add_test(tc, test_dirs);
	tcase_add_test(tc, test_cp_in);
	tcase_add_test(tc, test_flags);
}
