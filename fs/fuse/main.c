/* main.c: imapfs [options] URL MOUNTPOINT.  Options are read the sshfs
 * way (-o a,b=c), ours are taken out and the rest go to FUSE.  Everything
 * that can fail (URL, password, mountpoint, connection, login, TLS) is
 * checked before mounting, with one clear line on stderr. */
#include "config.h"

#define FUSE_USE_VERSION 34
#include <dirent.h>
#include <errno.h>
#include <fuse_lowlevel.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "fs.h"
#include "fuse/ops.h"
#include "remote/auth.h"
#include "remote/secret.h"
#include "url.h"

struct cmdline {
	char *url;
	char *cachedir;
	char *cache_size;
	char *auth;
	char *compress;
	unsigned connections;
	int timeout_s;
	int poll_s;
	int uid, gid, umask;    /* -1: not given */
	bool readonly;
	bool plain_expunge;
	bool nowatch;
	bool atime;             /* the user asked for atime updates */
	bool allow_other;       /* other users may enter the mount (allow_other, allow_root) */
	bool show_help;
	bool show_version;
	struct tls_opts tls;
	struct url_options uo;
	int nonopts;
};

enum { KEY_HELP, KEY_VERSION, KEY_RO, KEY_ATIME, KEY_ALLOW_OTHER, KEY_OURS };

#define OPT(t, p) { t, offsetof(struct cmdline, p), 1 }
static const struct fuse_opt opt_spec[] = {
	OPT("cachedir=%s", cachedir),
	OPT("cache_size=%s", cache_size),
	OPT("auth=%s", auth),
	OPT("compress=%s", compress),
	OPT("connections=%u", connections),
	OPT("poll=%d", poll_s),
	/* the low-level FUSE API leaves these to the filesystem */
	OPT("uid=%d", uid),
	OPT("gid=%d", gid),
	OPT("umask=%o", umask),
	OPT("plain_expunge", plain_expunge),
	OPT("nowatch", nowatch),
	FUSE_OPT_KEY("ro", KEY_RO),
	FUSE_OPT_KEY("atime", KEY_ATIME),
	FUSE_OPT_KEY("relatime", KEY_ATIME),
	FUSE_OPT_KEY("strictatime", KEY_ATIME),
	FUSE_OPT_KEY("allow_other", KEY_ALLOW_OTHER),
	FUSE_OPT_KEY("allow_root", KEY_ALLOW_OTHER),
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_KEY("tls=", KEY_OURS),
	FUSE_OPT_KEY("cafile=", KEY_OURS),
	FUSE_OPT_KEY("certfile=", KEY_OURS),
	FUSE_OPT_KEY("keyfile=", KEY_OURS),
	FUSE_OPT_KEY("insecure", KEY_OURS),
	FUSE_OPT_KEY("command=", KEY_OURS),
	FUSE_OPT_KEY("passfile=", KEY_OURS),
	FUSE_OPT_KEY("passcmd=", KEY_OURS),
	FUSE_OPT_KEY("timeout=", KEY_OURS),
	FUSE_OPT_END
};

