/* open.c: imaplib's ways in and out: IMAP4, IMAP4_SSL, IMAP4_stream,
 * capability, starttls, login, authenticate, enable, proxyauth, logout. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imaplib_int.h"
#include "xalloc.h"

static int imaplib_get_capabilities(struct imap *s, struct imap_result *r);

struct auth_ctx {
	imap_auth_fn fn;
	void *ctx;
	int failed;
};

static int auth_step(void *ctx, struct imap *s, struct imap_cmd *c, const char *text, struct buf *out)
{
	(void)c;
	struct auth_ctx *a = ctx;
	struct buf challenge = BUF_INIT, resp = BUF_INIT, err = BUF_INIT;
	bool cancel = false;
	int r = 0;
	if (*text && sasl_base64_decode(&challenge, text, strlen(text), &err) < 0) {
		imap_fail(s, IMAP_ERROR, "bad base64 in challenge: %s", err.data);
		r = -1;
	} else if (a->fn(a->ctx, challenge.data, challenge.len, &resp, &cancel) < 0) {
		r = -1;
	} else if (cancel) {
		buf_addch(out, '*');
	} else {
		sasl_base64_encode(out, resp.data, resp.len);
	}
	buf_free(&challenge);
	sasl_wipe(&resp);
	buf_free(&err);
	return r;
}

int imap_authenticate(struct imap *s, const char *mechanism, imap_auth_fn fn, void *ctx,
		      struct imap_result *r)
{
	struct auth_ctx a = { fn, ctx, 0 };
	struct buf mech = BUF_INIT;
	for (const char *p = mechanism; *p; p++)
		buf_addch(&mech, (*p >= 'a' && *p <= 'z') ? (char)(*p - 32) : *p);
	struct py_extra x = { .cont = auth_step, .cont_ctx = &a };
	const char *args[] = { mech.data };
	int rc = imaplib_simple_x(s, "AUTHENTICATE", args, 1, &x, r);
	buf_free(&mech);
	if (rc < 0)
		return rc;
	if (strcmp(r->type, "OK")) {
		const struct imap_item *last = &r->items[r->n - 1];
		return imap_fail(s, IMAP_ERROR, "%s", last->text.data);
	}
	s->state = IMAP_STATE_AUTH;
	return IMAP_OK;
}

int imap_capability(struct imap *s, struct imap_result *r)
{
	return imaplib_simple_untagged(s, "CAPABILITY", NULL, 0, "CAPABILITY", r);
}

int imap_enable(struct imap *s, const char *capability, struct imap_result *r)
{
	if (!imap_has_cap(s, "ENABLE"))
		return imap_fail(s, IMAP_ERROR, "Server does not support ENABLE");
	int rc = SIMPLE(s, "ENABLE", r, capability);
	if (rc == 0 && !strcmp(r->type, "OK") && strcasestr(capability, "UTF8=ACCEPT"))
		s->utf8 = true;
	return rc;
}

/* LOGIN and plaintext SASL would show the password to anyone on the path. */
static int check_plaintext_allowed(struct imap *s, const char *what)
{
	if (imap_has_cap(s, "LOGINDISABLED"))
		return imap_fail(s, IMAP_ERROR, "%s refused: the server advertises LOGINDISABLED", what);
	if (!s->opts.allow_plaintext && !transport_is_tls(s->t) && !imaplib_state_of(s)->stream)
		return imap_fail(s, IMAP_ERROR,
				 "%s refused: the connection is not encrypted (use TLS or STARTTLS, "
				 "or allow plaintext explicitly)", what);
	return IMAP_OK;
}

