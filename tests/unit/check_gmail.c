/* check_gmail.c (unit): Gmail's labels as read-only attributes
 * (user.gmail.labels, .msgid, .thrid: write/xattr.c, remote/labels.c)
 * against a scripted server that answers like Gmail: X-GM-EXT-1, a
 * [Gmail]/All Mail marked \All, label folders (one named in modified
 * UTF-7), system labels quoted with their backslash escaped, and the
 * label of the folder read left out of X-GM-LABELS as Gmail does.  The
 * script is the whole conversation: a command the core should not send
 * (a second fetch within the cache's time, a write of a label) fails it.
 * The last test reads them through a real FUSE mount (root, /dev/fuse):
 * getfattr and setfattr as a user runs them. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "check_run.h"
#include "fake.h"
#include "fs.h"
#include "fs_impl.h"
#include "harness_fakefs.h"
#include "harness_mount.h"
#include "log.h"

/* A system label as Gmail sends it: quoted, its backslash escaped ("\\X"
 * on the wire; the script's own escape doubles each backslash again). */
#define GM_SYS(x) "\"\\\\\\\\" x "\""

#define GM_LIST                                                          \
	FAKEFS_LIST                                                      \
	"S: * LIST (\\\\HasNoChildren) \"/\" \"INBOX\"\n"                \
	"S: * LIST (\\\\HasChildren \\\\Noselect) \"/\" \"[Gmail]\"\n"   \
	"S: * LIST (\\\\All \\\\HasNoChildren) \"/\" \"[Gmail]/All Mail\"\n" \
	"S: * LIST (\\\\HasNoChildren) \"/\" \"Caf&AOk-\"\n"             \
	"S: * LIST (\\\\HasNoChildren) \"/\" \"Work\"\n" FAKEFS_LISTED

#define GM_ITEMS " (UID X-GM-LABELS X-GM-MSGID X-GM-THRID)"

static int get_attr(struct fs *fs, uint64_t ino, const char *name, struct buf *v)
{
	buf_reset(v);
	return fs_getxattr(fs, ino, name, v);
}

static void attr_is(struct fs *fs, uint64_t ino, const char *name, const char *want)
{
	struct buf v = BUF_INIT;
	ck_assert_int_eq(get_attr(fs, ino, name, &v), 0);
	ck_assert_uint_eq(v.len, strlen(want));
	ck_assert_mem_eq(v.data ? v.data : "", want, v.len);
	buf_free(&v);
}

static void attr_fails(struct fs *fs, uint64_t ino, const char *name, int err)
{
	struct buf v = BUF_INIT;
	ck_assert_int_eq(get_attr(fs, ino, name, &v), err);
	buf_free(&v);
}

static uint64_t lookup(struct fs *fs, uint64_t parent, const char *name)
{
	struct fs_entry e;
	ck_assert_int_eq(fs_lookup(fs, parent, name, &e), 0);
	return e.ino;
}

