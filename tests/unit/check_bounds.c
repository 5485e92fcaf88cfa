/* check_bounds.c: the filesystem core against scripted hostile servers
 * that push its bounds: a huge literal where only metadata belongs, a body
 * far longer than its RFC822.SIZE and larger than the cache, an
 * RFC822.SIZE no file can have.  Needs neither root nor a real server. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_du.h"
#include "check_run.h"
#include "fs.h"
#include "fs_impl.h"
#include "harness_fakefs.h"
#include "harness_os.h"
#include "read/prefetch.h"
#include "xalloc.h"

static long peak_rss_kib(void)
{
	struct rusage ru;
	ck_assert_int_eq(getrusage(RUSAGE_SELF, &ru), 0);
	return ru.ru_maxrss;
}

/* A 250 MB literal inside a LIST reply (once 773 MB of RSS over five
 * connections): the client hangs up when it is announced, so the server
 * cannot even send it, and the process's peak memory does not move. */
#define HUGE_LIST_LITERAL 262144000
START_TEST(test_huge_literal_in_a_list_reply_is_refused)
{
	struct fakefs ff;
	fakefs_config(&ff,
		FAKE_LOGIN("")
		FAKEFS_LIST
		"S: * LIST () \"/\" {262144000}\n"
		"LITERAL 262144000 n\n"     /* script line 9 */
		"S: \n"
		FAKEFS_LISTED
		"DRAIN\n", NULL);
	ff.cfg.timeout_s = 3;  /* the retry on a fresh connection gets no greeting */
	long before = peak_rss_kib();
	struct buf err = BUF_INIT;
	ck_assert_int_eq(fs_new(&ff.fs, &ff.cfg, &err), -1);
	ck_assert_msg(strstr(err.data, "cannot list the mailboxes") != NULL, "%s", err.data);
	long grown_mib = (peak_rss_kib() - before) / 1024;
	ck_assert_msg(grown_mib < 64, "peak RSS grew by %ld MiB", grown_mib);
	fakefs_free(&ff);
	buf_reset(&err);
	ck_assert_int_eq(fake_finish(ff.f, &err), -1);
	ck_assert_msg(strstr(err.data, "script line 9:") != NULL, "%s", err.data);
	buf_free(&err);
}
END_TEST

/* Waits until INBOX's uid is no longer being fetched (a minute at most). */
static void wait_fetched(struct fs *fs, uint32_t uid)
{
	struct mbox *m = mtree_by_path(&fs->tree, "INBOX");
	ck_assert_ptr_nonnull(m);
	bool busy = true;
	for (int i = 0; i < 600 && busy; i++) {
		pthread_mutex_lock(&m->lock);
		busy = prefetch_in_flight(m, uid);
		pthread_mutex_unlock(&m->lock);
		if (busy)
			os_sleep_ms(100);
	}
	mbox_put(m);
	ck_assert_msg(!busy, "UID %u is still being fetched after a minute", uid);
}

#define CACHE_SIZE ((uint64_t)1 << 20)
static const struct fakefs_opts cache_opts = { .cache_size = CACHE_SIZE, .start = true };

/* Two messages announced at 10 bytes each: one really 700,000 bytes long,
 * which fits the 1 MiB cache and is read whole, its size following the
 * bytes; one 3,000,000 bytes long, which the cache cannot hold: it is read
 * past, not stored (once 1.5 GB went to disk with cache_size=100M), and
 * the read fails.  The cache never passes its size. */
