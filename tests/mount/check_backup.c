/* check_backup.c: backups through a real mount over a private Dovecot, as
 * users take them (rsync -aX, tar), checked against what the server holds
 * (a second IMAP connection) and against what the mount sent it (its
 * protocol trace, -o debug):
 * - the flags and MODSEQ of every message (user.imap.flags,
 *   user.imap.modseq) come with the folder's listing: a backup with
 *   xattrs asks the server nothing per file, and a second one changes
 *   nothing;
 * - a folder's times move only when a message arrives or goes, and stay
 *   the same across a remount, so tar of a fresh mount does not find a
 *   folder "changed as we read it" and a second backup sees none changed;
 * - mv of several messages exits 0 (the names moved to answer);
 * - restic and borg find nothing changed in a second backup, nor after a
 *   remount;
 * - rsync -aX restores a backup into a new folder exactly, and a second
 *   run adds nothing. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "harness_mount.h"
#include "harness_os.h"
#include "harness_srv.h"
#include "imap.h"
#include "imaplib.h"

static struct dovecot dc;
static struct mount_env env;

/* What the mount asks the server about one message's flags: a UID FETCH
 * of FLAGS (alone, or CHANGEDSINCE) as its trace shows it. */
#define FLAGS_ASKED "(UID FLAGS"

static void store_flags(struct imap *s, const char *mailbox, const char *set, const char *flags)
{
	srv_select(s, mailbox, false);
	const char *args[] = { "STORE", set, "+FLAGS", flags };
	struct imap_result r = { .n = 0 };
	srv_ok(imap_uid(s, args[0], args + 1, 3, &r), &r, "UID STORE");
	imap_result_free(&r);
}

static void xattr_of(const char *path, const char *name, struct buf *out)
{
	char v[512];
	ssize_t n = getxattr(path, name, v, sizeof v - 1);
	ck_assert_msg(n >= 0, "getxattr %s %s", path, name);
	buf_reset(out);
	buf_add(out, v, (size_t)n);
}

/* rsync -aX of a folder twice: the copies carry the server's flags, the
 * second run transfers nothing, and neither made the mount ask the server
 * for any message's flags (they came with the listing). */
START_TEST(test_rsync_xattrs_cost_no_round_trip_per_file)
{
	struct imap *s = mount_second(&env, "alice");
	srv_folder(s, "XBackup", 20);
	store_flags(s, "XBackup", "1:10", "(\\Seen)");
	store_flags(s, "XBackup", "5", "($Work)");
	struct fsmount m = { .pid = 0 };
	mount_start(&env, &m, "xbackup", "debug");
	char dest[128];
	snprintf(dest, sizeof dest, "%s/xbackup-copy", env.work);
	struct buf out = BUF_INIT, v = BUF_INIT, path = BUF_INIT;
	ck_assert_int_eq(mount_sh(NULL, "rsync -aX '%s/XBackup/' '%s/'", m.dir, dest), 0);
	ck_assert_int_eq(mount_sh(&out, "rsync -aXi '%s/XBackup/' '%s/'", m.dir, dest), 0);
	ck_assert_msg(out.len == 0, "the second rsync changed: %s", out.data);
	ck_assert_uint_eq(fsmount_log_count(&m, FLAGS_ASKED), 0);
	ck_assert_uint_gt(fsmount_log_count(&m, "UID FETCH 1:* (UID RFC822.SIZE INTERNALDATE FLAGS"), 0);

	buf_addf(&path, "%s/5.eml", dest);
	xattr_of(path.data, "user.imap.flags", &v);
	ck_assert_msg(strstr(v.data, "\\Seen") && strstr(v.data, "$Work"), "5.eml: %s", v.data);
	buf_reset(&path);
	buf_addf(&path, "%s/15.eml", dest);
	/* no flags, no attribute: only what a restore can set back is listed */
	char none[8];
	ck_assert_int_eq(getxattr(path.data, "user.imap.flags", none, sizeof none), -1);
	ck_assert_int_eq(errno, ENODATA);
	ck_assert_int_eq(getxattr(path.data, "user.imap.uid", none, sizeof none), -1);
	/* the MODSEQ the mount tells is the server's */
	struct buf text = BUF_INIT;
	srv_fetch(s, "XBackup", 5, "(MODSEQ)", &text, NULL);
	buf_reset(&path);
	buf_addf(&path, "%s/XBackup/5.eml", m.dir);
	xattr_of(path.data, "user.imap.modseq", &v);
	char want[64];
	snprintf(want, sizeof want, "MODSEQ (%s)", v.data);
	ck_assert_msg(strstr(text.data, want), "server: %s, copy: %s", text.data, v.data);

	ck_assert_int_eq(mount_sh(NULL, "rm -rf '%s'", dest), 0);
	buf_free(&text);
	buf_free(&out);
	buf_free(&v);
	buf_free(&path);
	imap_close(s);
	mount_stop(&m);
}
END_TEST

