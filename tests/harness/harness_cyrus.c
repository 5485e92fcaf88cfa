/* harness_cyrus.c: a private Cyrus IMAP in a temporary directory, started as
 * root: configuration, SASL users, the master process, a watchdog that
 * receives Cyrus's syslog and outlives us by just long enough to stop it.
 * This part starts and stops an instance; its files, its processes and the
 * watchdog are in harness_cyrus_files.c, harness_cyrus_proc.c and
 * harness_cyrus_watchdog.c. */
#include "config.h"
#include "harness_cyrus.h"

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "harness_cyrus_impl.h"
#include "harness_os.h"
#include "imap.h"
#include "imaplib.h"

#define START_ATTEMPTS 5          /* a port picked at run time may be taken meanwhile */
#define START_TIMEOUT_MS 20000
#define IMAP_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS 15000
#define MAX_REGISTERED 16

/* In a private mount namespace, /dev gets an overlay whose /dev/log is the
 * watchdog's socket: glibc's syslog() always writes to /dev/log, and the
 * machine's own /dev must stay untouched.  $1 is the instance directory, the
 * rest is the master's command line.  ns/ready tells that the namespace was
 * made: a wrapper that exits without it (unshare refused, no overlayfs)
 * means "start Cyrus without one". */
static const char cyrus_ns_script[] =
	"d=$1; shift; "
	"mount -t overlay overlay -o lowerdir=/dev,upperdir=$d/ns/up,workdir=$d/ns/work /dev "
	"&& : >/dev/log && mount --bind $d/syslog.sock /dev/log && : >$d/ns/ready || exit 1; "
	"exec \"$@\"";

/* ---- programs ---- */

bool cyrus_find_program(const char *name, char *out, size_t size)
{
	static const char *const dirs[] = { "/usr/sbin", "/usr/bin", "/usr/lib/cyrus/bin",
					    "/sbin", "/bin", "/usr/local/sbin", "/usr/local/bin" };
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		snprintf(out, size, "%s/%s", dirs[i], name);
		if (access(out, X_OK) == 0)
			return true;
	}
	return false;
}

int cyrus_usable(struct buf *why)
{
	char path[256];
	if (geteuid() != 0) {
		buf_addstr(why, "a private Cyrus needs root (its master drops to user cyrus)");
		return -1;
	}
	static const char *const needed[][2] = {
		{ "cyrmaster", "cyrus-imapd" }, { "imapd", "cyrus-imapd" },
		{ "ctl_cyrusdb", "cyrus-common" }, { "saslpasswd2", "sasl2-bin" },
		{ "sh", "dash" },
	};
	for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++) {
		if (!cyrus_find_program(needed[i][0], path, sizeof path)) {
			buf_addf(why, "%s is not installed (Debian package %s; see contrib/install-deps.sh)",
				 needed[i][0], needed[i][1]);
			return -1;
		}
	}
	if (!getpwnam("cyrus") || !getgrnam("mail")) {
		buf_addstr(why, "user cyrus or group mail is missing (Debian package cyrus-common makes them)");
		return -1;
	}
	return 0;
}

void cyrus_require_or_skip(const char *program)
{
	struct buf why = BUF_INIT;
	if (cyrus_usable(&why) == 0) {
		buf_free(&why);
		return;
	}
	fprintf(stderr, "%s: SKIP: %s\n", program, why.data);
	buf_free(&why);
	exit(HARNESS_EXIT_SKIP);
}

/* ---- stop at exit ---- */

static struct cyrus cyrus_registry[MAX_REGISTERED];

static void cyrus_stop_at_exit(void)
{
	for (size_t i = 0; i < MAX_REGISTERED; i++) {
		/* A forked child (Check runs each test in one) must not stop
		 * the instance its parent is still using. */
		if (cyrus_registry[i].running && cyrus_registry[i].owner == getpid()) {
			struct cyrus copy = cyrus_registry[i];
			cyrus_stop(&copy, NULL);
		}
	}
}

