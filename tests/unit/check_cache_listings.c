/* check_cache_listings.c: saved listings.  A listing read back from disk
 * decides which messages the filesystem shows, so it must come back
 * exactly as saved (flags included), and a damaged one or one of another
 * mailbox must be refused and removed rather than believed. */
#include "config.h"
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cache/cache.h"
#include "check_cache_util.h"

/* Flag lists survive a save and a new cache_open (another table of ids):
 * the same texts come back, one list shared by many messages is stored
 * once, and "not known" stays apart from "no flags". */
START_TEST(test_listing_keeps_flags)
{
	struct cache *c = open_cache(0);
	struct cache_listing l, got;
	const char *texts[] = { "\\Seen", "", "\\Seen $Label \\Flagged", NULL };
	make_listing(&l, 9, 400);
	for (size_t i = 0; i < l.n; i++) {
		const char *t = texts[i % 4];
		l.msgs[i].flags = t ? cache_flags_id(c, t, strlen(t)) : 0;
	}
	ck_assert_uint_eq(cache_flags_id(c, "\\Seen", 5), l.msgs[0].flags);  /* interned */
	ck_assert_uint_ne(l.msgs[0].flags, l.msgs[1].flags);
	ck_assert_int_eq(cache_listing_save(c, "INBOX", &l, NULL), 0);
	cache_close(c);
	char path[512];
	snprintf(path, sizeof path, "%s/mail/INBOX/listing", cdir);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	/* three lists, once each: header, name, lists, records, no kept
	 * names, checksum */
	ck_assert_int_eq(st.st_size, 56 + 5 + (4 + 5) + 4 + (4 + 21) + 400 * 40 + 4 + 8);
	c = open_cache(0);
	cache_flags_id(c, "$Other", 6);  /* the ids of the new table differ */
	ck_assert_int_eq(cache_listing_load(c, "INBOX", &got), 0);
	ck_assert_uint_eq(got.n, l.n);
	for (size_t i = 0; i < got.n; i++) {
		const char *t = texts[i % 4];
		if (!t) {
			ck_assert_uint_eq(got.msgs[i].flags, 0);
			continue;
		}
		ck_assert_str_eq(cache_flags_text(c, got.msgs[i].flags), t);
		got.msgs[i].flags = l.msgs[i].flags;  /* for the comparison of the rest */
	}
	assert_listing_eq(&l, &got);
	ck_assert_ptr_null(cache_flags_text(c, 0));
	ck_assert_ptr_null(cache_flags_text(c, 1000));
	cache_listing_free(&got);
	cache_listing_free(&l);
	cache_close(c);
}
END_TEST

static void fix_checksum(struct buf *f);

/* Replaces the last occurrence of from in the file at path (same length)
 * and fixes the checksum: a listing that only its names make wrong. */
static void corrupt_name(const char *path, const char *from, const char *to)
{
	struct buf file = BUF_INIT;
	int fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	read_fd(fd, &file);
	close(fd);
	size_t n = strlen(from);
	char *at = NULL;
	for (size_t i = 0; i + n <= file.len; i++)
		if (!memcmp(file.data + i, from, n))
			at = file.data + i;
	ck_assert_ptr_nonnull(at);
	memcpy(at, to, n);
	fix_checksum(&file);
	fd = open(path, O_WRONLY | O_TRUNC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, file.data, file.len), (ssize_t)file.len);
	close(fd);
	buf_free(&file);
}

/* Kept names survive a save and a new cache_open; a listing whose names
 * could reach a path ('/', "..") is corrupt and goes. */
