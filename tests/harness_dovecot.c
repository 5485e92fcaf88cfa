/* harness_dovecot.c: a private Dovecot in a temporary directory, started as
 * root, with its own ports, users, certificates and mail. */
#include "config.h"
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "harness_os.h"

#define START_ATTEMPTS 5         /* a port picked at run time may be taken meanwhile */
#define START_TIMEOUT_MS 20000
#define STOP_TIMEOUT_MS 15000
#define LEFTOVER_TIMEOUT_MS 5000
#define LOG_TAIL_BYTES 1500
#define MAX_REGISTERED 16
/* First line of every configuration we write: dovecot_stop() removes only
 * directories that hold it. */
#define DOVECOT_CONF_MARK "# A private Dovecot of the imapfs test harness; removed with its directory."

static const struct dovecot_user dovecot_standard_users[] = {
	{ "alice", "secret", NULL },
	{ "bob", "secret", NULL },
	{ "tiny", "secret", "*:storage=2K" },
};

/* ---- programs ---- */

static bool dovecot_find_program(const char *name, char *out, size_t size)
{
	static const char *const dirs[] = { "/usr/sbin", "/usr/bin", "/usr/local/sbin",
					    "/usr/local/bin", "/sbin", "/bin" };
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		snprintf(out, size, "%s/%s", dirs[i], name);
		if (access(out, X_OK) == 0)
			return true;
	}
	return false;
}

int dovecot_usable(struct buf *why)
{
	char path[256];
	if (geteuid() != 0) {
		buf_addstr(why, "a private Dovecot needs root (it runs mail as the user " HARNESS_MAIL_USER ")");
		return -1;
	}
	static const char *const needed[][2] = {
		{ "dovecot", "dovecot-imapd" }, { "doveadm", "dovecot-core" },
		{ "certtool", "gnutls-bin" },
	};
	for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++) {
		if (!dovecot_find_program(needed[i][0], path, sizeof path)) {
			buf_addf(why, "%s is not installed (Debian package %s; see contrib/install-deps.sh)",
				 needed[i][0], needed[i][1]);
			return -1;
		}
	}
	if (!getpwnam(HARNESS_MAIL_USER) && !dovecot_find_program("useradd", path, sizeof path)) {
		buf_addstr(why, "user " HARNESS_MAIL_USER " is missing and useradd is not installed");
		return -1;
	}
	return 0;
}

void dovecot_require_or_skip(const char *program)
{
	struct buf why = BUF_INIT;
	if (dovecot_usable(&why) == 0) {
		buf_free(&why);
		return;
	}
	fprintf(stderr, "%s: SKIP: %s\n", program, why.data);
	buf_free(&why);
	exit(HARNESS_EXIT_SKIP);
}

/* The mail must not belong to root (Dovecot refuses uid 0), so it belongs to
 * a system user made for the purpose.  Test programs may race to create it. */
static int dovecot_mail_user(uid_t *uid, gid_t *gid, struct buf *err)
{
	char useradd[256];
	for (int attempt = 0; attempt < 50; attempt++) {
		struct passwd *pw = getpwnam(HARNESS_MAIL_USER);
		if (pw) {
			*uid = pw->pw_uid;
			*gid = pw->pw_gid;
			return 0;
		}
		if (!dovecot_find_program("useradd", useradd, sizeof useradd)) {
			buf_addstr(err, "useradd not found: cannot create user " HARNESS_MAIL_USER);
			return -1;
		}
		const char *argv[] = { useradd, "--system", "--user-group", "--no-create-home",
				       "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
				       "--comment", "imapfs test mail", HARNESS_MAIL_USER, NULL };
		if (os_run(argv, NULL, NULL) < 0)
			os_sleep_ms(100); /* another process may hold the lock of /etc/passwd */
	}
	buf_addstr(err, "could not create user " HARNESS_MAIL_USER " with useradd");
	return -1;
}

/* ---- the instance directory ---- */

/* Paths go into Dovecot's configuration and a shell-evaluable file unquoted
 * by Dovecot, so only plain characters are accepted. */
static bool dovecot_plain_path(const char *p)
{
	if (p[0] != '/')
		return false;
	for (; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("/._-+", *p)))
			return false;
	}
	return true;
}

