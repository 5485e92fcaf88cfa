/* harness_fake.c: the scripted fake IMAP server (see fake.h): starting
 * and finishing it, what the test asks of it while it runs, and the
 * failure messages every part writes.  The script's parsing, the
 * connection and the directives are in harness_fake_script.c,
 * harness_fake_conn.c and harness_fake_steps.c. */
#include "config.h"
#include "fake.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "harness_fake_impl.h"
#include "xalloc.h"

long long fake_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void fake_show(struct buf *out, const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t shown = n > 300 ? 300 : n;
	buf_addch(out, '\'');
	for (size_t i = 0; i < shown; i++) {
		if (s[i] == '\r')
			buf_addstr(out, "\\r");
		else if (s[i] == '\n')
			buf_addstr(out, "\\n");
		else if (s[i] == '\\')
			buf_addstr(out, "\\\\");
		else if (s[i] < 32 || s[i] >= 127)
			buf_addf(out, "\\x%02x", s[i]);
		else
			buf_addch(out, (char)s[i]);
	}
	buf_addch(out, '\'');
	if (shown < n)
		buf_addf(out, "... (%zu bytes)", n);
}

void fake_show_pattern(struct buf *out, const struct fake_step *st)
{
	struct buf flat = BUF_INIT;
	for (size_t i = 0; i < st->npieces; i++) {
		if (st->pieces[i].tag >= 0)
			buf_addf(&flat, "<tag%d>", st->pieces[i].tag);
		else
			buf_add(&flat, st->pieces[i].text.data, st->pieces[i].text.len);
	}
	fake_show(out, flat.data, flat.len);
	buf_free(&flat);
}

/* Records the first failure, prefixed with where the script was. */
int fake_fail(struct fake_server *f, const char *fmt, ...)
{
	if (f->error.len)
		return -1;
	if (f->cur)
		buf_addf(&f->error, "fake server: script line %d: ", f->cur->line);
	else
		buf_addstr(&f->error, "fake server: ");
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&f->error, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---------------- the public side ---------------- */

static int fake_listen(struct fake_server *f, struct buf *err)
{
	int family = f->opts.ipv6 ? AF_INET6 : AF_INET;
	f->listen_fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (f->listen_fd < 0) {
		buf_addf(err, "fake server: socket: %s", strerror(errno));
		return -1;
	}
	if (f->opts.rcvbuf > 0)
		setsockopt(f->listen_fd, SOL_SOCKET, SO_RCVBUF, &f->opts.rcvbuf,
			   sizeof f->opts.rcvbuf);
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	socklen_t len;
	if (f->opts.ipv6) {
		int one = 1;
		setsockopt(f->listen_fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		len = sizeof *a;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof *a;
	}
	if (bind(f->listen_fd, (struct sockaddr *)&ss, len) < 0 || listen(f->listen_fd, 8) < 0 ||
	    getsockname(f->listen_fd, (struct sockaddr *)&ss, &len) < 0) {
		buf_addf(err, "fake server: cannot listen on %s: %s",
			 f->opts.ipv6 ? "::1" : "127.0.0.1", strerror(errno));
		return -1;
	}
	f->port = ntohs(f->opts.ipv6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
				     : ((struct sockaddr_in *)&ss)->sin_port);
	snprintf(f->port_str, sizeof f->port_str, "%d", f->port);
	return 0;
}

static void fake_free(struct fake_server *f)
{
	fake_free_steps(f);
	if (f->cred)
		gnutls_certificate_free_credentials(f->cred);
	if (f->listen_fd >= 0)
		close(f->listen_fd);
	for (int i = 0; i < FAKE_MAX_TAGS; i++)
		buf_free(&f->tags[i]);
	buf_free(&f->in);
	buf_free(&f->error);
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

static bool fake_script_uses_tls(const struct fake_server *f)
{
	if (f->opts.implicit_tls)
		return true;
	for (size_t i = 0; i < f->nsteps; i++) {
		if (f->steps[i].op == FAKE_TLS)
			return true;
	}
	return false;
}

struct fake_server *fake_start(const char *script, const struct fake_opts *o, struct buf *err)
{
	struct fake_server *f = xcalloc(1, sizeof *f);
	if (o)
		f->opts = *o;
	f->listen_fd = -1;
	f->fd = -1;
	buf_init(&f->in);
	buf_init(&f->error);
	for (int i = 0; i < FAKE_MAX_TAGS; i++)
		buf_init(&f->tags[i]);
	pthread_mutex_init(&f->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (f->opts.certs) {
		f->certs = *f->opts.certs;
		f->opts.certs = &f->certs;
	}
	if (fake_parse_script(f, script, err) < 0)
		goto fail;
	if (fake_script_uses_tls(f)) {
		if (!f->opts.certs) {
			buf_addstr(err, "fake server: the script uses TLS but fake_opts.certs is NULL");
			goto fail;
		}
		int r = gnutls_certificate_allocate_credentials(&f->cred);
		if (r >= 0)
			r = gnutls_certificate_set_x509_key_file(f->cred, f->certs.certfile,
								 f->certs.keyfile, GNUTLS_X509_FMT_PEM);
		if (r < 0) {
			buf_addf(err, "fake server: cannot load %s: %s", f->certs.certfile,
				 gnutls_strerror(r));
			goto fail;
		}
	}
	if (fake_listen(f, err) < 0)
		goto fail;
	int r = pthread_create(&f->thread, NULL, fake_main, f);
	if (r != 0) {
		buf_addf(err, "fake server: pthread_create: %s", strerror(r));
		goto fail;
	}
	return f;
fail:
	fake_free(f);
	return NULL;
}

int fake_port(const struct fake_server *f)
{
	return f->port;
}

const char *fake_port_str(const struct fake_server *f)
{
	return f->port_str;
}

void fake_resume(struct fake_server *f)
{
	pthread_mutex_lock(&f->mu);
	f->resumed = true;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

/* Waits (f->mu held) until *flag, or the script ended, or the timeout
 * passed: *flag. */
static bool wait_for_flag(struct fake_server *f, const bool *flag)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += fake_timeout(f) / 1000 + 1;
	while (!*flag && !f->done) {
		if (pthread_cond_timedwait(&f->cv, &f->mu, &until) != 0)
			break;
	}
	return *flag;
}

int fake_wait_paused(struct fake_server *f)
{
	pthread_mutex_lock(&f->mu);
	bool paused = wait_for_flag(f, &f->paused);
	pthread_mutex_unlock(&f->mu);
	return paused ? 0 : -1;
}

int fake_sni(struct fake_server *f, struct buf *out)
{
	pthread_mutex_lock(&f->mu);
	bool ok = wait_for_flag(f, &f->handshaken);
	if (ok)
		buf_addstr(out, f->sni);
	pthread_mutex_unlock(&f->mu);
	return ok ? 0 : -1;
}

int fake_finish(struct fake_server *f, struct buf *err)
{
	pthread_join(f->thread, NULL);
	int r = 0;
	if (f->error.len) {
		if (err)
			buf_add(err, f->error.data, f->error.len);
		r = -1;
	}
	fake_free(f);
	return r;
}