START_TEST(test_labels_of_a_message)
{
	struct fakefs ff;
	fakefs_open(&ff,
		FAKE_LOGIN("X-GM-EXT-1") GM_LIST
		FAKEFS_LISTING("INBOX", "3", "11", "4",
			       FAKEFS_MSG("1", "1", "10") FAKEFS_MSG("2", "2", "10") FAKEFS_MSG("3", "3", "10"))
		"# one message asked for: the first read in a folder\n"
		"C: <tag5> UID FETCH 1" GM_ITEMS "\n"
		"S: * 1 FETCH (X-GM-THRID 1278455344230334865 X-GM-MSGID 1278455344230334866 "
		"X-GM-LABELS (" GM_SYS("Important") " " GM_SYS("Sent") " Caf&AOk- \"Work/R&AOk-sum&AOk-\") UID 1)\n"
		"S: <tag5> OK Success\n"
		"# a second miss in the folder: all of it, in one command\n"
		"C: <tag6> UID FETCH 1:*" GM_ITEMS "\n"
		"S: * 1 FETCH (X-GM-THRID 1278455344230334865 X-GM-MSGID 1278455344230334866 "
		"X-GM-LABELS (" GM_SYS("Important") " " GM_SYS("Sent") " Caf&AOk- \"Work/R&AOk-sum&AOk-\") UID 1)\n"
		"S: * 2 FETCH (X-GM-THRID 7 X-GM-MSGID 99999999999999999999999 X-GM-LABELS () UID 2)\n"
		"S: * 2 FETCH (FLAGS (\\\\Seen))\n"
		"S: * 3 FETCH (UID 3 X-GM-MSGID 5 X-GM-LABELS (Work {3}\n"
		"S+ a\\x00b))\\r\\n\n"
		"S: <tag6> OK Success\n"
		"# 3's labels were unreadable: asked again, and again unreadable\n"
		"C: <tag7> UID FETCH 1:*" GM_ITEMS "\n"
		"S: * 3 FETCH (UID 3 X-GM-LABELS ({3}\n"
		"S+ a\\nb))\\r\\n\n"
		"S: <tag7> OK Success\n"
		FAKE_LOGOUT, NULL);
	struct fs *fs = ff.fs;
	uint64_t inbox = lookup(fs, FS_ROOT_INO, "INBOX");
	uint64_t one = lookup(fs, inbox, "1.eml"), two = lookup(fs, inbox, "2.eml"),
		 three = lookup(fs, inbox, "3.eml");
	/* sorted by bytes, one a line, user labels in UTF-8, INBOX's own
	 * label added back */
	attr_is(fs, one, "user.gmail.labels", "Café\nWork/Résumé\n\\Important\n\\Inbox\n\\Sent\n");
	attr_is(fs, one, "user.gmail.msgid", "1278455344230334866");
	attr_is(fs, one, "user.gmail.thrid", "1278455344230334865");
	attr_is(fs, two, "user.gmail.labels", "\\Inbox\n");
	attr_fails(fs, two, "user.gmail.msgid", -ENODATA);  /* past 64 bits */
	attr_is(fs, two, "user.gmail.thrid", "7");
	attr_is(fs, one, "user.gmail.labels", "Café\nWork/Résumé\n\\Important\n\\Inbox\n\\Sent\n");
	attr_fails(fs, three, "user.gmail.labels", -ENODATA);  /* a NUL, then a LF */

	/* read-only: refused at once, the server never asked (the script
	 * would fail on any command here) */
	ck_assert_int_eq(fs_setxattr(fs, one, "user.gmail.labels", "Work\n", 5), -EPERM);
	ck_assert_int_eq(fs_setxattr(fs, one, "user.gmail.labels",
				     "Café\nWork/Résumé\n\\Important\n\\Inbox\n\\Sent\n", 46), -EPERM);
	ck_assert_int_eq(fs_setxattr(fs, one, "user.gmail.msgid", "1", 1), -EPERM);
	ck_assert_int_eq(fs_removexattr(fs, one, "user.gmail.labels"), -EPERM);
	/* only the flags are listed (a backup restoring the list would try
	 * to write the others) */
	struct buf v = BUF_INIT;
	ck_assert_int_eq(fs_listxattr(fs, one, &v), 0);
	ck_assert_uint_eq(v.len, sizeof "user.imap.flags");
	ck_assert_mem_eq(v.data, "user.imap.flags", sizeof "user.imap.flags");
	buf_free(&v);
	fakefs_close(&ff);
}
END_TEST

/* Gmail leaves the folder's own label out: a user label folder's name is
 * added back (decoded), All Mail's is not (it is no label). */