static bool dovecot_plain_name(const char *s)
{
	if (!*s || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("._-", *s)))
			return false;
	return true;
}

static int dovecot_make_dir(struct dovecot *d, const char *want, struct buf *err)
{
	if (!want) {
		char tmpl[] = "/tmp/imapfs-test-XXXXXX";
		if (!mkdtemp(tmpl)) {
			buf_addf(err, "mkdtemp: %s", strerror(errno));
			return -1;
		}
		snprintf(d->dir, sizeof d->dir, "%s", tmpl);
	} else {
		char cwd[HARNESS_PATH_MAX / 2];
		if (want[0] != '/' && !getcwd(cwd, sizeof cwd)) {
			buf_addf(err, "getcwd: %s", strerror(errno));
			return -1;
		}
		int n = want[0] == '/' ? snprintf(d->dir, sizeof d->dir, "%s", want)
				       : snprintf(d->dir, sizeof d->dir, "%s/%s", cwd, want);
		if (n < 0 || (size_t)n >= sizeof d->dir - 32) {
			buf_addf(err, "directory path too long: %s", want);
			return -1;
		}
		size_t len = strlen(d->dir);
		while (len > 1 && d->dir[len - 1] == '/')
			d->dir[--len] = '\0';
		if (!dovecot_plain_path(d->dir)) {
			buf_addf(err, "%s: use only letters, digits and /._-+ in the directory path", d->dir);
			return -1;
		}
		if (mkdir(d->dir, 0755) < 0) {
			if (errno != EEXIST || rmdir(d->dir) < 0 || mkdir(d->dir, 0755) < 0) {
				buf_addf(err, "%s must be a new or empty directory", d->dir);
				return -1;
			}
		}
	}
	/* Canonical, so that dovecot_attach() recognises it through symlinks. */
	char *real = realpath(d->dir, NULL);
	if (real && strlen(real) < sizeof d->dir - 32)
		snprintf(d->dir, sizeof d->dir, "%s", real);
	free(real);
	if (!dovecot_plain_path(d->dir) || chmod(d->dir, 0755) < 0) {
		buf_addf(err, "cannot use %s", d->dir);
		rmdir(d->dir);
		return -1;
	}
	return 0;
}

/* The mail processes run as the mail user and must reach their Maildir. */
static int dovecot_check_reachable(const char *dir, struct buf *err)
{
	char p[HARNESS_PATH_MAX];
	snprintf(p, sizeof p, "%s", dir);
	for (char *slash = strrchr(p, '/'); slash; slash = strrchr(p, '/')) {
		*slash = '\0';
		struct stat st;
		if (p[0] && stat(p, &st) == 0 && !(st.st_mode & S_IXOTH)) {
			buf_addf(err, "%s is not searchable by others, so " HARNESS_MAIL_USER
				 " cannot reach %s (chmod o+x it or pick another place)", p, dir);
			return -1;
		}
	}
	return 0;
}

static int dovecot_write_file(const char *path, const struct buf *text, mode_t mode, struct buf *err)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		buf_addf(err, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	bool ok = fwrite(text->data, 1, text->len, f) == text->len;
	ok = fclose(f) == 0 && ok;
	if (!ok || chmod(path, mode) < 0) {
		buf_addf(err, "cannot write %s", path);
		return -1;
	}
	return 0;
}

static int dovecot_add_user_line(struct buf *text, const struct dovecot_user *u, struct buf *err)
{
	/* A passwd-file line: fields split at ':' except in the trailing extra
	 * fields, which are split at whitespace. */
	if (!dovecot_plain_name(u->name) || !u->password || strpbrk(u->password, ":\r\n") ||
	    (u->quota_rule && strpbrk(u->quota_rule, " \t\r\n"))) {
		buf_addf(err, "bad user '%s': name of letters, digits, ._- and a password without ':'",
			 u->name ? u->name : "");
		return -1;
	}
	/* user:password:uid:gid:gecos:home:shell:extra fields */
	buf_addf(text, "%s:{PLAIN}%s::::::", u->name, u->password);
	if (u->quota_rule)
		buf_addf(text, "userdb_quota_rule=%s", u->quota_rule);
	buf_addch(text, '\n');
	return 0;
}

