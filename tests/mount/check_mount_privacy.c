/* check_mount_privacy.c: who may do what with a mount.  Another local
 * user, against the modes and allow_other, may neither read nor change the
 * mail (checked through the server afterwards, not only by the errors),
 * and the daemon leaves no password where others look for one (its
 * environment, core dumps, its memory through /proc). */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "check_mount.h"
#include "harness.h"
#include "harness_mount.h"
#include "harness_os.h"
#include "harness_srv.h"
#include "imap.h"
#include "imaplib.h"

static uid_t other_uid;
static gid_t other_gid;

static void need_other_user(void)
{
	struct buf err = BUF_INIT;
	ck_assert_msg(os_system_user(HARNESS_OTHER_USER, &other_uid, &other_gid, &err) == 0, "%s",
		      err.data);
	buf_free(&err);
}

enum user_op { OP_STAT, OP_READ, OP_LIST, OP_UNLINK, OP_MKDIR, OP_SETXATTR, OP_CREATE };
static const char *const op_names[] = { "stat", "read", "list", "rm", "mkdir", "setfattr",
					"create" };

/* Reads path whole and compares it with want (a read that returns other
 * bytes is EBADMSG).  System calls only: this runs in a forked child. */
static int read_same(const char *path, const struct buf *want)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return errno;
	char chunk[4096];
	size_t at = 0;
	ssize_t n;
	while ((n = read(fd, chunk, sizeof chunk)) > 0) {
		if (at + (size_t)n > want->len || memcmp(want->data + at, chunk, (size_t)n)) {
			close(fd);
			return EBADMSG;
		}
		at += (size_t)n;
	}
	int e = n < 0 ? errno : at == want->len ? 0 : EBADMSG;
	close(fd);
	return e;
}

static int do_op(enum user_op op, const char *path, const struct buf *want)
{
	struct stat st;
	int fd;
	char dents[4096];
	switch (op) {
	case OP_STAT:
		return stat(path, &st) < 0 ? errno : 0;
	case OP_READ:
		return read_same(path, want);
	case OP_LIST:
		fd = open(path, O_RDONLY | O_DIRECTORY);
		if (fd < 0)
			return errno;
		if (syscall(SYS_getdents64, fd, dents, sizeof dents) < 0) {
			int e = errno;
			close(fd);
			return e;
		}
		close(fd);
		return 0;
	case OP_UNLINK:
		return unlink(path) < 0 ? errno : 0;
	case OP_MKDIR:
		return mkdir(path, 0700) < 0 ? errno : 0;
	case OP_SETXATTR:
		return setxattr(path, "user.imap.flags", "\\Flagged", 8, 0) < 0 ? errno : 0;
	case OP_CREATE:
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
		if (fd < 0)
			return errno;
		close(fd);
		return 0;
	}
	return EINVAL;
}

/* op on path as the user uid:gid, in a child: 0 or its errno. */
static int as_user(uid_t uid, gid_t gid, enum user_op op, const char *path, const struct buf *want)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
			_exit(255);
		_exit(do_op(op, path, want));
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) != 255);
	return WEXITSTATUS(st);
}

static void other_gets(enum user_op op, const char *path, const struct buf *want, int expect)
{
	int e = as_user(other_uid, other_gid, op, path, want);
	ck_assert_msg(e == expect, "%s %s as " HARNESS_OTHER_USER ": %s, expected %s", op_names[op],
		      path, e ? strerror(e) : "allowed", expect ? strerror(expect) : "allowed");
}

/* The paths one check uses, below a mount. */
struct private_paths {
	char dir[512], msg[512], sub[512], created[512];
};

static void private_paths(const struct fsmount *m, const char *msg_name, struct private_paths *p)
{
	snprintf(p->dir, sizeof p->dir, "%s/Private", m->dir);
	snprintf(p->msg, sizeof p->msg, "%s/Private/%s", m->dir, msg_name);
	snprintf(p->sub, sizeof p->sub, "%s/Private/Sub", m->dir);
	snprintf(p->created, sizeof p->created, "%s/Private/new.eml", m->dir);
}

