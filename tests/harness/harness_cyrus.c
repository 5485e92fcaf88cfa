/* harness_cyrus.c: a private Cyrus IMAP in a temporary directory, started as
 * root: configuration, SASL users, the master process, a watchdog that
 * receives Cyrus's syslog and outlives us by just long enough to stop it. */
#include "config.h"
#include "harness_cyrus.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "harness_os.h"
#include "imap.h"
#include "imaplib.h"

#define START_ATTEMPTS 5          /* a port picked at run time may be taken meanwhile */
#define START_TIMEOUT_MS 20000
#define IMAP_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS 15000
#define LEFTOVER_TIMEOUT_MS 5000
#define LOG_TAIL_BYTES 1500
#define MAX_REGISTERED 16
#define CYRUS_DIR_PREFIX "/tmp/imapfs-cyrus-"
/* The SASL realm; Cyrus looks users up in the realm named by servername. */
#define CYRUS_SERVERNAME "localhost"
/* First line of every imapd.conf we write: cyrus_stop() and the sweep of
 * stale instances remove only directories that hold it. */
#define CYRUS_CONF_MARK "# A private Cyrus of the imapfs test harness; removed with its directory."
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

static bool cyrus_find_program(const char *name, char *out, size_t size)
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

/* ---- files of the instance ---- */

static void cyrus_path(const struct cyrus *c, const char *name, char *out, size_t size)
{
	snprintf(out, size, "%s/%s", c->dir, name);
}

static int cyrus_make_dir(struct cyrus *c, struct buf *err)
{
	char tmpl[] = CYRUS_DIR_PREFIX "XXXXXX";
	if (!mkdtemp(tmpl)) {
		buf_addf(err, "mkdtemp: %s", strerror(errno));
		return -1;
	}
	snprintf(c->dir, sizeof c->dir, "%s", tmpl);
	/* Cyrus runs as user cyrus and must reach its files below. */
	if (chmod(c->dir, 0755) < 0) {
		buf_addf(err, "chmod %s: %s", c->dir, strerror(errno));
		rmdir(c->dir);
		return -1;
	}
	return 0;
}

static int cyrus_write_imapd_conf(const struct cyrus *c, struct buf *err)
{
	struct buf t = BUF_INIT;
	const char *d = c->dir;
	buf_addf(&t,
		 CYRUS_CONF_MARK "\n"
		 "configdirectory: %s/var/config\n"
		 "partition-default: %s/var/spool\n"
		 "sievedir: %s/var/sieve\n"
		 "proc_path: %s/var/proc\n"
		 "mboxname_lockpath: %s/var/lock\n"
		 "lmtpsocket: %s/var/config/socket/lmtp\n"
		 "idlesocket: %s/var/config/socket/idle\n"
		 "notifysocket: %s/var/config/socket/notify\n",
		 d, d, d, d, d, d, d, d);
	buf_addf(&t,
		 "servername: " CYRUS_SERVERNAME "\n"
		 "admins: " CYRUS_ADMIN "\n"
		 "allowplaintext: yes\n"
		 "sasl_pwcheck_method: auxprop\n"
		 "sasl_auxprop_plugin: sasldb\n"
		 "sasl_sasldb_path: %s/sasldb2\n"
		 "sasl_mech_list: PLAIN LOGIN\n"
		 "# A failed login would otherwise cost the test 3 seconds.\n"
		 "failedloginpause: 0\n"
		 "# The standard namespace: alice's INBOX.x is user.alice.x (3.x defaults to the other).\n"
		 "altnamespace: no\n"
		 "unixhierarchysep: no\n"
		 "hashimapspool: false\n"
		 "# Without it every GETANNOTATION/SETANNOTATION answers NO Permission denied.\n"
		 "annotation_enable_legacy_commands: yes\n"
		 "annotation_allow_undefined: yes\n"
		 "# 8-bit header bytes of an APPEND become 'X' (the default; stated because\n"
		 "# check_cyrus relies on a server storing other bytes than it was sent).\n"
		 "munge8bit: yes\n",
		 d);
	int rc = os_write_file(c->conf, &t, 0644, err);
	buf_free(&t);
	return rc;
}