static time_t mtime_of(const char *path)
{
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_ctime, st.st_mtime);
	return st.st_mtime;
}

/* How many entries the folder shows, once it shows n (30 s at most). */
static size_t wait_for_files(const char *dir, size_t n)
{
	size_t have = 0;
	for (int tries = 0; tries < 300 && (have = mount_count_files(dir)) != n; tries++)
		os_sleep_ms(100);
	return have;
}

/* A folder's mtime is the same before and after it is listed, after a
 * read of every message, after a remount (cache kept), and through tar of
 * the fresh mount (exit 0); a message another client delivers moves it. */
START_TEST(test_folder_times_move_only_with_content)
{
	struct imap *s = mount_second(&env, "alice");
	srv_folder(s, "Times", 3);
	struct fsmount m = { .pid = 0 };
	mount_start(&env, &m, "times", NULL);
	struct buf dir = BUF_INIT;
	buf_addf(&dir, "%s/Times", m.dir);
	time_t before = mtime_of(dir.data);
	ck_assert_uint_eq(mount_count_files(dir.data), 3);
	ck_assert_int_eq(mtime_of(dir.data), before);
	ck_assert_int_eq(mount_sh(NULL, "cat '%s'/* >/dev/null", dir.data), 0);
	ck_assert_int_eq(mtime_of(dir.data), before);
	char cache[sizeof m.cache];
	snprintf(cache, sizeof cache, "%s", m.cache);
	mount_stop(&m);

	struct fsmount again = { .pid = 0 };
	snprintf(again.cache, sizeof again.cache, "%s", cache);
	mount_start(&env, &again, "times", NULL);
	buf_reset(&dir);
	buf_addf(&dir, "%s/Times", again.dir);
	ck_assert_int_eq(mtime_of(dir.data), before);
	ck_assert_int_eq(mount_sh(NULL, "tar -cf /dev/null -C '%s' Times", again.dir), 0);
	ck_assert_int_eq(mtime_of(dir.data), before);

	os_sleep_ms(1100);  /* the delivery falls in a later second */
	time_t delivered = time(NULL);
	srv_append(s, "Times", "Subject: new\r\n\r\nnew\r\n");
	ck_assert_uint_eq(wait_for_files(dir.data, 4), 4);
	time_t after = mtime_of(dir.data);
	for (int tries = 0; tries < 300 && after == before; tries++) {  /* the kernel keeps it 1 s */
		os_sleep_ms(100);
		after = mtime_of(dir.data);
	}
	ck_assert_int_ge(after, delivered);
	buf_free(&dir);
	imap_close(s);
	mount_stop(&again);
}
END_TEST

/* mv of several messages into another folder exits 0: mv looks at each
 * name it moved to, and that name answers for a while although the
 * message shows under its new UID.  On the server each one left its
 * folder and arrived, bytes intact. */
