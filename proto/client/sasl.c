/* sasl.c: base64 and the client SASL mechanisms as challenge steppers. */
#include "config.h"
#include "sasl.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "xalloc.h"

enum sasl_kind { SASL_PLAIN, SASL_LOGIN, SASL_CRAM_MD5, SASL_XOAUTH2, SASL_OAUTHBEARER };

/* The most of a server's error JSON kept for the log. */
#define SASL_ERROR_MAX 512

static const struct {
	const char *name;
	enum sasl_kind kind;
	bool initial_response;
} sasl_mechs[] = {
	{ "PLAIN", SASL_PLAIN, true },
	{ "LOGIN", SASL_LOGIN, false },
	{ "CRAM-MD5", SASL_CRAM_MD5, false },
	{ "XOAUTH2", SASL_XOAUTH2, true },
	{ "OAUTHBEARER", SASL_OAUTHBEARER, true },
};

struct sasl {
	enum sasl_kind kind;
	const char *name;
	bool initial_response;
	char *user;
	char *secret;
	char *authzid;
	char *host;         /* OAUTHBEARER */
	char *port;
	char *server_error; /* XOAUTH2, OAUTHBEARER: the JSON of a refusal, printable */
	unsigned steps;     /* challenges answered so far */
	bool sent_user;     /* LOGIN */
	bool sent_password; /* LOGIN */
};

static const char sasl_b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void sasl_wipe_str(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void sasl_wipe(struct buf *b)
{
	if (b->cap)
		explicit_bzero(b->data, b->cap);
	buf_free(b);
}

void sasl_base64_encode(struct buf *out, const void *p, size_t n)
{
	const unsigned char *s = p;
	buf_grow(out, (n + 2) / 3 * 4);
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		char q[4] = {
			sasl_b64_alphabet[v >> 18 & 63],
			sasl_b64_alphabet[v >> 12 & 63],
			i + 1 < n ? sasl_b64_alphabet[v >> 6 & 63] : '=',
			i + 2 < n ? sasl_b64_alphabet[v & 63] : '=',
		};
		buf_add(out, q, 4);
	}
}

static int sasl_b64_value(char c)
{
	const char *hit = c ? strchr(sasl_b64_alphabet, c) : NULL;
	return hit ? (int)(hit - sasl_b64_alphabet) : -1;
}

