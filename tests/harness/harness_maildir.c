/* harness_maildir.c: messages written straight into a Maildir (maildir++
 * layout), before or while a server uses it. */
#include "config.h"
#include "harness.h"
#include "harness_os.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"

#define MAILDIR_FOLDER_MAX 400

static bool maildir_is_inbox(const char *folder)
{
	return !folder || strcasecmp(folder, "INBOX") == 0;
}

/* On disk the folder is ".NAME" inside the root: NAME must stay one plain,
 * printable path component (modified UTF-7 is ASCII). */
static int maildir_check_folder(const char *folder, struct buf *err)
{
	size_t n = strlen(folder);
	bool ok = n > 0 && n <= MAILDIR_FOLDER_MAX && folder[0] != '.' && folder[n - 1] != '.' &&
		  !strstr(folder, "..");
	for (size_t i = 0; ok && i < n; i++)
		ok = folder[i] >= 0x20 && folder[i] < 0x7f && folder[i] != '/';
	if (!ok)
		buf_addf(err, "bad maildir++ folder name '%s'", folder);
	return ok ? 0 : -1;
}

static void maildir_folder_path(const char *root, const char *folder, struct buf *out)
{
	buf_reset(out);
	if (maildir_is_inbox(folder))
		buf_addstr(out, root);
	else
		buf_addf(out, "%s/.%s", root, folder);
}

int maildir_remove_folder(const char *root, const char *folder, struct buf *err)
{
	if (maildir_is_inbox(folder) || maildir_check_folder(folder, err) < 0) {
		buf_addf(err, "not a removable folder: %s", folder ? folder : "INBOX");
		return -1;
	}
	struct buf dir = BUF_INIT;
	maildir_folder_path(root, folder, &dir);
	int rc = os_rmtree(dir.data, err);
	buf_free(&dir);
	return rc;
}

/* mkdir that hands the directory to whoever owns its parent, so that mail
 * a root process writes for a server stays readable by the server. */