START_TEST(test_mv_of_several_messages)
{
	struct imap *s = mount_second(&env, "alice");
	srv_folder(s, "MvMany", 13);
	srv_folder(s, "MvInto", 2);
	struct fsmount m = { .pid = 0 };
	mount_start(&env, &m, "mvmany", NULL);
	struct buf out = BUF_INIT, text = BUF_INIT;
	int rc = mount_sh(&out, "cd '%s' && mv MvMany/11.eml MvMany/12.eml MvMany/13.eml MvInto/ 2>&1", m.dir);
	ck_assert_msg(rc == 0, "mv: %d %s", rc, out.data);
	uint32_t uids[16];
	ck_assert_uint_eq(srv_uids(s, "MvMany", uids, 16), 10);
	ck_assert_uint_eq(uids[9], 10);
	ck_assert_uint_eq(srv_uids(s, "MvInto", uids, 16), 5);
	for (unsigned i = 0; i < 3; i++) {
		char want[64];
		snprintf(want, sizeof want, "Subject: MvMany %u\r\n", 11 + i);
		buf_reset(&text);
		srv_fetch(s, "MvInto", uids[2 + i], "(BODY.PEEK[])", NULL, &text);
		ck_assert_msg(strstr(text.data, want), "UID %u: %s", uids[2 + i], text.data);
	}
	/* the listing shows them by their UIDs */
	struct buf dir = BUF_INIT;
	buf_addf(&dir, "%s/MvInto", m.dir);
	ck_assert_uint_eq(mount_count_files(dir.data), 5);
	buf_free(&dir);
	buf_free(&out);
	buf_free(&text);
	imap_close(s);
	mount_stop(&m);
}
END_TEST

/* ---- backup tools: an unchanged mount is unchanged to them ---- */

static void restore_source(struct imap *s, const char *mailbox);

/* restic (its password in the environment of that command alone: the
 * repository is the test's) and borg back a folder up three times: after
 * the first, nothing is new or changed, not even after a remount with the
 * same cache (restic compares ctime and inode too, borg ctime, size and
 * inode). */
START_TEST(test_restic_and_borg_see_no_change)
{
	struct imap *s = mount_second(&env, "alice");
	/* dated 2021: borg caches no file whose times are of the last seconds */
	restore_source(s, "Tools");
	struct fsmount m = { .pid = 0 };
	mount_start(&env, &m, "tools", NULL);
	char restic[160], borg[160], cache[sizeof m.cache];
	snprintf(restic, sizeof restic, "RESTIC_PASSWORD=test restic --no-cache --repo '%s/restic-repo'",
		 env.work);
	snprintf(borg, sizeof borg, "BORG_BASE_DIR='%s/borg-base' borg", env.work);
	struct buf out = BUF_INIT;
	ck_assert_int_eq(mount_sh(&out, "%s init 2>&1", restic), 0);
	ck_assert_int_eq(mount_sh(&out, "%s init --encryption=none '%s/borg-repo' 2>&1", borg, env.work), 0);
	for (int round = 0; round < 3; round++) {
		if (round == 2) {  /* the same cache after a remount */
			snprintf(cache, sizeof cache, "%s", m.cache);
			mount_stop(&m);
			memset(&m, 0, sizeof m);
			snprintf(m.cache, sizeof m.cache, "%s", cache);
			mount_start(&env, &m, "tools", NULL);
		}
		/* what restic calls new or modified below the mount (the
		 * directories above it are the test's, which change) */
		buf_reset(&out);
		mount_sh(&out, "%s backup -vv '%s/Tools' 2>&1 | grep -E '^(new|modified) +%s'", restic, m.dir,
			 m.dir);
		if (round == 0)
			ck_assert_msg(strstr(out.data, "/Tools/12.eml"), "restic: %s", out.data);
		else if (round == 1)
			ck_assert_msg(out.len == 0, "restic, round %d: %s", round, out.data);
		else  /* a remount may get another st_dev from the kernel, which restic
		       * keeps with directories: no file may be new or modified */
			ck_assert_msg(!strstr(out.data, ".eml"), "restic, round %d: %s", round, out.data);
		buf_reset(&out);
		ck_assert_int_eq(mount_sh(&out, "%s create --list --filter=AME '%s/borg-repo::r%d' '%s/Tools' 2>&1",
					  borg, env.work, round, m.dir), 0);
		/* borg never keeps the files of the newest ctime in its cache (they
		 * could change within the clock's tick), so it reads 12.eml (of
		 * 12 March) each time, on any file system; nothing else */
		char newest[256];
		snprintf(newest, sizeof newest, "A %s/Tools/12.eml\n", m.dir);
		if (round > 0)
			ck_assert_msg(out.len == 0 || !strcmp(out.data, newest), "borg, round %d: %s", round,
				      out.data);
	}
	ck_assert_int_eq(mount_sh(NULL, "rm -rf '%s/restic-repo' '%s/borg-repo' '%s/borg-base'", env.work,
				  env.work, env.work), 0);
	buf_free(&out);
	imap_close(s);
	mount_stop(&m);
}
END_TEST