int sasl_base64_decode(struct buf *out, const char *s, size_t n, struct buf *err)
{
	size_t start = out->len;
	if (n % 4 != 0) {
		buf_adderr(err, "invalid base64: length %zu is not a multiple of 4", n);
		return -1;
	}
	buf_grow(out, n / 4 * 3);
	for (size_t i = 0; i < n; i += 4) {
		bool last = i + 4 == n;
		size_t pad = 0;
		if (last && s[i + 3] == '=')
			pad = s[i + 2] == '=' ? 2 : 1;
		int v[4] = { 0, 0, 0, 0 };
		for (size_t k = 0; k < 4 - pad; k++) {
			v[k] = sasl_b64_value(s[i + k]);
			if (v[k] < 0) {
				buf_adderr(err, "invalid base64: %s at offset %zu",
					   s[i + k] == '=' ? "misplaced padding" : "bad character",
					   i + k);
				buf_truncate(out, start);
				return -1;
			}
		}
		/* Non-canonical encodings hide extra bits: refuse them. */
		if ((pad == 2 && (v[1] & 15)) || (pad == 1 && (v[2] & 3))) {
			buf_adderr(err, "invalid base64: non-zero bits in the padding at offset %zu", i);
			buf_truncate(out, start);
			return -1;
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
			     (uint32_t)v[3];
		char b[3] = { (char)(w >> 16), (char)(w >> 8 & 255), (char)(w & 255) };
		buf_add(out, b, 3 - pad);
	}
	return 0;
}

void sasl_plain_response(struct buf *out, const char *authzid, const char *user,
			 const char *password)
{
	if (!authzid)
		authzid = "";
	buf_grow(out, strlen(authzid) + strlen(user) + strlen(password) + 2);
	buf_addstr(out, authzid);
	buf_addch(out, '\0');
	buf_addstr(out, user);
	buf_addch(out, '\0');
	buf_addstr(out, password);
}

int sasl_xoauth2_response(struct buf *out, const char *user, const char *token,
			  struct buf *err)
{
	if (strchr(user, '\001') || strchr(token, '\001')) {
		buf_adderr(err, "XOAUTH2: the user name or token contains a \\001 byte");
		return -1;
	}
	buf_grow(out, strlen(user) + strlen(token) + sizeof "user=\001auth=Bearer \001\001");
	buf_addf(out, "user=%s\001auth=Bearer %s\001\001", user, token);
	return 0;
}

static bool sasl_has_ctrl_a(const char *s)
{
	return s && strchr(s, '\001') != NULL;
}

int sasl_oauthbearer_response(struct buf *out, const char *user, const char *host,
			      const char *port, const char *token, struct buf *err)
{
	if (sasl_has_ctrl_a(user) || sasl_has_ctrl_a(host) || sasl_has_ctrl_a(port) ||
	    sasl_has_ctrl_a(token)) {
		buf_adderr(err, "OAUTHBEARER: the user name, host, port or token contains a \\001 byte");
		return -1;
	}
	/* each user byte may become three (=2C, =3D) */
	buf_grow(out, 3 * strlen(user) + (host ? strlen(host) : 0) + (port ? strlen(port) : 0) +
			      strlen(token) + sizeof "n,a=,\001host=\001port=\001auth=Bearer \001\001");
	buf_addstr(out, "n,a=");
	for (const char *p = user; *p; p++) {
		if (*p == ',')
			buf_addstr(out, "=2C");
		else if (*p == '=')
			buf_addstr(out, "=3D");
		else
			buf_addch(out, *p);
	}
	buf_addstr(out, ",\001");
	if (host && *host)
		buf_addf(out, "host=%s\001", host);
	if (port && *port)
		buf_addf(out, "port=%s\001", port);
	buf_addf(out, "auth=Bearer %s\001\001", token);
	return 0;
}

int sasl_cram_md5_response(struct buf *out, const char *user, const char *password,
			   const void *challenge, size_t len, struct buf *err)
{
	unsigned char digest[16];
	int r = gnutls_hmac_fast(GNUTLS_MAC_MD5, password, strlen(password), challenge, len,
				 digest);
	if (r < 0) {
		buf_adderr(err, "CRAM-MD5: HMAC-MD5 failed: %s", gnutls_strerror(r));
		return -1;
	}
	static const char hex[] = "0123456789abcdef";
	buf_grow(out, strlen(user) + 1 + 2 * sizeof digest);
	buf_addstr(out, user);
	buf_addch(out, ' ');
	for (size_t i = 0; i < sizeof digest; i++) {
		buf_addch(out, hex[digest[i] >> 4]);
		buf_addch(out, hex[digest[i] & 15]);
	}
	explicit_bzero(digest, sizeof digest);
	return 0;
}

struct sasl *sasl_new(const char *mechanism, const char *user, const char *secret,
		      struct buf *err)
{
	if (!mechanism || !user || !secret) {
		buf_adderr(err, "SASL: a mechanism, a user and a secret are required");
		return NULL;
	}
	size_t i = 0;
	while (i < sizeof sasl_mechs / sizeof sasl_mechs[0] &&
	       strcasecmp(mechanism, sasl_mechs[i].name) != 0)
		i++;
	if (i == sizeof sasl_mechs / sizeof sasl_mechs[0]) {
		buf_adderr(err, "SASL mechanism not supported: %s", mechanism);
		return NULL;
	}
	bool oauth = sasl_mechs[i].kind == SASL_XOAUTH2 || sasl_mechs[i].kind == SASL_OAUTHBEARER;
	if (oauth && (sasl_has_ctrl_a(user) || sasl_has_ctrl_a(secret))) {
		buf_adderr(err, "%s: the user name or token contains a \\001 byte", sasl_mechs[i].name);
		return NULL;
	}
	struct sasl *a = xcalloc(1, sizeof *a);
	a->kind = sasl_mechs[i].kind;
	a->name = sasl_mechs[i].name;
	a->initial_response = sasl_mechs[i].initial_response;
	a->user = xstrdup(user);
	a->secret = xstrdup(secret);
	return a;
}

void sasl_set_authzid(struct sasl *a, const char *authzid)
{
	sasl_wipe_str(a->authzid);
	a->authzid = authzid ? xstrdup(authzid) : NULL;
}

void sasl_set_host(struct sasl *a, const char *host, const char *port)
{
	free(a->host);
	free(a->port);
	/* a host or port with \001 would end the key-value list early: left out */
	a->host = host && !sasl_has_ctrl_a(host) ? xstrdup(host) : NULL;
	a->port = port && !sasl_has_ctrl_a(port) ? xstrdup(port) : NULL;
}

const char *sasl_server_error(const struct sasl *a)
{
	return a->server_error;
}

const char *sasl_mechanism(const struct sasl *a)
{
	return a->name;
}

bool sasl_has_initial_response(const struct sasl *a)
{
	return a->initial_response;
}

static bool sasl_mentions(const void *p, size_t len, const char *word)
{
	size_t wl = strlen(word);
	const char *s = p;
	for (size_t i = 0; i + wl <= len; i++) {
		if (strncasecmp(s + i, word, wl) == 0)
			return true;
	}
	return false;
}

/* LOGIN has no standard: servers prompt "Username:" then "Password:" (some
 * say "User Name"); follow the prompt when it is recognisable, else the
 * order, and never answer the same question twice. */
static void sasl_login_step(struct sasl *a, const void *challenge, size_t len, struct buf *resp,
			    bool *cancel)
{
	bool want_password;
	if (sasl_mentions(challenge, len, "pass"))
		want_password = true;
	else if (sasl_mentions(challenge, len, "user"))
		want_password = false;
	else
		want_password = a->sent_user;
	if (want_password ? a->sent_password : a->sent_user) {
		*cancel = true;
		return;
	}
	const char *answer = want_password ? a->secret : a->user;
	buf_grow(resp, strlen(answer));
	buf_addstr(resp, answer);
	if (want_password)
		a->sent_password = true;
	else
		a->sent_user = true;
}

/* The server's refusal, kept printable and short for a log line: it
 * holds no secret of ours, only the server's words. */
static void sasl_keep_error(struct sasl *a, const void *challenge, size_t len)
{
	const unsigned char *p = challenge;
	size_t n = len < SASL_ERROR_MAX ? len : SASL_ERROR_MAX;
	free(a->server_error);
	a->server_error = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++)
		a->server_error[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	a->server_error[n] = '\0';
}

int sasl_step(void *ctx, const void *challenge, size_t len, struct buf *resp, bool *cancel)
{
	struct sasl *a = ctx;
	unsigned step = a->steps++;
	*cancel = false;
	switch (a->kind) {
	case SASL_PLAIN:
		if (step > 0)
			break;
		sasl_plain_response(resp, a->authzid, a->user, a->secret);
		return 0;
	case SASL_LOGIN:
		sasl_login_step(a, challenge, len, resp, cancel);
		return 0;
	case SASL_CRAM_MD5:
		if (step > 0)
			break;
		return sasl_cram_md5_response(resp, a->user, a->secret, challenge, len, NULL);
	case SASL_XOAUTH2:
		/* On failure the server sends a JSON error as a challenge and
		 * expects an empty response before its tagged NO. */
		if (step == 1) {
			sasl_keep_error(a, challenge, len);
			return 0;
		}
		if (step > 1)
			break;
		return sasl_xoauth2_response(resp, a->user, a->secret, NULL);
	case SASL_OAUTHBEARER:
		/* RFC 7628 3.2.3: the error JSON is answered with a lone \001
		 * (a dummy response), and the server then says NO. */
		if (step == 1) {
			sasl_keep_error(a, challenge, len);
			buf_addch(resp, '\001');
			return 0;
		}
		if (step > 1)
			break;
		return sasl_oauthbearer_response(resp, a->user, a->host, a->port, a->secret, NULL);
	}
	*cancel = true;
	return 0;
}

void sasl_free(struct sasl *a)
{
	if (!a)
		return;
	sasl_wipe_str(a->user);
	sasl_wipe_str(a->secret);
	sasl_wipe_str(a->authzid);
	free(a->host);
	free(a->port);
	free(a->server_error);
	free(a);
}