START_TEST(test_listing_keeps_names)
{
	struct cache *c = open_cache(0);
	struct cache_listing l, got;
	make_listing(&l, 9, 5);
	l.msgs[1].name = cache_name_id(c, "12.eml");
	l.msgs[3].name = cache_name_id(c, "Rechnung M\xc3\xa4rz.eml");
	ck_assert_uint_eq(cache_name_id(c, "12.eml"), l.msgs[1].name);
	ck_assert_int_eq(cache_listing_save(c, "INBOX", &l, NULL), 0);
	cache_close(c);
	c = open_cache(0);
	cache_name_id(c, "other");  /* the ids of the new table differ */
	ck_assert_int_eq(cache_listing_load(c, "INBOX", &got), 0);
	ck_assert_uint_eq(got.n, 5);
	ck_assert_str_eq(cache_name_text(c, got.msgs[1].name), "12.eml");
	ck_assert_str_eq(cache_name_text(c, got.msgs[3].name), "Rechnung M\xc3\xa4rz.eml");
	ck_assert_uint_eq(got.msgs[0].name, 0);
	ck_assert_uint_eq(got.msgs[4].name, 0);
	cache_listing_free(&got);
	ck_assert(!cache_name_ok("a/b", 3));
	ck_assert(!cache_name_ok("..", 2));
	ck_assert(!cache_name_ok("", 0));
	ck_assert(cache_name_ok("...", 3));
	/* a name with a '/' written into the file by hand is refused */
	l.msgs[1].name = cache_name_id(c, "ab");
	l.msgs[3].name = 0;
	ck_assert_int_eq(cache_listing_save(c, "INBOX", &l, NULL), 0);
	cache_close(c);
	char path[512];
	snprintf(path, sizeof path, "%s/mail/INBOX/listing", cdir);
	corrupt_name(path, "ab", "a/");
	c = open_cache(0);
	ck_assert_int_eq(cache_listing_load(c, "INBOX", &got), -1);
	cache_listing_free(&l);
	cache_close(c);
}
END_TEST

/* The cache's creation time is its marker's, the same at every open. */
START_TEST(test_created_is_kept)
{
	struct cache *c = open_cache(0);
	int64_t t = cache_created(c);
	ck_assert_int_gt(t, 0);
	cache_close(c);
	char path[512];
	snprintf(path, sizeof path, "%s/imapfs-cache", cdir);
	struct timespec old[2] = { { 1500000000, 0 }, { 1500000000, 0 } };
	ck_assert_int_eq(utimensat(AT_FDCWD, path, old, 0), 0);
	c = open_cache(0);
	ck_assert_int_eq(cache_created(c), 1500000000);
	cache_close(c);
}
END_TEST

