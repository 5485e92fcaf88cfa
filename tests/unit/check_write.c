/* check_write.c (unit): the write path's IMAP operations (fs/remote/mutate.c,
 * fs/remote/run.c) against scripted servers, for what Dovecot cannot show
 * (no UIDPLUS, no MOVE, a refused COPY, a connection lost in the middle),
 * and the runner's code-to-errno table and retry rule.  The same operations
 * against a private Dovecot are in tests/server/check_write.c. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_run.h"
#include "fake.h"
#include "harness_fakefs.h"
#include "harness_os.h"
#include "imap.h"
#include "mutf7.h"
#include "remote/mutate.h"
#include "remote/pool.h"
#include "remote/run.h"
#include "remote/select.h"

/* ---- helpers: the pool under test ---- */

static int temp_file(const void *p, size_t n)
{
	char path[] = "/tmp/imapfs-write-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	ck_assert_int_eq(write(fd, p, n), (ssize_t)n);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

START_TEST(test_errno_mapping)
{
	ck_assert_int_eq(run_errno("DELETE", "NO", "NONEXISTENT"), -ENOENT);
	ck_assert_int_eq(run_errno("UID COPY", "NO", "TRYCREATE"), -ENOENT);
	ck_assert_int_eq(run_errno("CREATE", "NO", "ALREADYEXISTS"), -EEXIST);
	ck_assert_int_eq(run_errno("SELECT", "NO", "NOPERM"), -EACCES);
	ck_assert_int_eq(run_errno("SELECT", "NO", "AUTHORIZATIONFAILED"), -EACCES);
	ck_assert_int_eq(run_errno("APPEND", "NO", "OVERQUOTA"), -EDQUOT);
	ck_assert_int_eq(run_errno("UID STORE", "NO", "READ-ONLY"), -EROFS);
	ck_assert_int_eq(run_errno("SELECT", "NO", "INUSE"), -EBUSY);
	ck_assert_int_eq(run_errno("RENAME", "NO", "CANNOT"), -EIO);
	ck_assert_int_eq(run_errno("RENAME", "NO", NULL), -EIO);
	ck_assert_int_eq(run_errno(NULL, "NO", "NONEXISTENT"), -ENOENT);
	ck_assert_int_eq(run_errno(NULL, "NO", NULL), -EIO);
	ck_assert_int_eq(run_errno("DELETE", "BAD", "NONEXISTENT"), -EIO);
	ck_assert_int_eq(run_errno("DELETE", NULL, NULL), -EIO);
	/* a bare NO to CREATE is a refusal (Cyrus, Courier), to anything else "not done" */
	ck_assert_int_eq(run_errno("CREATE", "NO", NULL), -EACCES);
	ck_assert_int_eq(run_errno("CREATE", "NO", "CANNOT"), -EIO);
	ck_assert_int_eq(run_errno("CREATE", "BAD", NULL), -EIO);
}
END_TEST

/* What may run again after its connection was lost: reads, and what the
 * caller marks idempotent; never an APPEND, COPY, MOVE or mailbox change. */
START_TEST(test_repeat_rule)
{
	static const char *const reads[] = { "LIST", "STATUS", "SELECT", "EXAMINE", "UNSELECT",
					     "UID FETCH", "uid fetch", "UID SEARCH", "GETQUOTAROOT" };
	for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++)
		ck_assert_msg(run_repeatable(reads[i], false), "%s", reads[i]);
	static const char *const changes[] = { "APPEND", "UID COPY", "UID MOVE", "CREATE", "DELETE",
					       "RENAME", "UID STORE", "UID EXPUNGE", "EXPUNGE", "CLOSE",
					       "LOGOUT", "UID FETCHX", NULL };
	for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
		const char *verb = changes[i] ? changes[i] : "NULL";
		ck_assert_msg(!run_repeatable(changes[i], false), "%s", verb);
		ck_assert(run_repeatable(changes[i], true));
	}
}
END_TEST

/* ---- against scripted servers ---- */

