/* harness_piped.c: Courier and mailutils on a pipe (harness_piped.h). */
#include "config.h"
#include "harness_piped.h"

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "harness_dovecot_conf.h"
#include "harness_os.h"
#include "imaplib.h"

#define PIPED_ROOT "/var/lib/imapfs"
#define COURIER_IMAPD PIPED_ROOT "/courier-imap/usr/bin/imapd"
#define COURIER_SETTINGS PIPED_ROOT "/courier-imap/etc/courier/imapd"
#define COURIER_LIBS PIPED_ROOT "/courier-authlib/usr/lib"
#define MAILUTILS_IMAP4D PIPED_ROOT "/mailutils-imap4d/usr/sbin/imap4d"
#define SETPRIV "/usr/bin/setpriv"

static const char *const courier_packages[] = { "courier-imap", "courier-base", "courier-authlib", NULL };
static const char *const mailutils_packages[] = { "mailutils-imap4d", NULL };

static const char *const *piped_packages(enum piped_kind kind)
{
	return kind == PIPED_COURIER ? courier_packages : mailutils_packages;
}

static const char *piped_program(enum piped_kind kind)
{
	return kind == PIPED_COURIER ? COURIER_IMAPD : MAILUTILS_IMAP4D;
}

/* The first line of PIPED_ROOT/pkg/VERSION into out; false if none. */
static bool piped_version(const char *pkg, char *out, size_t size)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s/VERSION", PIPED_ROOT, pkg);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	bool ok = fgets(out, (int)size, f) != NULL;
	fclose(f);
	if (ok)
		out[strcspn(out, "\r\n")] = '\0';
	return ok && out[0];
}

int piped_usable(enum piped_kind kind, struct buf *why)
{
	char version[64];
	if (geteuid() != 0) {
		buf_addstr(why, "needs root to run the server as the mail user");
		return -1;
	}
	for (const char *const *pkg = piped_packages(kind); *pkg; pkg++)
		if (!piped_version(*pkg, version, sizeof version)) {
			buf_addf(why, "%s is not unpacked in " PIPED_ROOT " (contrib/unpack-servers.sh)", *pkg);
			return -1;
		}
	if (access(piped_program(kind), X_OK) != 0 || access(SETPRIV, X_OK) != 0) {
		buf_addf(why, "%s or " SETPRIV " is missing", piped_program(kind));
		return -1;
	}
	return 0;
}

/* Courier: its package's settings (IMAP_ENHANCEDIDLE=0 among them: IDLE
 * never pushes without FAM), then the store.  It must run in the Maildir. */
static void piped_courier_script(const struct piped *p, uid_t uid, gid_t gid, struct buf *s)
{
	buf_addf(s,
		 "set -a\n"
		 ". " COURIER_SETTINGS "\n"
		 "set +a\n"
		 "MAILDIR=%s\n"
		 "LD_LIBRARY_PATH=" COURIER_LIBS "\n"
		 "export MAILDIR LD_LIBRARY_PATH\n"
		 "cd %s || exit 1\n"
		 "exec " SETPRIV " --reuid=%u --regid=%u --clear-groups " COURIER_IMAPD " %s\n",
		 p->mail, p->mail, (unsigned)uid, (unsigned)gid, p->mail);
}

static void piped_mailutils_script(const struct piped *p, uid_t uid, gid_t gid, struct buf *s)
{
	buf_addf(s,
		 "cd %s || exit 1\n"
		 "HOME=%s\n"
		 "export HOME\n"
		 "exec " SETPRIV " --reuid=%u --regid=%u --clear-groups " MAILUTILS_IMAP4D
		 " --config-file=%s/imap4d.conf --inetd --preauth\n",
		 p->mail, p->mail, (unsigned)uid, (unsigned)gid, p->dir);
}

/* INBOX is DIR/mail itself (maildir) or the file DIR/mail/INBOX (mbox);
 * the other folders are below DIR/mail, '/' between levels. */
static int piped_mailutils_conf(const struct piped *p, struct buf *err)
{
	bool mbox = p->kind == PIPED_MAILUTILS_MBOX;
	const char *type = mbox ? "mbox" : "maildir";
	struct buf c = BUF_INIT;
	buf_addf(&c,
		 "logging { syslog false; };\n"
		 "preauth stdio;\n"
		 "mailbox { mailbox-pattern \"%s://%s%s\"; mailbox-type \"%s\"; };\n"
		 "namespace personal { prefix \"\" { directory \"%s\"; delimiter \"/\"; mailbox-type %s; }; };\n",
		 type, p->mail, mbox ? "/INBOX" : "", type, p->mail, type);
	char path[HARNESS_PATH_MAX + 16];
	snprintf(path, sizeof path, "%s/imap4d.conf", p->dir);
	int rc = os_write_file(path, &c, 0644, err);
	buf_free(&c);
	return rc;
}

