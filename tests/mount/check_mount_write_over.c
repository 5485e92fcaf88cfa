/* check_mount_write_over.c: writing over a message and copying one in its
 * folder, through a real mount, checked on the server: a message never
 * changes in place; bytes written over it become a new message with its
 * name while it stays; and however a copy is made and either side
 * removed, the bytes stay on the server. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "check_mount_write.h"
#include "harness.h"
#include "harness_srv.h"
#include "imap.h"
#include "imaplib.h"

/* The bytes of message uid as the server holds them. */
static void server_bytes(struct imap *s, const char *mailbox, uint32_t uid, struct buf *out)
{
	buf_reset(out);
	srv_fetch(s, mailbox, uid, "(BODY.PEEK[])", NULL, out);
}

/* Whether some message of mailbox has exactly these bytes. */
static bool server_holds(struct imap *s, const char *mailbox, const struct buf *bytes)
{
	uint32_t uids[16];
	size_t n = srv_uids(s, mailbox, uids, 16);
	struct buf got = BUF_INIT;
	bool found = false;
	for (size_t i = 0; i < n && !found; i++) {
		server_bytes(s, mailbox, uids[i], &got);
		found = got.len == bytes->len && !memcmp(got.data, bytes->data, got.len);
	}
	buf_free(&got);
	return found;
}

static void read_as(const struct fsmount *m, const char *rel, const struct buf *want)
{
	struct buf p = BUF_INIT, got = BUF_INIT;
	path_of(&p, m, rel);
	ck_assert_msg(mount_slurp(p.data, &got) == 0, "%s: %s", p.data, strerror(errno));
	ck_assert_msg(got.len == want->len && !memcmp(got.data, want->data, got.len), "%s: %s", rel, got.data);
	buf_free(&p);
	buf_free(&got);
}

/* A message never changes in place: writing into it is EPERM, truncated
 * and closed empty it stays as it is, and new bytes written over it
 * become a new message with its name while it shows as 1~.eml, never
 * expunged. */
START_TEST(test_writing_over_a_message)
{
	struct imap *s = mount_second(&env, "alice");
	srv_folder(s, "OverTest", 1);
	struct fsmount m = { .pid = 0 };
	mount_start(&env, &m, "over", NULL);
	struct buf p = BUF_INIT, got = BUF_INIT;
	int fd;
	uint32_t uids[8];
	path_of(&p, &m, "OverTest/1.eml");
	fd = open(p.data, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "x", 1), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(close(fd), 0);
	ck_assert_int_eq(truncate(p.data, 3), -1);
	ck_assert_int_eq(errno, EPERM);
	fd = open(p.data, O_WRONLY | O_TRUNC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(close(fd), 0);
	ck_assert_uint_eq(srv_uids(s, "OverTest", uids, 8), 1);
	buf_reset(&got);
	srv_fetch(s, "OverTest", 1, "(BODY.PEEK[])", NULL, &got);
	ck_assert_msg(strstr(got.data, "body 1 of OverTest"), "%s", got.data);
	const char *over = "Subject: over\r\n\r\nwritten over 1.eml\r\n";
	fd = open(p.data, O_WRONLY | O_TRUNC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, over, strlen(over)), (ssize_t)strlen(over));
	ck_assert_int_eq(close(fd), 0);
	ck_assert_uint_eq(srv_uids(s, "OverTest", uids, 8), 2);
	ck_assert_uint_eq(uids[0], 1);
	buf_reset(&got);
	ck_assert_int_eq(mount_slurp(p.data, &got), 0);
	ck_assert(got.len == strlen(over) && !memcmp(got.data, over, got.len));
	path_of(&p, &m, "OverTest/1~.eml");
	buf_reset(&got);
	ck_assert_msg(mount_slurp(p.data, &got) == 0, "%s: %s", p.data, strerror(errno));
	ck_assert_msg(strstr(got.data, "body 1 of OverTest"), "%s", got.data);
	/* its own bytes written over it again (a restore run again) send
	 * nothing, and other bytes right after still leave it on the server */
	struct buf own = BUF_INIT;
	buf_set(&own, over, strlen(over));
	path_of(&p, &m, "OverTest/1.eml");
	ck_assert_int_eq(mount_sh(NULL, "cat '%s' > '%s.bak' && cat '%s.bak' > '%s'", p.data, env.work, env.work,
				  p.data), 0);
	ck_assert_uint_eq(srv_uids(s, "OverTest", uids, 8), 2);
	ck_assert_int_eq(mount_sh(NULL, "printf 'Subject: third\\r\\n\\r\\n3\\r\\n' > '%s'", p.data), 0);
	ck_assert_uint_eq(srv_uids(s, "OverTest", uids, 8), 3);
	ck_assert(server_holds(s, "OverTest", &own));
	buf_free(&own);
	buf_free(&got);
	buf_free(&p);
	imap_close(s);
	mount_stop(&m);
}
END_TEST