static void usage(FILE *f)
{
	fputs("usage: imapfs [options] URL MOUNTPOINT\n"
	      "  URL  imaps://USER@HOST[:PORT] (implicit TLS) or imap://USER@HOST[:PORT] (STARTTLS)\n"
	      "  -f             stay in the foreground\n"
	      "  -d             debug: protocol trace (never passwords), implies -f\n"
	      "  -h, -V         help, version\n"
	      "  -o ro          read-only\n"
	      "  -o plain_expunge  rm may use EXPUNGE on servers without UIDPLUS (also removes\n"
	      "                 what other clients marked \\Deleted)\n"
	      "  -o passfile=FILE | passcmd=CMD   password or token (else $IMAPFS_PASSWORD, else\n"
	      "                 asked); a token's passcmd runs again for every connection\n"
	      "  -o auth=MECH   auto (default: LOGIN, else AUTHENTICATE PLAIN), plain, login,\n"
	      "                 cram-md5, xoauth2, oauthbearer (OAuth 2: the token from passcmd)\n"
	      "  -o cafile=FILE, certfile=FILE, keyfile=FILE, insecure, tls=none\n"
	      "  -o command=CMD spawned IMAP server on stdin/stdout\n"
	      "  -o compress=yes|no|auto  COMPRESS=DEFLATE (default auto: on unless the server\n"
	      "                 is on this machine)\n"
	      "  -o cachedir=DIR (default $XDG_CACHE_HOME/imapfs), cache_size=SIZE (default 1G)\n"
	      "  -o connections=N (default 4), timeout=SECONDS (default 30), poll=SECONDS (default 60)\n"
	      "  -o nowatch     no IDLE and no checks in the background: lists on access only\n"
	      "  -o umask=MODE (default 077: files 0600, directories 0700), uid=N, gid=N\n"
	      "  -o allow_other  other users may enter (their access checked against the modes)\n"
	      "  and the other FUSE mount options.  See imapfs(1).\n",
	      f);
}

