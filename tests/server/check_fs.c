/* check_fs.c (server): the filesystem core driven directly, without a
 * mount: fs_lookup, fs_getattr, fs_opendir, fs_open, fs_statfs against a
 * private Dovecot, with what they return compared to a second connection.
 * The same core against scripted servers is in tests/unit/check_fs.c. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_run.h"
#include "fake.h"
#include "fs.h"
#include "fs_impl.h"  /* the tree and the cache: what was fetched ahead */
#include "harness.h"
#include "harness_fakefs.h"
#include "harness_mount.h"
#include "harness_os.h"
#include "imap.h"
#include "imaplib.h"
#include "xalloc.h"

static struct dovecot dc;
static char cachedir[64];

static struct fs *make_fs_in(const char *dir, bool readonly, struct fs_config *cfg)
{
	char port[16];
	snprintf(port, sizeof port, "%d", dc.imap_port);
	fakefs_account(cfg, "alice", port);
	struct buf err = BUF_INIT;
	cfg->cachedir = (char *)dir;
	cfg->cache_size = 1ull << 30;
	cfg->connections = 3;
	cfg->timeout_s = 30;
	cfg->poll_s = 60;
	cfg->readonly = readonly;
	cfg->umask = 022;
	struct fs *fs;
	ck_assert_msg(fs_new(&fs, cfg, &err) == 0, "fs_new: %s", err.data);
	ck_assert_int_eq(fs_start(fs), 0);
	buf_free(&err);
	return fs;
}

static struct fs *make_fs(bool readonly, struct fs_config *cfg)
{
	return make_fs_in(cachedir, readonly, cfg);
}

static void drop_fs(struct fs *fs, struct fs_config *cfg)
{
	fs_free(fs);
	url_free(&cfg->url);
}

START_TEST(test_root_lists_the_mailbox_tree)
{
	struct fs_config cfg;
	struct fs *fs = make_fs(false, &cfg);
	struct fs_dir *d;
	ck_assert_int_eq(fs_opendir(fs, FS_ROOT_INO, 0, &d), 0);
	ck_assert_ptr_nonnull(fs_dir_find(d, "INBOX"));
	ck_assert_ptr_nonnull(fs_dir_find(d, "Reisen"));
	ck_assert_ptr_nonnull(fs_dir_find(d, "日本語"));
	ck_assert_ptr_nonnull(fs_dir_find(d, "Café & Bar"));
	ck_assert_ptr_null(fs_dir_find(d, "Zürich"));  /* one level down */
	const struct fs_dirent *reisen = fs_dir_find(d, "Reisen");
	ck_assert(S_ISDIR(reisen->e.st.st_mode));
	struct fs_entry e;
	ck_assert_int_eq(fs_lookup(fs, FS_ROOT_INO, "Reisen", &e), 0);
	ck_assert_uint_eq(e.ino, reisen->e.ino);
	struct fs_dir *sub;
	ck_assert_int_eq(fs_opendir(fs, e.ino, 0, &sub), 0);
	ck_assert_ptr_nonnull(fs_dir_find(sub, "Zürich"));
	fs_dir_free(sub);
	fs_dir_free(d);
	drop_fs(fs, &cfg);
}
END_TEST