START_TEST(test_the_folders_own_label)
{
	struct fakefs ff;
	fakefs_open(&ff,
		FAKE_LOGIN("X-GM-EXT-1") GM_LIST
		FAKEFS_LISTING("Caf&AOk-", "1", "5", "8", FAKEFS_MSG("1", "7", "10"))
		"C: <tag5> UID FETCH 7" GM_ITEMS "\n"
		"S: * 1 FETCH (UID 7 X-GM-LABELS (\\\\Inbox Work))\n"
		"S: <tag5> OK Success\n"
		"C: <tag6> EXAMINE \"[Gmail]/All Mail\"\n"
		"C: <tag7> UID FETCH 1:* (UID RFC822.SIZE INTERNALDATE FLAGS)\n"
		"S: * 1 EXISTS\n"
		"S: * OK [UIDVALIDITY 9] ok\n"
		"S: * OK [UIDNEXT 40] ok\n"
		"S: <tag6> OK [READ-ONLY] done\n"
		FAKEFS_MSG("1", "31", "10")
		"S: <tag7> OK done\n"
		"C: <tag8> UID FETCH 31" GM_ITEMS "\n"
		"S: * 1 FETCH (UID 31 X-GM-LABELS (\\\\Inbox Work Caf&AOk-))\n"
		"S: <tag8> OK Success\n"
		FAKE_LOGOUT, NULL);
	struct fs *fs = ff.fs;
	uint64_t cafe = lookup(fs, FS_ROOT_INO, "Café");
	attr_is(fs, lookup(fs, cafe, "7.eml"), "user.gmail.labels", "Café\nWork\n\\Inbox\n");
	attr_fails(fs, lookup(fs, cafe, "7.eml"), "user.gmail.msgid", -ENODATA);
	uint64_t gmail = lookup(fs, FS_ROOT_INO, "[Gmail]");
	uint64_t all = lookup(fs, gmail, "All Mail");
	attr_is(fs, lookup(fs, all, "31.eml"), "user.gmail.labels", "Café\nWork\n\\Inbox\n");
	fakefs_close(&ff);
}
END_TEST

/* Without X-GM-EXT-1 there are no such attributes, and nothing is asked. */
START_TEST(test_not_gmail)
{
	struct fakefs ff;
	fakefs_open(&ff,
		FAKE_LOGIN("") GM_LIST
		FAKEFS_LISTING("INBOX", "1", "11", "2", FAKEFS_MSG("1", "1", "10"))
		FAKE_LOGOUT, NULL);
	struct fs *fs = ff.fs;
	uint64_t one = lookup(fs, lookup(fs, FS_ROOT_INO, "INBOX"), "1.eml");
	attr_fails(fs, one, "user.gmail.labels", -ENODATA);
	attr_fails(fs, one, "user.gmail.msgid", -ENODATA);
	attr_fails(fs, one, "user.gmail.thrid", -ENODATA);
	attr_is(fs, one, "user.imap.flags", "\\Seen");
	ck_assert_int_eq(fs_setxattr(fs, one, "user.gmail.labels", "x", 1), -EPERM);
	fakefs_close(&ff);
}
END_TEST

/* A label list past the parser's bound is refused whole; the server's
 * other answers still count. */
START_TEST(test_overlong_label_list)
{
	struct buf s = BUF_INIT;
	buf_addstr(&s, FAKE_LOGIN("X-GM-EXT-1") GM_LIST
		       FAKEFS_LISTING("INBOX", "2", "11", "3", FAKEFS_MSG("1", "1", "10") FAKEFS_MSG("2", "2", "10"))
		       "C: <tag5> UID FETCH 1" GM_ITEMS "\n"
		       "S: * 1 FETCH (UID 1 X-GM-LABELS (");
	for (int i = 0; i < 1001; i++)
		buf_addf(&s, " l%d", i);
	buf_addstr(&s, "))\nS: <tag5> OK Success\n"
		       "C: <tag6> UID FETCH 1:*" GM_ITEMS "\n"
		       "S: * 2 FETCH (UID 2 X-GM-LABELS (\\\\Starred) X-GM-THRID 18446744073709551615)\n"
		       "S: <tag6> OK Success\n" FAKE_LOGOUT);
	struct fakefs ff;
	fakefs_open(&ff, s.data, NULL);
	buf_free(&s);
	struct fs *fs = ff.fs;
	uint64_t inbox = lookup(fs, FS_ROOT_INO, "INBOX");
	attr_fails(fs, lookup(fs, inbox, "1.eml"), "user.gmail.labels", -ENODATA);
	attr_is(fs, lookup(fs, inbox, "2.eml"), "user.gmail.labels", "\\Inbox\n\\Starred\n");
	attr_is(fs, lookup(fs, inbox, "2.eml"), "user.gmail.thrid", "18446744073709551615");
	fakefs_close(&ff);
}
END_TEST