static int dovecot_write_passwd(const struct dovecot *d, const struct dovecot_opts *o, struct buf *err)
{
	struct buf text = BUF_INIT;
	char path[HARNESS_PATH_MAX + 16];
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < sizeof dovecot_standard_users / sizeof dovecot_standard_users[0]; i++)
		rc = dovecot_add_user_line(&text, &dovecot_standard_users[i], err);
	for (size_t i = 0; rc == 0 && i < o->nusers; i++)
		rc = dovecot_add_user_line(&text, &o->users[i], err);
	snprintf(path, sizeof path, "%s/passwd", d->dir);
	if (rc == 0)
		rc = dovecot_write_file(path, &text, 0644, err);
	buf_free(&text);
	return rc;
}

static int dovecot_write_conf(const struct dovecot *d, uid_t uid, gid_t gid, struct buf *err)
{
	struct buf c = BUF_INIT;
	buf_addf(&c,
		 DOVECOT_CONF_MARK "\n"
		 "instance_name = %s\n"
		 "base_dir = %s/run\n"
		 "state_dir = %s/state\n"
		 "log_path = %s\n"
		 "protocols = imap\n"
		 "listen = 127.0.0.1\n"
		 "ssl = yes\n"
		 "ssl_cert = <%s\n"
		 "ssl_key = <%s\n"
		 "disable_plaintext_auth = no\n"
		 "auth_mechanisms = plain login cram-md5\n"
		 "auth_verbose = yes\n"
		 "auth_failure_delay = 0\n"
		 "first_valid_uid = %u\n"
		 "last_valid_uid = %u\n"
		 "mail_location = maildir:%s/%%u\n"
		 "mail_plugins = quota acl\n",
		 d->instance, d->dir, d->dir, d->log, d->certs.certfile, d->certs.keyfile,
		 (unsigned)uid, (unsigned)uid, d->mailroot);
	buf_addf(&c,
		 "namespace inbox {\n"
		 "  inbox = yes\n"
		 "  separator = %c\n"
		 "  mailbox Drafts {\n    special_use = \\Drafts\n  }\n"
		 "  mailbox Sent {\n    special_use = \\Sent\n  }\n"
		 "  mailbox Trash {\n    special_use = \\Trash\n  }\n"
		 "  mailbox Junk {\n    special_use = \\Junk\n  }\n"
		 "}\n", d->separator);
	buf_addf(&c,
		 "passdb {\n"
		 "  driver = passwd-file\n"
		 "  args = scheme=PLAIN username_format=%%u %s/passwd\n"
		 "}\n"
		 "userdb {\n"
		 "  driver = passwd-file\n"
		 "  args = username_format=%%u %s/passwd\n"
		 "  default_fields = uid=%u gid=%u home=%s/%%u\n"
		 "}\n",
		 d->dir, d->dir, (unsigned)uid, (unsigned)gid, d->mailroot);
	buf_addf(&c,
		 "protocol imap {\n"
		 "  mail_plugins = $mail_plugins imap_quota imap_acl\n"
		 "  mail_max_userip_connections = 500\n"
		 "}\n"
		 "plugin {\n"
		 "  quota = maildir:User quota\n"
		 "  quota_rule = *:storage=1G\n"
		 "  acl = vfile\n"
		 "}\n"
		 "service imap-login {\n"
		 "  inet_listener imap {\n    address = 127.0.0.1\n    port = %d\n  }\n"
		 "  inet_listener imaps {\n    address = 127.0.0.1\n    port = %d\n    ssl = yes\n  }\n"
		 "}\n"
		 "# Failed logins would otherwise slow down every later login from 127.0.0.1.\n"
		 "service anvil {\n"
		 "  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n"
		 "}\n",
		 d->imap_port, d->imaps_port);
	int rc = dovecot_write_file(d->conf, &c, 0644, err);
	buf_free(&c);
	return rc;
}

