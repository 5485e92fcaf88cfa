/* connect.c: the client's way in, on the core alone: connect, greeting,
 * STARTTLS, CAPABILITY, LOGIN, ENABLE, LOGOUT.  The imaplib emulation has
 * its own (imap_open*, imap_login...), with imaplib's rules; programs that
 * are not emulating Python use these. */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sasl.h"
#include "session.h"
#include "clock.h"

/* Runs c to its tagged reply.  0 when OK; IMAP_ERROR (NO, BAD) with the
 * server's words in imap_errmsg; IMAP_ABORT.  Frees c. */
static int run(struct imap *s, struct imap_cmd *c, const char *what)
{
	int rc = imap_submit(s, c);
	if (rc == 0)
		rc = imap_wait(s, c);
	if (rc == 0 && !imap_cmd_ok(c))
		rc = imap_fail(s, IMAP_ERROR, "%s: %s %s", what, imap_cmd_status(c), imap_cmd_text(c));
	imap_cmd_free(c);
	return rc;
}

int imap_client_capability(struct imap *s)
{
	int rc = run(s, imap_cmd_new("CAPABILITY"), "CAPABILITY");
	if (rc == 0 && !s->ncaps)
		rc = imap_fail(s, IMAP_ABORT, "the server named no capabilities");
	if (rc == 0 && !imap_has_cap(s, "IMAP4REV1"))
		rc = imap_fail(s, IMAP_ABORT, "the server does not speak IMAP4rev1");
	return rc;
}

static int starttls(struct imap *s, const char *host)
{
	if (!imap_has_cap(s, "STARTTLS"))
		return imap_fail(s, IMAP_ABORT, "the server does not offer STARTTLS");
	int rc = run(s, imap_cmd_new("STARTTLS"), "STARTTLS");
	if (rc < 0) {
		s->broken = true;  /* a link that must become TLS and cannot is done */
		return IMAP_ABORT;
	}
	struct tls_opts tls = s->opts.tls;
	if (!tls.servername)
		tls.servername = host;
	if ((rc = imap_tls_upgrade(s, &tls)) < 0)
		return rc;
	return imap_client_capability(s);
}

/* What is left until deadline for a wait that takes <= 0 as "no limit":
 * -1 when there is no deadline, 0 when it has passed. */