/* A copy in the folder has the bytes of a message the folder holds: it
 * may stand for that message, but removing either side never takes the
 * bytes off the server.  cp 2.eml 1.eml; rm 2.eml.  cp 3.eml new.eml;
 * rm 3.eml.  cp 4.eml copy.eml; rm copy.eml. */
START_TEST(test_a_copy_never_costs_the_original)
{
	struct imap *s = mount_second(&env, "alice");
	srv_folder(s, "CopyTest", 4);
	struct fsmount m = { .pid = 0 };
	mount_start(&env, &m, "copies", NULL);
	struct buf two = BUF_INIT, three = BUF_INIT, four = BUF_INIT;
	server_bytes(s, "CopyTest", 2, &two);
	server_bytes(s, "CopyTest", 3, &three);
	server_bytes(s, "CopyTest", 4, &four);
	const char *d = m.dir;
	ck_assert_int_eq(mount_sh(NULL, "cd '%s/CopyTest' && cp 2.eml 1.eml && rm 2.eml", d), 0);
	ck_assert(server_holds(s, "CopyTest", &two));
	read_as(&m, "CopyTest/1.eml", &two);
	ck_assert_int_eq(mount_sh(NULL, "cd '%s/CopyTest' && cp 3.eml new.eml && rm 3.eml", d), 0);
	ck_assert(server_holds(s, "CopyTest", &three));
	read_as(&m, "CopyTest/new.eml", &three);
	ck_assert_int_eq(mount_sh(NULL, "cd '%s/CopyTest' && cp 4.eml copy.eml && rm copy.eml", d), 0);
	ck_assert(server_holds(s, "CopyTest", &four));
	read_as(&m, "CopyTest/4.eml", &four);
	buf_free(&two);
	buf_free(&three);
	buf_free(&four);
	imap_close(s);
	mount_stop(&m);
}
END_TEST

/* A file written, renamed while a descriptor stays open, and written and
 * closed again: the server ends with all of it, under the new name. */
START_TEST(test_writes_after_a_rename_arrive)
{
	struct imap *s = mount_second(&env, "alice");
	srv_folder(s, "LateTest", 0);
	struct fsmount m = { .pid = 0 };
	mount_start(&env, &m, "late", NULL);
	ck_assert_int_eq(mount_sh(NULL, "cd '%s/LateTest' && ( printf 'Subject: a\\r\\n\\r\\n'; /bin/true; "
				  "mv f.eml g.eml; printf 'b\\r\\n' ) > f.eml", m.dir), 0);
	struct buf want = BUF_INIT;
	buf_addstr(&want, "Subject: a\r\n\r\nb\r\n");
	uint32_t uids[4];
	ck_assert_uint_eq(srv_uids(s, "LateTest", uids, 4), 1);
	ck_assert(server_holds(s, "LateTest", &want));
	read_as(&m, "LateTest/g.eml", &want);
	buf_free(&want);
	imap_close(s);
	mount_stop(&m);
}
END_TEST

/* The names messages keep move with their folder, and last. */
START_TEST(test_kept_names_follow_a_folder_rename)
{
	struct imap *s = mount_second(&env, "alice");
	struct fsmount m = { .pid = 0 };
	mount_start(&env, &m, "frename", NULL);
	ck_assert_int_eq(mount_sh(NULL, "mkdir '%s/NamedA' && printf 'Subject: k\\r\\n\\r\\nk\\r\\n' > "
				  "'%s/NamedA/kept.eml' && mv '%s/NamedA' '%s/NamedB'", m.dir, m.dir, m.dir, m.dir), 0);
	char cache[sizeof m.cache];
	snprintf(cache, sizeof cache, "%s", m.cache);
	mount_stop(&m);
	memset(&m, 0, sizeof m);
	snprintf(m.cache, sizeof m.cache, "%s", cache);
	mount_start(&env, &m, "frename", NULL);
	struct buf want = BUF_INIT;
	buf_addstr(&want, "Subject: k\r\n\r\nk\r\n");
	read_as(&m, "NamedB/kept.eml", &want);
	buf_free(&want);
	imap_close(s);
	mount_stop(&m);
}
END_TEST

void check_mount_write_add_over(TCase *tc)
{
	tcase_add_test(tc, test_writing_over_a_message);
	tcase_add_test(tc, test_a_copy_never_costs_the_original);
	tcase_add_test(tc, test_writes_after_a_rename_arrive);
	tcase_add_test(tc, test_kept_names_follow_a_folder_rename);
}