static int maildir_mkdir_owned(const char *path, struct buf *err)
{
	if (mkdir(path, 0700) < 0) {
		if (errno == EEXIST)
			return 0;
		buf_addf(err, "mkdir %s: %s", path, strerror(errno));
		return -1;
	}
	char parent[1024];
	snprintf(parent, sizeof parent, "%s", path);
	char *slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	struct stat st;
	if (geteuid() == 0 && stat(parent, &st) == 0 && chown(path, st.st_uid, st.st_gid) < 0) {
		buf_addf(err, "chown %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int maildir_make_dirs(const char *dir, struct buf *err)
{
	static const char *const subs[] = { "cur", "new", "tmp" };
	char path[1024];
	if (maildir_mkdir_owned(dir, err) < 0)
		return -1;
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, subs[i]);
		if (maildir_mkdir_owned(path, err) < 0)
			return -1;
	}
	return 0;
}

int maildir_make_folder(const char *root, const char *folder, struct buf *err)
{
	if (strlen(root) > 500) {
		buf_addf(err, "maildir path too long: %s", root);
		return -1;
	}
	if (!maildir_is_inbox(folder) && maildir_check_folder(folder, err) < 0)
		return -1;
	if (maildir_make_dirs(root, err) < 0 || maildir_is_inbox(folder))
		return 0;
	struct buf dir = BUF_INIT;
	maildir_folder_path(root, folder, &dir);
	int rc = maildir_make_dirs(dir.data, err);
	if (rc == 0) {
		/* The maildir++ marker that tells delivery agents this is a folder. */
		buf_addstr(&dir, "/maildirfolder");
		int fd = open(dir.data, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		struct stat st;
		if (fd >= 0 && geteuid() == 0 && stat(root, &st) == 0 &&
		    fchown(fd, st.st_uid, st.st_gid) < 0)
			rc = -1;
		if (fd < 0 || close(fd) < 0)
			rc = -1;
		if (rc < 0)
			buf_addf(err, "cannot create %s", dir.data);
	}
	buf_free(&dir);
	return rc;
}

/* Maildir flag letters must appear in ASCII order, each once. */
static int maildir_flag_suffix(const char *flags, char out[8], struct buf *err)
{
	static const char known[] = "DFPRST";
	size_t n = 0;
	for (const char *k = known; *k; k++)
		if (flags && strchr(flags, *k))
			out[n++] = *k;
	out[n] = '\0';
	for (const char *f = flags; f && *f; f++) {
		if (!strchr(known, *f)) {
			buf_addf(err, "unknown maildir flag '%c' (use D F P R S T)", *f);
			return -1;
		}
	}
	return 0;
}

/* Dovecot's virtual size: the size with every bare LF counted as CRLF,
 * which is what it reports as RFC822.SIZE. */
static size_t maildir_virtual_size(const unsigned char *p, size_t len)
{
	size_t v = len;
	for (size_t i = 0; i < len; i++)
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			v++;
	return v;
}

/* TIME.UNIQUE where UNIQUE tells apart every message any process delivers:
 * M = this process's start in microseconds, P = pid, Q = a counter,
 * zero-padded so that names, and so UIDs, sort in the order of delivery. */
static void maildir_base_name(time_t t, struct buf *out)
{
	static long start_usec = -1;
	static unsigned counter;
	static char host[64];
	if (start_usec < 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		start_usec = (long)(ts.tv_sec % 1000000) * 1000000L + ts.tv_nsec / 1000;
		if (gethostname(host, sizeof host) < 0)
			strcpy(host, "localhost");
		host[sizeof host - 1] = '\0';
		for (char *h = host; *h; h++)
			if (*h == '/' || *h == ':' || *h == ',')
				*h = '_';
	}
	buf_reset(out);
	buf_addf(out, "%010lld.M%012ldP%dQ%09u.%s", (long long)t, start_usec, (int)getpid(),
		 counter++, host);
}

static int maildir_write_all(int fd, const void *p, size_t len)
{
	const char *c = p;
	while (len > 0) {
		ssize_t n = write(fd, c, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

int maildir_add(const char *root, const char *folder, const void *msg, size_t len,
		const char *flags, time_t internaldate, struct buf *path, struct buf *err)
{
	char suffix[8];
	struct buf dir = BUF_INIT, base = BUF_INIT, tmp = BUF_INIT, final = BUF_INIT;
	int fd = -1, rc = -1;
	bool created = false;
	if (maildir_flag_suffix(flags, suffix, err) < 0 ||
	    (!maildir_is_inbox(folder) && maildir_check_folder(folder, err) < 0))
		goto out;
	maildir_folder_path(root, folder, &dir);
	maildir_base_name(internaldate, &base);
	buf_addf(&tmp, "%s/tmp/%s", dir.data, base.data);
	fd = open(tmp.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno == ENOENT) {
		if (maildir_make_folder(root, folder, err) < 0)
			goto out;
		fd = open(tmp.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	}
	if (fd < 0) {
		buf_addf(err, "cannot create %s: %s", tmp.data, strerror(errno));
		goto out;
	}
	created = true;
	struct stat st;
	const struct timespec times[2] = { { internaldate, 0 }, { internaldate, 0 } };
	if (maildir_write_all(fd, msg, len) < 0 || futimens(fd, times) < 0 ||
	    (geteuid() == 0 && (stat(dir.data, &st) < 0 || fchown(fd, st.st_uid, st.st_gid) < 0))) {
		buf_addf(err, "cannot write %s: %s", tmp.data, strerror(errno));
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		buf_addf(err, "cannot write %s: %s", tmp.data, strerror(errno));
		goto out;
	}
	fd = -1;
	/* S= is the file size, W= the size with CRLF line ends (RFC822.SIZE);
	 * Dovecot trusts both instead of reading the file. */
	buf_addf(&final, "%s/cur/%s,S=%zu,W=%zu:2,%s", dir.data, base.data, len,
		 maildir_virtual_size(msg, len), suffix);
	if (rename(tmp.data, final.data) < 0) {
		buf_addf(err, "cannot move %s to cur/: %s", tmp.data, strerror(errno));
		goto out;
	}
	if (path)
		buf_set(path, final.data, final.len);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0 && created)
		unlink(tmp.data);
	buf_free(&dir);
	buf_free(&base);
	buf_free(&tmp);
	buf_free(&final);
	return rc;
}