static void cyrus_register(const struct cyrus *c)
{
	static bool hooked;
	if (!hooked) {
		atexit(cyrus_stop_at_exit);
		hooked = true;
	}
	for (size_t i = 0; i < MAX_REGISTERED; i++) {
		if (!cyrus_registry[i].running) {
			cyrus_registry[i] = *c;
			return;
		}
	}
	fprintf(stderr, "harness: more than %d Cyrus instances; not stopped at exit: %s\n",
		MAX_REGISTERED, c->dir);
}

static void cyrus_unregister(const struct cyrus *c)
{
	for (size_t i = 0; i < MAX_REGISTERED; i++)
		if (cyrus_registry[i].running && strcmp(cyrus_registry[i].dir, c->dir) == 0)
			cyrus_registry[i].running = false;
}

/* ---- start ---- */

/* Ends a master that never became ready, and whatever it started. */
static void cyrus_end_master(struct cyrus *c)
{
	if (c->master <= 0)
		return;
	kill(c->master, SIGTERM);
	if (os_child_wait(c->master, STOP_TIMEOUT_MS, NULL) < 0) {
		kill(c->master, SIGKILL);
		os_child_wait(c->master, LEFTOVER_TIMEOUT_MS, NULL);
	}
	c->master = 0;
	cyrus_watchdog_tell(c, CYRUS_WD_MASTER, 0);
	cyrus_kill_leftovers(c->dir);
}

enum cyrus_launch_result { LAUNCH_FAILED = -1, LAUNCH_CLASH, LAUNCH_READY, LAUNCH_NO_NAMESPACE };

static enum cyrus_launch_result cyrus_launch(struct cyrus *c, bool in_namespace, struct buf *err)
{
	char master[256], unshare[256], sh[256];
	char pidfile[HARNESS_PATH_MAX + 32], out[HARNESS_PATH_MAX + 32], ready[HARNESS_PATH_MAX + 32];
	if (!cyrus_find_program("cyrmaster", master, sizeof master) ||
	    !cyrus_find_program("sh", sh, sizeof sh)) {
		buf_addstr(err, "cyrmaster or sh not found");
		return LAUNCH_FAILED;
	}
	if (in_namespace && (!cyrus_find_program("unshare", unshare, sizeof unshare) ||
			     !cyrus_find_program("mount", out, sizeof out)))
		return LAUNCH_NO_NAMESPACE;
	cyrus_path(c, "master.pid", pidfile, sizeof pidfile);
	cyrus_path(c, "ns/ready", ready, sizeof ready);
	unlink(ready);
	cyrus_path(c, "master.out", out, sizeof out);
	/* Without -d the master stays our child: we see at once if it dies,
	 * and reap it when it stops. */
	const char *plain[] = { master, "-C", c->conf, "-M", c->services, "-p", pidfile, "-L", out, NULL };
	const char *ns[] = { unshare, "--mount", "--propagation", "private", sh, "-c", cyrus_ns_script,
			     "cyrus-ns", c->dir, master, "-C", c->conf, "-M", c->services, "-p", pidfile,
			     "-L", out, NULL };
	struct os_spawn_opts so = { .output = out, .new_session = true };
	pid_t pid = os_spawn(in_namespace ? ns : plain, &so, err);
	if (pid < 0)
		return LAUNCH_FAILED;
	c->master = pid;
	cyrus_watchdog_tell(c, CYRUS_WD_MASTER, pid);
	for (int waited = 0; waited < START_TIMEOUT_MS; waited += 10) {
		int st;
		if (os_child_wait(pid, 0, &st) == 0) {
			c->master = 0;
			cyrus_watchdog_tell(c, CYRUS_WD_MASTER, 0);
			cyrus_kill_leftovers(c->dir);
			if (in_namespace && access(ready, F_OK) < 0)
				return LAUNCH_NO_NAMESPACE;
			if (st != -1 && WIFEXITED(st))
				buf_addf(err, "cyrmaster exited at start with status %d", WEXITSTATUS(st));
			else if (st != -1 && WIFSIGNALED(st))
				buf_addf(err, "cyrmaster was killed by signal %d at start", WTERMSIG(st));
			else
				buf_addstr(err, "cyrmaster ended at start");
			return LAUNCH_FAILED;
		}
		int owner = cyrus_port_owner(c->port, pid);
		if (owner == 1)
			return LAUNCH_READY;
		if (owner < 0) {
			cyrus_end_master(c);
			return LAUNCH_CLASH;
		}
		os_sleep_ms(10);
	}
	buf_addf(err, "cyrus did not listen on 127.0.0.1:%d within %d s", c->port,
		 START_TIMEOUT_MS / 1000);
	cyrus_end_master(c);
	return LAUNCH_FAILED;
}

