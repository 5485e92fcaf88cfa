/* check_cache_directory.c: the cache directory itself.  It holds mail,
 * so it must be private whatever the umask, refuse a directory others
 * can write or that holds something else (a home directory, a typo), and
 * keep the recovery files of unsaved writes apart from the evictable
 * cache, where no budget and no hostile name can touch them. */
#include "config.h"
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cache/cache.h"
#include "check_cache_util.h"

static mode_t mode_of(const char *rel)
{
	char path[512];
	struct stat st;
	snprintf(path, sizeof path, "%s/%s", cdir, rel);
	ck_assert_msg(lstat(path, &st) == 0, "lstat %s: %s", path, strerror(errno));
	return st.st_mode & 07777;
}

/* The path of rel under the cache directory (a static buffer). */
static const char *in_cdir(const char *rel)
{
	static char path[512];
	snprintf(path, sizeof path, "%s/%s", cdir, rel);
	return path;
}

START_TEST(test_modes_enforced)
{
	struct cache *c;
	struct buf err = BUF_INIT;

	umask(0);  /* modes must not depend on the umask */
	snprintf(cdir, sizeof cdir, "%s/new/deeper/c", top);
	c = open_cache(0);
	put_sized(c, "INBOX", 1, 1, 10);
	struct cache_listing l;
	make_listing(&l, 1, 1);
	ck_assert_int_eq(cache_listing_save(c, "INBOX", &l, NULL), 0);
	cache_listing_free(&l);
	cache_close(c);
	ck_assert_uint_eq(mode_of(""), 0700);
	ck_assert_uint_eq(mode_of(".."), 0700);  /* created by mkdir -p */
	ck_assert_uint_eq(mode_of("mail"), 0700);
	ck_assert_uint_eq(mode_of("recovery"), 0700);
	ck_assert_uint_eq(mode_of("mail/INBOX"), 0700);
	ck_assert_uint_eq(mode_of("mail/INBOX/1"), 0700);
	ck_assert_uint_eq(mode_of("mail/INBOX/1/1.p"), 0600);
	ck_assert_uint_eq(mode_of("mail/INBOX/listing"), 0600);
	ck_assert_uint_eq(mode_of("lock"), 0600);

	/* An existing directory of ours that others may read is tightened. */
	ck_assert_int_eq(chmod(cdir, 0755), 0);
	c = open_cache(0);
	cache_close(c);
	ck_assert_uint_eq(mode_of(""), 0700);

	/* One that others may write is refused (and left as it is). */
	ck_assert_int_eq(chmod(cdir, 0777), 0);
	c = (struct cache *)1;
	errno = 0;
	ck_assert_int_eq(cache_open(&c, cdir, 0, &err), -1);
	ck_assert_int_eq(errno, EACCES);
	ck_assert_ptr_null(c);
	ck_assert_msg(strstr(err.data, "writable by others") != NULL, "%s", err.data);
	ck_assert_uint_eq(mode_of(""), 0777);
	ck_assert_int_eq(chmod(cdir, 0700), 0);

	/* One owned by somebody else is refused. */
	buf_reset(&err);
	if (geteuid() == 0) {
		ck_assert_int_eq(chown(cdir, 65534, 65534), 0);
		ck_assert_int_eq(cache_open(&c, cdir, 0, &err), -1);
		ck_assert_int_eq(chown(cdir, 0, 0), 0);
	} else {
		ck_assert_int_eq(cache_open(&c, "/usr", 0, &err), -1);  /* root's */
	}
	ck_assert_int_eq(errno, EACCES);
	ck_assert_msg(strstr(err.data, "owned by uid") != NULL, "%s", err.data);

	/* A file where the directory should be. */
	buf_reset(&err);
	snprintf(cdir, sizeof cdir, "%s/file", top);
	int fd = open(cdir, O_CREAT | O_WRONLY, 0600);
	close(fd);
	ck_assert_int_eq(cache_open(&c, cdir, 0, &err), -1);
	ck_assert_uint_gt(err.len, 0);
	buf_free(&err);
}
END_TEST

/* A cachedir that holds something else (a home directory, a typo) is
 * refused untouched: no chmod, nothing added.  An empty one, a marked
 * one and one an imapfs made before the marker existed are taken. */
START_TEST(test_foreign_directory_refused)
{
	struct cache *c;
	struct buf err = BUF_INIT;

	snprintf(cdir, sizeof cdir, "%s/home", top);
	ck_assert_int_eq(mkdir(cdir, 0755), 0);
	ck_assert_int_eq(chmod(cdir, 0755), 0);
	touch("notes.txt");
	ck_assert_int_eq(mkdir(in_cdir("photos"), 0755), 0);
	c = (struct cache *)1;
	errno = 0;
	ck_assert_int_eq(cache_open(&c, cdir, 0, &err), -1);
	ck_assert_int_eq(errno, ENOTEMPTY);
	ck_assert_ptr_null(c);
	ck_assert_msg(strstr(err.data, "is no imapfs cache") != NULL, "%s", err.data);
	ck_assert_uint_eq(mode_of(""), 0755);
	ck_assert_str_eq(ls(""), "notes.txt photos");

	/* a marker that is not one does not make it ours */
	ck_assert_int_eq(symlink("/etc/hostname", in_cdir("imapfs-cache")), 0);
	buf_reset(&err);
	ck_assert_int_eq(cache_open(&c, cdir, 0, &err), -1);
	ck_assert_str_eq(ls(""), "imapfs-cache notes.txt photos");

	/* an empty directory is taken and marked (a new file system's
	 * lost+found does not count) */
	snprintf(cdir, sizeof cdir, "%s/empty", top);
	ck_assert_int_eq(mkdir(cdir, 0755), 0);
	ck_assert_int_eq(mkdir(in_cdir("lost+found"), 0700), 0);
	c = open_cache(0);
	put_sized(c, "INBOX", 1, 1, 10);
	cache_close(c);
	ck_assert_uint_eq(mode_of(""), 0700);
	ck_assert_uint_eq(mode_of("imapfs-cache"), 0600);
	ck_assert_str_eq(ls(""), "imapfs-cache lock lost+found mail recovery state");
	c = open_cache(0);
	ck_assert(body_is(c, "INBOX", 1, 1, 10));
	cache_close(c);

	/* a cache from before the marker: taken, and marked */
	char mark[512];
	snprintf(mark, sizeof mark, "%s", in_cdir("imapfs-cache"));
	ck_assert_int_eq(unlink(mark), 0);
	c = open_cache(0);
	ck_assert(body_is(c, "INBOX", 1, 1, 10));
	cache_close(c);
	ck_assert_int_eq(access(mark, F_OK), 0);

	/* ...but not once something else was put beside it */
	ck_assert_int_eq(unlink(mark), 0);
	touch("thesis.tex");
	buf_reset(&err);
	ck_assert_int_eq(cache_open(&c, cdir, 0, &err), -1);
	ck_assert_int_eq(errno, ENOTEMPTY);
	ck_assert_int_eq(access(mark, F_OK), -1);
	buf_free(&err);
}
END_TEST