static int opt_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	(void)outargs;
	struct cmdline *c = data;
	switch (key) {
	case FUSE_OPT_KEY_NONOPT:
		if (c->nonopts++ == 0) {
			c->url = strdup(arg);
			return 0;
		}
		return 1;  /* the mountpoint: for fuse_parse_cmdline */
	case KEY_HELP:
		c->show_help = true;
		return 0;
	case KEY_VERSION:
		c->show_version = true;
		return 0;
	case KEY_RO:
		c->readonly = true;
		return 1;  /* also a mount flag */
	case KEY_ATIME:
		c->atime = true;
		return 1;
	case KEY_ALLOW_OTHER:
		c->allow_other = true;
		return 1;
	case KEY_OURS: {
		char *copy = strdup(arg), *eq = strchr(copy, '=');
		if (eq)
			*eq++ = '\0';
		int r = url_take_option(copy, eq, &c->uo);
		free(copy);
		if (!r) {
			fprintf(stderr, "imapfs: bad option: %s\n", arg);
			return -1;
		}
		if (!strcmp(arg, "tls=none"))
			c->uo.tls_none = true;
		return 0;
	}
	default:
		return 1;
	}
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	uint64_t mul = 1;
	switch (*end) {
	case 'k': case 'K': mul = 1ull << 10; end++; break;
	case 'm': case 'M': mul = 1ull << 20; end++; break;
	case 'g': case 'G': mul = 1ull << 30; end++; break;
	case 't': case 'T': mul = 1ull << 40; end++; break;
	default: break;
	}
	if (end == s || *end || v > UINT64_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

static int parse_compress(const char *s, enum fs_compress *out)
{
	if (!strcmp(s, "auto"))
		*out = FS_COMPRESS_AUTO;
	else if (!strcmp(s, "yes"))
		*out = FS_COMPRESS_YES;
	else if (!strcmp(s, "no"))
		*out = FS_COMPRESS_NO;
	else
		return -1;
	return 0;
}

/* An empty directory we may mount on. */
static int check_mountpoint(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		fprintf(stderr, "imapfs: mountpoint %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "imapfs: mountpoint %s is not a directory\n", path);
		return -1;
	}
	DIR *d = opendir(path);
	if (!d) {
		fprintf(stderr, "imapfs: mountpoint %s: %s\n", path, strerror(errno));
		return -1;
	}
	struct dirent *de;
	int n = 0;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	if (n) {
		fprintf(stderr, "imapfs: mountpoint %s is not empty\n", path);
		return -1;
	}
	return 0;
}

/* The password stays in memory for every reconnect: no core file or
 * debugger of the same user may read it (nor the mail in memory). */
static void refuse_core_dumps(void)
{
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fprintf(stderr, "imapfs: warning: cannot refuse core dumps: %s\n", strerror(errno));
}

static char *default_cachedir(const struct imap_url *u)
{
	struct buf b = BUF_INIT;
	const char *xdg = getenv("XDG_CACHE_HOME");
	if (xdg && *xdg) {
		buf_addstr(&b, xdg);
	} else {
		const char *home = getenv("HOME");
		struct passwd *pw = home ? NULL : getpwuid(getuid());
		buf_addf(&b, "%s/.cache", home ? home : pw ? pw->pw_dir : "/tmp");
	}
	/* one cache per account; the cache escapes mailbox names (cache/names.c)
	 * but not its own directory, so keep this part tame */
	buf_addstr(&b, "/imapfs/");
	for (const char *p = u->user ? u->user : "anonymous"; *p; p++)
		buf_addch(&b, (*p == '/' ? '_' : *p));
	buf_addch(&b, '@');
	for (const char *p = u->host; *p; p++)
		buf_addch(&b, (*p == '/' ? '_' : *p));
	buf_addf(&b, "_%s", u->port);
	return buf_detach(&b, NULL);
}

static void free_cmdline(struct cmdline *c)
{
	free(c->url);
	free(c->cachedir);
	free(c->cache_size);
	free(c->auth);
	free(c->compress);
	url_options_free(&c->uo);
}

static int run(struct fs_config *cfg, struct fuse_args *args, struct fuse_cmdline_opts *fo)
{
	struct fs *fs = NULL;
	fs_log_to_stderr(true);
	/* made first so FUSE rejects bad mount options before we connect */
	struct fuse_session *se = fuse_session_new(args, ops_table(), sizeof(struct fuse_lowlevel_ops), &fs);
	if (!se)
		return 1;
	struct buf err = BUF_INIT;
	int status = 1;
	if (fs_new(&fs, cfg, &err) < 0) {
		fprintf(stderr, "imapfs: %s\n", err.data);
		buf_free(&err);
		goto out_session;
	}
	buf_free(&err);
	if (fuse_set_signal_handlers(se) != 0)
		goto out_session;
	if (fuse_session_mount(se, fo->mountpoint) != 0)
		goto out_signals;
	if (!fo->foreground)
		fs_log_to_stderr(false);
	if (fuse_daemonize(fo->foreground) != 0)
		goto out_unmount;
	struct notifier *n = NULL;
	if (fs_start(fs) < 0 || !(n = notifier_start(fs, se))) {
		fs_log(3, "cannot start threads");
		goto out_unmount;
	}
	struct fuse_loop_config lc = { .clone_fd = 0, .max_idle_threads = 10 };
	status = fuse_session_loop_mt(se, &lc) == 0 ? 0 : 1;
	fs_stop(fs);
	fuse_remove_signal_handlers(se);
	notifier_end_session(fs, n, se);
	fs_free(fs);
	return status;
out_unmount:
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
	fs_free(fs);
	return status;
}

/* glibc gives each thread that allocates an arena of its own (up to 8 per
 * core).  The daemon's threads (FUSE workers, read-ahead, the watcher)
 * each keep free memory in theirs that the others cannot use: on a
 * 200,000-message account the peak RSS was 69 MB with the default, 52 MB
 * with two arenas (contrib/bench/run.sh --only scale; fixing the mmap
 * threshold as well changed nothing).  MALLOC_ARENA_MAX in the
 * environment still wins. */
static void malloc_tune(void)
{
#if defined(__GLIBC__) && defined(M_ARENA_MAX)
	if (!getenv("MALLOC_ARENA_MAX"))
		mallopt(M_ARENA_MAX, 2);
#endif
}

int main(int argc, char **argv)
{
	malloc_tune();
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct cmdline c;
	memset(&c, 0, sizeof c);
	c.uo.tls = &c.tls;
	c.connections = 4;
	c.timeout_s = 30;
	c.poll_s = 60;
	c.uid = c.gid = c.umask = -1;
	if (fuse_opt_parse(&args, &c, opt_spec, opt_proc) != 0) {
		free_cmdline(&c);
		fuse_opt_free_args(&args);
		return 2;
	}
	if (c.show_help || c.show_version) {
		if (c.show_help)
			usage(stdout);
		else
			printf("imapfs %s (FUSE %s)\n", PACKAGE_VERSION, fuse_pkgversion());
		free_cmdline(&c);
		fuse_opt_free_args(&args);
		return 0;
	}
	struct fuse_cmdline_opts fo;
	memset(&fo, 0, sizeof fo);
	int status = 2;
	struct fs_config cfg;
	memset(&cfg, 0, sizeof cfg);
	struct buf err = BUF_INIT;
	if (fuse_parse_cmdline(&args, &fo) != 0 || !c.url || !fo.mountpoint) {
		usage(stderr);
		goto out;
	}
	if (url_parse(c.url, &cfg.url, &err) < 0) {
		fprintf(stderr, "imapfs: %s\n", err.data);
		goto out;
	}
	if (!cfg.url.user && !c.uo.command) {
		fprintf(stderr, "imapfs: the URL names no user: imaps://USER@%s\n", cfg.url.host);
		goto out;
	}
	if (check_mountpoint(fo.mountpoint) < 0)
		goto out;
	if (cfg.url.user || c.tls.keyfile)
		refuse_core_dumps();
	if (c.auth && auth_mech_parse(c.auth, &cfg.auth) < 0) {
		fprintf(stderr, "imapfs: bad auth=%s: one of auto, plain, login, cram-md5, xoauth2, "
				"oauthbearer\n", c.auth);
		goto out;
	}
	if (c.compress && parse_compress(c.compress, &cfg.compress) < 0) {
		fprintf(stderr, "imapfs: bad compress=%s: one of yes, no, auto\n", c.compress);
		goto out;
	}
	cfg.timeout_s = c.uo.timeout_s > 0 ? c.uo.timeout_s : c.timeout_s;
	/* read at the first login, not now: a PREAUTH server needs none, and
	 * a token is read again for each connection (remote/secret.h) */
	if (cfg.url.user) {
		const char *given = c.uo.passfile || c.uo.passcmd ? NULL : getenv("IMAPFS_PASSWORD");
		cfg.secret = secret_new(c.uo.passfile, c.uo.passcmd, given, cfg.url.user, cfg.url.host,
					cfg.timeout_s * 1000);
	}
	/* out of /proc/PID/environ and children, also when another source won */
	url_forget_env_password();
	cfg.tls = c.tls;
	cfg.tls_none = c.uo.tls_none;
	cfg.command = c.uo.command;
	cfg.poll_s = c.poll_s > 0 ? c.poll_s : 60;
	cfg.watch = !c.nowatch;
	cfg.connections = c.connections ? c.connections : 4;
	cfg.readonly = c.readonly;
	cfg.plain_expunge = c.plain_expunge;
	/* Reading a message changes nothing on the server, and an atime the
	 * kernel thinks changed costs a GETATTR per file read. */
	if (!c.readonly && !c.atime)
		fuse_opt_add_arg(&args, "-onoatime");
	/* Without it FUSE checks no mode at all: allow_other would let every
	 * local user read, remove and write the mail. */
	if (c.allow_other)
		fuse_opt_add_arg(&args, "-odefault_permissions");
	cfg.debug = fo.debug;
	fs_log_debug(fo.debug);
	cfg.uid = c.uid >= 0 ? (uid_t)c.uid : getuid();
	cfg.gid = c.gid >= 0 ? (gid_t)c.gid : getgid();
	/* private by default: files 0600, directories 0700 */
	cfg.umask = c.umask >= 0 ? (mode_t)(c.umask & 0777) : 0077;
	cfg.cache_size = 1ull << 30;
	if (c.cache_size && parse_size(c.cache_size, &cfg.cache_size) < 0) {
		fprintf(stderr, "imapfs: bad cache_size: %s\n", c.cache_size);
		goto out;
	}
	cfg.cachedir = c.cachedir ? strdup(c.cachedir) : default_cachedir(&cfg.url);
	status = run(&cfg, &args, &fo);
out:
	buf_free(&err);
	free(cfg.cachedir);
	secret_free(cfg.secret);
	url_free(&cfg.url);
	free(fo.mountpoint);
	free_cmdline(&c);
	fuse_opt_free_args(&args);
	return status;
}
