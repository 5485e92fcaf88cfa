/* harness_dovecot.c: a private Dovecot in a temporary directory, started as
 * root, with its own ports, users, certificates and mail. */
#include "config.h"
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "harness_dovecot_conf.h"
#include "harness_os.h"

#define START_ATTEMPTS 5         /* a port picked at run time may be taken meanwhile */
#define START_TIMEOUT_MS 20000
#define STOP_TIMEOUT_MS 15000
#define LEFTOVER_TIMEOUT_MS 5000
#define LOG_TAIL_BYTES 1500
#define MAX_REGISTERED 16
#define DOVECOT_SYSTEM_IMAP_DIR "/usr/lib/dovecot"
#define DOVECOT_SYSTEM_MODULES DOVECOT_SYSTEM_IMAP_DIR "/modules"
#define DOVECOT_UNPACKED_IMAP_DIR "/var/lib/imapfs/dovecot-imapd/usr/lib/dovecot"

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

/* Where the IMAP parts of Dovecot are: the dovecot-imapd package, or a copy
 * unpacked from it by contrib/install-deps.sh on machines that have
 * cyrus-imapd, which Debian does not allow next to dovecot-imapd. */
const char *dovecot_imap_dir(void)
{
	static const char *const dirs[] = { DOVECOT_SYSTEM_IMAP_DIR, DOVECOT_UNPACKED_IMAP_DIR };
	char path[256];
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		snprintf(path, sizeof path, "%s/imap", dirs[i]);
		if (access(path, X_OK) != 0)
			continue;
		snprintf(path, sizeof path, "%s/imap-login", dirs[i]);
		if (access(path, X_OK) == 0)
			return dirs[i];
	}
	return NULL;
}