START_TEST(test_messages_match_a_second_connection)
{
	struct fs_config cfg;
	struct fs *fs = make_fs(false, &cfg);
	struct fs_entry inbox;
	ck_assert_int_eq(fs_lookup(fs, FS_ROOT_INO, "INBOX", &inbox), 0);
	struct fs_dir *d;
	ck_assert_int_eq(fs_opendir(fs, inbox.ino, 0, &d), 0);
	ck_assert_uint_eq(d->n, FS_DIR_DOTS + CORPUS_DEMO_INBOX);
	ck_assert_str_eq(d->v[0].name, ".");
	ck_assert_str_eq(d->v[1].name, "..");
	/* names come in string order, as rsync and ls want them */
	for (size_t i = FS_DIR_DOTS + 1; i < d->n; i++)
		ck_assert_int_lt(strcmp(d->v[i - 1].name, d->v[i].name), 0);

	struct imap *s = harness_login(dc.imap_port, "alice");
	struct imap_result r = { .n = 0 };
	ck_assert_int_eq(imap_select(s, "INBOX", true, &r), 0);
	const char *args[] = { "7", "(BODY.PEEK[] RFC822.SIZE)" };
	ck_assert_int_eq(imap_uid(s, "FETCH", args, 2, &r), 0);
	ck_assert(r.items[0].has_lit);

	struct fs_entry e;
	ck_assert_int_eq(fs_lookup(fs, inbox.ino, "7.eml", &e), 0);
	ck_assert_uint_ne(e.ino, 0);
	ck_assert_int_eq(e.st.st_size, (off_t)r.items[0].lit.len);
	ck_assert(S_ISREG(e.st.st_mode));
	ck_assert_uint_eq(fs_dir_find(d, "7.eml")->e.ino, e.ino);
	int fd;
	bool keep;
	ck_assert_int_eq(fs_open(fs, e.ino, O_RDONLY, &fd, &keep), 0);
	ck_assert(keep);
	char *bytes = xmalloc(r.items[0].lit.len + 1);
	ck_assert_int_eq(pread(fd, bytes, r.items[0].lit.len + 1, 0), (ssize_t)r.items[0].lit.len);
	ck_assert(!memcmp(bytes, r.items[0].lit.data, r.items[0].lit.len));
	free(bytes);
	close(fd);
	/* a message never changes; a forgotten node no longer opens */
	ck_assert_int_eq(fs_open(fs, e.ino, O_WRONLY, &fd, &keep), -EPERM);
	struct stat st;
	double timeout;
	ck_assert_int_eq(fs_getattr(fs, e.ino, &st, &timeout), 0);
	ck_assert_int_eq(st.st_size, e.st.st_size);
	fs_forget(fs, e.ino, 1);
	ck_assert_int_eq(fs_getattr(fs, e.ino, &st, &timeout), -ENOENT);
	ck_assert_int_eq(fs_open(fs, e.ino, O_RDONLY, &fd, &keep), -ENOENT);
	imap_result_free(&r);
	imap_close(s);
	fs_dir_free(d);
	drop_fs(fs, &cfg);
}
END_TEST

/* ---- scans across folders ---- */

/* The folders in the order grep -r reads their messages: depth first
 * through the directory listings, a folder's subfolders (listed before
 * its messages) ahead of its own messages. */
static void walk_listings(struct fs *fs, uint64_t ino, char **out, size_t *n, size_t max)
{
	struct fs_dir *d;
	ck_assert_int_eq(fs_opendir(fs, ino, 0, &d), 0);
	for (size_t i = FS_DIR_DOTS; i < d->n; i++)
		if (S_ISDIR(d->v[i].e.st.st_mode))
			walk_listings(fs, d->v[i].e.ino, out, n, max);
	fs_dir_free(d);
	struct mbox *m = mtree_by_ino(&fs->tree, ino);
	if (m && m->name && m->selectable && *n < max)
		out[(*n)++] = xstrdup(m->path);
}

START_TEST(test_scan_order_follows_the_listings)
{
	struct fs_config cfg;
	struct fs *fs = make_fs(true, &cfg);
	char *want[64];
	size_t n = 0;
	walk_listings(fs, FS_ROOT_INO, want, &n, 64);
	ck_assert_uint_eq(n, corpus_demo_nfolders + 1);  /* and INBOX */
	struct mbox *m = mtree_by_path(&fs->tree, want[0]);
	for (size_t i = 1; i < n; i++) {
		m = mtree_scan_next(&fs->tree, m);
		ck_assert_ptr_nonnull(m);
		ck_assert_str_eq(m->path, want[i]);
	}
	ck_assert_ptr_null(mtree_scan_next(&fs->tree, m));
	for (size_t i = 0; i < n; i++)
		free(want[i]);
	drop_fs(fs, &cfg);
}
END_TEST

static bool first_body_cached(struct fs *fs, struct mbox *m)
{
	pthread_mutex_lock(&m->lock);
	bool loaded = m->loaded && m->listing.n;
	uint32_t uidvalidity = m->listing.uidvalidity, uid = loaded ? m->listing.msgs[m->order[0]].uid : 0;
	pthread_mutex_unlock(&m->lock);
	return loaded && cache_body_has(fs->cache, m->name, uidvalidity, uid);
}

/* The message files of dir, in directory order. */
static size_t message_inos(struct fs *fs, struct mbox *dir, uint64_t *inos, size_t max)
{
	struct fs_dir *d;
	ck_assert_int_eq(fs_opendir(fs, dir->ino, 0, &d), 0);
	size_t n = 0;
	for (size_t i = FS_DIR_DOTS; i < d->n && n < max; i++) {
		if (!S_ISREG(d->v[i].e.st.st_mode))
			continue;
		struct fs_entry e;
		ck_assert_int_eq(fs_lookup(fs, dir->ino, d->v[i].name, &e), 0);
		inos[n++] = e.ino;
	}
	fs_dir_free(d);
	return n;
}