/* Every way in for the other user ends with EACCES. */
static void other_refused_everything(const struct private_paths *p, const struct buf *body)
{
	other_gets(OP_READ, p->msg, body, EACCES);
	other_gets(OP_LIST, p->dir, body, EACCES);
	other_gets(OP_UNLINK, p->msg, body, EACCES);
	other_gets(OP_MKDIR, p->sub, body, EACCES);
	other_gets(OP_SETXATTR, p->msg, body, EACCES);
	other_gets(OP_CREATE, p->created, body, EACCES);
}

/* What the server holds in Private: how many messages, whether the one
 * message is \Flagged, whether Private.Sub exists. */
static void server_private(struct imap *s, unsigned *messages, bool *flagged, bool *sub)
{
	struct imap_result r = { .n = 0 };
	ck_assert_int_eq(imap_status(s, "Private", "(MESSAGES)", &r), 0);
	ck_assert_str_eq(r.type, "OK");
	const char *n = strstr(r.items[0].text.data, "MESSAGES ");
	ck_assert_ptr_nonnull(n);
	*messages = (unsigned)strtoul(n + 9, NULL, 10);
	ck_assert_int_eq(imap_select(s, "Private", true, &r), 0);
	const char *args[] = { "1:*", "(FLAGS)" };
	ck_assert_int_eq(imap_uid(s, "FETCH", args, 2, &r), 0);
	*flagged = false;
	for (size_t i = 0; i < r.n; i++)
		if (strstr(r.items[i].text.data, "\\Flagged"))
			*flagged = true;
	ck_assert_int_eq(imap_close_mailbox(s, &r), 0);
	imap_result_free(&r);
	/* LIST, not STATUS of a mailbox that may not exist: under load a
	 * CREATE of it just after such a STATUS from another session was
	 * refused ALREADYEXISTS (once, in a valgrind run) */
	struct buf list = BUF_INIT;
	srv_list(s, &list);
	*sub = srv_listed(&list, "Private.Sub");
	buf_free(&list);
}

static void server_untouched(struct imap *s)
{
	unsigned messages;
	bool flagged, sub;
	server_private(s, &messages, &flagged, &sub);
	ck_assert_uint_eq(messages, 1);
	ck_assert(!flagged);
	ck_assert(!sub);
}

/* The name of a message in Private other than not (may be NULL), found
 * by the mounting user. */
static void message_name(const struct fsmount *m, const char *not, char *name, size_t size)
{
	char dir[512];
	snprintf(dir, sizeof dir, "%s/Private", m->dir);
	DIR *d = opendir(dir);
	ck_assert_msg(d != NULL, "%s: %s", dir, strerror(errno));
	name[0] = '\0';
	for (struct dirent *de; (de = readdir(d));)
		if (de->d_type == DT_REG && (!not || strcmp(de->d_name, not)))
			snprintf(name, size, "%s", de->d_name);
	closedir(d);
	ck_assert_msg(name[0], "no message in %s", dir);
}

/* allow_other lets other users in, and the modes keep them out: files
 * 0600, directories 0700 unless umask= says otherwise, checked by the
 * kernel (default_permissions).  Without allow_other FUSE keeps them out. */
