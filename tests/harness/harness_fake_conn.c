/* harness_fake_conn.c: the fake server's one connection, plain or TLS, on
 * the script thread.  Every wait is bounded by the server's timeout, so a
 * client that stops talking fails the script with what was awaited rather
 * than hanging the test. */
#include "config.h"

#include <errno.h>
#include <gnutls/gnutls.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "harness_fake_impl.h"

int fake_timeout(const struct fake_server *f)
{
	return f->opts.timeout_ms > 0 ? f->opts.timeout_ms : FAKE_DEFAULT_TIMEOUT_MS;
}

/* 1 ready, 0 timed out, -1 error. */
static int fake_poll(int fd, short events, long long deadline)
{
	for (;;) {
		long long left = deadline - fake_now_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = { .fd = fd, .events = events };
		int r = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

void fake_conn_close(struct fake_server *f, bool bye)
{
	if (f->tls) {
		if (bye) {
			long long deadline = fake_now_ms() + 500;
			int r;
			while ((r = gnutls_bye(f->tls, GNUTLS_SHUT_WR)) == GNUTLS_E_AGAIN &&
			       fake_poll(f->fd, POLLOUT, deadline) == 1)
				;
		}
		gnutls_deinit(f->tls);
		f->tls = NULL;
	}
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	buf_reset(&f->in);
}

int fake_need_conn(struct fake_server *f)
{
	return f->fd >= 0 ? 0 : fake_fail(f, "the connection is already closed");
}

/* Reads more into f->in.  >0 bytes added, 0 end of stream, -1 failure.
 * A reset counts as end of stream: a client that closes with our output
 * unread resets the connection, and that is still a close. */
int fake_fill(struct fake_server *f, const char *awaiting)
{
	if (fake_need_conn(f) < 0)
		return -1;
	long long deadline = fake_now_ms() + fake_timeout(f);
	char tmp[FAKE_CHUNK];
	for (;;) {
		ssize_t r;
		short ev = POLLIN;
		if (f->tls) {
			r = gnutls_record_recv(f->tls, tmp, sizeof tmp);
			if (r == GNUTLS_E_PREMATURE_TERMINATION || r == GNUTLS_E_PULL_ERROR)
				r = 0;
			if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
				ev = gnutls_record_get_direction(f->tls) ? POLLOUT : POLLIN;
			} else if (r < 0 && gnutls_error_is_fatal((int)r)) {
				return fake_fail(f, "TLS read failed while awaiting %s: %s", awaiting,
						 gnutls_strerror((int)r));
			} else if (r < 0) {
				continue;
			}
		} else {
			r = recv(f->fd, tmp, sizeof tmp, 0);
			if (r < 0 && errno == ECONNRESET)
				r = 0;
			if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return fake_fail(f, "read failed while awaiting %s: %s", awaiting,
						 strerror(errno));
		}
		if (r >= 0) {
			buf_add(&f->in, tmp, (size_t)r);
			return (int)(r > 0);
		}
		int w = fake_poll(f->fd, ev, deadline);
		if (w == 0)
			return fake_fail(f, "timed out after %d ms awaiting %s", fake_timeout(f),
					 awaiting);
		if (w < 0)
			return fake_fail(f, "poll failed: %s", strerror(errno));
	}
}

int fake_send(struct fake_server *f, const void *p, size_t n)
{
	if (fake_need_conn(f) < 0)
		return -1;
	const char *s = p;
	long long deadline = fake_now_ms() + fake_timeout(f);
	while (n > 0) {
		ssize_t r;
		short ev = POLLOUT;
		if (f->tls) {
			r = gnutls_record_send(f->tls, s, n);
			if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
				ev = gnutls_record_get_direction(f->tls) ? POLLOUT : POLLIN;
				r = -1;
			} else if (r < 0) {
				return fake_fail(f, "TLS write failed: %s", gnutls_strerror((int)r));
			}
		} else {
			r = send(f->fd, s, n, MSG_NOSIGNAL);
			if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return fake_fail(f, "write failed: %s", strerror(errno));
		}
		if (r > 0) {
			s += r;
			n -= (size_t)r;
			deadline = fake_now_ms() + fake_timeout(f);
			continue;
		}
		int w = fake_poll(f->fd, ev, deadline);
		if (w == 0)
			return fake_fail(f, "timed out after %d ms writing (the client does not read)",
					 fake_timeout(f));
		if (w < 0)
			return fake_fail(f, "poll failed: %s", strerror(errno));
	}
	return 0;
}

int fake_handshake(struct fake_server *f)
{
	if (fake_need_conn(f) < 0)
		return -1;
	if (!f->cred)
		return fake_fail(f, "TLS without certificates (fake_opts.certs)");
	if (f->in.len) {
		struct buf shown = BUF_INIT;
		fake_show(&shown, f->in.data, f->in.len);
		fake_fail(f, "the client sent data before the TLS handshake: %s", shown.data);
		buf_free(&shown);
		return -1;
	}
	int r = gnutls_init(&f->tls, GNUTLS_SERVER | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL);
	if (r < 0) {
		f->tls = NULL;
		return fake_fail(f, "gnutls_init: %s", gnutls_strerror(r));
	}
	gnutls_set_default_priority(f->tls);
	gnutls_credentials_set(f->tls, GNUTLS_CRD_CERTIFICATE, f->cred);
	gnutls_certificate_server_set_request(f->tls, GNUTLS_CERT_IGNORE);
	gnutls_transport_set_int(f->tls, f->fd);
	long long deadline = fake_now_ms() + fake_timeout(f);
	while ((r = gnutls_handshake(f->tls)) < 0) {
		if (r != GNUTLS_E_AGAIN && r != GNUTLS_E_INTERRUPTED && gnutls_error_is_fatal(r))
			return fake_fail(f, "TLS handshake failed: %s", gnutls_strerror(r));
		short ev = gnutls_record_get_direction(f->tls) ? POLLOUT : POLLIN;
		if (r == GNUTLS_E_AGAIN && fake_poll(f->fd, ev, deadline) != 1)
			return fake_fail(f, "TLS handshake timed out");
	}
	char name[256] = "";
	size_t len = sizeof name - 1;
	unsigned type = 0;
	if (gnutls_server_name_get(f->tls, name, &len, &type, 0) != 0 || type != GNUTLS_NAME_DNS)
		name[0] = '\0';
	name[sizeof name - 1] = '\0';
	pthread_mutex_lock(&f->mu);
	memcpy(f->sni, name, sizeof name);
	f->handshaken = true;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	return 0;
}

int fake_accept(struct fake_server *f)
{
	fake_conn_close(f, false);
	if (fake_poll(f->listen_fd, POLLIN, fake_now_ms() + fake_timeout(f)) != 1)
		return fake_fail(f, "timed out after %d ms waiting for a client to connect",
				 fake_timeout(f));
	f->fd = accept4(f->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (f->fd < 0)
		return fake_fail(f, "accept failed: %s", strerror(errno));
	if (f->opts.implicit_tls)
		return fake_handshake(f);
	return 0;
}
