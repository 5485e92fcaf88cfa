/* url.c: IMAP URLs, shared connection options, and the password sources. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "xalloc.h"
#include "url.h"

static char *dup_range(const char *a, const char *b)
{
	return xmemdup(a, (size_t)(b - a));
}

/* Percent-decoding for the user part: "user%40example.com". */
static int percent_decode(char *s)
{
	char *w = s;
	for (const char *r = s; *r; r++) {
		if (*r != '%') {
			*w++ = *r;
			continue;
		}
		unsigned v;
		if (sscanf(r + 1, "%2x", &v) != 1 || !r[1] || !r[2] || v == 0)
			return -1;
		*w++ = (char)v;
		r += 2;
	}
	*w = '\0';
	return 0;
}

int url_parse(const char *text, struct imap_url *out, struct buf *err)
{
	memset(out, 0, sizeof *out);
	const char *p;
	if (!strncmp(text, "imaps://", 8)) {
		out->implicit_tls = true;
		p = text + 8;
	} else if (!strncmp(text, "imap://", 7)) {
		p = text + 7;
	} else {
		buf_addf(err, "bad URL '%s': it must start with imap:// or imaps://", text);
		return -1;
	}
	const char *end = p + strcspn(p, "/?#");
	if (*end && strcmp(end, "/")) {
		buf_addf(err, "bad URL '%s': no path or query is allowed after the host", text);
		return -1;
	}
	const char *at = memchr(p, '@', (size_t)(end - p));
	if (at) {
		const char *q;
		while ((q = memchr(at + 1, '@', (size_t)(end - at - 1))))
			at = q;
		out->user = dup_range(p, at);
		if (!*out->user || strchr(out->user, ':') || percent_decode(out->user) < 0) {
			buf_addf(err, "bad URL '%s': bad user name (a password never goes in the URL)", text);
			url_free(out);
			return -1;
		}
		p = at + 1;
	}
	const char *host_end, *port = NULL;
	if (*p == '[') {
		host_end = memchr(p, ']', (size_t)(end - p));
		if (!host_end) {
			buf_addf(err, "bad URL '%s': unterminated [IPv6] address", text);
			url_free(out);
			return -1;
		}
		out->host = dup_range(p + 1, host_end);
		host_end++;
	} else {
		host_end = memchr(p, ':', (size_t)(end - p));
		if (!host_end)
			host_end = end;
		out->host = dup_range(p, host_end);
	}
	if (host_end < end) {
		if (*host_end != ':') {
			buf_addf(err, "bad URL '%s': junk after the host", text);
			url_free(out);
			return -1;
		}
		port = host_end + 1;
		char *num_end;
		long v = strtol(port, &num_end, 10);
		if (num_end != end || v < 1 || v > 65535) {
			buf_addf(err, "bad URL '%s': bad port", text);
			url_free(out);
			return -1;
		}
		out->port = dup_range(port, end);
	} else {
		out->port = xstrdup(out->implicit_tls ? "993" : "143");
	}
	if (!*out->host) {
		buf_addf(err, "bad URL '%s': no host", text);
		url_free(out);
		return -1;
	}
	return 0;
}

void url_free(struct imap_url *u)
{
	free(u->user);
	free(u->host);
	free(u->port);
	if (u->password) {
		explicit_bzero(u->password, strlen(u->password));
		free(u->password);
	}
	memset(u, 0, sizeof *u);
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v ? v : "");
}

int url_take_option(const char *key, const char *value, struct url_options *o)
{
	struct tls_opts *t = o->tls;
	if (!strcmp(key, "tls") && value && !strcmp(value, "none"))
		o->tls_none = true;
	else if (!strcmp(key, "cafile") && value)
		t->cafile = strdup(value);
	else if (!strcmp(key, "certfile") && value)
		t->certfile = strdup(value);
	else if (!strcmp(key, "keyfile") && value)
		t->keyfile = strdup(value);
	else if (!strcmp(key, "insecure") && !value)
		t->insecure = true;
	else if (!strcmp(key, "command") && value)
		set_str(&o->command, value);
	else if (!strcmp(key, "passfile") && value)
		set_str(&o->passfile, value);
	else if (!strcmp(key, "passcmd") && value)
		set_str(&o->passcmd, value);
	else if (!strcmp(key, "timeout") && value && atoi(value) > 0)
		o->timeout_s = atoi(value);
	else
		return 0;
	return 1;
}

int url_parse_options(const char *list, struct url_options *o)
{
	char *copy = xstrdup(list), *save = NULL;
	int rc = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (eq)
			*eq++ = '\0';
		if (!url_take_option(tok, eq, o)) {
			rc = -1;
			break;
		}
	}
	free(copy);
	return rc;
}