/* The admin creates alice's INBOX: Cyrus makes no mailbox on first login. */
static int cyrus_create_inbox(const struct cyrus *c, struct buf *err)
{
	struct imap_opts o = { .timeout_ms = IMAP_TIMEOUT_MS, .allow_plaintext = true };
	struct imap_result r = { .n = 0 };
	struct imap *s = NULL;
	char port[16];
	snprintf(port, sizeof port, "%d", c->port);
	if (imap_open(&s, "127.0.0.1", port, &o, err) != IMAP_OK) {
		buf_addstr(err, " (connecting as " CYRUS_ADMIN ")");
		return -1;
	}
	int rc = -1;
	if (imap_login(s, CYRUS_ADMIN, CYRUS_PASSWORD, &r) != IMAP_OK)
		buf_addf(err, "LOGIN " CYRUS_ADMIN ": %s", imap_errmsg(s));
	else if (imap_create(s, "user." CYRUS_USER, &r) != IMAP_OK)
		buf_addf(err, "CREATE user." CYRUS_USER ": %s", imap_errmsg(s));
	else if (strcmp(r.type, "OK") != 0)
		buf_addf(err, "CREATE user." CYRUS_USER ": %s %s", r.type,
			 r.n ? r.items[r.n - 1].text.data : "");
	else
		rc = 0;
	if (rc == 0)
		imap_logout(s, &r);
	imap_result_free(&r);
	imap_close(s);
	return rc;
}

/* Marks the instance as fully started (and by whom) for the sweep. */
static int cyrus_write_started(const struct cyrus *c, struct buf *err)
{
	char path[HARNESS_PATH_MAX + 32];
	struct buf t = BUF_INIT;
	cyrus_path(c, "started", path, sizeof path);
	buf_addf(&t, "%d\n", (int)c->owner);
	int rc = os_write_file(path, &t, 0644, err);
	buf_free(&t);
	return rc;
}

static bool cyrus_dir_is_ours(const char *dir)
{
	char conf[HARNESS_PATH_MAX], line[128] = "";
	if (strncmp(dir, CYRUS_DIR_PREFIX, strlen(CYRUS_DIR_PREFIX)) != 0 || strchr(dir + 5, '/') ||
	    strstr(dir, ".."))
		return false;
	snprintf(conf, sizeof conf, "%s/imapd.conf", dir);
	FILE *f = fopen(conf, "r");
	if (!f)
		return false;
	bool ours = fgets(line, sizeof line, f) && strcmp(line, CYRUS_CONF_MARK "\n") == 0;
	fclose(f);
	return ours;
}

/* An instance whose starter died without exiting (a failed Check test
 * leaves with _exit()) had its Cyrus stopped by the watchdog, but its
 * directory stays.  Such directories (fully started once, starter gone, no
 * process left) are removed when the next instance starts. */