#define FAKE_SELECT(tag, box)                              \
	"C: <" tag "> SELECT " box "\n"                    \
	"S: * 3 EXISTS\n"                                  \
	"S: * OK [UIDVALIDITY 5] ok\n"                     \
	"S: * OK [UIDNEXT 9] ok\n"                         \
	"S: <" tag "> OK [READ-WRITE] selected\n"

static struct pool *fake_pool(struct fake_server *f, struct fs_config *cfg)
{
	struct pool *p = fakefs_pool_new("alice", fake_port_str(f), cfg);
	return p;
}

/* Without UIDPLUS nothing is sent: the script's next line is LOGOUT. */
START_TEST(test_fake_no_uidplus_refuses)
{
	struct fake_server *f = fakefs_server_start(FAKE_LOGIN("MOVE") FAKE_LOGOUT, 0);
	struct fs_config cfg;
	struct pool *p = fake_pool(f, &cfg);
	ck_assert_int_eq(mutate_expunge(p, "INBOX", 5, 7, false), -EOPNOTSUPP);
	fakefs_pool_free(p, &cfg);
	fakefs_server_finish(f);
	f = fakefs_server_start(FAKE_LOGIN("") FAKE_LOGOUT, 0);
	p = fake_pool(f, &cfg);
	uint32_t nv, nu;
	ck_assert_int_eq(mutate_move(p, "INBOX", 5, 7, "Dst", false, &nv, &nu), -EOPNOTSUPP);
	fakefs_pool_free(p, &cfg);
	fakefs_server_finish(f);
}
END_TEST

/* Allowed plainly: STORE, EXPUNGE, then a check that the UID is gone. */
START_TEST(test_fake_plain_expunge_when_allowed)
{
	struct fake_server *f = fakefs_server_start(FAKE_LOGIN("")
		FAKE_SELECT("tag2", "INBOX")
		"C: <tag3> UID FETCH 7 (FLAGS)\n"
		"C: <tag4> UID STORE 7 +FLAGS.SILENT (\\\\Deleted)\n"
		"S: * 2 FETCH (UID 7 FLAGS (\\\\Seen))\n"
		"S: <tag3> OK fetched\n"
		"S: <tag4> OK stored\n"
		"C: <tag5> EXPUNGE\n"
		"S: * 2 EXPUNGE\n"
		"S: <tag5> OK expunged\n"
		"C: <tag6> UID SEARCH UID 7\n"
		"S: * SEARCH\n"
		"S: <tag6> OK searched\n"
		FAKE_LOGOUT, 0);
	struct fs_config cfg;
	struct pool *p = fake_pool(f, &cfg);
	ck_assert_int_eq(mutate_expunge(p, "INBOX", 5, 7, true), 0);
	fakefs_pool_free(p, &cfg);
	fakefs_server_finish(f);
}
END_TEST

/* GNU mailutils answers a plain EXPUNGE with "* 2 EXPUNGED", a word no
 * standard has: the message that was there before our STORE and is gone
 * afterwards was removed, whatever the server called it. */
START_TEST(test_fake_plain_expunge_mailutils_words)
{
	struct fake_server *f = fakefs_server_start(FAKE_LOGIN("")
		FAKE_SELECT("tag2", "INBOX")
		"C: <tag3> UID FETCH 7 (FLAGS)\n"
		"C: <tag4> UID STORE 7 +FLAGS.SILENT (\\\\Deleted)\n"
		"S: * 2 FETCH (UID 7 FLAGS (\\\\Seen))\n"
		"S: <tag3> OK fetched\n"
		"S: <tag4> OK stored\n"
		"C: <tag5> EXPUNGE\n"
		"S: * 2 EXPUNGED\n"
		"S: <tag5> OK expunged\n"
		"C: <tag6> UID SEARCH UID 7\n"
		"S: * SEARCH\n"
		"S: <tag6> OK searched\n"
		/* a UID that was not there before either: ENOENT still */
		"C: <tag7> UID FETCH 8 (FLAGS)\n"
		"C: <tag8> UID STORE 8 +FLAGS.SILENT (\\\\Deleted)\n"
		"S: <tag7> OK fetched\n"
		"S: <tag8> OK stored\n"
		"C: <tag10> EXPUNGE\n"
		"S: <tag10> OK expunged\n"
		"C: <tag11> UID SEARCH UID 8\n"
		"S: * SEARCH\n"
		"S: <tag11> OK searched\n"
		FAKE_LOGOUT, 0);
	struct fs_config cfg;
	struct pool *p = fake_pool(f, &cfg);
	ck_assert_int_eq(mutate_expunge(p, "INBOX", 5, 7, true), 0);
	ck_assert_int_eq(mutate_expunge(p, "INBOX", 5, 8, true), -ENOENT);
	fakefs_pool_free(p, &cfg);
	fakefs_server_finish(f);
}
END_TEST