static int piped_make_mail(const struct piped *p, uid_t uid, gid_t gid, struct buf *err)
{
	if (os_mkdirs(p->mail, 0700, err) < 0)
		return -1;
	if (p->kind != PIPED_MAILUTILS_MBOX) {
		static const char *const sub[] = { "cur", "new", "tmp" };
		for (size_t i = 0; i < 3; i++) {
			char path[HARNESS_PATH_MAX + 8];
			snprintf(path, sizeof path, "%s/%s", p->mail, sub[i]);
			if (mkdir(path, 0700) < 0 || chown(path, uid, gid) < 0) {
				buf_addf(err, "%s: %s", path, strerror(errno));
				return -1;
			}
		}
	}
	if (chown(p->mail, uid, gid) < 0) {
		buf_addf(err, "chown %s: %s", p->mail, strerror(errno));
		return -1;
	}
	return 0;
}

int piped_make(struct piped *p, enum piped_kind kind, struct buf *err)
{
	uid_t uid;
	gid_t gid;
	memset(p, 0, sizeof *p);
	p->kind = kind;
	if (piped_usable(kind, err) < 0 || os_system_user(HARNESS_MAIL_USER, &uid, &gid, err) < 0)
		return -1;
	piped_version(piped_packages(kind)[0], p->version, sizeof p->version);
	snprintf(p->dir, sizeof p->dir, "/tmp/imapfs-piped-XXXXXX");
	if (!mkdtemp(p->dir) || chmod(p->dir, 0755) < 0) {
		buf_addf(err, "mkdtemp: %s", strerror(errno));
		return -1;
	}
	snprintf(p->mail, sizeof p->mail, "%s/mail", p->dir);
	snprintf(p->command, sizeof p->command, "%s/imapd", p->dir);
	snprintf(p->log, sizeof p->log, "%s/sessions.log", p->dir);
	if (!dovecot_conf_plain_path(p->dir)) {  /* it goes into a script unquoted */
		buf_addf(err, "unexpected characters in %s", p->dir);
		goto fail;
	}
	struct buf script = BUF_INIT;
	buf_addf(&script, "#!/bin/sh\n# one IMAP session on stdin/stdout, for the imapfs tests\n"
		 "exec 2>>%s\n", p->log);
	if (kind == PIPED_COURIER)
		piped_courier_script(p, uid, gid, &script);
	else
		piped_mailutils_script(p, uid, gid, &script);
	int rc = os_write_file(p->command, &script, 0755, err);
	buf_free(&script);
	if (rc < 0 || piped_make_mail(p, uid, gid, err) < 0 ||
	    (kind != PIPED_COURIER && piped_mailutils_conf(p, err) < 0))
		goto fail;
	return 0;
fail:
	os_rmtree(p->dir, NULL);
	p->dir[0] = '\0';
	return -1;
}

static bool piped_match(const struct os_proc *proc, void *ctx)
{
	const struct piped *p = ctx;
	return strstr(proc->cmdline, p->dir) != NULL;
}

int piped_count_processes(const struct piped *p)
{
	pid_t pids[64];
	int n = os_find_procs(piped_match, (void *)p, pids, 64);
	return n < 0 ? 0 : n;
}

int piped_remove(struct piped *p, struct buf *err)
{
	if (!p->dir[0])
		return 0;
	pid_t pids[64];
	int n = os_find_procs(piped_match, p, pids, 64);
	for (int i = 0; i < n && i < 64; i++)
		kill(pids[i], SIGTERM);
	for (int i = 0; i < n && i < 64; i++)
		if (os_wait_gone(pids[i], 5000) < 0) {
			kill(pids[i], SIGKILL);
			os_wait_gone(pids[i], 5000);
		}
	int rc = os_rmtree(p->dir, err);
	if (rc == 0)
		p->dir[0] = '\0';
	return rc;
}

struct imap *piped_second(const struct piped *p)
{
	struct imap_opts o = { .timeout_ms = 180000,
			       .limits = { .max_mem_literal = (size_t)256 << 20 } };
	struct buf err = BUF_INIT;
	struct imap *s;
	ck_assert_msg(imap_open_stream(&s, p->command, &o, &err) == 0, "%s: %s", p->command, err.data);
	buf_free(&err);
	return s;
}
