/* check_matrix_read.c: the matrix's reading checks: the tree, the bytes,
 * sizes and times of messages against the second client, grep -r, rsync
 * twice, and mail another client delivers showing up. */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "check_matrix.h"
#include "harness_os.h"
#include "harness_srv.h"
#include "imaplib.h"

#define MX_MAX 32

/* Whether directory dir lists name (bytes as they are: UTF-8). */
static bool mx_dir_lists(const char *dir, const char *name)
{
	DIR *d = opendir(dir);
	ck_assert_msg(d != NULL, "opendir %s", dir);
	bool found = false;
	struct dirent *de;
	while ((de = readdir(d)))
		found |= strcmp(de->d_name, name) == 0;
	closedir(d);
	return found;
}

/* Every message of folder rel: the file UID.eml has the server's bytes,
 * its size is RFC822.SIZE, its mtime the INTERNALDATE. */
static void mx_assert_folder_matches(struct imap *s, const struct fsmount *m, const char *rel,
				     size_t expected)
{
	uint32_t uids[MX_MAX];
	size_t n = mx_uids(s, rel, uids, MX_MAX);
	ck_assert_uint_eq(n, expected);
	char dir[512], path[600];
	mx_path(m, rel, NULL, dir, sizeof dir);
	ck_assert_uint_eq(mount_count_files(dir), n);
	for (size_t i = 0; i < n; i++) {
		uint64_t size;
		int64_t date;
		mx_meta(s, rel, uids[i], &size, &date, NULL);
		snprintf(path, sizeof path, "%s/%u.eml", dir, uids[i]);
		struct stat st;
		ck_assert_msg(stat(path, &st) == 0, "stat %s", path);
		ck_assert_msg((uint64_t)st.st_size == size, "%s: size %lld, RFC822.SIZE %llu", path,
			      (long long)st.st_size, (unsigned long long)size);
		ck_assert_msg((int64_t)st.st_mtime == date, "%s: mtime %lld, INTERNALDATE %lld", path,
			      (long long)st.st_mtime, (long long)date);
		mx_assert_file_is_message(s, rel, uids[i], path);
	}
}

/* Folders with UTF-8 names, one below the other, and their messages. */
START_TEST(test_tree)
{
	struct mx_case c = { .s = mx_second() };
	mx_seed(c.s, "Tree-Zürich", 3, "tree");
	mx_seed(c.s, "Tree-Zürich/Café ☕", 2, "treecafe");
	mx_mount(&c.m, "tree", NULL);
	char parent[512], top[512];
	mx_path(&c.m, "", NULL, top, sizeof top);
	mx_path(&c.m, "Tree-Zürich", NULL, parent, sizeof parent);
	ck_assert_msg(mx_dir_lists(top, "Tree-Zürich"), "%s lacks Tree-Zürich", top);
	ck_assert_msg(mx_dir_lists(parent, "Café ☕"), "%s lacks Café ☕", parent);
	mx_assert_folder_matches(c.s, &c.m, "Tree-Zürich", 3);
	mx_assert_folder_matches(c.s, &c.m, "Tree-Zürich/Café ☕", 2);
	mx_end(&c);
}
END_TEST

START_TEST(test_grep)
{
	struct mx_case c;
	mx_begin(&c, "Grep", 4, "grep", "ro");
	struct imap *s = c.s;
	char dir[512];
	mx_path(&c.m, "Grep", NULL, dir, sizeof dir);
	struct buf out = BUF_INIT;
	ck_assert_int_eq(mount_sh(&out, "grep -rl 'matrix-grep-' '%s' | wc -l", dir), 0);
	ck_assert_int_eq(atoi(out.data), 4);
	buf_reset(&out);
	uint32_t uids[MX_MAX];
	ck_assert_uint_eq(mx_uids(s, "Grep", uids, MX_MAX), 4);
	/* the third message APPENDed is the third UID */
	ck_assert_int_eq(mount_sh(&out, "grep -rl 'matrix-grep-3\\.' '%s'", dir), 0);
	char want[600];
	snprintf(want, sizeof want, "%s/%u.eml\n", dir, uids[2]);
	ck_assert_str_eq(out.data, want);
	buf_free(&out);
	mx_end(&c);
}
END_TEST

/* rsync -a copies the server's bytes; the second run sends nothing. */
START_TEST(test_rsync_twice)
{
	struct mx_case c;
	mx_begin(&c, "Rsync", 4, "rsync", NULL);
	struct imap *s = c.s;
	char dir[512], dest[600];
	mx_path(&c.m, "Rsync", NULL, dir, sizeof dir);
	snprintf(dest, sizeof dest, "%s-copy", c.m.dir);
	struct buf out = BUF_INIT;
	ck_assert_int_eq(mount_sh(NULL, "rsync -a '%s/' '%s/'", dir, dest), 0);
	uint32_t uids[MX_MAX];
	size_t n = mx_uids(s, "Rsync", uids, MX_MAX);
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(mount_count_files(dest), n);
	for (size_t i = 0; i < n; i++) {
		char path[700];
		snprintf(path, sizeof path, "%s/%u.eml", dest, uids[i]);
		mx_assert_file_is_message(s, "Rsync", uids[i], path);
	}
	ck_assert_int_eq(mount_sh(&out, "rsync -ai '%s/' '%s/'", dir, dest), 0);
	ck_assert_msg(out.len == 0, "the second rsync sent: %s", out.data);
	buf_free(&out);
	mount_sh(NULL, "rm -rf '%s'", dest);
	mx_end(&c);
}
END_TEST

/* A message another client APPENDs shows up in ls: at once where the
 * server's IDLE pushes, within 5 s without IDLE, within poll= (2 s) where
 * the mount sets it; 60 s is only the bound that proves it did not hang. */
START_TEST(test_other_client)
{
	struct mx_case c;
	mx_begin(&c, "Other", 2, "other", NULL);
	struct imap *s = c.s;
	char dir[512], name[256];
	mx_path(&c.m, "Other", NULL, dir, sizeof dir);
	ck_assert_uint_eq(mount_count_files(dir), 2);
	/* the change must come while imapfs watches the folder (its IDLE
	 * connection follows the folder in use within a second), not be met
	 * by the watcher's first EXAMINE */
	os_sleep_ms(1500);
	mx_imap_name("Other", name, sizeof name);
	srv_append(s, name, "From: late@example.org\r\nSubject: late\r\n\r\nmatrix-late\r\n");
	srv_select(s, name, false);
	uint32_t uids[MX_MAX];
	ck_assert_uint_eq(mx_uids(s, "Other", uids, MX_MAX), 3);
	char path[700];
	snprintf(path, sizeof path, "%s/%u.eml", dir, uids[2]);
	int waited = 0;
	while (mount_count_files(dir) < 3 && waited < 60000) {
		os_sleep_ms(100);
		waited += 100;
	}
	ck_assert_msg(mount_count_files(dir) == 3, "the new message did not show in %d ms", waited);
	struct buf got = BUF_INIT;
	ck_assert_int_eq(mount_slurp(path, &got), 0);
	ck_assert_ptr_nonnull(strstr(got.data, "matrix-late"));
	fprintf(stderr, "check_matrix: %s: a message from another client showed after %d ms\n", mx->name,
		waited);
	buf_free(&got);
	mx_end(&c);
}
END_TEST

void mx_add_read_tests(TCase *tc)
{
	tcase_add_test(tc, test_tree);
	tcase_add_test(tc, test_grep);
	tcase_add_test(tc, test_rsync_twice);
	tcase_add_test(tc, test_other_client);
}