/* A message appended through another connection a moment ago is not yet
 * in this session's view (Dovecot shows new mail at the end of a command):
 * a UID at or above the UIDNEXT the session knows gets a NOOP first, which
 * brings it into view, so the STORE and EXPUNGE find it the first time. */
START_TEST(test_fake_expunge_of_mail_new_to_the_session)
{
	struct fake_server *f = fakefs_server_start(FAKE_LOGIN("UIDPLUS")
		FAKE_SELECT("tag2", "INBOX")
		"C: <tag3> NOOP\n"
		"S: * 4 EXISTS\n"
		"S: <tag3> OK noop\n"
		"C: <tag4> UID FETCH 9 (FLAGS)\n"
		"C: <tag5> UID STORE 9 +FLAGS.SILENT (\\\\Deleted)\n"
		"S: * 4 FETCH (UID 9 FLAGS ())\n"
		"S: <tag4> OK fetched\n"
		"S: <tag5> OK stored\n"
		"C: <tag6> UID EXPUNGE 9\n"
		"S: * 4 EXPUNGE\n"
		"S: <tag6> OK expunged\n"
		"C: <tag7> UID SEARCH UID 9\n"
		"S: * SEARCH\n"
		"S: <tag7> OK searched\n"
		FAKE_LOGOUT, 0);
	struct fs_config cfg;
	struct pool *p = fake_pool(f, &cfg);
	ck_assert_int_eq(mutate_expunge(p, "INBOX", 5, 9, false), 0);
	fakefs_pool_free(p, &cfg);
	fakefs_server_finish(f);
}
END_TEST

/* A server that does not show new mail even after a NOOP: the expunge's
 * own SEARCH sees the message, and it is made once more. */
START_TEST(test_fake_expunge_of_mail_the_noop_did_not_show)
{
	struct fake_server *f = fakefs_server_start(FAKE_LOGIN("UIDPLUS")
		FAKE_SELECT("tag2", "INBOX")
		"C: <tag3> NOOP\n"
		"S: <tag3> OK noop\n"
		"C: <tag4> UID FETCH 9 (FLAGS)\n"
		"C: <tag5> UID STORE 9 +FLAGS.SILENT (\\\\Deleted)\n"
		"S: <tag4> OK fetched\n"
		"S: <tag5> OK stored\n"
		"C: <tag6> UID EXPUNGE 9\n"
		"S: * 4 EXISTS\n"
		"S: <tag6> OK expunged\n"
		"C: <tag7> UID SEARCH UID 9\n"
		"S: * SEARCH 9\n"
		"S: <tag7> OK searched\n"
		"C: <tag8> UID FETCH 9 (FLAGS)\n"
		"C: <tag10> UID STORE 9 +FLAGS.SILENT (\\\\Deleted)\n"
		"S: * 4 FETCH (UID 9 FLAGS ())\n"
		"S: <tag8> OK fetched\n"
		"S: <tag10> OK stored\n"
		"C: <tag11> UID EXPUNGE 9\n"
		"S: * 4 EXPUNGE\n"
		"S: <tag11> OK expunged\n"
		"C: <tag12> UID SEARCH UID 9\n"
		"S: * SEARCH\n"
		"S: <tag12> OK searched\n"
		FAKE_LOGOUT, 0);
	struct fs_config cfg;
	struct pool *p = fake_pool(f, &cfg);
	ck_assert_int_eq(mutate_expunge(p, "INBOX", 5, 9, false), 0);
	fakefs_pool_free(p, &cfg);
	fakefs_server_finish(f);
}
END_TEST