static void cyrus_sweep_stale(void)
{
	DIR *tmp = opendir("/tmp");
	if (!tmp)
		return;
	struct dirent *de;
	const char *prefix = CYRUS_DIR_PREFIX + 5;
	while ((de = readdir(tmp)) != NULL) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0 ||
		    strlen(de->d_name) != strlen(prefix) + 6)
			continue;
		char dir[HARNESS_PATH_MAX], started[HARNESS_PATH_MAX + 16];
		snprintf(dir, sizeof dir, "/tmp/%s", de->d_name);
		snprintf(started, sizeof started, "%s/started", dir);
		FILE *f = fopen(started, "r");
		if (!f)
			continue;
		int owner = 0;
		bool ok = fscanf(f, "%d", &owner) == 1 && owner > 0;
		fclose(f);
		if (ok && !os_alive(owner) && cyrus_dir_is_ours(dir) && cyrus_find_ours(dir, NULL, 0) == 0)
			os_rmtree(dir, NULL);
	}
	closedir(tmp);
}

int cyrus_start(struct cyrus *c, struct buf *err)
{
	memset(c, 0, sizeof *c);
	c->watchdog_fd = -1;
	if (cyrus_usable(err) < 0)
		return -1;
	cyrus_sweep_stale();
	if (cyrus_make_dir(c, err) < 0)
		return -1;
	cyrus_path(c, "imapd.conf", c->conf, sizeof c->conf);
	cyrus_path(c, "cyrus.conf", c->services, sizeof c->services);
	cyrus_path(c, "cyrus.log", c->log, sizeof c->log);
	bool show_log = false;  /* once Cyrus ran, its log says why it failed */
	if (cyrus_write_imapd_conf(c, err) < 0 || cyrus_make_tree(c, err) < 0 ||
	    cyrus_add_sasl_users(c, err) < 0 || cyrus_watchdog_start(c, err) < 0)
		goto fail;

	show_log = true;
	c->syslog_captured = true;
	for (int attempt = 0; attempt < START_ATTEMPTS; attempt++) {
		c->port = os_free_port(err);
		if (c->port < 0 || cyrus_write_services(c, err) < 0)
			goto fail;
		enum cyrus_launch_result r = cyrus_launch(c, c->syslog_captured, err);
		if (r == LAUNCH_NO_NAMESPACE && c->syslog_captured) {
			c->syslog_captured = false;
			attempt--;
			continue;
		}
		if (r == LAUNCH_FAILED)
			goto fail;
		if (r == LAUNCH_CLASH)
			continue;
		c->owner = getpid();
		if (cyrus_create_inbox(c, err) < 0 || cyrus_write_started(c, err) < 0)
			goto fail;
		c->running = true;
		cyrus_register(c);
		return 0;
	}
	buf_addf(err, "cyrus could not bind a free port in %d attempts", START_ATTEMPTS);
fail:
	cyrus_end_master(c);
	cyrus_watchdog_stop(c);  /* after the master: it logs Cyrus's last words */
	if (show_log)
		cyrus_add_log_tail(c, err);
	os_rmtree(c->dir, NULL);
	c->running = false;
	return -1;
}

/* ---- stop ---- */

int cyrus_stop(struct cyrus *c, struct buf *err)
{
	int rc = 0;
	cyrus_unregister(c);
	struct os_proc p;
	char dirslash[HARNESS_PATH_MAX + 2];
	snprintf(dirslash, sizeof dirslash, "%s/", c->dir);
	if (c->master > 0 && os_proc_get(c->master, &p) && strstr(p.cmdline, dirslash)) {
		/* The master TERMs its children and leaves. */
		kill(c->master, SIGTERM);
		if (os_child_wait(c->master, STOP_TIMEOUT_MS, NULL) < 0) {
			kill(c->master, SIGKILL);
			os_child_wait(c->master, LEFTOVER_TIMEOUT_MS, NULL);
		}
	} else if (c->master > 0) {
		os_child_wait(c->master, 0, NULL); /* reap a master that died by itself */
	}
	c->master = 0;
	int left = cyrus_kill_leftovers(c->dir);
	if (left != 0) {
		if (err)
			buf_addf(err, "%d processes of cyrus instance %s remain", left, c->dir);
		rc = -1;
	}
	cyrus_watchdog_stop(c);
	if (cyrus_dir_is_ours(c->dir) && os_rmtree(c->dir, err) < 0)
		rc = -1;
	c->running = false;
	return rc;
}