START_TEST(test_listing_round_trip)
{
	struct cache *c = open_cache(0);
	struct cache_listing l, got;
	struct buf err = BUF_INIT;

	errno = 0;
	ck_assert_int_eq(cache_listing_load(c, "INBOX", &got), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_uint_eq(got.n, 0);
	ck_assert_ptr_null(got.msgs);

	make_listing(&l, 77, 5000);
	ck_assert_int_eq(cache_listing_save(c, "INBOX", &l, &err), 0);
	ck_assert_int_eq(cache_listing_load(c, "INBOX", &got), 0);
	assert_listing_eq(&l, &got);
	cache_listing_free(&got);
	ck_assert_ptr_null(got.msgs);
	cache_listing_free(&got);  /* twice is harmless */
	cache_listing_free(&l);

	/* Saving again replaces; an empty listing is fine; mailboxes apart. */
	make_listing(&l, 78, 0);
	ck_assert_int_eq(cache_listing_save(c, "INBOX", &l, &err), 0);
	ck_assert_int_eq(cache_listing_load(c, "INBOX", &got), 0);
	assert_listing_eq(&l, &got);
	cache_listing_free(&got);
	ck_assert_int_eq(cache_listing_load(c, "INBOX.Sub", &got), -1);
	ck_assert_str_eq(ls("mail/INBOX"), "listing");  /* no temp left */
	cache_listing_free(&l);

	/* Unsorted or duplicate uids are refused. */
	make_listing(&l, 79, 3);
	l.msgs[2].uid = l.msgs[1].uid;
	errno = 0;
	ck_assert_int_eq(cache_listing_save(c, "INBOX", &l, &err), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_uint_gt(err.len, 0);
	cache_listing_free(&l);
	ck_assert_int_eq(cache_listing_load(c, "INBOX", &got), 0);
	ck_assert_uint_eq(got.uidvalidity, 78);
	cache_listing_free(&got);
	buf_free(&err);
	cache_close(c);
}
END_TEST

/* Rewrites the INBOX listing file through fn, then expects load to refuse
 * it and remove it. */
static void corrupt_and_check(struct cache *c, void (*fn)(struct buf *file))
{
	char path[512];
	struct cache_listing l, got;
	struct buf file = BUF_INIT;

	make_listing(&l, 5, 10);
	ck_assert_int_eq(cache_listing_save(c, "INBOX", &l, NULL), 0);
	cache_listing_free(&l);
	snprintf(path, sizeof path, "%s/mail/INBOX/listing", cdir);
	int fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	read_fd(fd, &file);
	close(fd);
	fn(&file);
	fd = open(path, O_WRONLY | O_TRUNC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, file.data, file.len), (ssize_t)file.len);
	close(fd);
	errno = 0;
	ck_assert_int_eq(cache_listing_load(c, "INBOX", &got), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_ptr_null(got.msgs);
	ck_assert_int_eq(access(path, F_OK), -1);
	errno = 0;
	ck_assert_int_eq(cache_listing_load(c, "INBOX", &got), -1);
	ck_assert_int_eq(errno, ENOENT);
	buf_free(&file);
}

static void flip_middle(struct buf *f) { f->data[f->len / 2] ^= 0x01; }
static void flip_header(struct buf *f) { f->data[16] ^= 0x40; }   /* uidvalidity */
static void flip_checksum(struct buf *f) { f->data[f->len - 1] ^= 0x80; }
static void truncate_record(struct buf *f) { buf_truncate(f, f->len - 9); }
static void truncate_header(struct buf *f) { buf_truncate(f, 20); }
static void empty_file(struct buf *f) { buf_truncate(f, 0); }
static void append_garbage(struct buf *f) { buf_add(f, "garbage!", 8); }
static void bad_version(struct buf *f) { f->data[8] = 1; }  /* no flags: listed again */
/* a flag list's length that runs past the file, with the checksum fixed */
static void fix_checksum(struct buf *f);
static void long_flag_list(struct buf *f)
{
	size_t at = 56 + 5;
	f->data[28] = 1;  /* one list, of 2 GiB */
	memcpy(f->data + at, "\xff\xff\xff\x7f", 4);
	fix_checksum(f);
}
static void bad_magic(struct buf *f) { f->data[0] = 'X'; }

/* Records moved around but checksum recomputed is still caught by the
 * sortedness check: swap two records and fix the FNV-1a sum. */
static void swap_records(struct buf *f)
{
	size_t name_len = 5, rec = 56 + name_len;
	char tmp[40];
	memcpy(tmp, f->data + rec, 40);
	memcpy(f->data + rec, f->data + rec + 40, 40);
	memcpy(f->data + rec + 40, tmp, 40);
	fix_checksum(f);
}

static void fix_checksum(struct buf *f)
{
	uint64_t h = 0xcbf29ce484222325u;
	for (size_t i = 0; i < f->len - 8; i++)
		h = (h ^ (unsigned char)f->data[i]) * 0x100000001b3u;
	for (int i = 0; i < 8; i++)
		f->data[f->len - 8 + i] = (char)(h >> (8 * i));
}

START_TEST(test_corrupt_listing_rejected_and_removed)
{
	struct cache *c = open_cache(0);
	corrupt_and_check(c, flip_middle);
	corrupt_and_check(c, flip_header);
	corrupt_and_check(c, flip_checksum);
	corrupt_and_check(c, truncate_record);
	corrupt_and_check(c, truncate_header);
	corrupt_and_check(c, empty_file);
	corrupt_and_check(c, append_garbage);
	corrupt_and_check(c, bad_version);
	corrupt_and_check(c, bad_magic);
	corrupt_and_check(c, swap_records);
	corrupt_and_check(c, long_flag_list);
	cache_close(c);
}
END_TEST

START_TEST(test_listing_of_another_mailbox_rejected)
{
	struct cache *c = open_cache(0);
	struct cache_listing l, got;
	char from[512], to[512];

	make_listing(&l, 5, 3);
	ck_assert_int_eq(cache_listing_save(c, "Sent", &l, NULL), 0);
	ck_assert_int_eq(cache_listing_save(c, "INBOX", &l, NULL), 0);
	cache_listing_free(&l);
	snprintf(from, sizeof from, "%s/mail/Sent/listing", cdir);
	snprintf(to, sizeof to, "%s/mail/INBOX/listing", cdir);
	ck_assert_int_eq(rename(from, to), 0);
	ck_assert_int_eq(cache_listing_load(c, "INBOX", &got), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_int_eq(access(to, F_OK), -1);
	cache_close(c);
}
END_TEST

void check_cache_add_listings(TCase *tc)
{
	tcase_add_test(tc, test_listing_round_trip);
	tcase_add_test(tc, test_listing_keeps_flags);
	tcase_add_test(tc, test_listing_keeps_names);
	tcase_add_test(tc, test_created_is_kept);
	tcase_add_test(tc, test_corrupt_listing_rejected_and_removed);
	tcase_add_test(tc, test_listing_of_another_mailbox_rejected);
}
