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

/* A password sent where anyone on the path could read it is refused. */
static int check_link_private(struct imap *s)
{
	if (s->opts.allow_plaintext || s->spawned || transport_is_tls(s->t))
		return IMAP_OK;
	return imap_fail(s, IMAP_ERROR, "the connection is not encrypted: no password is sent over it "
			 "(use TLS or STARTTLS, or allow plaintext explicitly)");
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

struct one_reply {
	const struct buf *line;
	bool sent;
};

/* The response goes with the first continuation; a second one means the
 * server wants more than PLAIN has: cancel. */
static int reply_once(void *ctx, struct imap *s, struct imap_cmd *c, const char *text, struct buf *out)
{
	(void)s;
	(void)c;
	(void)text;
	struct one_reply *o = ctx;
	buf_add(out, o->sent ? "*" : o->line->data, o->sent ? 1 : o->line->len);
	o->sent = true;
	return 0;
}

/* AUTHENTICATE PLAIN, for servers that say LOGINDISABLED. */
static int plain_command(struct imap *s, const char *user, const char *password)
{
	struct buf err = BUF_INIT;
	struct sasl *a = sasl_new("PLAIN", user, password, &err);
	if (!a) {
		int rc = imap_fail(s, IMAP_ERROR, "AUTHENTICATE PLAIN: %s", err.data);
		buf_free(&err);
		return rc;
	}
	buf_free(&err);
	struct imap_cmd *c = imap_cmd_new("AUTHENTICATE PLAIN");
	struct buf resp = BUF_INIT, line = BUF_INIT;
	bool cancel = false;
	int rc;
	if (sasl_step(a, "", 0, &resp, &cancel) < 0 || cancel) {
		imap_cmd_free(c);
		rc = imap_fail(s, IMAP_ERROR, "AUTHENTICATE PLAIN: cannot make the response");
	} else if (imap_has_cap(s, "SASL-IR")) {
		sasl_base64_encode(&line, resp.data, resp.len);
		imap_cmd_add(c, " ");
		imap_cmd_add_secret_text(c, line.data);
		rc = run(s, c, "AUTHENTICATE PLAIN");
	} else {
		sasl_base64_encode(&line, resp.data, resp.len);
		struct one_reply once = { &line, false };
		imap_cmd_on_continuation(c, reply_once, &once);
		rc = run(s, c, "AUTHENTICATE PLAIN");
	}
	sasl_wipe(&resp);
	sasl_wipe(&line);
	sasl_free(a);
	return rc;
}

int imap_client_login(struct imap *s, const char *user, const char *password)
{
	if (s->state != IMAP_STATE_NONAUTH)
		return imap_fail(s, IMAP_ERROR, "LOGIN: not in the not-authenticated state");
	int rc = check_link_private(s);
	if (rc < 0)
		return rc;
	unsigned long caps_seen = s->caps_seen;
	if (!imap_has_cap(s, "LOGINDISABLED"))
		rc = login_command(s, user, password);
	else if (imap_has_cap(s, "AUTH=PLAIN"))
		rc = plain_command(s, user, password);
	else
		rc = imap_fail(s, IMAP_ERROR, "the server allows neither LOGIN nor AUTHENTICATE PLAIN");
	if (rc < 0)
		return rc;
	s->state = IMAP_STATE_AUTH;
	/* capabilities change at login; most servers name them in the OK */
	return s->caps_seen != caps_seen ? IMAP_OK : imap_client_capability(s);
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