static void read_file(const char *path, struct buf *out)
{
	int fd = open(path, O_RDONLY);
	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	read_fd(fd, out);
	close(fd);
}

START_TEST(test_recovery_files)
{
	struct cache *c = open_cache(0);
	struct buf saved[5] = { BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT };
	struct buf got = BUF_INIT, err = BUF_INIT, want = BUF_INIT;
	char prefix[256];
	char *real = realpath(cdir, NULL);
	ck_assert_ptr_nonnull(real);
	snprintf(prefix, sizeof prefix, "%s/recovery/", real);
	free(real);

	ck_assert_int_eq(cache_save_recovery(c, "draft.eml", -1, "From: me\r\n\r\nhi\r\n", 16, &saved[0], &err), 0);
	ck_assert_msg(strncmp(saved[0].data, prefix, strlen(prefix)) == 0, "%s", saved[0].data);
	ck_assert_msg(strstr(saved[0].data, "-draft.eml") != NULL, "%s", saved[0].data);
	read_file(saved[0].data, &got);
	ck_assert_str_eq(got.data, "From: me\r\n\r\nhi\r\n");
	struct stat st;
	ck_assert_int_eq(stat(saved[0].data, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);

	/* A clash gets a "-2": names for this second and the next ones are
	 * taken beforehand, whenever the save falls. */
	time_t now = time(NULL);
	for (time_t t = now; t < now + 30; t++) {
		char stamp[32], rel[96];
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
		snprintf(rel, sizeof rel, "recovery/%s-clash", stamp);
		touch(rel);
	}
	ck_assert_int_eq(cache_save_recovery(c, "clash", -1, "two", 3, &saved[1], &err), 0);
	size_t n = saved[1].len;
	ck_assert_msg(n > 8 && !strcmp(saved[1].data + n - 8, "-clash-2"), "%s", saved[1].data);
	read_file(saved[1].data, &got);
	ck_assert_str_eq(got.data, "two");

	/* A hostile name stays inside recovery/. */
	ck_assert_int_eq(cache_save_recovery(c, "../../etc/x", -1, "x", 1, &saved[2], &err), 0);
	ck_assert_msg(strncmp(saved[2].data, prefix, strlen(prefix)) == 0, "%s", saved[2].data);
	ck_assert_ptr_null(strchr(saved[2].data + strlen(prefix), '/'));
	ck_assert_msg(strstr(saved[2].data, "-%2E.%2F..%2Fetc%2Fx") != NULL, "%s", saved[2].data);

	/* From an fd: all of its content, its offset untouched. */
	char tmpl[160];
	snprintf(tmpl, sizeof tmpl, "%s/src.XXXXXX", top);
	int src = mkstemp(tmpl);
	ck_assert_int_ge(src, 0);
	fill(&want, 200000, 3);
	ck_assert_int_eq(write(src, want.data, want.len), (ssize_t)want.len);
	ck_assert_int_eq(lseek(src, 0, SEEK_CUR), (off_t)want.len);
	ck_assert_int_eq(cache_save_recovery(c, "big", src, NULL, 0, &saved[3], &err), 0);
	ck_assert_int_eq(lseek(src, 0, SEEK_CUR), (off_t)want.len);
	close(src);
	read_file(saved[3].data, &got);
	ck_assert_uint_eq(got.len, want.len);
	ck_assert(memcmp(got.data, want.data, want.len) == 0);

	/* Recovery files are not cache bytes. */
	ck_assert_uint_eq(cache_bytes(c), 0);
	ck_assert_uint_eq(err.len, 0);
	cache_close(c);

	/* They survive a restart, even with the smallest budget. */
	c = open_cache(1);
	for (int i = 0; i < 4; i++)
		ck_assert_msg(access(saved[i].data, F_OK) == 0, "%s", saved[i].data);
	read_file(saved[0].data, &got);
	ck_assert_str_eq(got.data, "From: me\r\n\r\nhi\r\n");
	cache_close(c);
	for (int i = 0; i < 5; i++)
		buf_free(&saved[i]);
	buf_free(&got);
	buf_free(&err);
	buf_free(&want);
}
END_TEST

void check_cache_add_directory(TCase *tc)
{
	tcase_add_test(tc, test_modes_enforced);
	tcase_add_test(tc, test_foreign_directory_refused);
	tcase_add_test(tc, test_recovery_files);
}