/* Shell-evaluable, and what dovecot_attach() reads back. */
static int dovecot_write_env(const struct dovecot *d, struct buf *err)
{
	struct buf e = BUF_INIT;
	char path[HARNESS_PATH_MAX + 16];
	buf_addf(&e,
		 "IMAP_HOST=127.0.0.1\n"
		 "IMAP_PORT=%d\n"
		 "IMAPS_PORT=%d\n"
		 "IMAP_SEPARATOR='%c'\n"
		 "CAFILE=%s\n"
		 "OTHER_CAFILE=%s\n"
		 "MAILROOT=%s\n"
		 "DOVECOT_CONF=%s\n"
		 "DOVECOT_LOG=%s\n"
		 "DOVECOT_INSTANCE=%s\n"
		 "DOVECOT_PID=%d\n",
		 d->imap_port, d->imaps_port, d->separator, d->certs.cafile, d->certs.otherca,
		 d->mailroot, d->conf, d->log, d->instance, (int)d->master);
	snprintf(path, sizeof path, "%s/server.env", d->dir);
	int rc = dovecot_write_file(path, &e, 0644, err);
	buf_free(&e);
	return rc;
}

/* ---- processes of one instance ---- */

/* True while the instance's master runs (its pid may have been reused by
 * now, so the command line must name our configuration). */
static bool dovecot_master_alive(const struct dovecot *d)
{
	struct os_proc p;
	char confarg[HARNESS_PATH_MAX + 8];
	snprintf(confarg, sizeof confarg, "-c %s", d->conf);
	return d->master > 0 && os_proc_get(d->master, &p) && strstr(p.cmdline, confarg);
}

struct dovecot_match {
	char title[80];    /* Dovecot names its children "dovecot-INSTANCE/service" */
	char confarg[HARNESS_PATH_MAX + 8];
	pid_t session;     /* the master leads a session of its own; 0 = do not match by it */
};

static bool dovecot_proc_is_ours(const struct os_proc *p, void *ctx)
{
	const struct dovecot_match *m = ctx;
	if (m->session > 0 && p->sid == m->session)
		return true;
	if (strncmp(p->cmdline, m->title, strlen(m->title)) == 0)
		return true;
	return strstr(p->cmdline, m->confarg) != NULL;
}

static int dovecot_find_ours(const struct dovecot *d, pid_t *out, size_t max)
{
	struct dovecot_match m = { .session = 0 };
	snprintf(m.title, sizeof m.title, "dovecot-%s/", d->instance);
	snprintf(m.confarg, sizeof m.confarg, "-c %s", d->conf);
	/* The session id stays reserved while any member lives, but once the
	 * master's pid belongs to some other live process it says nothing. */
	if (d->master > 0 && (dovecot_master_alive(d) || !os_alive(d->master)))
		m.session = d->master;
	return os_find_procs(dovecot_proc_is_ours, &m, out, max);
}

int dovecot_count_processes(const struct dovecot *d)
{
	pid_t pids[1];
	return dovecot_find_ours(d, pids, 0);
}

static int dovecot_kill_leftovers(const struct dovecot *d)
{
	for (int waited = 0; waited < LEFTOVER_TIMEOUT_MS; waited += 20) {
		pid_t pids[256];
		int n = dovecot_find_ours(d, pids, sizeof pids / sizeof pids[0]);
		if (n <= 0)
			return n;
		for (int i = 0; i < n && i < (int)(sizeof pids / sizeof pids[0]); i++)
			kill(pids[i], SIGKILL);
		os_sleep_ms(20);
	}
	return dovecot_count_processes(d);
}

void dovecot_log_tail(const struct dovecot *d, size_t max, struct buf *out)
{
	os_read_tail(d->log, max, out);
}

/* ---- stop at exit ---- */

static struct dovecot dovecot_registry[MAX_REGISTERED];

static void dovecot_stop_at_exit(void)
{
	for (size_t i = 0; i < MAX_REGISTERED; i++) {
		/* A forked child (Check runs each test in one) must not stop
		 * the instance its parent is still using. */
		if (dovecot_registry[i].running && dovecot_registry[i].owner == getpid()) {
			struct dovecot copy = dovecot_registry[i];
			dovecot_stop(&copy, NULL);
		}
	}
}

static void dovecot_register(const struct dovecot *d)
{
	static bool hooked;
	if (!hooked) {
		atexit(dovecot_stop_at_exit);
		hooked = true;
	}
	for (size_t i = 0; i < MAX_REGISTERED; i++) {
		if (!dovecot_registry[i].running) {
			dovecot_registry[i] = *d;
			return;
		}
	}
	fprintf(stderr, "harness: more than %d Dovecot instances; not stopped at exit: %s\n",
		MAX_REGISTERED, d->dir);
}