START_TEST(test_body_longer_than_announced_stays_within_the_cache)
{
	struct fakefs ff;
	fakefs_open(&ff,
		FAKE_LOGIN("UIDPLUS")
		FAKEFS_LIST "S: * LIST () \"/\" INBOX\n" FAKEFS_LISTED
		FAKEFS_LISTING("INBOX", "2", "7", "3", FAKEFS_MSG("1", "1", "10") FAKEFS_MSG("2", "2", "10"))
		"C: <tag5> UID FETCH 1:2 (UID BODY.PEEK[])\n"
		"S: * 1 FETCH (UID 1 BODY[] {700000}\n"
		"LITERAL 700000 a\n"
		"S: )\n"
		"S: * 2 FETCH (UID 2 BODY[] {3000000}\n"
		"LITERAL 3000000 b\n"
		"S: )\n"
		"S: <tag5> OK done\n"
		"C: <tag6> UID FETCH 2 (UID BODY.PEEK[])\n"
		"S: * 2 FETCH (UID 2 BODY[] {3000000}\n"
		"LITERAL 3000000 b\n"
		"S: )\n"
		"S: <tag6> OK done\n"
		/* a read is tried once more on its own */
		"C: <tag7> UID FETCH 2 (UID BODY.PEEK[])\n"
		"S: * 2 FETCH (UID 2 BODY[] {3000000}\n"
		"LITERAL 3000000 b\n"
		"S: )\n"
		"S: <tag7> OK done\n"
		FAKE_LOGOUT, &cache_opts);
	struct fs *fs = ff.fs;
	struct fs_entry inbox, one, two;
	ck_assert_int_eq(fs_lookup(fs, FS_ROOT_INO, "INBOX", &inbox), 0);
	ck_assert_int_eq(fs_lookup(fs, inbox.ino, "1.eml", &one), 0);
	ck_assert_int_eq(fs_lookup(fs, inbox.ino, "2.eml", &two), 0);
	ck_assert_int_eq(one.st.st_size, 10);
	int fd;
	bool keep;
	ck_assert_int_eq(fs_open(fs, one.ino, O_RDONLY, &fd, &keep), 0);
	char *bytes = xmalloc(800000);
	ck_assert_int_eq(pread(fd, bytes, 800000, 0), 700000);
	ck_assert(bytes[0] == 'a' && bytes[699999] == 'a');
	close(fd);
	free(bytes);
	struct stat st;
	double timeout;
	ck_assert_int_eq(fs_getattr(fs, one.ino, &st, &timeout), 0);
	ck_assert_int_eq(st.st_size, 700000);
	ck_assert_uint_le(du_bytes(ff.dir), CACHE_SIZE);

	/* the read-ahead of 2 (tag5) must be over, or the read below waits
	 * for it instead of asking on its own (tag6) as the script says:
	 * under valgrind 1.eml is read long before 2's bytes are through */
	wait_fetched(fs, 2);
	ck_assert_int_eq(fs_open(fs, two.ino, O_RDONLY, &fd, &keep), -EIO);
	ck_assert_uint_le(du_bytes(ff.dir), CACHE_SIZE);
	ck_assert_uint_le(cache_disk_bytes(fs->cache), CACHE_SIZE);
	ck_assert(!cache_body_has(fs->cache, "INBOX", 7, 2));
	ck_assert(cache_body_has(fs->cache, "INBOX", 7, 1));
	fakefs_close(&ff);
}
END_TEST

/* RFC822.SIZE 2^64-1 is no size a file can have: stat answers (the size
 * shows as 0 until the message is fetched), and reading it gives its
 * bytes and its real size. */
START_TEST(test_size_beyond_off_t_still_stats)
{
	struct fakefs ff;
	fakefs_open(&ff,
		FAKE_LOGIN("UIDPLUS")
		FAKEFS_LIST "S: * LIST () \"/\" INBOX\n" FAKEFS_LISTED
		FAKEFS_LISTING("INBOX", "2", "7", "3",
			       FAKEFS_MSG("1", "1", "18446744073709551615")
			       FAKEFS_MSG("2", "2", "9223372036854775808"))
		"C: <tag5> UID FETCH 1:2 (UID BODY.PEEK[])\n"
		"S: * 1 FETCH (UID 1 BODY[] {12}\n"
		"S+ Subject: x\\r\\n\n"
		"S: )\n"
		"S: * 2 FETCH (UID 2 BODY[] {3}\n"
		"S+ a\\r\\n\n"
		"S: )\n"
		"S: <tag5> OK done\n"
		FAKE_LOGOUT, &cache_opts);
	struct fs *fs = ff.fs;
	struct fs_entry inbox, e;
	ck_assert_int_eq(fs_lookup(fs, FS_ROOT_INO, "INBOX", &inbox), 0);
	struct fs_dir *d;
	ck_assert_int_eq(fs_opendir(fs, inbox.ino, 0, &d), 0);
	for (size_t i = FS_DIR_DOTS; i < d->n; i++) {
		ck_assert_int_eq(d->v[i].e.st.st_size, 0);
		ck_assert_int_eq(d->v[i].e.st.st_blocks, 0);
	}
	fs_dir_free(d);
	ck_assert_int_eq(fs_lookup(fs, inbox.ino, "1.eml", &e), 0);
	ck_assert_int_eq(e.st.st_size, 0);
	struct stat st;
	double timeout;
	ck_assert_int_eq(fs_getattr(fs, e.ino, &st, &timeout), 0);
	ck_assert_int_eq(st.st_size, 0);
	int fd;
	bool keep;
	ck_assert_int_eq(fs_open(fs, e.ino, O_RDONLY, &fd, &keep), 0);
	char bytes[32];
	ck_assert_int_eq(pread(fd, bytes, sizeof bytes, 0), 12);
	ck_assert(!memcmp(bytes, "Subject: x\r\n", 12));
	close(fd);
	ck_assert_int_eq(fs_getattr(fs, e.ino, &st, &timeout), 0);
	ck_assert_int_eq(st.st_size, 12);
	ck_assert_int_eq(st.st_blocks, 1);
	fakefs_close(&ff);
}
END_TEST

int main(void)
{
	fs_log_to_stderr(true);
	Suite *su = suite_create("bounds");
	TCase *tc = tcase_create("hostile");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_huge_literal_in_a_list_reply_is_refused);
	tcase_add_test(tc, test_body_longer_than_announced_stays_within_the_cache);
	tcase_add_test(tc, test_size_beyond_off_t_still_stats);
	suite_add_tcase(su, tc);
	return check_run_suite(su) ? EXIT_FAILURE : EXIT_SUCCESS;
}