struct create_call {
	struct pool *p;
	const char *mailbox;
	int rc;
};

static void call_create(void *ctx)
{
	struct create_call *c = ctx;
	c->rc = mutate_create(c->p, c->mailbox);
}

/* Cyrus and Courier refuse a CREATE outside the user's namespaces with a
 * NO that has no response code: that is a refusal (EACCES, the server's
 * words in the log), not an I/O error; one for a name that exists is
 * EEXIST. */
START_TEST(test_fake_create_refused_without_code)
{
	struct fake_server *f = fakefs_server_start(FAKE_LOGIN("")
		"C: <tag2> CREATE Outside\n"
		"S: <tag2> NO Permission denied\n"
		"C: <tag3> LIST \"\" Outside\n"
		"S: <tag3> OK listed\n"
		"C: <tag4> CREATE There\n"
		"S: <tag4> NO Mailbox already exists\n"
		"C: <tag5> LIST \"\" There\n"
		"S: * LIST () \".\" There\n"
		"S: <tag5> OK listed\n"
		"C: <tag6> CREATE Unsure\n"
		"S: <tag6> NO Permission denied\n"
		"C: <tag7> LIST \"\" Unsure\n"
		"S: <tag7> NO LIST not now\n"
		FAKE_LOGOUT, 0);
	struct fs_config cfg;
	struct pool *p = fake_pool(f, &cfg);
	struct create_call c = { p, "Outside", 0 };
	struct buf log = BUF_INIT;
	ck_assert_int_eq(os_stderr_of(call_create, &c, &log, NULL), 0);
	ck_assert_int_eq(c.rc, -EACCES);
	ck_assert_msg(strstr(log.data, "CREATE Outside: NO Permission denied") != NULL, "log: %s",
		      log.data);
	ck_assert_int_eq(mutate_create(p, "There"), -EEXIST);
	/* the LIST that would tell failed: still the refusal, not EEXIST */
	ck_assert_int_eq(mutate_create(p, "Unsure"), -EACCES);
	buf_free(&log);
	fakefs_pool_free(p, &cfg);
	fakefs_server_finish(f);
}
END_TEST

/* A refused expunge takes our \Deleted away again (another client's
 * EXPUNGE would otherwise remove the message), but never one that was
 * there before. */
START_TEST(test_fake_refused_expunge_unmarks)
{
	struct fake_server *f = fakefs_server_start(FAKE_LOGIN("UIDPLUS")
		FAKE_SELECT("tag2", "INBOX")
		"C: <tag3> UID FETCH 7 (FLAGS)\n"
		"C: <tag4> UID STORE 7 +FLAGS.SILENT (\\\\Deleted)\n"
		"S: * 2 FETCH (UID 7 FLAGS (\\\\Seen))\n"
		"S: <tag3> OK fetched\n"
		"S: <tag4> OK stored\n"
		"C: <tag5> UID EXPUNGE 7\n"
		"S: <tag5> NO [NOPERM] no expunge right\n"
		"C: <tag6> UID STORE 7 -FLAGS.SILENT (\\\\Deleted)\n"
		"S: <tag6> OK stored\n"
		"C: <tag10> UID FETCH 8 (FLAGS)\n"
		"C: <tag11> UID STORE 8 +FLAGS.SILENT (\\\\Deleted)\n"
		"S: * 3 FETCH (UID 8 FLAGS (\\\\Deleted))\n"
		"S: <tag10> OK fetched\n"
		"S: <tag11> OK stored\n"
		"C: <tag12> UID EXPUNGE 8\n"
		"S: <tag12> NO [NOPERM] no expunge right\n"
		FAKE_LOGOUT, 0);
	struct fs_config cfg;
	struct pool *p = fake_pool(f, &cfg);
	ck_assert_int_eq(mutate_expunge(p, "INBOX", 5, 7, false), -EACCES);
	ck_assert_int_eq(mutate_expunge(p, "INBOX", 5, 8, false), -EACCES);
	fakefs_pool_free(p, &cfg);
	fakefs_server_finish(f);
}
END_TEST