void url_options_free(struct url_options *o)
{
	if (o->tls) {
		free((char *)o->tls->cafile);
		free((char *)o->tls->certfile);
		free((char *)o->tls->keyfile);
	}
	free(o->command);
	free(o->passfile);
	free(o->passcmd);
}

/* Appends to a buffer that holds a secret: when it must grow, the bytes
 * move to a new block and the old one is wiped (realloc would leave a
 * copy behind in freed memory). */
static void secret_add(struct buf *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		struct buf bigger = BUF_INIT;
		buf_grow(&bigger, 2 * (b->len + n) + 64);
		buf_add(&bigger, b->data, b->len);
		buf_wipe(b);
		*b = bigger;
	}
	buf_add(b, p, n);
}

int url_read_secret_line(int fd, struct buf *out, struct buf *err)
{
	char chunk[256];
	bool eol = false;
	int rc = 0;
	while (!eol) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			buf_adderr(err, "%s", strerror(errno));
			rc = -1;
			break;
		}
		if (n == 0)
			break;
		char *nl = memchr(chunk, '\n', (size_t)n);
		eol = nl != NULL;
		secret_add(out, chunk, eol ? (size_t)(nl - chunk) : (size_t)n);
		if (out->len > URL_SECRET_MAX) {
			buf_adderr(err, "the first line is longer than %d bytes", URL_SECRET_MAX);
			rc = -1;
			break;
		}
	}
	explicit_bzero(chunk, sizeof chunk);
	if (rc == 0 && out->len && out->data[out->len - 1] == '\r')
		buf_truncate(out, out->len - 1);
	if (rc < 0)
		buf_wipe(out);
	return rc;
}

void url_forget_env_password(void)
{
	static const char name[] = "IMAPFS_PASSWORD=";
	/* The bytes themselves, where /proc/PID/environ shows them:
	 * unsetenv() only takes the entry out of the array. */
	for (char **e = environ; *e; e++)
		if (!strncmp(*e, name, sizeof name - 1))
			explicit_bzero(*e + sizeof name - 1, strlen(*e + sizeof name - 1));
	unsetenv("IMAPFS_PASSWORD");
}

static int read_passfile(const struct url_options *o, struct buf *pw, struct buf *err)
{
	int fd = open(o->passfile, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		buf_addf(err, "cannot read passfile %s: %s", o->passfile, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) == 0 && (st.st_mode & 077))
		fprintf(stderr, "%s: warning: passfile %s is open to other users (mode %04o): "
			"chmod 600 it\n", program_invocation_short_name, o->passfile,
			(unsigned)(st.st_mode & 07777));
	struct buf why = BUF_INIT;
	int rc = url_read_secret_line(fd, pw, &why);
	close(fd);
	if (rc < 0)
		buf_addf(err, "cannot read passfile %s: %s", o->passfile, why.data);
	buf_free(&why);
	return rc;
}

static int read_passcmd(const struct url_options *o, struct buf *pw, struct buf *err)
{
	/* the command must not inherit another password either */
	url_forget_env_password();
	/* its output read with read(2): stdio would keep a copy in its buffer */
	FILE *f = popen(o->passcmd, "re");
	if (!f) {
		buf_addf(err, "passcmd failed: %s: %s", o->passcmd, strerror(errno));
		return -1;
	}
	int fd = fileno(f);
	int rc = url_read_secret_line(fd, pw, NULL);
	/* the rest unread, the command could block writing it: pclose waits */
	char rest[256];
	ssize_t n;
	while ((n = read(fd, rest, sizeof rest)) > 0 || (n < 0 && errno == EINTR))
		;
	explicit_bzero(rest, sizeof rest);
	if (pclose(f) != 0 || rc < 0) {
		buf_wipe(pw);
		buf_addf(err, "passcmd failed: %s", o->passcmd);
		return -1;
	}
	return 0;
}

int url_read_password(const struct url_options *o, struct imap_url *u, struct buf *err)
{
	struct buf pw = BUF_INIT;
	int rc = 0;
	if (o->passfile) {
		rc = read_passfile(o, &pw, err);
	} else if (o->passcmd) {
		rc = read_passcmd(o, &pw, err);
	} else if (getenv("IMAPFS_PASSWORD")) {
		const char *v = getenv("IMAPFS_PASSWORD");
		secret_add(&pw, v, strlen(v));
		url_forget_env_password();
	} else {
		buf_addf(err, "no password for %s: give passfile=, passcmd= or set IMAPFS_PASSWORD", u->user);
		return -1;
	}
	if (rc < 0)
		return -1;
	/* a block of its own, even for "" (url_free wipes and frees it) */
	secret_add(&pw, "", 0);
	u->password = buf_detach(&pw, NULL);
	return 0;
}