/* A server repeating its answer for a message keeps one (the last), and
 * labels longer than an attribute value can be (64 KiB) are none. */
START_TEST(test_answers_past_the_bounds)
{
	struct buf s = BUF_INIT, huge = BUF_INIT;
	for (int i = 0; i < 70; i++) {
		buf_addf(&huge, " L%02d", i);
		for (int k = 0; k < 997; k++)
			buf_addch(&huge, 'x');
	}
	buf_addstr(&s, FAKE_LOGIN("X-GM-EXT-1") GM_LIST
		       FAKEFS_LISTING("INBOX", "2", "11", "3", FAKEFS_MSG("1", "1", "10") FAKEFS_MSG("2", "2", "10"))
		       "C: <tag5> UID FETCH 1" GM_ITEMS "\n");
	for (int i = 0; i < 1000; i++)
		buf_addf(&s, "S: * 1 FETCH (UID 1 X-GM-LABELS (a%d))\n", i);
	buf_addf(&s, "S: <tag5> OK Success\n"
		     "C: <tag6> UID FETCH 1:*" GM_ITEMS "\n"
		     "S: * 1 FETCH (UID 1 X-GM-LABELS (last))\n"
		     "S: * 2 FETCH (UID 2 X-GM-LABELS (%s))\n"
		     "S: <tag6> OK Success\n" FAKE_LOGOUT, huge.data + 1);
	struct fakefs ff;
	fakefs_open(&ff, s.data, NULL);
	struct fs *fs = ff.fs;
	uint64_t inbox = lookup(fs, FS_ROOT_INO, "INBOX");
	attr_is(fs, lookup(fs, inbox, "1.eml"), "user.gmail.labels", "\\Inbox\na999\n");
	attr_fails(fs, lookup(fs, inbox, "2.eml"), "user.gmail.labels", -ENODATA);
	attr_is(fs, lookup(fs, inbox, "1.eml"), "user.gmail.labels", "\\Inbox\nlast\n");
	fakefs_close(&ff);
	buf_free(&s);
	buf_free(&huge);
}
END_TEST

