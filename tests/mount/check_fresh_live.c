/* check_fresh_live.c: changes made elsewhere show in a mount within
 * seconds, with the default poll of a minute: mail appended and expunged
 * (IDLE brings it), folders made, renamed and deleted, and a folder
 * recreated with new content, whose old bytes are never served once the
 * new ones were seen. */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check_fresh_util.h"
#include "harness_os.h"

/* With the default poll of 60 s only IDLE can bring these within seconds;
 * the expunged file's name was known to the kernel for an hour. */
START_TEST(test_appends_and_expunges_seen_within_seconds)
{
	struct imap *s = second_to(&dc);
	struct imap_result r = { .n = 0 };
	imap_call_ok(imap_create(s, "Live", &r), &r);
	const char *first = "Subject: first\r\n\r\nthe first message\r\n";
	const char *second = "Subject: second\r\n\r\nthe second message\r\n";
	unsigned u1 = append(s, "Live", first, strlen(first));
	unsigned u2 = append(s, "Live", second, strlen(second));
	struct fsmount m;
	mount_on(&m, &dc, "live", NULL);
	char p1[1024], p2[1024], p3[1024], dir[512];
	snprintf(dir, sizeof dir, "%s/Live", m.dir);
	snprintf(p1, sizeof p1, "%s/%u.eml", dir, u1);
	snprintf(p2, sizeof p2, "%s/%u.eml", dir, u2);
	struct buf body = BUF_INIT, uids = BUF_INIT, want = BUF_INIT;
	ck_assert_int_eq(mount_slurp(p1, &body), 0);
	ck_assert(same_bytes(&body, first, strlen(first)));
	ck_assert(exists(p2));

	const char *third = "Subject: third\r\n\r\nsent by another client\r\n";
	unsigned u3 = append(s, "Live", third, strlen(third));
	snprintf(p3, sizeof p3, "%s/%u.eml", dir, u3);
	ck_assert_msg(within(SEEN_WITHIN_MS, path_exists, p3), "new message not seen");
	buf_reset(&body);
	ck_assert_int_eq(mount_slurp(p3, &body), 0);
	ck_assert(same_bytes(&body, third, strlen(third)));

	expunge_uid(s, "Live", u1);
	ck_assert_msg(within(SEEN_WITHIN_MS, path_gone, p1), "expunged message still there");
	mount_uids(dir, &uids);
	server_uids(s, "Live", &want);
	ck_assert_str_eq(uids.data, want.data);

	mount_stop(&m);
	imap_call_ok(imap_delete(s, "Live", &r), &r);
	imap_close(s);
	buf_free(&body);
	buf_free(&uids);
	buf_free(&want);
}
END_TEST

struct dir_has {
	const char *dir;
	const char *name;
	bool want;
};

static bool dir_has_name(void *p)
{
	struct dir_has *h = p;
	DIR *d = opendir(h->dir);
	if (!d)
		return false;
	bool found = false;
	struct dirent *de;
	while ((de = readdir(d)))
		if (!strcmp(de->d_name, h->name))
			found = true;
	closedir(d);
	return found == h->want;
}

/* Folders made, renamed and deleted by another client (poll=2: how often
 * the folder list is asked for). */
START_TEST(test_folder_changes_seen)
{
	struct fsmount m;
	mount_on(&m, &dc, "folders", "poll=2");
	struct imap *s = second_to(&dc);
	struct imap_result r = { .n = 0 };
	struct dir_has h = { m.dir, "Neu", true };
	ck_assert(dir_has_name(&(struct dir_has){ m.dir, "Neu", false }));
	imap_call_ok(imap_create(s, "Neu", &r), &r);
	const char *msg = "Subject: in a new folder\r\n\r\nhello\r\n";
	unsigned uid = append(s, "Neu", msg, strlen(msg));
	ck_assert_msg(within(SEEN_WITHIN_MS, dir_has_name, &h), "new folder not seen");
	char path[512];
	snprintf(path, sizeof path, "%s/Neu/%u.eml", m.dir, uid);
	struct buf body = BUF_INIT;
	ck_assert_int_eq(mount_slurp(path, &body), 0);
	ck_assert(same_bytes(&body, msg, strlen(msg)));

	imap_call_ok(imap_rename(s, "Neu", "Umbenannt", &r), &r);
	struct dir_has renamed = { m.dir, "Umbenannt", true };
	ck_assert_msg(within(SEEN_WITHIN_MS, dir_has_name, &renamed), "renamed folder not seen");
	h.want = false;
	ck_assert_msg(within(SEEN_WITHIN_MS, dir_has_name, &h), "old name still shown");
	snprintf(path, sizeof path, "%s/Umbenannt/%u.eml", m.dir, uid);
	buf_reset(&body);
	ck_assert_int_eq(mount_slurp(path, &body), 0);
	ck_assert(same_bytes(&body, msg, strlen(msg)));

	imap_call_ok(imap_delete(s, "Umbenannt", &r), &r);
	renamed.want = false;
	ck_assert_msg(within(SEEN_WITHIN_MS, dir_has_name, &renamed), "deleted folder still shown");
	snprintf(path, sizeof path, "%s/Umbenannt", m.dir);
	ck_assert_msg(within(SEEN_WITHIN_MS, path_gone, path), "deleted folder still there");
	mount_stop(&m);
	imap_close(s);
	buf_free(&body);
}
END_TEST

/* Deleted and made again with other mail under the same UIDs, while the
 * mount watches it (no listing asked for: the watcher notices). */
START_TEST(test_folder_recreated_with_new_content)
{
	struct imap *s = second_to(&dc);
	struct imap_result r = { .n = 0 };
	imap_call_ok(imap_create(s, "Phoenix", &r), &r);
	const char *old = "Subject: old\r\n\r\nold generation\r\n";
	ck_assert_uint_eq(append(s, "Phoenix", old, strlen(old)), 1);
	struct fsmount m;
	mount_on(&m, &dc, "phoenix", NULL);
	char path[512];
	snprintf(path, sizeof path, "%s/Phoenix/1.eml", m.dir);
	struct buf body = BUF_INIT;
	ck_assert_int_eq(mount_slurp(path, &body), 0);
	ck_assert(same_bytes(&body, old, strlen(old)));
	imap_call_ok(imap_delete(s, "Phoenix", &r), &r);
	os_sleep_ms(1100);  /* Dovecot's UIDVALIDITY is a time stamp */
	imap_call_ok(imap_create(s, "Phoenix", &r), &r);
	const char *fresh = "Subject: new\r\n\r\nthe new generation, longer\r\n";
	ck_assert_uint_eq(append(s, "Phoenix", fresh, strlen(fresh)), 1);
	struct reads_as ra = { path, fresh, strlen(fresh) };
	ck_assert_msg(within(SEEN_WITHIN_MS, reads_as, &ra), "new generation not seen");
	/* and from then on only the new bytes, also by size */
	for (int i = 0; i < 5; i++) {
		buf_reset(&body);
		ck_assert_int_eq(mount_slurp(path, &body), 0);
		ck_assert(same_bytes(&body, fresh, strlen(fresh)));
		struct stat st;
		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_int_eq(st.st_size, (off_t)strlen(fresh));
	}
	mount_stop(&m);
	imap_call_ok(imap_delete(s, "Phoenix", &r), &r);
	imap_close(s);
	buf_free(&body);
}
END_TEST

void check_fresh_add_live(TCase *tc)
{
	tcase_add_test(tc, test_appends_and_expunges_seen_within_seconds);
	tcase_add_test(tc, test_folder_changes_seen);
	tcase_add_test(tc, test_folder_recreated_with_new_content);
}