/* ---- restores ---- */

#define RESTORE_N 12

/* Source folder: RESTORE_N messages of distinct days of 2021, flags on
 * some (keywords too). */
static void restore_source(struct imap *s, const char *mailbox)
{
	struct imap_result r = { .n = 0 };
	srv_ok(imap_create(s, mailbox, &r), &r, "CREATE");
	imap_result_free(&r);
	for (unsigned i = 1; i <= RESTORE_N; i++) {
		char msg[256], date[64];
		snprintf(msg, sizeof msg, "Subject: %s %u\r\nFrom: t@example.org\r\n\r\nbody %u\r\n", mailbox, i, i);
		snprintf(date, sizeof date, "\"%02u-Mar-2021 10:%02u:00 +0000\"", i, i);
		const char *flags = i % 3 == 0 ? "(\\Seen $Work)" : i % 3 == 1 ? "(\\Seen)" : NULL;
		srv_ok(imap_append(s, mailbox, flags, date, msg, strlen(msg), &r), &r, "APPEND");
		imap_result_free(&r);
	}
}

/* What the server holds of one message, to compare restores by. */
static void message_facts(struct imap *s, const char *mailbox, uint32_t uid, struct buf *out)
{
	struct buf text = BUF_INIT, body = BUF_INIT;
	srv_fetch(s, mailbox, uid, "(FLAGS INTERNALDATE BODY.PEEK[])", &text, &body);
	const char *f = strstr(text.data, "FLAGS (");
	const char *d = strstr(text.data, "INTERNALDATE \"");
	ck_assert(f && d);
	const char *fe = strchr(f, ')');
	buf_reset(out);
	buf_addstr(out, "FLAGS (");
	/* \Recent is the session's, not the message's */
	for (const char *p = f + 7; p < fe;) {
		const char *e = p;
		while (e < fe && *e != ' ')
			e++;
		if (e > p && !(e - p == 7 && !strncmp(p, "\\Recent", 7))) {
			if (out->data[out->len - 1] != '(')
				buf_addch(out, ' ');
			buf_add(out, p, (size_t)(e - p));
		}
		p = e + 1;
	}
	buf_addch(out, ')');
	buf_addch(out, ' ');
	buf_add(out, d, 41);
	buf_addch(out, '\n');
	buf_add(out, body.data, body.len);
	buf_free(&text);
	buf_free(&body);
}

/* Every message of from is in to, byte for byte with its flags and
 * INTERNALDATE, and to holds nothing else. */
static void assert_restored(struct imap *s, const char *from, const char *to)
{
	uint32_t a[64], b[64];
	size_t na = srv_uids(s, from, a, 64), nb = srv_uids(s, to, b, 64);
	ck_assert_uint_eq(nb, na);
	struct buf fa = BUF_INIT, fb = BUF_INIT;
	bool *used = calloc(nb, sizeof *used);
	for (size_t i = 0; i < na; i++) {
		message_facts(s, from, a[i], &fa);
		bool found = false;
		for (size_t j = 0; j < nb && !found; j++) {
			if (used[j])
				continue;
			message_facts(s, to, b[j], &fb);
			found = used[j] = fa.len == fb.len && !memcmp(fa.data, fb.data, fa.len);
		}
		ck_assert_msg(found, "%s UID %u has no copy in %s: %s", from, a[i], to, fa.data);
	}
	free(used);
	buf_free(&fa);
	buf_free(&fb);
}