/* The master does not pass -C to its children, so every command names it. */
static int cyrus_write_services(const struct cyrus *c, struct buf *err)
{
	struct buf t = BUF_INIT;
	buf_addf(&t,
		 "START {\n"
		 "  recover cmd=\"ctl_cyrusdb -C %s -r\"\n"
		 "}\n"
		 "SERVICES {\n"
		 "  imap cmd=\"imapd -C %s\" listen=\"127.0.0.1:%d\" prefork=0 maxchild=20\n"
		 "}\n"
		 "EVENTS {\n"
		 "  checkpoint cmd=\"ctl_cyrusdb -C %s -c\" period=30\n"
		 "}\n",
		 c->conf, c->conf, c->port, c->conf);
	int rc = os_write_file(c->services, &t, 0644, err);
	buf_free(&t);
	return rc;
}

static int cyrus_make_tree(const struct cyrus *c, struct buf *err)
{
	static const char *const dirs[] = { "var", "var/config", "var/config/db",
					    "var/config/socket", "var/spool", "var/sieve", "var/proc",
					    "var/lock", "ns", "ns/up", "ns/work" };
	struct passwd *pw = getpwnam("cyrus");
	struct group *gr = getgrnam("mail");
	if (!pw || !gr) {
		buf_addstr(err, "user cyrus or group mail is missing");
		return -1;
	}
	char path[HARNESS_PATH_MAX + 32];
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		cyrus_path(c, dirs[i], path, sizeof path);
		if (mkdir(path, 0755) < 0) {
			buf_addf(err, "mkdir %s: %s", path, strerror(errno));
			return -1;
		}
		if (strncmp(dirs[i], "var", 3) == 0 && chown(path, pw->pw_uid, gr->gr_gid) < 0) {
			buf_addf(err, "chown %s: %s", path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* saslpasswd2 -p reads the password from stdin, which os_run() does not
 * feed: a shell redirects it from a file (paths as arguments, not text). */
static int cyrus_add_sasl_users(const struct cyrus *c, struct buf *err)
{
	static const char *const users[] = { CYRUS_USER, CYRUS_ADMIN };
	char prog[256], sh[256], db[HARNESS_PATH_MAX + 32], pw[HARNESS_PATH_MAX + 32];
	char out[HARNESS_PATH_MAX + 32];
	if (!cyrus_find_program("saslpasswd2", prog, sizeof prog) ||
	    !cyrus_find_program("sh", sh, sizeof sh)) {
		buf_addstr(err, "saslpasswd2 or sh not found");
		return -1;
	}
	cyrus_path(c, "sasldb2", db, sizeof db);
	cyrus_path(c, "password", pw, sizeof pw);
	cyrus_path(c, "saslpasswd2.out", out, sizeof out);
	struct buf text = BUF_INIT;
	buf_addstr(&text, CYRUS_PASSWORD);
	int rc = os_write_file(pw, &text, 0600, err);
	buf_free(&text);
	for (size_t i = 0; rc == 0 && i < sizeof users / sizeof users[0]; i++) {
		const char *argv[] = { sh, "-c", "exec \"$0\" -f \"$1\" -u \"$2\" -p -c \"$3\" <\"$4\"",
				       prog, db, CYRUS_SERVERNAME, users[i], pw, NULL };
		rc = os_run(argv, out, err);
	}
	unlink(pw);
	struct passwd *cy = getpwnam("cyrus");
	struct group *gr = getgrnam("mail");
	if (rc == 0 && (!cy || !gr || chown(db, cy->pw_uid, gr->gr_gid) < 0 || chmod(db, 0640) < 0)) {
		buf_addf(err, "cannot hand %s to user cyrus", db);
		rc = -1;
	}
	return rc;
}

/* ---- processes of one instance ---- */

struct cyrus_match {
	char dirslash[HARNESS_PATH_MAX + 2];
};

/* Every Cyrus process of an instance names a file below its directory on its
 * command line (-C for all of them, the namespace script's argument before
 * the master starts), and the directory's name is unique. */
static bool cyrus_proc_is_ours(const struct os_proc *p, void *ctx)
{
	const struct cyrus_match *m = ctx;
	return strstr(p->cmdline, m->dirslash) != NULL;
}

static int cyrus_find_ours(const char *dir, pid_t *out, size_t max)
{
	struct cyrus_match m;
	snprintf(m.dirslash, sizeof m.dirslash, "%s/", dir);
	return os_find_procs(cyrus_proc_is_ours, &m, out, max);
}

int cyrus_count_processes(const struct cyrus *c)
{
	pid_t pids[1];
	return cyrus_find_ours(c->dir, pids, 0);
}

static int cyrus_kill_leftovers(const char *dir)
{
	for (int waited = 0; waited < LEFTOVER_TIMEOUT_MS; waited += 20) {
		pid_t pids[256];
		int n = cyrus_find_ours(dir, pids, sizeof pids / sizeof pids[0]);
		if (n <= 0)
			return n;
		for (int i = 0; i < n && i < (int)(sizeof pids / sizeof pids[0]); i++)
			kill(pids[i], SIGKILL);
		os_sleep_ms(20);
	}
	return cyrus_find_ours(dir, NULL, 0);
}

void cyrus_log_tail(const struct cyrus *c, size_t max, struct buf *out)
{
	os_read_tail(c->log, max, out);
}

/* "; log: ..." with the tails of the syslog capture and of the master's
 * own output, for a failed start. */
static void cyrus_add_log_tail(const struct cyrus *c, struct buf *err)
{
	struct buf tail = BUF_INIT;
	char out[HARNESS_PATH_MAX + 32];
	cyrus_log_tail(c, LOG_TAIL_BYTES, &tail);
	buf_addf(err, "; log%s: %s", c->syslog_captured ? "" : " (syslog not captured)",
		 tail.len ? tail.data : "(empty)");
	cyrus_path(c, "master.out", out, sizeof out);
	if (os_read_tail(out, LOG_TAIL_BYTES, &tail) == 0 && tail.len)
		buf_addf(err, "; master output: %s", tail.data);
	buf_free(&tail);
}

/* ---- the listening socket ---- */

/* True if the process has the socket with this inode open. */
static bool cyrus_proc_has_socket(pid_t pid, unsigned long inode)
{
	char path[64], want[64], link[64];
	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	snprintf(want, sizeof want, "socket:[%lu]", inode);
	DIR *d = opendir(path);
	if (!d)
		return false;
	bool found = false;
	struct dirent *de;
	while (!found && (de = readdir(d)) != NULL) {
		char fd[HARNESS_PATH_MAX];
		snprintf(fd, sizeof fd, "%s/%s", path, de->d_name);
		ssize_t n = readlink(fd, link, sizeof link - 1);
		if (n > 0) {
			link[n] = '\0';
			found = strcmp(link, want) == 0;
		}
	}
	closedir(d);
	return found;
}

/* 1: the master listens on port; 0: nobody does yet; -1: only someone else
 * does (the port was taken between picking and binding).  Both address
 * families count: a listener on [::] takes the IPv4 port too. */
static int cyrus_port_owner(int port, pid_t master)
{
	static const char *const tables[] = { "/proc/net/tcp", "/proc/net/tcp6" };
	bool other = false;
	for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
		FILE *f = fopen(tables[i], "r");
		if (!f)
			continue;
		char line[512], local[64];
		unsigned state;
		unsigned long inode;
		while (fgets(line, sizeof line, f)) {
			if (sscanf(line, " %*u: %63s %*s %X %*s %*s %*s %*u %*u %lu", local, &state,
				   &inode) != 3 || state != 0x0A /* LISTEN */)
				continue;
			const char *colon = strrchr(local, ':');
			if (!colon || strtol(colon + 1, NULL, 16) != port)
				continue;
			if (cyrus_proc_has_socket(master, inode)) {
				fclose(f);
				return 1;
			}
			other = true;
		}
		fclose(f);
	}
	return other ? -1 : 0;
}

/* ---- the watchdog ---- */

/* Messages on the watchdog's pipe; each is written whole (below PIPE_BUF). */
enum { CYRUS_WD_MASTER = 'm', CYRUS_WD_QUIT = 'q' };

static void cyrus_watchdog_drain(int sock, int logfd)
{
	char msg[8192];
	ssize_t n;
	while ((n = recv(sock, msg, sizeof msg - 1, MSG_DONTWAIT)) > 0) {
		while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\0'))
			n--;
		msg[n++] = '\n';
		if (write(logfd, msg, (size_t)n) < 0)
			return;
	}
}

/* Runs in a forked child of a possibly threaded process: only async-signal-
 * safe calls.  Appends every syslog datagram to the log; when the pipe ends
 * without a QUIT message (the starting process died), SIGTERMs the master. */
__attribute__((noreturn))
static void cyrus_watchdog_run(int ctl, int sock, int logfd)
{
	int32_t msg[2];
	pid_t master = 0;
	for (;;) {
		struct pollfd pf[2] = { { .fd = ctl, .events = POLLIN }, { .fd = sock, .events = POLLIN } };
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[1].revents)
			cyrus_watchdog_drain(sock, logfd);
		if (!pf[0].revents)
			continue;
		ssize_t n = read(ctl, msg, sizeof msg);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == (ssize_t)sizeof msg && msg[0] == CYRUS_WD_MASTER) {
			master = (pid_t)msg[1];
			continue;
		}
		if (n == (ssize_t)sizeof msg && msg[0] == CYRUS_WD_QUIT) {
			cyrus_watchdog_drain(sock, logfd);
			_exit(0);
		}
		break; /* end of file: nobody is left to stop the instance */
	}
	if (master > 0)
		kill(master, SIGTERM);
	_exit(0);
}