static void read_message(struct fs *fs, uint64_t ino)
{
	struct cache_span body;
	bool keep;
	ck_assert_int_eq(fs_open_body(fs, ino, O_RDONLY, 0, &body, &keep), 0);
	close(body.fd);
}

/* Reading a folder from its first message to its end brings in the next
 * folder of the walk, listing and first bodies, before anyone opens it
 * (and, that one being small enough to fetch whole, the one after it).
 * Reading a folder's newest messages is no scan: nothing else comes. */
START_TEST(test_scan_fetches_the_next_folder_ahead)
{
	char dir[] = "/tmp/imapfs-check-fs-scan-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	struct fs_config cfg;
	struct fs *fs = make_fs_in(dir, true, &cfg);
	struct fs_dir *root;
	ck_assert_int_eq(fs_opendir(fs, FS_ROOT_INO, 0, &root), 0);
	fs_dir_free(root);
	/* a folder of the walk with a next and a next but one */
	struct mbox **all, *a = NULL, *b = NULL, *c = NULL;
	size_t nall = mtree_selectable(&fs->tree, &all);
	for (size_t i = 0; i < nall && !c; i++) {
		a = all[i];
		b = mtree_scan_next(&fs->tree, a);
		c = b ? mtree_scan_next(&fs->tree, b) : NULL;
	}
	free(all);
	ck_assert_ptr_nonnull(c);
	ck_assert(!mbox_loaded(b) && !mbox_loaded(c));
	uint64_t inos[256];
	size_t n = message_inos(fs, a, inos, 256);
	ck_assert_uint_ge(n, 3);
	ck_assert_uint_le(n, 256);
	read_message(fs, inos[n - 2]);
	read_message(fs, inos[n - 1]);
	usleep(500000);  /* what would come, comes within milliseconds */
	ck_assert_msg(!mbox_loaded(b), "reading the newest two of %s listed %s", a->path, b->path);
	for (size_t i = 0; i < n; i++)
		read_message(fs, inos[i]);
	bool ahead = false;
	for (int i = 0; i < 100 && !ahead; i++) {
		ahead = first_body_cached(fs, b) && first_body_cached(fs, c);
		if (!ahead)
			usleep(100000);
	}
	ck_assert_msg(first_body_cached(fs, b), "%s (after %s) not fetched ahead", b->path, a->path);
	ck_assert_msg(first_body_cached(fs, c), "%s (after small %s) not fetched ahead", c->path, b->path);
	drop_fs(fs, &cfg);
	ck_assert_int_eq(os_rmtree(dir, NULL), 0);
}
END_TEST

/* After mv the kernel keeps the moved file's inode under the new name
 * until an invalidation reaches it; reads through it meanwhile give the
 * moved message, also in a folder whose listing nobody asked for yet. */
START_TEST(test_moved_message_reads_through_its_old_inode)
{
	struct imap *s = harness_login(dc.imap_port, "alice");
	struct imap_result r = { .n = 0 };
	const char *msg = "Subject: moved\r\n\r\nread through the old inode\r\n";
	ck_assert_int_eq(imap_create(s, "MoveFrom", &r), 0);
	ck_assert_int_eq(imap_create(s, "MoveTo", &r), 0);
	ck_assert_int_eq(imap_append(s, "MoveFrom", NULL, NULL, msg, strlen(msg), &r), 0);
	ck_assert_str_eq(r.type, "OK");
	char dir[] = "/tmp/imapfs-check-fs-move-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	struct fs_config cfg;
	struct fs *fs = make_fs_in(dir, false, &cfg);
	struct fs_entry from, to, e;
	ck_assert_int_eq(fs_lookup(fs, FS_ROOT_INO, "MoveFrom", &from), 0);
	ck_assert_int_eq(fs_lookup(fs, FS_ROOT_INO, "MoveTo", &to), 0);
	ck_assert_int_eq(fs_lookup(fs, from.ino, "1.eml", &e), 0);
	ck_assert_int_eq(fs_rename(fs, from.ino, "1.eml", to.ino, "1.eml", 0), 0);
	struct cache_span body;
	bool keep;
	ck_assert_int_eq(fs_open_body(fs, e.ino, O_RDONLY, 0, &body, &keep), 0);
	char got[256];
	ck_assert_int_eq(pread(body.fd, got, sizeof got, (off_t)body.offset), (ssize_t)strlen(msg));
	ck_assert_uint_eq(body.size, strlen(msg));
	ck_assert(!memcmp(got, msg, strlen(msg)));
	close(body.fd);
	drop_fs(fs, &cfg);
	ck_assert_int_eq(imap_delete(s, "MoveFrom", &r), 0);
	ck_assert_int_eq(imap_delete(s, "MoveTo", &r), 0);
	ck_assert_str_eq(r.type, "OK");
	imap_result_free(&r);
	imap_close(s);
	ck_assert_int_eq(os_rmtree(dir, NULL), 0);
}
END_TEST

