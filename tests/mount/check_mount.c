/* check_mount.c: imapfs mounted for real over a private Dovecot.  What the
 * mount shows is compared with what a second IMAP connection fetches: the
 * tree, every file's bytes, size and mtime; grep -r and rsync through it;
 * stable inodes and the disk cache across a remount; a UIDVALIDITY change;
 * a 100,000-message folder; and clean errors for bad command lines.  Who
 * may do what: another local user against the modes and allow_other; and
 * what a mount leaves of the password (environment, core dumps): those are
 * in check_mount_privacy.c. */
#include "config.h"

#include <check.h>
#include <stdarg.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "check_mount.h"
#include "date.h"
#include "harness.h"
#include "harness_mount.h"
#include "harness_os.h"
#include "imap.h"
#include "imaplib.h"
#include "mutf7.h"

static struct dovecot dc;
struct mount_env env;

/* Every message of one folder, fetched by the second connection, must be a
 * file of the mount with the same bytes, size and mtime, and nothing else. */
static unsigned compare_folder(struct imap *s, const char *mailbox, const char *dir)
{
	struct imap_result r = { .n = 0 };
	ck_assert_int_eq(imap_select(s, mailbox, true, &r), 0);
	ck_assert_str_eq(r.type, "OK");
	const char *args[] = { "FETCH", "1:*", "(UID RFC822.SIZE INTERNALDATE BODY.PEEK[])" };
	unsigned exists = (unsigned)strtoul(r.items[0].text.data, NULL, 10);
	unsigned seen = 0;
	if (exists) {
		ck_assert_int_eq(imap_uid(s, args[0], args + 1, 2, &r), 0);
		for (size_t i = 0; i < r.n; i++) {
			const struct imap_item *it = &r.items[i];
			if (!it->has_lit)
				continue;
			unsigned uid = 0;
			const char *u = strstr(it->text.data, "UID ");
			ck_assert_ptr_nonnull(u);
			uid = (unsigned)strtoul(u + 4, NULL, 10);
			time_t date;
			const char *d = strstr(it->text.data, "INTERNALDATE \"");
			ck_assert_ptr_nonnull(d);
			ck_assert_int_eq(imap_internaldate_parse(d + 14, 26, &date), 0);
			char path[1024];
			snprintf(path, sizeof path, "%s/%u.eml", dir, uid);
			struct stat st;
			ck_assert_msg(stat(path, &st) == 0, "%s: %s", path, strerror(errno));
			ck_assert_int_eq(st.st_size, (off_t)it->lit.len);
			ck_assert_int_eq(st.st_mtime, date);
			struct buf body = BUF_INIT;
			ck_assert_int_eq(mount_slurp(path, &body), 0);
			ck_assert_uint_eq(body.len, it->lit.len);
			ck_assert_msg(!memcmp(body.data, it->lit.data, body.len), "%s differs", path);
			buf_free(&body);
			seen++;
		}
	}
	ck_assert_uint_eq(seen, exists);
	ck_assert_uint_eq(mount_count_files(dir), exists);  /* and no extra files */
	imap_result_free(&r);
	return seen;
}

static void folder_dir(const struct fsmount *m, const char *utf8_name, struct buf *out)
{
	buf_reset(out);
	buf_addf(out, "%s/", m->dir);
	for (const char *p = utf8_name; *p; p++)
		buf_addch(out, *p == '.' ? '/' : *p);   /* the demo's separator is '.' */
}