static int cyrus_watchdog_start(struct cyrus *c, struct buf *err)
{
	char sockpath[HARNESS_PATH_MAX + 32];
	cyrus_path(c, "syslog.sock", sockpath, sizeof sockpath);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(sockpath) >= sizeof sa.sun_path) {
		buf_addf(err, "socket path too long: %s", sockpath);
		return -1;
	}
	memcpy(sa.sun_path, sockpath, strlen(sockpath) + 1);
	int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int logfd = open(c->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	int p[2] = { -1, -1 };
	if (sock < 0 || logfd < 0 || bind(sock, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    chmod(sockpath, 0666) < 0 || pipe2(p, O_CLOEXEC) < 0) {
		buf_addf(err, "watchdog for %s: %s", c->dir, strerror(errno));
		goto fail;
	}
	pid_t pid = fork();
	if (pid < 0) {
		buf_addf(err, "fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0) {
		int keep[3] = { p[0], sock, logfd };
		/* Sorted, so that the descriptors between them can be closed. */
		for (int i = 0; i < 2; i++)
			for (int j = 0; j < 2 - i; j++)
				if (keep[j] > keep[j + 1]) {
					int t = keep[j];
					keep[j] = keep[j + 1];
					keep[j + 1] = t;
				}
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		unsigned from = 3;
		for (int i = 0; i < 3; i++) {
			if ((unsigned)keep[i] > from)
				close_range(from, (unsigned)keep[i] - 1, 0);
			from = (unsigned)keep[i] + 1;
		}
		close_range(from, ~0U, 0);
		/* Out of the terminal's reach: Ctrl-C ends the test, and then
		 * this one stops Cyrus. */
		setsid();
		const int reset[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE };
		for (size_t i = 0; i < sizeof reset / sizeof reset[0]; i++)
			signal(reset[i], SIG_DFL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		cyrus_watchdog_run(p[0], sock, logfd);
	}
	close(p[0]);
	close(sock);
	close(logfd);
	c->watchdog = pid;
	c->watchdog_fd = p[1];
	return 0;
fail:
	if (sock >= 0)
		close(sock);
	if (logfd >= 0)
		close(logfd);
	if (p[0] >= 0) {
		close(p[0]);
		close(p[1]);
	}
	return -1;
}

static void cyrus_watchdog_tell(const struct cyrus *c, int op, pid_t pid)
{
	int32_t msg[2] = { op, (int32_t)pid };
	if (c->watchdog_fd < 0)
		return;
	ssize_t n;
	do
		n = write(c->watchdog_fd, msg, sizeof msg);
	while (n < 0 && errno == EINTR);
}

/* Lets the watchdog log the last lines and leave; kills it if it will not. */
static void cyrus_watchdog_stop(struct cyrus *c)
{
	if (c->watchdog <= 0)
		return;
	cyrus_watchdog_tell(c, CYRUS_WD_QUIT, 0);
	if (c->watchdog_fd >= 0)
		close(c->watchdog_fd);
	c->watchdog_fd = -1;
	if (os_child_wait(c->watchdog, LEFTOVER_TIMEOUT_MS, NULL) < 0) {
		kill(c->watchdog, SIGKILL);
		os_child_wait(c->watchdog, LEFTOVER_TIMEOUT_MS, NULL);
	}
	c->watchdog = 0;
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