int dovecot_usable(struct buf *why)
{
	char path[256];
	if (geteuid() != 0) {
		buf_addstr(why, "a private Dovecot needs root (it runs mail as the user " HARNESS_MAIL_USER ")");
		return -1;
	}
	static const char *const needed[][2] = {
		{ "dovecot", "dovecot-core" }, { "doveadm", "dovecot-core" },
		{ "certtool", "gnutls-bin" },
	};
	for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++) {
		if (!dovecot_find_program(needed[i][0], path, sizeof path)) {
			buf_addf(why, "%s is not installed (Debian package %s; see contrib/install-deps.sh)",
				 needed[i][0], needed[i][1]);
			return -1;
		}
	}
	if (!dovecot_imap_dir()) {
		buf_addstr(why, "Dovecot's IMAP server is not installed (Debian package dovecot-imapd, or "
				"where cyrus-imapd excludes it, a copy in " DOVECOT_UNPACKED_IMAP_DIR
				"; contrib/install-deps.sh does either)");
		return -1;
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
		if (!dovecot_conf_plain_path(d->dir)) {
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
	if (!dovecot_conf_plain_path(d->dir) || chmod(d->dir, 0755) < 0) {
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

/* With an unpacked dovecot-imapd, Dovecot's own plugins and the unpacked
 * ones (imap_quota, imap_acl) must sit in one mail_plugin_dir: DIR/modules
 * holds links to both. */
static int dovecot_link_modules(const struct dovecot *d, const char *imap_dir, struct buf *err)
{
	char modules[HARNESS_PATH_MAX], target[HARNESS_PATH_MAX * 2], entry[HARNESS_PATH_MAX * 2];
	char unpacked[HARNESS_PATH_MAX];
	snprintf(modules, sizeof modules, "%s/modules", d->dir);
	snprintf(unpacked, sizeof unpacked, "%s/modules", imap_dir);
	const char *const sources[] = { DOVECOT_SYSTEM_MODULES, unpacked };
	if (mkdir(modules, 0755) < 0) {
		buf_addf(err, "mkdir %s: %s", modules, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++) {
		const char *src = sources[i];
		DIR *dir = opendir(src);
		if (!dir) {
			buf_addf(err, "cannot read %s: %s", src, strerror(errno));
			return -1;
		}
		struct dirent *de;
		while ((de = readdir(dir)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(target, sizeof target, "%s/%s", src, de->d_name);
			snprintf(entry, sizeof entry, "%s/%s", modules, de->d_name);
			if (symlink(target, entry) < 0 && errno != EEXIST) {
				buf_addf(err, "symlink %s: %s", entry, strerror(errno));
				closedir(dir);
				return -1;
			}
		}
		closedir(dir);
	}
	return 0;
}

/* The process a non-detached instance belongs to, in DIR/owner (pid and
 * start time, so that a reused pid is not taken for it): while it lives
 * the directory is in use, even with no Dovecot process running (a test
 * halts its server to restart it on the same ports). */
static void dovecot_write_owner(const struct dovecot *d)
{
	char path[HARNESS_PATH_MAX + 16];
	struct os_proc self;
	snprintf(path, sizeof path, "%s/owner", d->dir);
	FILE *f = fopen(path, "w");
	if (f && os_proc_get(getpid(), &self))
		fprintf(f, "%d %llu\n", (int)self.pid, self.start);
	if (f)
		fclose(f);
}

static bool dovecot_owner_alive(const char *dir)
{
	char path[HARNESS_PATH_MAX + 16];
	snprintf(path, sizeof path, "%s/owner", dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	int pid = 0;
	unsigned long long start = 0;
	struct os_proc p;
	bool alive = fscanf(f, "%d %llu", &pid, &start) == 2 && pid > 0 && os_proc_get((pid_t)pid, &p) &&
		     p.start == start;
	fclose(f);
	return alive;
}

/* A test that fails inside a forked Check child leaves with _exit(): its
 * Dovecot gets SIGTERM (die_with_parent) but its directory stays.  Such
 * directories (ours by name, fully started once, owner gone, master gone,
 * no process left) are removed when the next instance starts. */
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
		if (!dovecot_owner_alive(dir) && !dovecot_master_alive(&old) &&
		    dovecot_count_processes(&old) == 0)
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
	d->max_connections = o->max_connections;
	d->oauth2_port = o->oauth2_port;
	d->bare = o->bare;
	d->compress = o->compress;
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
	if (!o->detached)
		dovecot_write_owner(d);
	if (chown(d->mailroot, uid, gid) < 0) {
		buf_addf(err, "chown %s: %s", d->mailroot, strerror(errno));
		goto fail;
	}
	snprintf(sub, sizeof sub, "%s/certs", d->dir);
	if (dovecot_check_reachable(d->mailroot, err) < 0 || test_certs_make(sub, &d->certs, err) < 0 ||
	    dovecot_conf_write_passwd(d, o, err) < 0)
		goto fail;
	const char *imap_dir = dovecot_imap_dir();
	if (!imap_dir || strcmp(imap_dir, DOVECOT_SYSTEM_IMAP_DIR) == 0)
		imap_dir = NULL; /* Dovecot's defaults find it */
	else if (dovecot_link_modules(d, imap_dir, err) < 0)
		goto fail;

	for (int attempt = 0; attempt < START_ATTEMPTS; attempt++) {
		d->imap_port = os_free_port(err);
		d->imaps_port = os_free_port(err);
		if (d->imap_port < 0 || d->imaps_port < 0 || dovecot_conf_write(d, imap_dir, uid, gid, err) < 0)
			goto fail;
		if (d->imaps_port == d->imap_port)
			continue;
		int r = dovecot_launch(d, program, o->detached, err);
		if (r < 0)
			goto fail;
		if (r == 1) {
			d->running = true;
			d->owner = o->detached ? 0 : getpid();
			if (dovecot_conf_write_env(d, err) < 0) {
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

int dovecot_attach(struct dovecot *d, const char *dir, struct buf *err)
{
	if (dovecot_conf_read_env(d, dir, err) < 0)
		return -1;
	d->running = true;
	return 0;
}


/* Ends the master and every process of the instance, keeping its
 * directory, ports and registration: what a server restart looks like to
 * clients. */
static int dovecot_end_processes(struct dovecot *d, struct buf *err)
{
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
		return -1;
	}
	return 0;
}

int dovecot_stop(struct dovecot *d, struct buf *err)
{
	dovecot_unregister(d);
	int rc = dovecot_end_processes(d, err);
	if (dovecot_conf_is_ours(d) && os_rmtree(d->dir, err) < 0)
		rc = -1;
	d->running = false;
	return rc;
}

int dovecot_halt(struct dovecot *d, struct buf *err)
{
	return dovecot_end_processes(d, err);
}

int dovecot_resume(struct dovecot *d, struct buf *err)
{
	char program[256];
	if (!dovecot_find_program("dovecot", program, sizeof program)) {
		buf_addstr(err, "dovecot not found");
		return -1;
	}
	/* the same ports again: a client that kept the address must get back in */
	for (int attempt = 0; attempt < 50; attempt++) {
		int r = dovecot_launch(d, program, d->owner == 0, err);
		if (r == 1) {
			dovecot_unregister(d);
			if (d->owner)
				dovecot_register(d);
			return 0;
		}
		if (r < 0)
			return -1;
		os_sleep_ms(100);  /* the port is still held (TIME_WAIT, a late child) */
	}
	buf_addf(err, "dovecot could not bind its ports %d and %d again", d->imap_port, d->imaps_port);
	return -1;
}

int dovecot_kick(const struct dovecot *d, const char *user, struct buf *err)
{
	char program[256], out[HARNESS_PATH_MAX + 32];
	if (!dovecot_conf_plain_name(user)) {
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

void dovecot_start_demo_or_exit(struct dovecot *d, const char *program)
{
	struct dovecot_opts o = { .dir = NULL };
	dovecot_start_demo_with_or_exit(d, &o, program);
}

void dovecot_start_demo_with_or_exit(struct dovecot *d, const struct dovecot_opts *opts, const char *program)
{
	struct buf err = BUF_INIT, root = BUF_INIT;
	struct dovecot_opts o = *opts;
	o.dir = NULL;
	if (dovecot_start(d, &o, &err) < 0) {
		fprintf(stderr, "%s: dovecot: %s\n", program, err.data);
		exit(EXIT_FAILURE);
	}
	dovecot_user_maildir(d, "alice", &root);
	if (corpus_seed_demo(root.data, NULL, &err) < 0) {
		fprintf(stderr, "%s: seeding the demo corpus: %s\n", program, err.data);
		exit(EXIT_FAILURE);
	}
	buf_free(&root);
	buf_free(&err);
}