/* The restored folder shows the backup's names (the messages keep them). */
static void assert_same_names(const char *bak, const char *dir)
{
	struct buf a = BUF_INIT, b = BUF_INIT;
	ck_assert_int_eq(mount_sh(&a, "ls -A '%s'", bak), 0);
	ck_assert_int_eq(mount_sh(&b, "ls -A '%s'", dir), 0);
	ck_assert_msg(a.len > 0 && a.len == b.len && !memcmp(a.data, b.data, a.len), "backup:\n%s\nrestored:\n%s",
		      a.data, b.data);
	buf_free(&a);
	buf_free(&b);
}

/* rsync -aX of a backup into a new folder: exit 0, every message back
 * with its bytes, flags and INTERNALDATE under its backup name; a second
 * run finds every file in place and sends nothing. */
START_TEST(test_rsync_restore_into_a_new_folder)
{
	struct imap *s = mount_second(&env, "alice");
	restore_source(s, "RsSrc");
	struct fsmount m = { .pid = 0 };
	mount_start(&env, &m, "rsrestore", NULL);
	char bak[128];
	snprintf(bak, sizeof bak, "%s/rs-backup", env.work);
	struct buf out = BUF_INIT;
	ck_assert_int_eq(mount_sh(NULL, "rsync -aX '%s/RsSrc/' '%s/'", m.dir, bak), 0);
	ck_assert_int_eq(mount_sh(NULL, "mkdir '%s/RsDst'", m.dir), 0);
	int rc = mount_sh(&out, "rsync -aX '%s/' '%s/RsDst/' 2>&1", bak, m.dir);
	ck_assert_msg(rc == 0, "restore: %d %s", rc, out.data);
	assert_restored(s, "RsSrc", "RsDst");
	char dst[256];
	snprintf(dst, sizeof dst, "%s/RsDst", m.dir);
	assert_same_names(bak, dst);
	buf_reset(&out);
	rc = mount_sh(&out, "rsync -aXi '%s/' '%s/RsDst/' 2>&1", bak, m.dir);
	ck_assert_msg(rc == 0, "second restore: %d %s", rc, out.data);
	ck_assert_msg(!strstr(out.data, ".eml"), "the second restore sent: %s", out.data);
	assert_restored(s, "RsSrc", "RsDst");
	ck_assert_int_eq(mount_sh(NULL, "rm -rf '%s'", bak), 0);
	buf_free(&out);
	imap_close(s);
	mount_stop(&m);
}
END_TEST

/* cp -a of a backup into a new folder, whole and again (each name now
 * exists: written over with the same bytes, nothing is added), then file
 * by file into the emptied folder: every time exit 0 and the folder
 * exactly the source, under the backup's names. */
START_TEST(test_cp_restore_whole_and_file_by_file)
{
	struct imap *s = mount_second(&env, "alice");
	restore_source(s, "CpSrc");
	struct fsmount m = { .pid = 0 };
	mount_start(&env, &m, "cprestore", NULL);
	char bak[128], dst[256];
	snprintf(bak, sizeof bak, "%s/cp-backup", env.work);
	snprintf(dst, sizeof dst, "%s/CpDst", m.dir);
	struct buf out = BUF_INIT;
	ck_assert_int_eq(mount_sh(NULL, "cp -a '%s/CpSrc' '%s'", m.dir, bak), 0);
	ck_assert_int_eq(mount_sh(NULL, "mkdir '%s'", dst), 0);
	for (int round = 0; round < 2; round++) {
		buf_reset(&out);
		int rc = mount_sh(&out, "cp -a '%s/.' '%s/' 2>&1", bak, dst);
		ck_assert_msg(rc == 0, "cp -a, round %d: %d %s", round, rc, out.data);
		assert_restored(s, "CpSrc", "CpDst");
		assert_same_names(bak, dst);
	}
	ck_assert_int_eq(mount_sh(NULL, "rm '%s'/*", dst), 0);
	uint32_t uids[4];
	ck_assert_uint_eq(srv_uids(s, "CpDst", uids, 4), 0);
	buf_reset(&out);
	int rc = mount_sh(&out, "for f in '%s'/*; do cp -a \"$f\" '%s/' || exit 1; done 2>&1", bak, dst);
	ck_assert_msg(rc == 0, "file by file: %d %s", rc, out.data);
	assert_restored(s, "CpSrc", "CpDst");
	assert_same_names(bak, dst);
	ck_assert_int_eq(mount_sh(NULL, "rm -rf '%s'", bak), 0);
	buf_free(&out);
	imap_close(s);
	mount_stop(&m);
}
END_TEST