START_TEST(test_other_users_cannot_touch_the_mail)
{
	need_other_user();
	struct imap *s = mount_second(&env, "alice");
	struct imap_result r = { .n = 0 };
	ck_assert_int_eq(imap_create(s, "Private", &r), 0);
	const char *text = "Subject: private\r\n\r\nfor alice's eyes only\r\n";
	ck_assert_int_eq(imap_append(s, "Private", NULL, NULL, text, strlen(text), &r), 0);
	ck_assert_str_eq(r.type, "OK");
	struct buf body = BUF_INIT;
	buf_addstr(&body, text);
	struct fsmount m = { .pid = 0 };
	struct private_paths p;
	char name[256];
	struct stat st;

	/* allow_other with the defaults: private */
	mount_start(&env, &m, "other", "allow_other");
	message_name(&m, NULL, name, sizeof name);
	private_paths(&m, name, &p);
	ck_assert_int_eq(stat(p.msg, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(stat(p.dir, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0700);
	ck_assert_int_eq(stat(m.dir, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0700);
	other_refused_everything(&p, &body);
	server_untouched(s);
	/* the mounting user may do all of it */
	ck_assert_int_eq(do_op(OP_READ, p.msg, &body), 0);
	ck_assert_int_eq(do_op(OP_LIST, p.dir, &body), 0);
	ck_assert_int_eq(do_op(OP_SETXATTR, p.msg, &body), 0);
	int made = do_op(OP_MKDIR, p.sub, &body);
	if (made != 0) {
		struct buf tail = BUF_INIT, list = BUF_INIT;
		os_read_tail(m.log, 1500, &tail);
		srv_list(s, &list);
		ck_abort_msg("mkdir %s: %s; the server lists: %s; imapfs's log ends: %s", p.sub, strerror(made),
			     list.data, tail.data);
	}
	int fd = open(p.created, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	const char *mine = "Subject: mine\r\n\r\nwritten by alice\r\n";
	ck_assert_int_eq(write(fd, mine, strlen(mine)), (ssize_t)strlen(mine));
	ck_assert_int_eq(close(fd), 0);
	unsigned messages;
	bool flagged, sub;
	server_private(s, &messages, &flagged, &sub);
	ck_assert(flagged && sub);
	ck_assert_uint_eq(messages, 2);
	char appended[256], path[768];
	message_name(&m, name, appended, sizeof appended);
	snprintf(path, sizeof path, "%s/%s", p.dir, appended);
	ck_assert_msg(unlink(path) == 0, "rm %s: %s", path, strerror(errno));
	ck_assert_int_eq(rmdir(p.sub), 0);
	ck_assert_int_eq(setxattr(p.msg, "user.imap.flags", "", 0, 0), 0);
	mount_stop(&m);
	server_untouched(s);

	/* without allow_other: not even a look */
	mount_start(&env, &m, "other", NULL);
	private_paths(&m, name, &p);
	other_gets(OP_STAT, m.dir, &body, EACCES);
	other_refused_everything(&p, &body);
	ck_assert_int_eq(do_op(OP_READ, p.msg, &body), 0);
	mount_stop(&m);

	/* umask=022: others read, and change nothing */
	mount_start(&env, &m, "other", "allow_other,umask=022");
	private_paths(&m, name, &p);
	ck_assert_int_eq(stat(p.msg, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0644);
	other_gets(OP_READ, p.msg, &body, 0);
	other_gets(OP_LIST, p.dir, &body, 0);
	other_gets(OP_UNLINK, p.msg, &body, EACCES);
	other_gets(OP_MKDIR, p.sub, &body, EACCES);
	other_gets(OP_SETXATTR, p.msg, &body, EACCES);
	other_gets(OP_CREATE, p.created, &body, EACCES);
	mount_stop(&m);
	server_untouched(s);

	/* uid=, gid=: the mail is that user's, for the kernel */
	char opts[128];
	snprintf(opts, sizeof opts, "allow_other,uid=%u,gid=%u", (unsigned)other_uid,
		 (unsigned)other_gid);
	mount_start(&env, &m, "other", opts);
	private_paths(&m, name, &p);
	ck_assert_int_eq(stat(p.msg, &st), 0);
	ck_assert_uint_eq(st.st_uid, other_uid);
	other_gets(OP_READ, p.msg, &body, 0);
	other_gets(OP_LIST, p.dir, &body, 0);
	other_gets(OP_SETXATTR, p.msg, &body, 0);
	server_private(s, &messages, &flagged, &sub);
	ck_assert(flagged);
	mount_stop(&m);

	ck_assert_int_eq(imap_delete(s, "Private", &r), 0);
	imap_result_free(&r);
	imap_close(s);
	buf_free(&body);
}
END_TEST

/* Whether a process without CAP_SYS_PTRACE (root otherwise) may open
 * /proc/PID/mem, the memory that holds the password: 0, or the errno.  For
 * a target that lacks that capability too, only its dumpability decides. */
static int memory_readable_without_ptrace_cap(pid_t pid)
{
	pid_t child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
		struct __user_cap_data_struct d[2];
		if (prctl(PR_CAPBSET_DROP, CAP_SYS_PTRACE, 0, 0, 0) < 0 ||
		    syscall(SYS_capget, &h, d) < 0)
			_exit(255);
		d[0].effective &= ~(1u << CAP_SYS_PTRACE);
		d[0].permitted &= ~(1u << CAP_SYS_PTRACE);
		d[0].inheritable &= ~(1u << CAP_SYS_PTRACE);
		if (syscall(SYS_capset, &h, d) < 0)
			_exit(255);
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
		_exit(open(path, O_RDONLY) < 0 ? errno : 0);
	}
	int st;
	ck_assert_int_eq(waitpid(child, &st, 0), child);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) != 255);
	return WEXITSTATUS(st);
}

/* With the password in IMAPFS_PASSWORD: the daemon's environment block
 * (/proc/PID/environ) no longer holds it, and the daemon is not dumpable
 * (no core file; no debugger or reader of /proc/PID/mem without
 * CAP_SYS_PTRACE).  A passfile others may read is warned of. */
START_TEST(test_password_not_left_in_the_process)
{
	/* the way of looking tells a dumpable process from another */
	const char *sleeper[] = { "/bin/sleep", "60", NULL };
	struct os_spawn_opts so = { .no_ptrace_cap = true };
	struct buf err = BUF_INIT;
	pid_t control = os_spawn(sleeper, &so, &err);
	ck_assert_msg(control > 0, "%s", err.data);
	int e = memory_readable_without_ptrace_cap(control);
	kill(control, SIGKILL);
	os_child_wait(control, 5000, NULL);
	ck_assert_msg(e == 0, "a dumpable process's memory: %s", strerror(e));

	struct fsmount m = { .pid = 0, .no_ptrace_cap = true };
	snprintf(m.dir, sizeof m.dir, "%s/mnt-pw", env.work);
	snprintf(m.log, sizeof m.log, "%s/log-pw", env.work);
	char opts[512], url[128], path[512];
	snprintf(opts, sizeof opts, "tls=none,cachedir=%s/cache-pw", env.work);
	snprintf(url, sizeof url, "imap://alice@127.0.0.1:%d", env.imap_port);
	ck_assert_int_eq(setenv("IMAPFS_PASSWORD", "secret", 1), 0);
	struct buf out = BUF_INIT;
	int rc = mount_run(&env, &m, opts, url, &out);
	unsetenv("IMAPFS_PASSWORD");
	ck_assert_msg(rc == -1, "imapfs exited %d: %s", rc, out.data);
	/* logged in with it */
	snprintf(path, sizeof path, "%s/INBOX/1.eml", m.dir);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	if (!getenv("IMAPFS_DAEMON_WRAPPER")) {
		/* (a wrapper such as valgrind shows its own block there) */
		snprintf(path, sizeof path, "/proc/%d/environ", (int)m.pid);
		buf_reset(&out);
		ck_assert_int_eq(mount_slurp(path, &out), 0);
		ck_assert_ptr_nonnull(memmem(out.data, out.len, "IMAPFS_PASSWORD=", 16));
		for (size_t at = 0; at < out.len; at += strlen(out.data + at) + 1) {
			const char *entry = out.data + at;
			ck_assert_msg(strncmp(entry, "IMAPFS_PASSWORD=", 16) || !entry[16],
				      "the daemon's environment holds %s", entry);
		}
	}
	e = memory_readable_without_ptrace_cap(m.pid);
	ck_assert_msg(e == EACCES, "the daemon is dumpable: its memory: %s",
		      e ? strerror(e) : "readable");
	mount_stop(&m);

	/* a passfile others may read: said once, before the login */
	char pass[256];
	snprintf(pass, sizeof pass, "%s/pass-open", env.work);
	FILE *f = fopen(pass, "w");
	ck_assert_ptr_nonnull(f);
	fputs("not-the-password\n", f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(pass, 0644), 0);
	struct fsmount bad = { .pid = 0 };
	snprintf(bad.dir, sizeof bad.dir, "%s/mnt-pw-open", env.work);
	snprintf(opts, sizeof opts, "tls=none,passfile=%s,cachedir=%s/cache-pw-open", pass, env.work);
	buf_reset(&out);
	ck_assert_int_gt(mount_run(&env, &bad, opts, url, &out), 0);
	ck_assert_msg(strstr(out.data, "warning: passfile") && strstr(out.data, "0644"), "%s", out.data);
	ck_assert_msg(strstr(out.data, "refused"), "%s", out.data);
	ck_assert_msg(!strstr(out.data, "not-the-password"), "%s", out.data);
	rmdir(bad.dir);
	buf_free(&out);
	buf_free(&err);
}
END_TEST

void check_mount_add_privacy(TCase *tc)
{
	tcase_add_test(tc, test_other_users_cannot_touch_the_mail);
	tcase_add_test(tc, test_password_not_left_in_the_process);
}