START_TEST(test_tree_bytes_sizes_mtimes)
{
	struct fsmount m = { .pid = 0 };
	mount_start(&env, &m, "tree", NULL);
	struct imap *s = mount_second(&env, "alice");
	struct buf dir = BUF_INIT;
	buf_addf(&dir, "%s/INBOX", m.dir);
	unsigned total = compare_folder(s, "INBOX", dir.data);
	for (size_t i = 0; i < corpus_demo_nfolders; i++) {
		folder_dir(&m, corpus_demo_folders[i].utf8, &dir);
		struct stat st;
		ck_assert_msg(stat(dir.data, &st) == 0 && S_ISDIR(st.st_mode), "%s missing", dir.data);
		total += compare_folder(s, corpus_demo_folders[i].mutf7, dir.data);
	}
	ck_assert_uint_gt(total, 300);
	/* names that cannot be mail answer ENOENT without fuss */
	struct stat st;
	buf_reset(&dir);
	buf_addf(&dir, "%s/INBOX/.git", m.dir);
	ck_assert_int_eq(stat(dir.data, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
	buf_reset(&dir);
	buf_addf(&dir, "%s/INBOX/999999.eml", m.dir);
	ck_assert_int_eq(stat(dir.data, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
	/* reading never set \Seen: INBOX's unseen count is what the corpus made */
	struct imap_result r = { .n = 0 };
	ck_assert_int_eq(imap_status(s, "INBOX", "(UNSEEN)", &r), 0);
	ck_assert_msg(!strstr(r.items[0].text.data, "UNSEEN 0)"), "%s", r.items[0].text.data);
	imap_result_free(&r);
	imap_close(s);
	buf_free(&dir);
	mount_stop(&m);
}
END_TEST

START_TEST(test_grep_and_rsync)
{
	struct fsmount m = { .pid = 0 };
	mount_start(&env, &m, "grep", NULL);
	struct buf out = BUF_INIT;
	/* every corpus message carries the marker once per part: count files */
	ck_assert_int_eq(mount_sh(&out, "grep -r -l imapfs-corpus- '%s' | wc -l", m.dir), 0);
	unsigned files = (unsigned)strtoul(out.data, NULL, 10);
	unsigned expect = CORPUS_DEMO_INBOX;
	for (size_t i = 0; i < corpus_demo_nfolders; i++)
		expect += corpus_demo_folders[i].messages;
	ck_assert_uint_eq(files, expect);
	char dest[128];
	snprintf(dest, sizeof dest, "%s/rsync-copy", env.work);
	buf_reset(&out);
	ck_assert_int_eq(mount_sh(NULL, "rsync -a '%s/' '%s/'", m.dir, dest), 0);
	ck_assert_int_eq(mount_sh(&out, "rsync -a --stats '%s/' '%s/' | grep 'files transferred'", m.dir, dest), 0);
	ck_assert_msg(strstr(out.data, "transferred: 0") != NULL, "second rsync: %s", out.data);
	buf_reset(&out);
	ck_assert_int_eq(mount_sh(&out, "diff -r '%s' '%s' && echo same", m.dir, dest), 0);
	ck_assert_str_eq(out.data, "same\n");
	ck_assert_int_eq(mount_sh(NULL, "rm -rf '%s'", dest), 0);
	buf_free(&out);
	mount_stop(&m);
}
END_TEST

START_TEST(test_remount_keeps_inodes_and_cache)
{
	struct fsmount m = { .pid = 0 };
	mount_start(&env, &m, "remount", NULL);
	char path[256];
	snprintf(path, sizeof path, "%s/INBOX/1.eml", m.dir);
	struct stat a, b, c1, c2;
	struct buf body1 = BUF_INIT, body2 = BUF_INIT;
	ck_assert_int_eq(mount_slurp(path, &body1), 0);
	ck_assert_int_eq(stat(path, &a), 0);
	mount_stop(&m);
	/* the body is in the cache (in a pack of bodies), under a directory
	 * of mode 0700 */
	struct stat cst;
	ck_assert_int_eq(stat(m.cache, &cst), 0);
	ck_assert_int_eq(cst.st_mode & 0777, 0700);
	struct buf find = BUF_INIT;
	ck_assert_int_eq(mount_sh(&find, "find '%s/mail/INBOX' -type f -name '1.p' -size +%lldc | head -1",
				 m.cache, (long long)a.st_size), 0);
	ck_assert_uint_gt(find.len, 1);
	find.data[find.len - 1] = '\0';
	ck_assert_int_eq(stat(find.data, &c1), 0);
	mount_start(&env, &m, "remount", NULL);
	ck_assert_int_eq(stat(path, &b), 0);
	ck_assert_int_eq(a.st_ino, b.st_ino);
	ck_assert_int_eq(a.st_ctime, b.st_ctime);
	ck_assert_int_eq(a.st_mtime, b.st_mtime);
	ck_assert_int_eq(mount_slurp(path, &body2), 0);
	ck_assert(body1.len == body2.len && !memcmp(body1.data, body2.data, body1.len));
	/* served from the cache: the cached file was not written again */
	ck_assert_int_eq(stat(find.data, &c2), 0);
	ck_assert_int_eq(c1.st_ino, c2.st_ino);
	ck_assert_int_eq(c1.st_mtim.tv_nsec, c2.st_mtim.tv_nsec);
	buf_free(&find);
	buf_free(&body1);
	buf_free(&body2);
	mount_stop(&m);
}
END_TEST

/* Whether every page of path is in the kernel's page cache, asked of
 * fincore(1) (mmap and mincore(), which read nothing): not in this process,
 * since valgrind reads a file it sees mapped. */
static bool in_page_cache(const char *path)
{
	char cmd[2048];
	snprintf(cmd, sizeof cmd, "fincore --bytes --noheadings --raw --output RES,SIZE '%s'", path);
	FILE *f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	unsigned long long res = 0, size = 0;
	int got = fscanf(f, "%llu %llu", &res, &size);
	ck_assert_int_eq(pclose(f), 0);
	ck_assert_msg(got == 2 && size > 0, "fincore %s: %d fields", path, got);
	return res >= size;
}

/* Bodies fetched ahead of a reader go into the kernel's page cache as they
 * arrive (the reader then costs no request per file); what was not
 * fetched is not there.  The pushed bytes are the server's. */
START_TEST(test_read_ahead_fills_the_page_cache)
{
	struct imap *s = mount_second(&env, "alice");
	struct imap_result r = { .n = 0 };
	ck_assert_int_eq(imap_create(s, "Pushed", &r), 0);
	for (int i = 0; i < 20; i++) {
		char msg[128];
		int n = snprintf(msg, sizeof msg, "Subject: pushed %d\r\n\r\nbody of message %d\r\n", i, i);
		ck_assert_int_eq(imap_append(s, "Pushed", NULL, NULL, msg, (size_t)n, &r), 0);
		ck_assert_str_eq(r.type, "OK");
	}
	struct fsmount m = { .pid = 0 };
	mount_start(&env, &m, "push", NULL);
	char dir[512], first[1024], second[1024], last[1024];
	snprintf(dir, sizeof dir, "%s/Pushed", m.dir);
	/* the listing gives the kernel every file's inode, in directory order */
	char names[20][256];
	size_t n = 0;
	DIR *d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	for (struct dirent *de; (de = readdir(d));)
		if (de->d_type == DT_REG && n < 20)
			snprintf(names[n++], sizeof names[0], "%s", de->d_name);
	closedir(d);
	ck_assert_uint_eq(n, 20);
	snprintf(first, sizeof first, "%s/%s", dir, names[0]);
	snprintf(second, sizeof second, "%s/%s", dir, names[1]);
	snprintf(last, sizeof last, "%s/%s", dir, names[19]);
	/* The kernel's first open of the mount asks the daemon (which then
	 * learns that opens need not be sent, FUSE_NO_OPEN_SUPPORT, which
	 * every kernel the suite runs on has): let that be another file's. */
	struct buf body = BUF_INIT;
	char other[1024];
	snprintf(other, sizeof other, "%s/INBOX/1.eml", m.dir);
	ck_assert_int_eq(mount_slurp(other, &body), 0);
	ck_assert(!in_page_cache(second));
	/* the first read, by another process than the one that listed the
	 * folder (a walk would be given the whole folder), fetches two
	 * windows of 8 */
	buf_reset(&body);
	ck_assert_int_eq(mount_sh(&body, "cat '%s' | wc -c", first), 0);
	ck_assert_uint_gt(strtoul(body.data, NULL, 10), 0);
	bool pushed = false;
	for (int i = 0; i < 100 && !(pushed = in_page_cache(second)); i++)
		usleep(100000);
	ck_assert_msg(pushed, "%s was fetched ahead but is not in the page cache", names[1]);
	ck_assert(!in_page_cache(last));
	buf_reset(&body);
	ck_assert_int_eq(mount_slurp(second, &body), 0);
	char uid[32];
	snprintf(uid, sizeof uid, "%u", (unsigned)strtoul(names[1], NULL, 10));
	const char *args[] = { uid, "(BODY.PEEK[])" };
	ck_assert_int_eq(imap_select(s, "Pushed", true, &r), 0);
	ck_assert_int_eq(imap_uid(s, "FETCH", args, 2, &r), 0);
	ck_assert(r.n && r.items[0].has_lit);
	ck_assert_uint_eq(body.len, r.items[0].lit.len);
	ck_assert(!memcmp(body.data, r.items[0].lit.data, body.len));
	mount_stop(&m);
	ck_assert_int_eq(imap_close_mailbox(s, &r), 0);
	ck_assert_int_eq(imap_delete(s, "Pushed", &r), 0);
	imap_result_free(&r);
	imap_close(s);
	buf_free(&body);
}
END_TEST

START_TEST(test_uidvalidity_change_drops_cache)
{
	struct imap *s = mount_second(&env, "alice");
	struct imap_result r = { .n = 0 };
	ck_assert_int_eq(imap_create(s, "Volatile", &r), 0);
	const char *old = "Subject: old generation\r\n\r\nold bytes\r\n";
	ck_assert_int_eq(imap_append(s, "Volatile", NULL, NULL, old, strlen(old), &r), 0);
	struct fsmount m = { .pid = 0 };
	mount_start(&env, &m, "uidvalidity", "poll=1");
	char path[256];
	snprintf(path, sizeof path, "%s/Volatile/1.eml", m.dir);
	struct buf body = BUF_INIT;
	ck_assert_int_eq(mount_slurp(path, &body), 0);
	ck_assert_str_eq(body.data, old);
	/* the folder is deleted and made again: a new UIDVALIDITY, UID 1 again */
	ck_assert_int_eq(imap_delete(s, "Volatile", &r), 0);
	sleep(1);  /* Dovecot's UIDVALIDITY is a time stamp */
	ck_assert_int_eq(imap_create(s, "Volatile", &r), 0);
	const char *fresh = "Subject: new generation\r\n\r\nthe new bytes, longer\r\n";
	ck_assert_int_eq(imap_append(s, "Volatile", NULL, NULL, fresh, strlen(fresh), &r), 0);
	sleep(2);  /* past poll=1: the next access checks the folder */
	char ls[512];
	snprintf(ls, sizeof ls, "%s/Volatile", m.dir);
	DIR *d = opendir(ls);  /* a listing revalidates */
	ck_assert_ptr_nonnull(d);
	closedir(d);
	/* the kernel is told to forget the old name right away; until it has,
	 * a read may fail (ESTALE), but it never returns the old bytes */
	bool got = false;
	for (int i = 0; i < 40 && !got; i++) {
		buf_reset(&body);
		if (mount_slurp(path, &body) == 0) {
			ck_assert_str_eq(body.data, fresh);
			got = true;
		} else {
			usleep(50000);
		}
	}
	ck_assert_msg(got, "the new generation never became readable");
	ck_assert_int_eq(imap_delete(s, "Volatile", &r), 0);
	imap_result_free(&r);
	imap_close(s);
	buf_free(&body);
	mount_stop(&m);
}
END_TEST

START_TEST(test_readonly_mount_and_statfs)
{
	struct fsmount m = { .pid = 0 };
	mount_start(&env, &m, "ro", "ro");
	char path[256];
	snprintf(path, sizeof path, "%s/INBOX/2.eml", m.dir);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0400);  /* 0444 less the default umask 077 */
	ck_assert_int_eq(open(path, O_WRONLY), -1);
	ck_assert_int_eq(errno, EROFS);
	snprintf(path, sizeof path, "%s/INBOX/new.eml", m.dir);
	ck_assert_int_eq(open(path, O_CREAT | O_WRONLY, 0644), -1);
	ck_assert_int_eq(errno, EROFS);
	struct statvfs sv;
	ck_assert_int_eq(statvfs(m.dir, &sv), 0);
	/* Dovecot's quota for alice is 1 GiB */
	ck_assert_uint_eq((uint64_t)sv.f_blocks * sv.f_frsize, 1ull << 30);
	ck_assert(sv.f_flag & ST_RDONLY);
	mount_stop(&m);
}
END_TEST

/* ls -l asks every file for security.selinux and system.posix_acl_access.
 * Both namespaces answer ENOTSUP (none here), and ls then stops asking
 * about this file system: a warm ls -l of a folder sends no request per
 * file, as READDIRPLUS brought every name and its attributes.  The user
 * namespace still answers. */
START_TEST(test_ls_l_asks_nothing_per_file)
{
	struct fsmount m = { .pid = 0 };
	mount_start(&env, &m, "lsl", "debug");
	char dir[256], path[300], v[64];
	snprintf(dir, sizeof dir, "%s/INBOX", m.dir);
	snprintf(path, sizeof path, "%s/1.eml", dir);
	ck_assert_int_eq(getxattr(path, "system.posix_acl_access", NULL, 0), -1);
	ck_assert_int_eq(errno, ENOTSUP);
	ck_assert_int_eq(lgetxattr(path, "security.selinux", v, sizeof v), -1);
	ck_assert_int_eq(errno, ENOTSUP);
	ck_assert_int_eq(getxattr(dir, "system.posix_acl_default", NULL, 0), -1);
	ck_assert_int_eq(errno, ENOTSUP);
	ck_assert_int_eq(getxattr(path, "user.imap.uid", v, sizeof v), 1);
	ck_assert_int_eq(v[0], '1');
	ck_assert_int_eq(getxattr(path, "user.none", v, sizeof v), -1);
	ck_assert_int_eq(errno, ENODATA);

	struct buf out = BUF_INIT;
	ck_assert_int_eq(mount_sh(&out, "ls -l '%s' | grep -c '[0-9]\\.eml$'", dir), 0);
	ck_assert_uint_eq(strtoul(out.data, NULL, 10), CORPUS_DEMO_INBOX);
	size_t xattrs = fsmount_log_count(&m, "opcode: GETXATTR");
	size_t lookups = fsmount_log_count(&m, "opcode: LOOKUP");
	size_t getattrs = fsmount_log_count(&m, "opcode: GETATTR");
	buf_reset(&out);
	ck_assert_int_eq(mount_sh(&out, "ls -l '%s' | grep -c '[0-9]\\.eml$'", dir), 0);
	ck_assert_uint_eq(strtoul(out.data, NULL, 10), CORPUS_DEMO_INBOX);
	/* the folder's own (its attributes live a second) may be asked again */
	xattrs = fsmount_log_count(&m, "opcode: GETXATTR") - xattrs;
	lookups = fsmount_log_count(&m, "opcode: LOOKUP") - lookups;
	getattrs = fsmount_log_count(&m, "opcode: GETATTR") - getattrs;
	ck_assert_msg(xattrs <= 2 && lookups <= 2 && getattrs <= 2,
		      "a warm ls -l of %d files: %zu GETXATTR, %zu LOOKUP, %zu GETATTR", CORPUS_DEMO_INBOX,
		      xattrs, lookups, getattrs);
	buf_free(&out);
	mount_stop(&m);
}
END_TEST

START_TEST(test_folder_of_100k_messages)
{
	struct buf root = BUF_INIT, err = BUF_INIT;
	dovecot_user_maildir(&dc, "alice", &root);
	ck_assert_int_eq(maildir_make_folder(root.data, "Huge", &err), 0);
	char msg[128];
	time_t t0 = 1600000000;
	for (unsigned i = 0; i < 100000; i++) {
		int n = snprintf(msg, sizeof msg, "Subject: %u\r\n\r\nhuge folder message %u\r\n", i, i);
		ck_assert_msg(maildir_add(root.data, "Huge", msg, (size_t)n, "S", t0 + i, NULL, &err) == 0,
			      "%s", err.data);
	}
	struct fsmount m = { .pid = 0 };
	mount_start(&env, &m, "huge", NULL);
	char dir[256];
	snprintf(dir, sizeof dir, "%s/Huge", m.dir);
	ck_assert_uint_eq(mount_count_files(dir), 100000);
	char path[300];
	snprintf(path, sizeof path, "%s/100000.eml", dir);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mtime, t0 + 99999);
	struct buf body = BUF_INIT;
	ck_assert_int_eq(mount_slurp(path, &body), 0);
	ck_assert_msg(strstr(body.data, "huge folder message 99999") != NULL, "%s", body.data);
	/* bounded memory: the daemon's peak RSS stays small */
	char status[64];
	snprintf(status, sizeof status, "/proc/%d/status", (int)m.pid);
	struct buf proc = BUF_INIT;
	ck_assert_int_eq(mount_slurp(status, &proc), 0);
	const char *hwm = strstr(proc.data, "VmHWM:");
	ck_assert_ptr_nonnull(hwm);
	unsigned long kb = strtoul(hwm + 6, NULL, 10);
	ck_assert_msg(kb < 200 * 1024, "peak RSS %lu kB", kb);
	buf_free(&proc);
	buf_free(&body);
	mount_stop(&m);
	ck_assert_msg(maildir_remove_folder(root.data, "Huge", &err) == 0, "%s", err.data);
	struct imap *s = mount_second(&env, "alice");
	struct imap_result r = { .n = 0 };
	imap_status(s, "Huge", "(MESSAGES)", &r);
	ck_assert_str_eq(r.type, "NO");  /* gone for the tests after this one */
	imap_result_free(&r);
	imap_close(s);
	buf_free(&root);
	buf_free(&err);
}
END_TEST

/* The server goes away: what is cached stays readable, the rest fails with
 * EIO at once instead of hanging. */
START_TEST(test_cached_mail_readable_offline)
{
	struct dovecot own;
	struct buf err = BUF_INIT, root = BUF_INIT;
	struct dovecot_opts o = { .dir = NULL };
	ck_assert_msg(dovecot_start(&own, &o, &err) == 0, "%s", err.data);
	dovecot_user_maildir(&own, "alice", &root);
	for (int i = 0; i < 40; i++) {
		char msg[96];
		int n = snprintf(msg, sizeof msg, "Subject: offline %d\r\n\r\nbody %d\r\n", i, i);
		ck_assert_int_eq(maildir_add(root.data, NULL, msg, (size_t)n, "S", 1700000000 + i, NULL, &err), 0);
	}
	struct fsmount m = { .pid = 0 };
	snprintf(m.dir, sizeof m.dir, "%s/mnt-offline", env.work);
	snprintf(m.cache, sizeof m.cache, "%s/cache-offline", env.work);
	mkdir(m.dir, 0755);
	char opts[512], url[128], path[256];
	snprintf(opts, sizeof opts, "tls=none,passfile=%s,cachedir=%s,timeout=5", env.passfile, m.cache);
	snprintf(url, sizeof url, "imap://alice@127.0.0.1:%d", own.imap_port);
	ck_assert_int_eq(mount_run(&env, &m, opts, url, NULL), -1);
	snprintf(path, sizeof path, "%s/INBOX/1.eml", m.dir);
	struct buf before = BUF_INIT, after = BUF_INIT;
	ck_assert_int_eq(mount_slurp(path, &before), 0);
	ck_assert_int_eq(dovecot_stop(&own, &err), 0);
	ck_assert_int_eq(mount_slurp(path, &after), 0);
	ck_assert(before.len == after.len && !memcmp(before.data, after.data, before.len));
	char dir[256];
	snprintf(dir, sizeof dir, "%s/INBOX", m.dir);
	ck_assert_uint_eq(mount_count_files(dir), 40);  /* the listing is cached too */
	/* last in directory order, so beyond what reading 1.eml fetched ahead */
	snprintf(path, sizeof path, "%s/INBOX/9.eml", m.dir);
	struct buf none = BUF_INIT;
	ck_assert_int_eq(mount_slurp(path, &none), -1);
	ck_assert_int_eq(errno, EIO);
	mount_stop(&m);
	buf_free(&before);
	buf_free(&after);
	buf_free(&none);
	buf_free(&root);
	buf_free(&err);
}
END_TEST

/* Bad command lines and servers: one clear line, non-zero, nothing mounted. */
static void expect_failure(const char *opts, const char *url, const char *dir, const char *want)
{
	struct fsmount m = { .pid = 0 };
	snprintf(m.dir, sizeof m.dir, "%s", dir);
	struct buf err = BUF_INIT;
	int rc = mount_run(&env, &m, opts, url, &err);
	ck_assert_msg(rc > 0, "imapfs should have failed (%s)", want);
	ck_assert_msg(strstr(err.data, want) != NULL, "wanted '%s' in: %s", want, err.data);
	ck_assert(!fsmount_present(dir));
	buf_free(&err);
}

START_TEST(test_clean_errors)
{
	char dir[128], full[256], opts[512], url[128], badopts[2048];
	snprintf(dir, sizeof dir, "%s/mnt-errors", env.work);
	char wrong[160];
	snprintf(wrong, sizeof wrong, "%s/wrongpass", env.work);
	FILE *f = fopen(wrong, "w");
	ck_assert_ptr_nonnull(f);
	fputs("not-the-password\n", f);
	fclose(f);
	mkdir(dir, 0755);
	snprintf(opts, sizeof opts, "tls=none,passfile=%s,cachedir=%s/cache-errors", env.passfile, env.work);
	snprintf(url, sizeof url, "imap://alice@127.0.0.1:%d", dc.imap_port);
	expect_failure(opts, "http://alice@127.0.0.1", dir, "bad URL");
	expect_failure(opts, "imap://alice@127.0.0.1:99999", dir, "bad port");
	/* a port nobody listens on */
	expect_failure(opts, "imap://alice@127.0.0.1:1", dir, "refused");
	snprintf(badopts, sizeof badopts, "tls=none,passfile=%s/wrongpass,cachedir=%s/cache-errors", env.work,
		 env.work);
	expect_failure(badopts, url, dir, "refused");   /* login refused */
	/* TLS that does not verify */
	snprintf(badopts, sizeof badopts, "passfile=%s,cafile=%s,cachedir=%s/cache-errors", env.passfile,
		 dc.certs.otherca, env.work);
	char tlsurl[128];
	snprintf(tlsurl, sizeof tlsurl, "imaps://alice@localhost:%d", dc.imaps_port);
	expect_failure(badopts, tlsurl, dir, "certificate verify failed");
	/* STARTTLS required by default on imap:// and it verifies too */
	snprintf(badopts, sizeof badopts, "passfile=%s,cafile=%s,cachedir=%s/cache-errors", env.passfile,
		 dc.certs.otherca, env.work);
	expect_failure(badopts, url, dir, "STARTTLS");
	snprintf(full, sizeof full, "%s/full", dir);
	mkdir(full, 0755);
	expect_failure(opts, url, dir, "not empty");
	rmdir(full);
	char bogus[1024];
	snprintf(bogus, sizeof bogus, "%s,bogus=1", opts);
	expect_failure(bogus, url, dir, "bogus");
	rmdir(dir);
}
END_TEST

static void add_tests(TCase *tc)
{
	tcase_add_test(tc, test_tree_bytes_sizes_mtimes);
	tcase_add_test(tc, test_grep_and_rsync);
	tcase_add_test(tc, test_remount_keeps_inodes_and_cache);
	tcase_add_test(tc, test_read_ahead_fills_the_page_cache);
	tcase_add_test(tc, test_uidvalidity_change_drops_cache);
	tcase_add_test(tc, test_readonly_mount_and_statfs);
	tcase_add_test(tc, test_ls_l_asks_nothing_per_file);
	tcase_add_test(tc, test_folder_of_100k_messages);
	tcase_add_test(tc, test_cached_mail_readable_offline);
	tcase_add_test(tc, test_clean_errors);
	check_mount_add_privacy(tc);
}

int main(void)
{
	return mount_test_main("check_mount", &dc, &env, add_tests, 240);
}