/* Without MOVE: COPY, then STORE \Deleted, then UID EXPUNGE, in order. */
START_TEST(test_fake_move_without_move)
{
	struct fake_server *f = fakefs_server_start(FAKE_LOGIN("UIDPLUS")
		FAKE_SELECT("tag2", "Src")
		"C: <tag3> UID COPY 7 Dst\n"
		"S: <tag3> OK [COPYUID 11 7 4] copied\n"
		"C: <tag4> UID FETCH 7 (FLAGS)\n"
		"C: <tag5> UID STORE 7 +FLAGS.SILENT (\\\\Deleted)\n"
		"S: * 2 FETCH (UID 7 FLAGS ())\n"
		"S: <tag4> OK fetched\n"
		"S: <tag5> OK stored\n"
		"C: <tag6> UID EXPUNGE 7\n"
		"S: * 2 EXPUNGE\n"
		"S: <tag6> OK expunged\n"
		"C: <tag7> UID SEARCH UID 7\n"
		"S: * SEARCH\n"
		"S: <tag7> OK searched\n"
		FAKE_LOGOUT, 0);
	struct fs_config cfg;
	struct pool *p = fake_pool(f, &cfg);
	uint32_t nv = 0, nu = 0;
	ck_assert_int_eq(mutate_move(p, "Src", 5, 7, "Dst", false, &nv, &nu), 0);
	ck_assert_uint_eq(nv, 11);
	ck_assert_uint_eq(nu, 4);
	fakefs_pool_free(p, &cfg);
	fakefs_server_finish(f);
}
END_TEST

/* A refused COPY deletes nothing: LOGOUT follows it. */
START_TEST(test_fake_copy_refused_deletes_nothing)
{
	struct fake_server *f = fakefs_server_start(FAKE_LOGIN("UIDPLUS")
		FAKE_SELECT("tag2", "Src")
		"C: <tag3> UID COPY 7 Dst\n"
		"S: <tag3> NO [OVERQUOTA] quota exceeded\n"
		FAKE_LOGOUT, 0);
	struct fs_config cfg;
	struct pool *p = fake_pool(f, &cfg);
	uint32_t nv = 1, nu = 1;
	ck_assert_int_eq(mutate_move(p, "Src", 5, 7, "Dst", false, &nv, &nu), -EDQUOT);
	ck_assert_uint_eq(nu, 0);
	fakefs_pool_free(p, &cfg);
	fakefs_server_finish(f);
}
END_TEST

/* MOVE with COPYUID in an untagged OK before the tagged one. */
START_TEST(test_fake_move_untagged_copyuid)
{
	struct fake_server *f = fakefs_server_start(FAKE_LOGIN("UIDPLUS MOVE")
		FAKE_SELECT("tag2", "Src")
		"C: <tag3> UID MOVE 7 \"Dst Box\"\n"
		"S: * OK [COPYUID 12 7 40] moved\n"
		"S: * 2 EXPUNGE\n"
		"S: <tag3> OK done\n"
		FAKE_LOGOUT, 0);
	struct fs_config cfg;
	struct pool *p = fake_pool(f, &cfg);
	uint32_t nv = 0, nu = 0;
	ck_assert_int_eq(mutate_move(p, "Src", 5, 7, "Dst Box", false, &nv, &nu), 0);
	ck_assert_uint_eq(nv, 12);
	ck_assert_uint_eq(nu, 40);
	fakefs_pool_free(p, &cfg);
	fakefs_server_finish(f);
}
END_TEST

