/* check_cache_mailboxes.c: what the cache keeps per mailbox.  A new
 * UIDVALIDITY means the old uids name other messages, so nothing of the
 * old generation may be served from the moment it is dropped; and a
 * mailbox name comes from the server, so it must not reach a path
 * unescaped. */
#include "config.h"
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cache/cache.h"
#include "check_cache_util.h"

START_TEST(test_drop_mailbox_is_immediate)
{
	struct cache *c = open_cache(0);
	struct cache_listing l, got;
	struct cache_writer *w;
	struct buf err = BUF_INIT, b = BUF_INIT;

	put_sized(c, "INBOX", 1, 1, 100);
	put_sized(c, "INBOX", 1, 2, 200);
	put_sized(c, "INBOX", 2, 1, 400);
	put_sized(c, "Sent", 1, 1, 800);
	make_listing(&l, 1, 2);
	ck_assert_int_eq(cache_listing_save(c, "INBOX", &l, NULL), 0);
	cache_listing_free(&l);
	int fd = cache_body_open(c, "INBOX", 1, 2);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(cache_body_begin(c, "INBOX", 1, 3, &w, NULL), 0);
	ck_assert_int_eq(cache_writer_write(w, "late", 4), 0);

	ck_assert_int_eq(cache_drop_mailbox(c, "INBOX", 2), 0);
	/* Nothing of generation 1 can be had any more... */
	ck_assert(!has_body(c, "INBOX", 1, 1));
	ck_assert(!has_body(c, "INBOX", 1, 2));
	ck_assert_int_eq(cache_listing_load(c, "INBOX", &got), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_uint_eq(cache_bytes(c), 400 + 800);
	ck_assert_str_eq(ls("mail/INBOX"), "2");
	ck_assert_str_eq(ls("mail"), "INBOX Sent");  /* trash deleted already */
	/* ...not even by a commit that was under way. */
	ck_assert_int_eq(cache_writer_commit(w, NULL, &err), -1);
	ck_assert_uint_gt(err.len, 0);
	ck_assert(!has_body(c, "INBOX", 1, 3));
	ck_assert_uint_eq(cache_bytes(c), 400 + 800);
	/* An fd opened before still reads. */
	read_fd(fd, &b);
	ck_assert_uint_eq(b.len, 200);
	close(fd);
	/* The kept generation and other mailboxes are untouched. */
	ck_assert(body_is(c, "INBOX", 2, 1, 400));
	ck_assert(body_is(c, "Sent", 1, 1, 800));

	/* The listing of the kept generation stays. */
	make_listing(&l, 2, 1);
	ck_assert_int_eq(cache_listing_save(c, "INBOX", &l, NULL), 0);
	cache_listing_free(&l);
	ck_assert_int_eq(cache_drop_mailbox(c, "INBOX", 2), 0);
	ck_assert_int_eq(cache_listing_load(c, "INBOX", &got), 0);
	cache_listing_free(&got);
	ck_assert(has_body(c, "INBOX", 2, 1));

	/* 0 drops everything of that mailbox. */
	ck_assert_int_eq(cache_drop_mailbox(c, "INBOX", 0), 0);
	ck_assert(!has_body(c, "INBOX", 2, 1));
	ck_assert_int_eq(cache_listing_load(c, "INBOX", &got), -1);
	ck_assert_str_eq(ls("mail"), "Sent");
	ck_assert_uint_eq(cache_bytes(c), 800);
	/* Dropping what is not there is fine; new bodies work again. */
	ck_assert_int_eq(cache_drop_mailbox(c, "INBOX", 0), 0);
	ck_assert_int_eq(cache_drop_mailbox(c, "Nowhere", 3), 0);
	put_sized(c, "INBOX", 3, 1, 10);
	ck_assert(body_is(c, "INBOX", 3, 1, 10));
	ck_assert_uint_eq(cache_bytes(c), 810);
	buf_free(&err);
	buf_free(&b);
	cache_close(c);
}
END_TEST

START_TEST(test_mailbox_directory_names)
{
	struct cache *c = open_cache(0);
	struct buf longname = BUF_INIT, other = BUF_INIT;

	put_sized(c, "Reisen.Z&APw-rich", 1, 1, 11);
	put_sized(c, "..", 1, 1, 12);
	put_sized(c, ".", 1, 1, 13);
	put_sized(c, "../../evil", 1, 1, 14);
	put_sized(c, "a/b", 1, 1, 15);
	put_sized(c, "100% sure", 1, 1, 16);
	ck_assert_str_eq(ls("mail"), "%2E %2E. %2E.%2F..%2Fevil 100%25%20sure Reisen.Z%26APw-rich a%2Fb");
	ck_assert(body_is(c, "..", 1, 1, 12));
	ck_assert(body_is(c, ".", 1, 1, 13));
	ck_assert(body_is(c, "a/b", 1, 1, 15));
	ck_assert_str_eq(ls(".."), "c");  /* nothing escaped the cache */

	/* Long names are shortened with a hash; two with a common prefix stay
	 * apart. */
	for (int i = 0; i < 1000; i++)
		buf_addch(&longname, (char)('a' + i % 26));
	buf_addstr(&other, longname.data);
	buf_addch(&longname, '1');
	buf_addch(&other, '2');
	put_sized(c, longname.data, 1, 1, 21);
	put_sized(c, other.data, 1, 1, 22);
	ck_assert(body_is(c, longname.data, 1, 1, 21));
	ck_assert(body_is(c, other.data, 1, 1, 22));
	struct dirent **v;
	char mail[512];
	snprintf(mail, sizeof mail, "%s/mail", cdir);
	int n = scandir(mail, &v, NULL, alphasort), hashed = 0;
	for (int i = 0; i < n; i++) {
		ck_assert_uint_le(strlen(v[i]->d_name), 255);
		if (strchr(v[i]->d_name, '~'))
			hashed++;
		free(v[i]);
	}
	free(v);
	ck_assert_int_eq(hashed, 2);
	/* and their listings carry the full name */
	struct cache_listing l, got;
	make_listing(&l, 1, 2);
	ck_assert_int_eq(cache_listing_save(c, longname.data, &l, NULL), 0);
	ck_assert_int_eq(cache_listing_load(c, longname.data, &got), 0);
	assert_listing_eq(&l, &got);
	cache_listing_free(&got);
	ck_assert_int_eq(cache_listing_load(c, other.data, &got), -1);
	cache_listing_free(&l);
	buf_free(&longname);
	buf_free(&other);
	cache_close(c);
}
END_TEST

void check_cache_add_mailboxes(TCase *tc)
{
	tcase_add_test(tc, test_drop_mailbox_is_immediate);
	tcase_add_test(tc, test_mailbox_directory_names);
}