int imap_login(struct imap *s, const char *user, const char *password, struct imap_result *r)
{
	int rc = check_plaintext_allowed(s, "LOGIN");
	if (rc < 0)
		return rc;
	struct py_extra x = { .secret = password };
	rc = imaplib_simple_x(s, "LOGIN", ARGS(user), 1, &x, r);
	if (rc < 0)
		return rc;
	if (strcmp(r->type, "OK")) {
		struct buf m = BUF_INIT;
		const struct imap_item *last = &r->items[r->n - 1];
		pyrepr_bytes(&m, last->text.data, last->text.len);
		rc = imap_fail(s, IMAP_ERROR, "%s", m.data);
		buf_free(&m);
		return rc;
	}
	s->state = IMAP_STATE_AUTH;
	return IMAP_OK;
}

struct cram_ctx {
	const char *user;
	const char *password;
};

static int cram_step(void *ctx, const void *challenge, size_t len, struct buf *resp, bool *cancel)
{
	struct cram_ctx *c = ctx;
	(void)cancel;
	return sasl_cram_md5_response(resp, c->user, c->password, challenge, len, NULL);
}

int imap_login_cram_md5(struct imap *s, const char *user, const char *password,
			struct imap_result *r)
{
	struct cram_ctx c = { user, password };
	return imap_authenticate(s, "CRAM-MD5", cram_step, &c, r);
}

int imap_logout(struct imap *s, struct imap_result *r)
{
	s->state = IMAP_STATE_LOGOUT;
	int rc = imaplib_simple(s, "LOGOUT", NULL, 0, r);
	imap_shutdown(s);
	return rc;
}

int imap_proxyauth(struct imap *s, const char *user, struct imap_result *r)
{
	return SIMPLE(s, "PROXYAUTH", r, user);
}

int imap_starttls(struct imap *s, const struct tls_opts *o, struct imap_result *r)
{
	struct imaplib_state *py = imaplib_state_of(s);
	if (py->tls_established || transport_is_tls(s->t))
		return imap_fail(s, IMAP_ABORT, "TLS session already established");
	if (!imap_has_cap(s, "STARTTLS"))
		return imap_fail(s, IMAP_ABORT, "TLS not supported by server");
	int rc = imaplib_simple(s, "STARTTLS", NULL, 0, r);
	if (rc < 0)
		return rc;
	if (strcmp(r->type, "OK"))
		return imap_fail(s, IMAP_ERROR, "Couldn't establish TLS session");
	struct tls_opts tls = o ? *o : s->opts.tls;
	if (!tls.servername)
		tls.servername = py->host;
	if ((rc = imap_tls_upgrade(s, &tls)) < 0)
		return rc;
	py->tls_established = true;
	struct imap_result caps = { .n = 0 };
	rc = imaplib_get_capabilities(s, &caps);
	imap_result_free(&caps);
	if (rc < 0)
		return rc;
	imaplib_untagged(s, r, "STARTTLS");
	return IMAP_OK;
}

static int imaplib_get_capabilities(struct imap *s, struct imap_result *r)
{
	int rc = imap_capability(s, r);
	if (rc < 0)
		return rc;
	if (r->n == 1 && r->items[0].none)
		return imap_fail(s, IMAP_ERROR, "no CAPABILITY response from server");
	/* dat[-1].upper().split() */
	struct imaplib_state *py = imaplib_state_of(s);
	for (size_t i = 0; i < py->ncaps; i++)
		free(py->caps[i]);
	py->ncaps = 0;
	const struct buf *last = &r->items[r->n - 1].text;
	for (size_t i = 0; i < last->len;) {
		while (i < last->len && (last->data[i] == ' ' || last->data[i] == '\t'))
			i++;
		size_t j = i;
		while (j < last->len && last->data[j] != ' ' && last->data[j] != '\t')
			j++;
		if (j > i) {
			py->caps = xrealloc(py->caps, (py->ncaps + 1) * sizeof *py->caps);
			char *c = xmemdup(last->data + i, j - i);
			for (char *q = c; *q; q++)
				if (*q >= 'a' && *q <= 'z')
					*q = (char)(*q - 32);
			py->caps[py->ncaps++] = c;
		}
		i = j;
	}
	return IMAP_OK;
}