/* Mailbox names go as RFC 3501 astrings decided by their bytes: a name
 * that looks quoted or parenthesized is quoted like any other (imaplib's
 * rule sent '"Proj"' as it is, which the server read as Proj), wildcards
 * and NIL are quoted, 8-bit and CR LF go in literals, synchronizing
 * without LITERAL+ (after the server's "+"). */
START_TEST(test_fake_names_by_their_bytes)
{
	/* in a script, "\\" stands for one backslash on the wire */
	struct fake_server *f = fakefs_server_start(FAKE_LOGIN("UIDPLUS")
		"C: <tag2> CREATE \"\\\\\"Proj\\\\\"\"\n"
		"S: <tag2> OK created\n"
		"C: <tag3> CREATE \"\\\\\"a\\\\\" \\\\\"b\\\\\"\"\n"
		"S: <tag3> OK created\n"
		"C: <tag4> CREATE \"(X)\"\n"
		"S: <tag4> OK created\n"
		"C: <tag5> CREATE \"X%\"\n"
		"S: <tag5> OK created\n"
		"C: <tag6> CREATE \"X*\"\n"
		"S: <tag6> OK created\n"
		"C: <tag7> CREATE \"{5}\"\n"
		"S: <tag7> OK created\n"
		"C: <tag8> CREATE \"NIL\"\n"
		"S: <tag8> OK created\n"
		"C: <tag9> CREATE \"a\\\\\\\\b\"\n"
		"S: <tag9> OK created\n"
		"C: <tag10> CREATE \"a b\"\n"
		"S: <tag10> OK created\n"
		"C: <tag11> CREATE \"x]y\"\n"
		"S: <tag11> OK created\n"
		"C: <tag12> CREATE {6}\n"
		"S: + go on\n"
		"C-LITERAL 6 sha256:dc68a451a69ed32a88043406dc6b8c6cc613d83ace42aab6fbbd2cc871e7618e\n"
		"C: \n"
		"S: <tag12> OK created\n"
		"C: <tag13> RENAME Proj \"\\\\\"Proj\\\\\"\"\n"
		"S: <tag13> NO [ALREADYEXISTS] exists\n"
		"C: <tag14> LOGOUT\n"
		"S: * BYE bye\n"
		"S: <tag14> OK out\n"
		"EOF\n", 0);
	struct fs_config cfg;
	struct pool *p = fake_pool(f, &cfg);
	static const char *const names[] = {
		"\"Proj\"", "\"a\" \"b\"", "(X)", "X%", "X*", "{5}", "NIL", "a\\b", "a b", "x]y",
		"Gr\xc3\xbc\xc3\x9f",
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		ck_assert_msg(mutate_create(p, names[i]) == 0, "%s", names[i]);
	ck_assert_int_eq(mutate_rename(p, "Proj", "\"Proj\""), -EEXIST);
	fakefs_pool_free(p, &cfg);
	fakefs_server_finish(f);
}
END_TEST

/* A MOVE whose connection is lost is not made again (it may have moved
 * the message): the next command on the next connection is the CREATE
 * that follows. */
START_TEST(test_fake_lost_move_not_repeated)
{
	struct fake_server *f = fakefs_server_start(FAKE_LOGIN("UIDPLUS MOVE LITERAL+")
		FAKE_SELECT("tag3", "INBOX")
		"C: <tag4> UID MOVE 7 Archive\n"
		"CLOSE\n"
		"ACCEPT\n"
		FAKE_LOGIN("UIDPLUS MOVE LITERAL+")
		"C: <tag5> CREATE New\n"
		"S: <tag5> OK created\n"
		FAKE_LOGOUT, 0);
	struct fs_config cfg;
	struct pool *p = fake_pool(f, &cfg);
	ck_assert_int_eq(mutate_move(p, "INBOX", 5, 7, "Archive", false, NULL, NULL), -EIO);
	ck_assert_int_eq(mutate_create(p, "New"), 0);
	fakefs_pool_free(p, &cfg);
	fakefs_server_finish(f);
}
END_TEST

/* A connection lost in the middle of an expunge: the idempotent steps run
 * again on a new connection.  A lost APPEND is not repeated: the next
 * command on the new connection is the CREATE that follows it. */
START_TEST(test_fake_lost_connection)
{
	struct fake_server *f = fakefs_server_start(FAKE_LOGIN("UIDPLUS LITERAL+")
		FAKE_SELECT("tag2", "INBOX")
		"C: <tag3> UID FETCH 7 (FLAGS)\n"
		"C: <tag4> UID STORE 7 +FLAGS.SILENT (\\\\Deleted)\n"
		"CLOSE\n"
		"ACCEPT\n"
		FAKE_LOGIN("UIDPLUS LITERAL+")
		FAKE_SELECT("tag2", "INBOX")
		"C: <tag3> UID FETCH 7 (FLAGS)\n"
		"C: <tag4> UID STORE 7 +FLAGS.SILENT (\\\\Deleted)\n"
		"S: <tag3> OK fetched\n"
		"S: <tag4> OK stored\n"
		"C: <tag5> UID EXPUNGE 7\n"
		"S: <tag5> OK nothing left\n"
		"C: <tag6> UID SEARCH UID 7\n"
		"S: * SEARCH\n"
		"S: <tag6> OK searched\n"
		"C: <tag7> APPEND INBOX {5+}\n"
		"C-LITERAL 5 m\n"
		"C: \n"
		"CLOSE\n"
		"ACCEPT\n"
		FAKE_LOGIN("UIDPLUS LITERAL+")
		"C: <tag8> CREATE New\n"
		"S: <tag8> OK created\n"
		FAKE_LOGOUT, 0);
	struct fs_config cfg;
	struct pool *p = fake_pool(f, &cfg);
	/* the retry found nothing to expunge: the lost attempt did it */
	ck_assert_int_eq(mutate_expunge(p, "INBOX", 5, 7, false), 0);
	int fd = temp_file("mmmmm", 5);
	ck_assert_int_eq(mutate_append(p, "INBOX", fd, 5, 0, NULL, NULL, NULL), -EIO);
	close(fd);
	ck_assert_int_eq(mutate_create(p, "New"), 0);
	fakefs_pool_free(p, &cfg);
	fakefs_server_finish(f);
}
END_TEST

/* Courier refuses an APPEND to the mailbox its session has open read-only
 * ("NO Current box is selected READ-ONLY."): the connection that has it
 * EXAMINEd leaves it first. */
START_TEST(test_fake_append_leaves_examined_mailbox)
{
	struct fake_server *f = fakefs_server_start(FAKE_LOGIN("UIDPLUS LITERAL+ UNSELECT")
		"C: <tag2> EXAMINE Box\n"
		"S: * 1 EXISTS\n"
		"S: * OK [UIDVALIDITY 5] ok\n"
		"S: <tag2> OK [READ-ONLY] examined\n"
		"C: <tag3> UNSELECT\n"
		"S: <tag3> OK unselected\n"
		"C: <tag4> APPEND Box {5+}\n"
		"C-LITERAL 5 m\n"
		"C: \n"
		"S: <tag4> OK [APPENDUID 5 2] appended\n"
		FAKE_LOGOUT, 0);
	struct fs_config cfg;
	struct pool *p = fake_pool(f, &cfg);
	struct pool_conn *c;
	ck_assert_int_eq(pool_get(p, NULL, &c), 0);
	ck_assert_int_eq(select_mailbox(c, "Box", false), 0);
	pool_put(p, c);
	int fd = temp_file("mmmmm", 5);
	uint32_t v = 0, uid = 0;
	ck_assert_int_eq(mutate_append(p, "Box", fd, 5, 0, NULL, &v, &uid), 0);
	close(fd);
	ck_assert_uint_eq(v, 5);
	ck_assert_uint_eq(uid, 2);
	fakefs_pool_free(p, &cfg);
	fakefs_server_finish(f);
}
END_TEST

/* Under UTF8=ACCEPT a message with raw UTF-8 in its header goes as RFC
 * 6855's UTF8 (~{N}...), after a flag list (Courier takes an atom after
 * the name for a flag); 8-bit bytes in the body alone change nothing. */
START_TEST(test_fake_append_utf8_header)
{
	const char *head8 = "Subject: Gr\xc3\xbc\xc3\x9f" "e\r\n\r\nhi\r\n";
	const char *body8 = "Subject: hi\r\n\r\nGr\xc3\xbc\xc3\x9f" "e\r\n";
	char script[1024];
	snprintf(script, sizeof script,
		 FAKE_LOGIN("UIDPLUS LITERAL+ ENABLE UTF8=ACCEPT")
		 "C: <tag2> ENABLE UTF8=ACCEPT\n"
		 "S: * ENABLED UTF8=ACCEPT\n"
		 "S: <tag2> OK enabled\n"
		 "C: <tag3> APPEND Box () UTF8 (~{%zu+}\n"
		 "C-LITERAL %zu\n"
		 "C: )\n"
		 "S: <tag3> OK [APPENDUID 5 2] appended\n"
		 "C: <tag4> APPEND Box {%zu+}\n"
		 "C-LITERAL %zu\n"
		 "C: \n"
		 "S: <tag4> OK [APPENDUID 5 3] appended\n"
		 FAKE_LOGOUT, strlen(head8), strlen(head8), strlen(body8), strlen(body8));
	struct fake_server *f = fakefs_server_start(script, 0);
	struct fs_config cfg;
	struct pool *p = fake_pool(f, &cfg);
	uint32_t v = 0, uid = 0;
	int fd = temp_file(head8, strlen(head8));
	ck_assert_int_eq(mutate_append(p, "Box", fd, strlen(head8), 0, NULL, &v, &uid), 0);
	close(fd);
	ck_assert_uint_eq(uid, 2);
	fd = temp_file(body8, strlen(body8));
	ck_assert_int_eq(mutate_append(p, "Box", fd, strlen(body8), 0, NULL, &v, &uid), 0);
	close(fd);
	ck_assert_uint_eq(uid, 3);
	fakefs_pool_free(p, &cfg);
	fakefs_server_finish(f);
}
END_TEST

int main(void)
{
	fs_log_to_stderr(true);
	fs_log_debug(getenv("CHECK_WRITE_DEBUG") != NULL);
	Suite *su = suite_create("write");
	TCase *tc = tcase_create("units");
	tcase_add_test(tc, test_errno_mapping);
	tcase_add_test(tc, test_repeat_rule);
	suite_add_tcase(su, tc);
	TCase *tf = tcase_create("fake");
	tcase_set_timeout(tf, 60);
	tcase_add_test(tf, test_fake_no_uidplus_refuses);
	tcase_add_test(tf, test_fake_append_utf8_header);
	tcase_add_test(tf, test_fake_plain_expunge_when_allowed);
	tcase_add_test(tf, test_fake_plain_expunge_mailutils_words);
	tcase_add_test(tf, test_fake_expunge_of_mail_new_to_the_session);
	tcase_add_test(tf, test_fake_expunge_of_mail_the_noop_did_not_show);
	tcase_add_test(tf, test_fake_create_refused_without_code);
	tcase_add_test(tf, test_fake_move_without_move);
	tcase_add_test(tf, test_fake_refused_expunge_unmarks);
	tcase_add_test(tf, test_fake_copy_refused_deletes_nothing);
	tcase_add_test(tf, test_fake_move_untagged_copyuid);
	tcase_add_test(tf, test_fake_lost_connection);
	tcase_add_test(tf, test_fake_lost_move_not_repeated);
	tcase_add_test(tf, test_fake_names_by_their_bytes);
	tcase_add_test(tf, test_fake_append_leaves_examined_mailbox);
	suite_add_tcase(su, tf);
	int failed = check_run_suite(su);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