static int ms_left(long long deadline)
{
	if (deadline < 0)
		return -1;
	long long left = deadline - clock_ms();
	return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

static int open_transport(struct transport **t, const struct imap_endpoint *ep,
			  const struct imap_opts *o, long long deadline, struct buf *err)
{
	const char *host = ep->host && *ep->host ? ep->host : "localhost";
	int cancel_fd = o->has_cancel_fd ? o->cancel_fd : -1;
	switch (ep->kind) {
	case IMAP_LINK_COMMAND:
		return transport_spawn(t, ep->command, err);
	case IMAP_LINK_TCP:
		return transport_connect_tcp_or(t, host, ep->port ? ep->port : "143", o->timeout_ms,
						cancel_fd, err);
	case IMAP_LINK_TLS:
		break;
	}
	if (transport_connect_tcp_or(t, host, ep->port ? ep->port : "993", o->timeout_ms, cancel_fd,
				     err) < 0)
		return -1;
	struct tls_opts tls = o->tls;
	if (!tls.servername)
		tls.servername = host;
	int left = ms_left(deadline);
	if (left >= 0 && (tls.timeout_ms <= 0 || left < tls.timeout_ms))
		tls.timeout_ms = left;
	if (left == 0 || transport_start_tls(*t, &tls, err) < 0) {
		if (left == 0)
			buf_adderr(err, "TLS handshake timed out");
		transport_close(*t);
		return -1;
	}
	return 0;
}

int imap_client_open(struct imap **out, const struct imap_endpoint *ep, const struct imap_opts *o,
		     struct buf *err)
{
	return imap_client_dial(out, ep, o, NULL, err);
}

int imap_client_dial(struct imap **out, const struct imap_endpoint *ep, const struct imap_opts *o,
		     bool *answered, struct buf *err)
{
	static const struct imap_opts defaults;
	struct transport *t;
	*out = NULL;
	if (answered)
		*answered = false;
	if (!o)
		o = &defaults;
	/* one deadline for all of it: a server that answers each step just in
	 * time must not make a reconnect last several timeouts */
	long long deadline = o->timeout_ms > 0 ? clock_ms() + o->timeout_ms : -1;
	if (open_transport(&t, ep, o, deadline, err) < 0)
		return IMAP_ABORT;
	struct imap *s = imap_session_new(t, o);
	s->limit = deadline;
	bool must_upgrade = ep->kind == IMAP_LINK_TCP && ep->starttls;
	s->spawned = ep->kind == IMAP_LINK_COMMAND;
	if (must_upgrade)
		s->opts.require_tls = true;
	int rc = imap_session_greet(s);
	if (answered)
		*answered = s->greeting_seen;
	if (rc == 0 && must_upgrade && s->state != IMAP_STATE_NONAUTH)
		rc = imap_fail(s, IMAP_ABORT, "the server's greeting does not allow STARTTLS");
	if (rc == 0 && !s->ncaps)
		rc = imap_client_capability(s);
	else if (rc == 0 && !imap_has_cap(s, "IMAP4REV1"))
		rc = imap_fail(s, IMAP_ABORT, "the server does not speak IMAP4rev1");
	if (rc == 0 && must_upgrade)
		rc = starttls(s, ep->host && *ep->host ? ep->host : "localhost");
	if (rc < 0) {
		buf_addstr(err, s->err.data);
		imap_close(s);
		return rc;
	}
	s->limit = -1;  /* the caller's next steps set their own (imap_set_time_limit) */
	*out = s;
	return IMAP_OK;
}

static int login_command(struct imap *s, const char *user, const char *password)
{
	struct imap_cmd *c = imap_cmd_new("LOGIN");
	if (imap_cmd_add_astring(c, user, strlen(user)) < 0 ||
	    imap_cmd_add_secret(c, password, strlen(password)) < 0) {
		imap_cmd_free(c);
		return imap_fail(s, IMAP_ERROR, "LOGIN: the user name or password holds a NUL byte");
	}
	return run(s, c, "LOGIN");
}

/* One SASL exchange on the wire: each challenge is base64-decoded and
 * given to the mechanism, each answer base64-encoded; anything the
 * mechanism cannot answer (or a challenge that is not base64) is
 * cancelled with "*", and the server then ends the command with BAD/NO. */
static int sasl_reply(void *ctx, struct imap *s, struct imap_cmd *c, const char *text, struct buf *out)
{
	(void)s;
	(void)c;
	struct sasl *a = ctx;
	struct buf challenge = BUF_INIT, resp = BUF_INIT;
	bool cancel = false;
	if (sasl_base64_decode(&challenge, text, strlen(text), NULL) < 0 ||
	    sasl_step(a, challenge.data ? challenge.data : "", challenge.len, &resp, &cancel) < 0)
		cancel = true;
	if (cancel)
		buf_addch(out, '*');
	else
		sasl_base64_encode(out, resp.data, resp.len);
	sasl_wipe(&resp);
	buf_free(&challenge);
	return 0;
}

/* AUTHENTICATE with a's mechanism; the first response goes with the
 * command where the server has SASL-IR (RFC 4959), else after its "+". */
static int sasl_command(struct imap *s, struct sasl *a)
{
	struct buf name = BUF_INIT;
	buf_addf(&name, "AUTHENTICATE %s", sasl_mechanism(a));
	struct imap_cmd *c = imap_cmd_new(name.data);
	int rc = 0;
	if (sasl_has_initial_response(a) && imap_has_cap(s, "SASL-IR")) {
		struct buf resp = BUF_INIT, line = BUF_INIT;
		bool cancel = false;
		if (sasl_step(a, "", 0, &resp, &cancel) < 0 || cancel) {
			rc = imap_fail(s, IMAP_ERROR, "%s: cannot make the response", name.data);
		} else {
			/* "=" is an empty initial response (RFC 4959) */
			if (resp.len)
				sasl_base64_encode(&line, resp.data, resp.len);
			imap_cmd_add(c, " ");
			imap_cmd_add_secret_text(c, resp.len ? line.data : "=");
		}
		sasl_wipe(&resp);
		sasl_wipe(&line);
	}
	if (rc == 0) {
		imap_cmd_on_continuation(c, sasl_reply, a);
		rc = run(s, c, name.data);
	} else {
		imap_cmd_free(c);
	}
	buf_free(&name);
	return rc;
}

/* A password sent where anyone on the path could read it is refused. */
static int check_link_private(struct imap *s)
{
	if (s->opts.allow_plaintext || s->spawned || transport_is_tls(s->t))
		return IMAP_OK;
	return imap_fail(s, IMAP_ERROR, "the connection is not encrypted: no password is sent over it "
			 "(use TLS or STARTTLS, or allow plaintext explicitly)");
}

/* Capabilities change at login; most servers name them in the OK. */
static int logged_in(struct imap *s, unsigned long caps_seen)
{
	s->state = IMAP_STATE_AUTH;
	return s->caps_seen != caps_seen ? IMAP_OK : imap_client_capability(s);
}

int imap_client_authenticate(struct imap *s, const struct imap_auth *auth, struct buf *server_error)
{
	if (s->state != IMAP_STATE_NONAUTH)
		return imap_fail(s, IMAP_ERROR, "AUTHENTICATE: not in the not-authenticated state");
	struct buf cap = BUF_INIT, err = BUF_INIT;
	buf_addf(&cap, "AUTH=%s", auth->mechanism);
	bool offered = imap_has_cap(s, cap.data);
	buf_free(&cap);
	if (!offered)
		return imap_fail(s, IMAP_ERROR, "the server does not offer AUTHENTICATE %s", auth->mechanism);
	int rc = check_link_private(s);
	if (rc < 0)
		return rc;
	struct sasl *a = sasl_new(auth->mechanism, auth->user, auth->secret, &err);
	if (!a) {
		rc = imap_fail(s, IMAP_ERROR, "AUTHENTICATE: %s", err.data);
		buf_free(&err);
		return rc;
	}
	buf_free(&err);
	sasl_set_host(a, auth->host, auth->port);
	unsigned long caps_seen = s->caps_seen;
	rc = sasl_command(s, a);
	if (server_error && sasl_server_error(a))
		buf_set(server_error, sasl_server_error(a), strlen(sasl_server_error(a)));
	sasl_free(a);
	return rc < 0 ? rc : logged_in(s, caps_seen);
}

int imap_client_login(struct imap *s, const char *user, const char *password)
{
	if (s->state != IMAP_STATE_NONAUTH)
		return imap_fail(s, IMAP_ERROR, "LOGIN: not in the not-authenticated state");
	int rc = check_link_private(s);
	if (rc < 0)
		return rc;
	if (imap_has_cap(s, "LOGINDISABLED")) {
		if (!imap_has_cap(s, "AUTH=PLAIN"))
			return imap_fail(s, IMAP_ERROR,
					 "the server allows neither LOGIN nor AUTHENTICATE PLAIN");
		struct imap_auth auth = { .mechanism = "PLAIN", .user = user, .secret = password };
		return imap_client_authenticate(s, &auth, NULL);
	}
	unsigned long caps_seen = s->caps_seen;
	rc = login_command(s, user, password);
	return rc < 0 ? rc : logged_in(s, caps_seen);
}

struct enable_ctx {
	const char *ext;
	bool enabled;
	imap_untagged_fn next;
	void *next_ctx;
};

static void on_enabled(void *ctx, struct imap *s, const struct imap_response *raw,
		       const struct imap_resp *r)
{
	struct enable_ctx *e = ctx;
	if (r && !strcmp(r->name, "ENABLED"))
		for (size_t i = 0; i < r->nargs; i++)
			if (imap_arg_is_atom(&r->args[i], e->ext))
				e->enabled = true;
	if (e->next)
		e->next(e->next_ctx, s, raw, r);
}

int imap_client_enable(struct imap *s, const char *ext, bool *enabled)
{
	*enabled = false;
	if (!imap_has_cap(s, "ENABLE"))
		return IMAP_OK;
	struct enable_ctx e = { ext, false, s->on_untagged, s->untagged_ctx };
	struct buf upper = BUF_INIT;
	for (const char *p = ext; *p; p++)
		buf_addch(&upper, (*p >= 'a' && *p <= 'z') ? (char)(*p - 32) : *p);
	e.ext = upper.data;
	struct imap_cmd *c = imap_cmd_new("ENABLE");
	int rc = imap_cmd_add_astring(c, ext, strlen(ext));
	if (rc < 0) {
		imap_cmd_free(c);
		rc = imap_fail(s, IMAP_ERROR, "ENABLE: not an extension name");
	} else {
		imap_set_untagged_handler(s, on_enabled, &e);
		rc = run(s, c, "ENABLE");
		imap_set_untagged_handler(s, e.next, e.next_ctx);
	}
	*enabled = rc == 0 && e.enabled;
	buf_free(&upper);
	return rc == IMAP_ERROR ? IMAP_OK : rc;
}

int imap_client_compress(struct imap *s)
{
	if (transport_is_compressed(s->t))
		return IMAP_OK;
	if (!imap_has_cap(s, "COMPRESS=DEFLATE"))
		return imap_fail(s, IMAP_ERROR, "the server does not offer COMPRESS=DEFLATE");
	/* the switch is at the byte after the tagged OK both ways: nothing of
	 * ours may be on its way behind the command */
	if (s->cmds || s->out.len)
		return imap_fail(s, IMAP_ERROR, "COMPRESS: other commands are in flight");
	int rc = run(s, imap_cmd_new("COMPRESS DEFLATE"), "COMPRESS");
	if (rc < 0)
		return rc;
	struct buf err = BUF_INIT;
	/* what came behind the OK in the same read is already compressed */
	rc = transport_start_compress(s->t, s->in.data + s->in_off, s->in.len - s->in_off, &err);
	buf_reset(&s->in);
	s->in_off = 0;
	if (rc < 0)
		rc = imap_fail(s, IMAP_ABORT, "%s", err.data);
	else if (s->opts.debug >= 1)
		imap_trace(s, "", "COMPRESS DEFLATE active");
	buf_free(&err);
	return rc;
}

void imap_client_logout(struct imap *s, int timeout_ms)
{
	if (s->broken)
		return;
	imap_set_timeout(s, timeout_ms);
	struct imap_cmd *c = imap_cmd_new("LOGOUT");
	if (imap_submit(s, c) == 0)
		(void)imap_wait(s, c);
	imap_cmd_free(c);
}