size_t imaplib_ncaps(const struct imap *s)
{
	return imaplib_state_of(s) ? imaplib_state_of(s)->ncaps : 0;
}

const char *imaplib_cap(const struct imap *s, size_t i)
{
	return imaplib_state_of(s) && i < imaplib_state_of(s)->ncaps ? imaplib_state_of(s)->caps[i] : NULL;
}

static int py_connect(struct imap **out, struct transport *t, const char *host,
		      const struct imap_opts *o, struct buf *err)
{
	struct imap *s = imap_session_new(t, o);
	struct imaplib_state *py = xcalloc(1, sizeof *py);
	buf_init(&py->tagged_text);
	py->host = host ? xstrdup(host) : NULL;
	imaplib_attach(s, py);
	struct imap_result caps = { .n = 0 };
	/* The core decides the greeting and the state; imaplib's message for
	 * a greeting it does not take is the greeting itself. */
	int rc = imap_session_greet(s);
	if (rc == IMAP_ERROR) {
		struct buf m = BUF_INIT;
		pyrepr_bytes(&m, s->welcome.data, s->welcome.len);
		rc = imap_fail(s, IMAP_ERROR, "%s", m.data);
		buf_free(&m);
	}
	if (rc == 0 && py->abort_msg)
		rc = imap_fail(s, IMAP_ABORT, "%s", py->abort_msg);
	if (rc == 0)
		rc = imaplib_get_capabilities(s, &caps);
	imap_result_free(&caps);
	if (rc == 0) {
		if (imap_has_cap(s, "IMAP4REV1"))
			s->protocol_version = xstrdup("IMAP4REV1");
		else if (imap_has_cap(s, "IMAP4"))
			s->protocol_version = xstrdup("IMAP4");
		else
			rc = imap_fail(s, IMAP_ERROR, "server not IMAP4 compliant");
	}
	if (rc < 0) {
		buf_addstr(err, s->err.data);
		imap_close(s);
		*out = NULL;
		return rc;
	}
	*out = s;
	return IMAP_OK;
}

static int connect_tcp(struct transport **t, const char *host, const char *port,
		       const struct imap_opts *o, struct buf *err)
{
	if (transport_connect_tcp(t, host && *host ? host : "localhost", port,
				  o ? o->timeout_ms : 0, err) < 0)
		return IMAP_ABORT;
	return IMAP_OK;
}

int imap_open(struct imap **out, const char *host, const char *port, const struct imap_opts *o,
	      struct buf *err)
{
	struct transport *t;
	*out = NULL;
	if (connect_tcp(&t, host, port ? port : "143", o, err) < 0)
		return IMAP_ABORT;
	return py_connect(out, t, host, o, err);
}

int imap_open_ssl(struct imap **out, const char *host, const char *port,
		  const struct imap_opts *o, struct buf *err)
{
	struct transport *t;
	*out = NULL;
	if (connect_tcp(&t, host, port ? port : "993", o, err) < 0)
		return IMAP_ABORT;
	struct tls_opts tls = { .servername = NULL };
	if (o)
		tls = o->tls;
	if (!tls.servername)
		tls.servername = host && *host ? host : "localhost";
	if (!tls.timeout_ms && o)
		tls.timeout_ms = o->timeout_ms;
	if (transport_start_tls(t, &tls, err) < 0) {
		transport_close(t);
		return IMAP_ABORT;
	}
	return py_connect(out, t, host, o, err);
}

int imap_open_stream(struct imap **out, const char *command, const struct imap_opts *o,
		     struct buf *err)
{
	struct transport *t;
	*out = NULL;
	if (transport_spawn(&t, command, err) < 0)
		return IMAP_ABORT;
	int rc = py_connect(out, t, NULL, o, err);
	if (rc == 0)
		imaplib_state_of(*out)->stream = true;
	return rc;
}