static struct mount_env env;

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; p && (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* getfattr, setfattr and listxattr through the kernel: the bytes of the
 * labels, EPERM for a write (nothing sent: the script goes on to the
 * LOGOUT), only the flags listed, and a hostile answer for another
 * message that leaves the mount working. */
START_TEST(test_mount_getfattr)
{
	struct fake_opts fo = { .timeout_ms = 20000 };
	struct buf err = BUF_INIT, script = BUF_INIT;
	buf_addstr(&script,
		FAKE_LOGIN("X-GM-EXT-1") GM_LIST
		FAKEFS_LISTING("INBOX", "2", "11", "3", FAKEFS_MSG("1", "1", "10") FAKEFS_MSG("2", "2", "10"))
		"C: <tag5> UID FETCH 1" GM_ITEMS "\n"
		"S: * 1 FETCH (X-GM-THRID 1278455344230334865 X-GM-MSGID 1278455344230334866 "
		"X-GM-LABELS (" GM_SYS("Important") " Caf&AOk- \"Work/R&AOk-sum&AOk-\") UID 1)\n"
		"S: <tag5> OK Success\n"
		"C: <tag6> UID FETCH 1:*" GM_ITEMS "\n"
		"S: * 1 FETCH (X-GM-THRID 1278455344230334865 X-GM-MSGID 1278455344230334866 "
		"X-GM-LABELS (" GM_SYS("Important") " Caf&AOk- \"Work/R&AOk-sum&AOk-\") UID 1)\n"
		"S: * 2 FETCH (UID 2 X-GM-MSGID 12x X-GM-LABELS (a {1}\n"
		"S+ \\x00))\\r\\n\n"
		"S: <tag6> OK Success\n");
	/* getfattr -R over a label folder of WORK_N messages: two fetches */
	enum { WORK_N = 30 };
	buf_addf(&script, "C: <tag3> EXAMINE Work\n"
		 "C: <tag4> UID FETCH 1:* (UID RFC822.SIZE INTERNALDATE FLAGS)\n"
		 "S: * %d EXISTS\nS: * OK [UIDVALIDITY 12] ok\nS: * OK [UIDNEXT %d] ok\n"
		 "S: <tag3> OK [READ-ONLY] done\n", WORK_N, WORK_N + 1);
	for (int i = 1; i <= WORK_N; i++)
		buf_addf(&script, "S: * %d FETCH (UID %d RFC822.SIZE 10 INTERNALDATE \"01-Jan-2020 00:00:00 +0000\")\n",
			 i, i);
	buf_addstr(&script, "S: <tag4> OK done\n"
		   "C: <tag5> UID FETCH 1" GM_ITEMS "\n"
		   "S: * 1 FETCH (UID 1 X-GM-LABELS (" GM_SYS("Inbox") "))\n"
		   "S: <tag5> OK Success\n"
		   "C: <tag6> UID FETCH 1:*" GM_ITEMS "\n");
	for (int i = 1; i <= WORK_N; i++)
		buf_addf(&script, "S: * %d FETCH (UID %d X-GM-LABELS (" GM_SYS("Inbox") "))\n", i, i);
	buf_addstr(&script, "S: <tag6> OK Success\n" FAKE_LOGOUT);
	struct fake_server *f = fake_start(script.data, &fo, &err);
	ck_assert_msg(f != NULL, "%s", err.data);
	struct fsmount m;
	memset(&m, 0, sizeof m);
	snprintf(m.dir, sizeof m.dir, "%s/mnt-gmail", env.work);
	snprintf(m.log, sizeof m.log, "%s/log-gmail", env.work);
	char opts[512], url[128], one[512], two[512];
	snprintf(opts, sizeof opts, "tls=none,passfile=%s,cachedir=%s/cache-gmail,connections=1,poll=600",
		 env.passfile, env.work);
	snprintf(url, sizeof url, "imap://alice@127.0.0.1:%s", fake_port_str(f));
	ck_assert_msg(mount_run(&env, &m, opts, url, &err) == -1, "%s", err.data);
	snprintf(one, sizeof one, "%s/INBOX/1.eml", m.dir);
	snprintf(two, sizeof two, "%s/INBOX/2.eml", m.dir);

	struct buf out = BUF_INIT;
	ck_assert_int_eq(mount_sh(&out, "getfattr --absolute-names --only-values -n user.gmail.labels '%s'", one), 0);
	ck_assert_uint_eq(out.len, strlen("Café\nWork/Résumé\n\\Important\n\\Inbox\n"));
	ck_assert_mem_eq(out.data, "Café\nWork/Résumé\n\\Important\n\\Inbox\n", out.len);
	buf_reset(&out);
	ck_assert_int_eq(mount_sh(&out, "getfattr --absolute-names --only-values -n user.gmail.thrid '%s'", one), 0);
	ck_assert_uint_eq(out.len, 19);
	ck_assert_mem_eq(out.data, "1278455344230334865", 19);
	/* read-only: EPERM from the kernel's setxattr and from setfattr */
	ck_assert_int_eq(setxattr(one, "user.gmail.labels", "Work\n", 5, 0), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(removexattr(one, "user.gmail.labels"), -1);
	ck_assert_int_eq(errno, EPERM);
	buf_reset(&out);
	ck_assert_int_ne(mount_sh(&out, "setfattr -n user.gmail.labels -v Work '%s' 2>&1", one), 0);
	ck_assert_msg(strstr(out.data ? out.data : "", "Operation not permitted"), "%s", out.data);
	/* only the flags are listed */
	char names[256];
	ssize_t n = listxattr(one, names, sizeof names);
	ck_assert_int_eq(n, (ssize_t)sizeof "user.imap.flags");
	ck_assert_mem_eq(names, "user.imap.flags", sizeof "user.imap.flags");
	/* a NUL in a label and a bad number: no such attribute, no harm */
	char v[64];
	ck_assert_int_eq(getxattr(two, "user.gmail.labels", v, sizeof v), -1);
	ck_assert_int_eq(errno, ENODATA);
	ck_assert_int_eq(getxattr(one, "user.gmail.msgid", v, sizeof v), 19);
	ck_assert_mem_eq(v, "1278455344230334866", 19);
	ck_assert_int_eq(getxattr(two, "user.imap.flags", v, sizeof v), 5);
	ck_assert_mem_eq(v, "\\Seen", 5);

	/* the script has exactly two label fetches for Work: any third
	 * command fails it */
	buf_reset(&out);
	/* the folder itself has none: getfattr says so and exits 1 */
	int rc = mount_sh(&out, "cd '%s' && getfattr -R -n user.gmail.labels Work 2>&1", m.dir);
	ck_assert_msg(rc == 1 && strstr(out.data, "Work: user.gmail.labels: No such attribute"), "%s", out.data);
	size_t files = 0;
	for (const char *p = out.data; (p = strstr(p, "# file: Work/")); p++)
		files++;
	ck_assert_uint_eq(files, WORK_N);
	/* getfattr shows a value with a newline in base64: "Work\n\\Inbox\n" */
	ck_assert_msg(count_of(out.data, "user.gmail.labels=0sV29yawpcSW5ib3gK\n") == WORK_N, "%s", out.data);

	ck_assert_msg(fsmount_stop(&m, &err) == 0, "%s", err.data);
	ck_assert_msg(fake_finish(f, &err) == 0, "%s", err.data);
	buf_free(&out);
	buf_free(&err);
	buf_free(&script);
}
END_TEST

int main(void)
{
	fs_log_to_stderr(true);
	Suite *su = suite_create("gmail");
	TCase *tc = tcase_create("fake");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_labels_of_a_message);
	tcase_add_test(tc, test_the_folders_own_label);
	tcase_add_test(tc, test_not_gmail);
	tcase_add_test(tc, test_overlong_label_list);
	tcase_add_test(tc, test_answers_past_the_bounds);
	suite_add_tcase(su, tc);
	bool mounts = getuid() == 0 && access("/dev/fuse", R_OK | W_OK) == 0 &&
		      access("/bin/fusermount3", X_OK) == 0 && access("/usr/bin/getfattr", X_OK) == 0 &&
		      access("/usr/bin/setfattr", X_OK) == 0 && mount_env_init(&env) == 0;
	if (mounts) {
		TCase *mnt = tcase_create("mount");
		tcase_set_timeout(mnt, 60);
		tcase_add_test(mnt, test_mount_getfattr);
		suite_add_tcase(su, mnt);
	} else {
		fprintf(stderr, "check_gmail: no FUSE mounts here (root, /dev/fuse, fusermount3, "
				"getfattr): the mount test is skipped\n");
	}
	int failed = check_run_suite(su);
	if (mounts)
		failed += mount_env_cleanup(&env);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