START_TEST(test_misses_cost_no_round_trip)
{
	struct fs_config cfg;
	struct fs *fs = make_fs(true, &cfg);
	struct fs_entry inbox, e;
	ck_assert_int_eq(fs_lookup(fs, FS_ROOT_INO, "INBOX", &inbox), 0);
	ck_assert_int_eq(inbox.st.st_mode & 0777, 0555);
	/* names that cannot be mail: a negative entry, cached by the kernel */
	ck_assert_int_eq(fs_lookup(fs, inbox.ino, ".git", &e), 0);
	ck_assert_uint_eq(e.ino, 0);
	ck_assert(e.entry_timeout > 0);
	ck_assert_int_eq(fs_lookup(fs, inbox.ino, "007.eml", &e), 0);
	ck_assert_uint_eq(e.ino, 0);
	ck_assert_int_eq(fs_lookup(fs, inbox.ino, "99999.eml", &e), 0);
	ck_assert_uint_eq(e.ino, 0);
	ck_assert_int_eq(fs_lookup(fs, FS_ROOT_INO, "No such folder", &e), 0);
	ck_assert_uint_eq(e.ino, 0);
	ck_assert_int_eq(fs_lookup(fs, inbox.ino, "1.eml", &e), 0);
	ck_assert_int_eq(e.st.st_mode & 0777, 0444);
	ck_assert_int_eq(fs_lookup(fs, 12345, "x", &e), -ENOENT);
	struct statvfs sv;
	ck_assert_int_eq(fs_statfs(fs, &sv), 0);
	ck_assert_uint_eq((uint64_t)sv.f_blocks * sv.f_frsize, 1ull << 30);
	drop_fs(fs, &cfg);
}
END_TEST

START_TEST(test_inodes_are_stable_across_instances)
{
	struct fs_config cfg;
	struct fs *fs = make_fs(false, &cfg);
	struct fs_entry dir1, m1, dir2, m2;
	ck_assert_int_eq(fs_lookup(fs, FS_ROOT_INO, "Projekte", &dir1), 0);
	struct fs_dir *d;
	ck_assert_int_eq(fs_opendir(fs, dir1.ino, 0, &d), 0);
	const struct fs_dirent *sub = fs_dir_find(d, "2024");
	ck_assert_ptr_nonnull(sub);
	ck_assert_int_eq(fs_lookup(fs, sub->e.ino, "1.eml", &m1), 0);
	fs_dir_free(d);
	drop_fs(fs, &cfg);
	fs = make_fs(false, &cfg);
	ck_assert_int_eq(fs_lookup(fs, FS_ROOT_INO, "Projekte", &dir2), 0);
	ck_assert_int_eq(fs_opendir(fs, dir2.ino, 0, &d), 0);
	sub = fs_dir_find(d, "2024");
	ck_assert_int_eq(fs_lookup(fs, sub->e.ino, "1.eml", &m2), 0);
	ck_assert_uint_eq(dir1.ino, dir2.ino);
	ck_assert_uint_eq(m1.ino, m2.ino);
	ck_assert_int_eq(m1.st.st_ctime, m2.st.st_ctime);
	fs_dir_free(d);
	drop_fs(fs, &cfg);
}
END_TEST

int main(void)
{
	dovecot_require_or_skip("check_fs");
	fs_log_to_stderr(true);
	dovecot_start_demo_or_exit(&dc, "check_fs");
	snprintf(cachedir, sizeof cachedir, "/tmp/imapfs-fscache-XXXXXX");
	if (!mkdtemp(cachedir))
		return EXIT_FAILURE;
	Suite *su = suite_create("fs");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_root_lists_the_mailbox_tree);
	tcase_add_test(tc, test_messages_match_a_second_connection);
	tcase_add_test(tc, test_misses_cost_no_round_trip);
	tcase_add_test(tc, test_scan_order_follows_the_listings);
	tcase_add_test(tc, test_scan_fetches_the_next_folder_ahead);
	tcase_add_test(tc, test_inodes_are_stable_across_instances);
	tcase_add_test(tc, test_moved_message_reads_through_its_old_inode);
	suite_add_tcase(su, tc);
	int failed = check_run_suite(su);
	dovecot_stop(&dc, NULL);
	struct buf err = BUF_INIT;
	if (os_rmtree(cachedir, &err) != 0) {
		fprintf(stderr, "check_fs: %s\n", err.len ? err.data : cachedir);
		failed++;
	}
	buf_free(&err);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