/* restic restore of a backup into the mount, twice, and borg extract:
 * restic sets times and xattrs by name after closing each file, so the
 * names must lead to the messages written.  restic restores the backup's
 * whole path (TARGET/tmp/.../rt-backup), borg strips it. */
START_TEST(test_restic_and_borg_restore)
{
	struct imap *s = mount_second(&env, "alice");
	restore_source(s, "RtSrc");
	struct fsmount m = { .pid = 0 };
	mount_start(&env, &m, "rtrestore", NULL);
	char bak[128], restic[192], borg[160];
	snprintf(bak, sizeof bak, "%s/rt-backup", env.work);
	snprintf(restic, sizeof restic, "RESTIC_PASSWORD=test restic --no-cache --repo '%s/rt-restic'", env.work);
	snprintf(borg, sizeof borg, "BORG_BASE_DIR='%s/rt-borg-base' borg", env.work);
	struct buf out = BUF_INIT;
	ck_assert_int_eq(mount_sh(NULL, "rsync -aX '%s/RtSrc/' '%s/'", m.dir, bak), 0);
	ck_assert_int_eq(mount_sh(&out, "%s init 2>&1 && %s backup '%s' 2>&1", restic, restic, bak), 0);
	ck_assert_int_eq(mount_sh(&out, "%s init --encryption=none '%s/rt-borg' 2>&1 && "
				  "cd '%s' && %s create '%s/rt-borg::a' . 2>&1", borg, env.work, bak, borg, env.work), 0);
	/* the server's name of the folder restic restores into */
	struct buf folder = BUF_INIT, dst = BUF_INIT;
	buf_addf(&folder, "RtDst%s.rt-backup", env.work);
	for (char *p = folder.data; *p; p++)
		if (*p == '/')
			*p = '.';
	buf_addf(&dst, "%s/RtDst%s/rt-backup", m.dir, env.work);
	for (int round = 0; round < 2; round++) {
		buf_reset(&out);
		int rc = mount_sh(&out, "%s restore latest --target '%s/RtDst' 2>&1", restic, m.dir);
		ck_assert_msg(rc == 0, "restic restore, round %d: %d %s", round, rc, out.data);
		assert_restored(s, "RtSrc", folder.data);
		assert_same_names(bak, dst.data);
	}
	ck_assert_int_eq(mount_sh(NULL, "mkdir '%s/BgDst'", m.dir), 0);
	for (int round = 0; round < 2; round++) {
		buf_reset(&out);
		int rc = mount_sh(&out, "cd '%s/BgDst' && %s extract '%s/rt-borg::a' 2>&1", m.dir, borg, env.work);
		ck_assert_msg(rc == 0, "borg extract, round %d: %d %s", round, rc, out.data);
		assert_restored(s, "RtSrc", "BgDst");
		char bg[256];
		snprintf(bg, sizeof bg, "%s/BgDst", m.dir);
		assert_same_names(bak, bg);
	}
	ck_assert_int_eq(mount_sh(NULL, "rm -rf '%s' '%s/rt-restic' '%s/rt-borg' '%s/rt-borg-base'", bak, env.work,
				  env.work, env.work), 0);
	buf_free(&folder);
	buf_free(&dst);
	buf_free(&out);
	imap_close(s);
	mount_stop(&m);
}
END_TEST

static void add_tests(TCase *tc)
{
	tcase_add_test(tc, test_rsync_xattrs_cost_no_round_trip_per_file);
	tcase_add_test(tc, test_folder_times_move_only_with_content);
	tcase_add_test(tc, test_mv_of_several_messages);
	tcase_add_test(tc, test_rsync_restore_into_a_new_folder);
	tcase_add_test(tc, test_cp_restore_whole_and_file_by_file);
	tcase_add_test(tc, test_restic_and_borg_restore);
	tcase_add_test(tc, test_restic_and_borg_see_no_change);
}

int main(void)
{
	return mount_test_main("check_backup", &dc, &env, add_tests, 240);
}