static void dovecot_unregister(const struct dovecot *d)
{
	for (size_t i = 0; i < MAX_REGISTERED; i++)
		if (dovecot_registry[i].running && strcmp(dovecot_registry[i].dir, d->dir) == 0)
			dovecot_registry[i].running = false;
}

/* ---- start ---- */

static bool dovecot_pidfile_says(const struct dovecot *d, pid_t pid)
{
	char path[HARNESS_PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/run/master.pid", d->dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	int v = 0;
	bool ok = fscanf(f, "%d", &v) == 1 && v == (int)pid;
	fclose(f);
	return ok;
}

/* 1 ready, 0 port clash (try other ports), -1 failure. */
static int dovecot_launch(struct dovecot *d, const char *program, bool detached, struct buf *err)
{
	char out[HARNESS_PATH_MAX + 32];
	snprintf(out, sizeof out, "%s/log/master.out", d->dir);
	const char *argv[] = { program, "-F", "-c", d->conf, NULL };
	unlink(out); /* so an earlier attempt's complaint is not read as this one's */
	/* -F keeps the master our child: we learn at once if it dies, reap it
	 * when it stops, and it gets SIGTERM if this process dies unexpectedly. */
	struct os_spawn_opts so = { .output = out, .new_session = true, .die_with_parent = !detached };
	pid_t pid = os_spawn(argv, &so, err);
	if (pid < 0)
		return -1;
	d->master = pid;
	struct buf tail = BUF_INIT;
	int rc = -1;
	for (int waited = 0; waited < START_TIMEOUT_MS; waited += 10) {
		int st;
		if (os_child_wait(pid, 0, &st) == 0) {
			os_read_tail(out, LOG_TAIL_BYTES, &tail);
			if (strstr(tail.data, "Address already in use")) {
				rc = 0;
			} else {
				buf_addf(err, "dovecot exited at start: %s", tail.data);
			}
			goto done;
		}
		/* The master writes its pid file only after binding every listener,
		 * so a port answering before then may be somebody else's. */
		if (dovecot_pidfile_says(d, pid) && os_port_accepts(d->imap_port) &&
		    os_port_accepts(d->imaps_port)) {
			rc = 1;
			goto done;
		}
		os_sleep_ms(10);
	}
	os_read_tail(d->log, LOG_TAIL_BYTES, &tail);
	buf_addf(err, "dovecot did not accept connections within %d s; log: %s",
		 START_TIMEOUT_MS / 1000, tail.data);
	kill(pid, SIGKILL);
	os_child_wait(pid, STOP_TIMEOUT_MS, NULL);
	dovecot_kill_leftovers(d);
done:
	buf_free(&tail);
	return rc;
}

static uint32_t dovecot_hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* A test that fails inside a forked Check child leaves with _exit(): its
 * Dovecot gets SIGTERM (die_with_parent) but its directory stays.  Such
 * directories (ours by name, fully started once, master gone, no process
 * left) are removed when the next instance starts. */
static void dovecot_sweep_stale(void)
{
	DIR *tmp = opendir("/tmp");
	if (!tmp)
		return;
	struct dirent *de;
	while ((de = readdir(tmp)) != NULL) {
		if (strncmp(de->d_name, "imapfs-test-", 12) != 0 || strlen(de->d_name) != 18)
			continue;
		char dir[64];
		struct dovecot old;
		struct buf ignored = BUF_INIT;
		snprintf(dir, sizeof dir, "/tmp/%s", de->d_name);
		int r = dovecot_attach(&old, dir, &ignored);
		buf_free(&ignored);
		if (r < 0 || strcmp(old.dir, dir) != 0)
			continue;
		if (!dovecot_master_alive(&old) && dovecot_count_processes(&old) == 0)
			os_rmtree(dir, NULL);
	}
	closedir(tmp);
}

int dovecot_start(struct dovecot *d, const struct dovecot_opts *o, struct buf *err)
{
	static const struct dovecot_opts defaults;
	char program[256], sub[HARNESS_PATH_MAX + 16];
	uid_t uid;
	gid_t gid;
	if (!o)
		o = &defaults;
	memset(d, 0, sizeof *d);
	d->separator = o->separator ? o->separator : '.';
	if (d->separator != '.' && d->separator != '/') {
		buf_addf(err, "separator must be '.' or '/', not '%c'", d->separator);
		return -1;
	}
	if (dovecot_usable(err) < 0 || !dovecot_find_program("dovecot", program, sizeof program))
		return -1;
	dovecot_sweep_stale();
	if (dovecot_mail_user(&uid, &gid, err) < 0 || dovecot_make_dir(d, o->dir, err) < 0)
		return -1;
	snprintf(d->conf, sizeof d->conf, "%s/dovecot.conf", d->dir);
	snprintf(d->log, sizeof d->log, "%s/log/dovecot.log", d->dir);
	snprintf(d->mailroot, sizeof d->mailroot, "%s/mail", d->dir);
	snprintf(d->instance, sizeof d->instance, "imapfs-test-%08x", (unsigned)dovecot_hash(d->dir));

	static const char *const subdirs[] = { "run", "state", "log", "certs", "mail" };
	for (size_t i = 0; i < sizeof subdirs / sizeof subdirs[0]; i++) {
		snprintf(sub, sizeof sub, "%s/%s", d->dir, subdirs[i]);
		if (mkdir(sub, 0755) < 0) {
			buf_addf(err, "mkdir %s: %s", sub, strerror(errno));
			goto fail;
		}
	}
	if (chown(d->mailroot, uid, gid) < 0) {
		buf_addf(err, "chown %s: %s", d->mailroot, strerror(errno));
		goto fail;
	}
	snprintf(sub, sizeof sub, "%s/certs", d->dir);
	if (dovecot_check_reachable(d->mailroot, err) < 0 || test_certs_make(sub, &d->certs, err) < 0 ||
	    dovecot_write_passwd(d, o, err) < 0)
		goto fail;

	for (int attempt = 0; attempt < START_ATTEMPTS; attempt++) {
		d->imap_port = os_free_port(err);
		d->imaps_port = os_free_port(err);
		if (d->imap_port < 0 || d->imaps_port < 0 || dovecot_write_conf(d, uid, gid, err) < 0)
			goto fail;
		if (d->imaps_port == d->imap_port)
			continue;
		int r = dovecot_launch(d, program, o->detached, err);
		if (r < 0)
			goto fail;
		if (r == 1) {
			d->running = true;
			d->owner = o->detached ? 0 : getpid();
			if (dovecot_write_env(d, err) < 0) {
				dovecot_stop(d, NULL);
				return -1;
			}
			if (!o->detached)
				dovecot_register(d);
			return 0;
		}
	}
	buf_addf(err, "dovecot could not bind free ports in %d attempts", START_ATTEMPTS);
fail:
	os_rmtree(d->dir, NULL);
	d->running = false;
	return -1;
}

/* ---- attach, stop, kick ---- */

static bool dovecot_env_value(const char *text, const char *key, char *out, size_t size)
{
	size_t klen = strlen(key);
	for (const char *line = text; *line; ) {
		size_t n = strcspn(line, "\n");
		if (n > klen && strncmp(line, key, klen) == 0 && line[klen] == '=') {
			const char *v = line + klen + 1;
			n -= klen + 1;
			if (n >= 2 && v[0] == '\'' && v[n - 1] == '\'') {
				v++;
				n -= 2;
			}
			if (n >= size)
				return false;
			memcpy(out, v, n);
			out[n] = '\0';
			return true;
		}
		line += n;
		if (*line)
			line++;
	}
	return false;
}

int dovecot_attach(struct dovecot *d, const char *dir, struct buf *err)
{
	char path[HARNESS_PATH_MAX + 16], num[32], sep[4];
	struct buf text = BUF_INIT;
	memset(d, 0, sizeof *d);
	snprintf(path, sizeof path, "%s/server.env", dir);
	if (os_read_tail(path, 64 * 1024, &text) < 0) {
		buf_addf(err, "%s is not a test server directory (no server.env)", dir);
		buf_free(&text);
		return -1;
	}
	bool ok = dovecot_env_value(text.data, "DOVECOT_CONF", d->conf, sizeof d->conf) &&
		  dovecot_env_value(text.data, "DOVECOT_LOG", d->log, sizeof d->log) &&
		  dovecot_env_value(text.data, "DOVECOT_INSTANCE", d->instance, sizeof d->instance) &&
		  dovecot_env_value(text.data, "MAILROOT", d->mailroot, sizeof d->mailroot) &&
		  dovecot_env_value(text.data, "CAFILE", d->certs.cafile, sizeof d->certs.cafile) &&
		  dovecot_env_value(text.data, "OTHER_CAFILE", d->certs.otherca, sizeof d->certs.otherca) &&
		  dovecot_env_value(text.data, "IMAP_SEPARATOR", sep, sizeof sep) &&
		  dovecot_env_value(text.data, "IMAP_PORT", num, sizeof num) &&
		  (d->imap_port = atoi(num)) > 0 &&
		  dovecot_env_value(text.data, "IMAPS_PORT", num, sizeof num) &&
		  (d->imaps_port = atoi(num)) > 0 &&
		  dovecot_env_value(text.data, "DOVECOT_PID", num, sizeof num) &&
		  (d->master = atoi(num)) > 0;
	buf_free(&text);
	size_t dlen = strlen(d->conf) >= strlen("/dovecot.conf") ? strlen(d->conf) - strlen("/dovecot.conf") : 0;
	if (!ok || dlen == 0 || dlen >= sizeof d->dir || !dovecot_plain_path(d->conf)) {
		buf_addf(err, "%s/server.env is incomplete or damaged", dir);
		return -1;
	}
	memcpy(d->dir, d->conf, dlen);
	d->dir[dlen] = '\0';
	/* The file must describe the directory it is in: stop removes d->dir. */
	char *real = realpath(dir, NULL);
	bool same = real && strcmp(real, d->dir) == 0;
	free(real);
	if (!same) {
		buf_addf(err, "%s/server.env describes another directory (%s)", dir, d->dir);
		return -1;
	}
	d->separator = sep[0];
	d->running = true;
	return 0;
}

/* Never remove a directory whose configuration we did not write. */
static bool dovecot_dir_is_ours(const struct dovecot *d)
{
	char conf[HARNESS_PATH_MAX], line[128] = "";
	snprintf(conf, sizeof conf, "%s/dovecot.conf", d->dir);
	if (d->dir[0] != '/' || !d->dir[1] || strcmp(conf, d->conf) != 0)
		return false;
	FILE *f = fopen(conf, "r");
	if (!f)
		return false;
	bool ours = fgets(line, sizeof line, f) && strcmp(line, DOVECOT_CONF_MARK "\n") == 0;
	fclose(f);
	return ours;
}

int dovecot_stop(struct dovecot *d, struct buf *err)
{
	int rc = 0;
	dovecot_unregister(d);
	if (dovecot_master_alive(d)) {
		/* What "dovecot -c CONF stop" does, minus its wait: that one polls
		 * until the pid vanishes, which our own child never does before we
		 * reap it. */
		kill(d->master, SIGTERM);
		if (os_child_wait(d->master, STOP_TIMEOUT_MS, NULL) < 0) {
			kill(d->master, SIGKILL);
			os_child_wait(d->master, LEFTOVER_TIMEOUT_MS, NULL);
		}
	} else if (d->master > 0) {
		os_child_wait(d->master, 0, NULL); /* reap a master that died by itself */
	}
	int left = dovecot_kill_leftovers(d);
	if (left != 0) {
		if (err)
			buf_addf(err, "%d processes of dovecot instance %s remain", left, d->instance);
		rc = -1;
	}
	if (dovecot_dir_is_ours(d) && os_rmtree(d->dir, err) < 0)
		rc = -1;
	d->running = false;
	return rc;
}

int dovecot_kick(const struct dovecot *d, const char *user, struct buf *err)
{
	char program[256], out[HARNESS_PATH_MAX + 32];
	if (!dovecot_plain_name(user)) {
		buf_addf(err, "bad user name '%s'", user);
		return -1;
	}
	if (!dovecot_find_program("doveadm", program, sizeof program)) {
		buf_addstr(err, "doveadm not found");
		return -1;
	}
	snprintf(out, sizeof out, "%s/log/doveadm.out", d->dir);
	const char *argv[] = { program, "-c", d->conf, "kick", user, NULL };
	return os_run(argv, out, err);
}

void dovecot_user_maildir(const struct dovecot *d, const char *user, struct buf *out)
{
	buf_addf(out, "%s/%s", d->mailroot, user);
}
