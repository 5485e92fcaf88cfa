/* tls.c: the GnuTLS client side of a TLS transport: credentials, handshake
 * with verification, and non-blocking record I/O. */
#include "config.h"
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xalloc.h"
#include "transport.h"
#include "clock.h"

/* NORMAL minus the protocol versions that RFC 8996 retired. */
#define TLS_PRIORITY "NORMAL:-VERS-TLS1.1:-VERS-TLS1.0"
#define TLS_MAX_NAME 255

struct tls_conn {
	gnutls_session_t session;
	gnutls_certificate_credentials_t cred;
	int fd;
	/* A record that gnutls_record_send accepted but could not finish
	 * sending: the same bytes must come back in the next write. */
	char *again_data;
	size_t again_len;
	struct buf desc;
};

/* Waits for fd until the deadline (< 0: none) or until cancel_fd (>= 0)
 * is readable.  1 ready, 0 timeout, 2 cancelled, -1 error. */
static int tls_wait_fd(int fd, short events, long long deadline, int cancel_fd)
{
	for (;;) {
		int ms = -1;
		if (deadline >= 0) {
			long long left = deadline - clock_ms();
			if (left <= 0)
				return 0;
			ms = left > 1000000 ? 1000000 : (int)left;
		}
		struct pollfd p[2] = { { .fd = fd, .events = events },
				       { .fd = cancel_fd, .events = POLLIN } };
		int r = poll(p, cancel_fd >= 0 ? 2 : 1, ms);
		if (r > 0 && cancel_fd >= 0 && p[1].revents)
			return 2;
		if (r > 0)
			return 1;
		if (r == 0 && deadline >= 0)
			continue; /* re-check the clock: poll may wake a little early */
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

static bool tls_is_ip_literal(const char *s)
{
	unsigned char a[16];
	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

/* The reasons in a verification status, most telling first. */
static void tls_describe_status(struct buf *out, unsigned status, gnutls_certificate_type_t type)
{
	static const struct {
		unsigned bit;
		const char *text;
	} reasons[] = {
		{ GNUTLS_CERT_SIGNER_NOT_FOUND, "signer not found" },
		{ GNUTLS_CERT_UNEXPECTED_OWNER, "hostname mismatch" },
		{ GNUTLS_CERT_EXPIRED, "expired" },
		{ GNUTLS_CERT_NOT_ACTIVATED, "not yet valid" },
		{ GNUTLS_CERT_REVOKED, "revoked" },
		{ GNUTLS_CERT_SIGNER_NOT_CA, "signer is not a CA" },
		{ GNUTLS_CERT_INSECURE_ALGORITHM, "insecure algorithm" },
		{ GNUTLS_CERT_SIGNATURE_FAILURE, "bad signature" },
		{ GNUTLS_CERT_PURPOSE_MISMATCH, "not meant for a TLS server" },
		{ GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE, "signer constraints violated" },
	};
	size_t before = out->len;
	for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++) {
		if (status & reasons[i].bit)
			buf_addf(out, "%s%s", out->len > before ? ", " : "", reasons[i].text);
	}
	if (out->len == before) {
		gnutls_datum_t text = { NULL, 0 };
		if (gnutls_certificate_verification_status_print(status, type, &text, 0) == 0 &&
		    text.data) {
			buf_add(out, text.data, text.size);
			gnutls_free(text.data);
		} else {
			buf_addstr(out, "invalid certificate");
		}
	}
}

static int tls_load_credentials(struct tls_conn *c, const struct tls_opts *o, struct buf *err)
{
	int r = gnutls_certificate_allocate_credentials(&c->cred);
	if (r < 0) {
		buf_adderr(err, "TLS setup failed: %s", gnutls_strerror(r));
		return -1;
	}
	if (o->cafile) {
		r = gnutls_certificate_set_x509_trust_file(c->cred, o->cafile, GNUTLS_X509_FMT_PEM);
		if (r <= 0) {
			buf_adderr(err, "cannot load CA file %s: %s", o->cafile,
				   r == 0 ? "no certificate in it" : gnutls_strerror(r));
			return -1;
		}
	} else if (!o->insecure) {
		r = gnutls_certificate_set_x509_system_trust(c->cred);
		if (r <= 0) {
			buf_adderr(err, "cannot load the system trust store: %s",
				   r == 0 ? "no certificates found" : gnutls_strerror(r));
			return -1;
		}
	}
	if (!o->certfile != !o->keyfile) {
		buf_adderr(err, "a client certificate needs both a certificate and a key file");
		return -1;
	}
	if (o->certfile) {
		r = gnutls_certificate_set_x509_key_file(c->cred, o->certfile, o->keyfile,
							 GNUTLS_X509_FMT_PEM);
		if (r < 0) {
			buf_adderr(err, "cannot load client certificate %s / key %s: %s", o->certfile,
				   o->keyfile, gnutls_strerror(r));
			return -1;
		}
	}
	return 0;
}

static int tls_setup_session(struct tls_conn *c, const struct tls_opts *o, const char *name,
			     struct buf *err)
{
	int r = gnutls_init(&c->session, GNUTLS_CLIENT | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL);
	if (r < 0) {
		c->session = NULL;
		buf_adderr(err, "TLS setup failed: %s", gnutls_strerror(r));
		return -1;
	}
	const char *where = NULL;
	r = gnutls_priority_set_direct(c->session, TLS_PRIORITY, &where);
	if (r >= 0)
		r = gnutls_credentials_set(c->session, GNUTLS_CRD_CERTIFICATE, c->cred);
	/* SNI carries host names only (RFC 6066 section 3). */
	if (r >= 0 && name && *name && !tls_is_ip_literal(name))
		r = gnutls_server_name_set(c->session, GNUTLS_NAME_DNS, name, strlen(name));
	if (r < 0) {
		buf_adderr(err, "TLS setup failed: %s", gnutls_strerror(r));
		return -1;
	}
	/* For an IP address GnuTLS matches the certificate's IP SANs. */
	if (!o->insecure)
		gnutls_session_set_verify_cert(c->session, name, 0);
	gnutls_transport_set_int(c->session, c->fd);
	return 0;
}

static int tls_run_handshake(struct tls_conn *c, const char *name, int timeout_ms, int cancel_fd,
			     struct buf *err)
{
	long long deadline = timeout_ms > 0 ? clock_ms() + timeout_ms : -1;
	for (;;) {
		int r = gnutls_handshake(c->session);
		if (r == GNUTLS_E_SUCCESS)
			return 0;
		if (r < 0 && r != GNUTLS_E_AGAIN && !gnutls_error_is_fatal(r)) {
			/* a warning alert or an interrupted call: go on unless out of time */
			if (deadline >= 0 && clock_ms() >= deadline) {
				buf_adderr(err, "TLS handshake timed out");
				return -1;
			}
			continue;
		}
		if (r == GNUTLS_E_AGAIN) {
			short ev = gnutls_record_get_direction(c->session) ? POLLOUT : POLLIN;
			int w = tls_wait_fd(c->fd, ev, deadline, cancel_fd);
			if (w == 0) {
				buf_adderr(err, "TLS handshake timed out");
				return -1;
			}
			if (w == 2) {
				buf_adderr(err, "TLS handshake interrupted");
				return -1;
			}
			if (w < 0) {
				buf_adderr(err, "TLS handshake failed: %s", strerror(errno));
				return -1;
			}
			continue;
		}
		if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
			struct buf why = BUF_INIT;
			tls_describe_status(&why, gnutls_session_get_verify_cert_status(c->session),
					    gnutls_certificate_type_get(c->session));
			buf_adderr(err, "certificate verify failed for %s: %s", name ? name : "?",
				   why.data);
			buf_free(&why);
		} else if (r == GNUTLS_E_FATAL_ALERT_RECEIVED) {
			buf_adderr(err, "TLS handshake failed: the server sent alert: %s",
				   gnutls_alert_get_name(gnutls_alert_get(c->session)));
		} else if (r == GNUTLS_E_PREMATURE_TERMINATION || r == GNUTLS_E_PULL_ERROR ||
			   r == GNUTLS_E_PUSH_ERROR) {
			buf_adderr(err, "TLS handshake failed: the connection was closed (%s)",
				   gnutls_strerror(r));
		} else {
			buf_adderr(err, "TLS handshake failed: %s", gnutls_strerror(r));
		}
		return -1;
	}
}

static void tls_build_description(struct tls_conn *c, const struct tls_opts *o)
{
	char *d = gnutls_session_get_desc(c->session);
	buf_addstr(&c->desc, d ? d : "TLS");
	gnutls_free(d);
	buf_addstr(&c->desc, o->insecure ? ", NOT verified (insecure)" : ", verified");
}

int tls_conn_handshake(struct tls_conn **out, int fd, const char *connect_host,
		       const struct tls_opts *o, int timeout_ms, int cancel_fd, struct buf *err)
{
	static const struct tls_opts defaults;
	if (!o)
		o = &defaults;
	*out = NULL;
	const char *name = o->servername ? o->servername : connect_host;
	if (!o->insecure && (!name || !*name)) {
		buf_adderr(err, "TLS: no server name to verify the certificate against");
		return -1;
	}
	if (name && strlen(name) > TLS_MAX_NAME) {
		buf_adderr(err, "TLS: server name too long");
		return -1;
	}
	struct tls_conn *c = xcalloc(1, sizeof *c);
	c->fd = fd;
	buf_init(&c->desc);
	if (tls_load_credentials(c, o, err) < 0 || tls_setup_session(c, o, name, err) < 0 ||
	    tls_run_handshake(c, name, timeout_ms, cancel_fd, err) < 0) {
		tls_conn_free(c);
		return -1;
	}
	tls_build_description(c, o);
	*out = c;
	return 0;
}

ssize_t tls_conn_read(struct tls_conn *c, void *p, size_t n, bool *eof, struct buf *err)
{
	*eof = false;
	if (n == 0)
		return 0;
	ssize_t r = gnutls_record_recv(c->session, p, n);
	if (r > 0)
		return r;
	if (r == 0 || r == GNUTLS_E_PREMATURE_TERMINATION) {
		*eof = true;
		buf_adderr(err, "connection closed by server");
		return -1;
	}
	if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
		return 0;
	/* A TLS 1.2 server asking to renegotiate: we never do; say so
	 * (best effort) and carry on. */
	if (r == GNUTLS_E_REHANDSHAKE) {
		gnutls_alert_send(c->session, GNUTLS_AL_WARNING, GNUTLS_A_NO_RENEGOTIATION);
		return 0;
	}
	if (!gnutls_error_is_fatal((int)r))
		return 0;
	buf_adderr(err, "TLS read failed: %s", gnutls_strerror((int)r));
	return -1;
}

ssize_t tls_conn_write(struct tls_conn *c, const void *p, size_t n, struct buf *err)
{
	if (c->again_len) {
		if (n < c->again_len || memcmp(p, c->again_data, c->again_len) != 0) {
			buf_adderr(err, "TLS write resumed with different data (internal error)");
			return -1;
		}
		n = c->again_len;
	} else {
		if (n == 0)
			return 0;
		size_t max = gnutls_record_get_max_size(c->session);
		if (max && n > max)
			n = max; /* one record per call, so we know what was committed */
	}
	ssize_t r = gnutls_record_send(c->session, p, n);
	if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
		if (!c->again_len) {
			c->again_data = xmemdup(p, n);
			c->again_len = n;
		}
		return 0;
	}
	if (c->again_len) {
		free(c->again_data);
		c->again_data = NULL;
		c->again_len = 0;
	}
	if (r < 0) {
		buf_adderr(err, "TLS write failed: %s", gnutls_strerror((int)r));
		return -1;
	}
	return r;
}

size_t tls_conn_pending(struct tls_conn *c)
{
	return gnutls_record_check_pending(c->session);
}

void tls_conn_bye(struct tls_conn *c, int timeout_ms)
{
	long long deadline = clock_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	for (;;) {
		int r = gnutls_bye(c->session, GNUTLS_SHUT_WR);
		if (r != GNUTLS_E_AGAIN && r != GNUTLS_E_INTERRUPTED)
			return;
		if (tls_wait_fd(c->fd, POLLOUT, deadline, -1) != 1)
			return;
	}
}

void tls_conn_free(struct tls_conn *c)
{
	if (!c)
		return;
	if (c->session)
		gnutls_deinit(c->session);
	if (c->cred)
		gnutls_certificate_free_credentials(c->cred);
	free(c->again_data);
	buf_free(&c->desc);
	free(c);
}

const char *tls_conn_describe(const struct tls_conn *c)
{
	return c->desc.data;
}
