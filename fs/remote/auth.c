/* auth.c: the login of a pool connection: mechanism, secret, one retry. */
#include "config.h"

#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "buf.h"
#include "imap.h"
#include "log.h"
#include "options.h"
#include "remote/auth.h"
#include "remote/secret.h"

static const struct {
	const char *option;
	const char *sasl;
	enum auth_mech mech;
} auth_mechs[] = {
	{ "auto", NULL, AUTH_AUTO },
	{ "plain", "PLAIN", AUTH_PLAIN },
	{ "login", "LOGIN", AUTH_LOGIN },
	{ "cram-md5", "CRAM-MD5", AUTH_CRAM_MD5 },
	{ "xoauth2", "XOAUTH2", AUTH_XOAUTH2 },
	{ "oauthbearer", "OAUTHBEARER", AUTH_OAUTHBEARER },
};

int auth_mech_parse(const char *name, enum auth_mech *out)
{
	for (size_t i = 0; i < sizeof auth_mechs / sizeof auth_mechs[0]; i++) {
		if (!strcasecmp(name, auth_mechs[i].option)) {
			*out = auth_mechs[i].mech;
			return 0;
		}
	}
	return -1;
}

bool auth_mech_is_token(enum auth_mech m)
{
	return m == AUTH_XOAUTH2 || m == AUTH_OAUTHBEARER;
}

static const char *sasl_name(enum auth_mech m)
{
	for (size_t i = 0; i < sizeof auth_mechs / sizeof auth_mechs[0]; i++)
		if (auth_mechs[i].mech == m)
			return auth_mechs[i].sasl;
	return NULL;
}

static const char *auth_option_name(enum auth_mech m)
{
	for (size_t i = 0; i < sizeof auth_mechs / sizeof auth_mechs[0]; i++)
		if (auth_mechs[i].mech == m)
			return auth_mechs[i].option;
	return "?";
}

bool auth_too_many_connections(const char *why)
{
	static const char *const words[] = { "[LIMIT]", "[UNAVAILABLE]", "too many connections",
					     "maximum number of connections", "too many simultaneous" };
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strcasestr(why, words[i]))
			return true;
	return false;
}

/* auto: "" for the LOGIN command (or AUTHENTICATE PLAIN where LOGIN is
 * disabled: imap_client_login decides), else the mechanism; NULL when the
 * server offers no password login we know. */
static const char *auto_mechanism(struct imap *s)
{
	if (!imap_has_cap(s, "LOGINDISABLED") || imap_has_cap(s, "AUTH=PLAIN"))
		return "";
	if (imap_has_cap(s, "AUTH=LOGIN"))
		return "LOGIN";
	if (imap_has_cap(s, "AUTH=CRAM-MD5"))
		return "CRAM-MD5";
	return NULL;
}

/* The server's AUTH= list, for the error that names what it does offer. */
static void offered(struct imap *s, struct buf *out)
{
	size_t n = 0;
	for (size_t i = 0; i < imap_ncaps(s); i++) {
		if (!strncasecmp(imap_cap(s, i), "AUTH=", 5)) {
			buf_addf(out, "%s%s", n++ ? " " : "", imap_cap(s, i) + 5);
		}
	}
	if (!n)
		buf_addstr(out, "none");
}

static bool has_mech(struct imap *s, const char *mech)
{
	struct buf cap = BUF_INIT;
	buf_addf(&cap, "AUTH=%s", mech);
	bool yes = imap_has_cap(s, cap.data);
	buf_free(&cap);
	return yes;
}

static int get_secret(const struct fs_config *cfg, bool fresh, struct buf *out, struct buf *err)
{
	if (cfg->secret)
		return secret_get(cfg->secret, fresh, out, err);
	const char *pw = cfg->url.password ? cfg->url.password : "";
	buf_wipe(out);
	buf_grow(out, strlen(pw) + 1);
	buf_addstr(out, pw);
	return 0;
}

static int attempt(const struct fs_config *cfg, struct imap *s, const char *mech,
		   const struct buf *secret, struct buf *json)
{
	buf_reset(json);
	if (!*mech)
		return imap_client_login(s, cfg->url.user, secret->data);
	struct imap_auth a = { .mechanism = mech, .user = cfg->url.user, .secret = secret->data,
			       .host = cfg->url.host, .port = cfg->url.port };
	return imap_client_authenticate(s, &a, json);
}

/* One more try deserves a secret that may differ: a file or command to
 * read again, a link where the core sends it, a refusal that was not for
 * having too many connections. */
static bool worth_retrying(const struct fs_config *cfg, struct imap *s)
{
	bool private = cfg->command || cfg->tls_none || imap_is_tls(s);
	return private && cfg->secret && secret_renewable(cfg->secret) &&
	       !auth_too_many_connections(imap_errmsg(s));
}

static void refused(const struct fs_config *cfg, struct imap *s, const struct buf *json,
		    struct buf *err)
{
	buf_addf(err, "login as %s refused: %s", cfg->url.user, imap_errmsg(s));
	if (json->len)
		buf_addf(err, " (the server said %s)", json->data);
}

/* After a refusal: the secret read again, and one more attempt unless it
 * is the one just refused (a second failed login for nothing: providers
 * count them, and some lock the account).  IMAP_ABORT when the secret
 * cannot be had (err says why). */
static int retry_fresh(const struct fs_config *cfg, struct imap *s, unsigned idx, const char *mech,
		       struct buf *secret, struct buf *json, struct buf *err)
{
	const char *what = auth_mech_is_token(cfg->auth) ? "token" : "password";
	const char *from = secret_source_name(cfg->secret);
	fs_log(LOG_NOTICE, "imap[%u] login as %s refused: %s%s%s; reading the %s again (%s)", idx,
	       cfg->url.user, imap_errmsg(s), json->len ? " " : "", json->data, what, from);
	struct buf refused_one = *secret;
	buf_init(secret);
	int rc = get_secret(cfg, true, secret, err);
	bool same = rc == 0 && secret->len == refused_one.len &&
		    memcmp(secret->data, refused_one.data, secret->len) == 0;
	buf_wipe(&refused_one);
	if (rc < 0)
		return IMAP_ABORT;
	if (same) {
		fs_log(LOG_ERR, "login as %s refused, and %s gives the same %s again: giving up on this "
		       "connection", cfg->url.user, from, what);
		return IMAP_ERROR;
	}
	rc = attempt(cfg, s, mech, secret, json);
	if (rc == IMAP_ERROR)
		fs_log(LOG_ERR, "login as %s refused again with a %s read afresh from %s: %s%s%s; "
		       "giving up on this connection", cfg->url.user, what, from, imap_errmsg(s),
		       json->len ? " " : "", json->data);
	return rc;
}

int auth_login(const struct fs_config *cfg, struct imap *s, unsigned idx, struct buf *err)
{
	const char *mech = cfg->auth == AUTH_AUTO ? auto_mechanism(s) : sasl_name(cfg->auth);
	struct buf caps = BUF_INIT;
	if (!mech || (*mech && cfg->auth != AUTH_AUTO && !has_mech(s, mech))) {
		offered(s, &caps);
		if (!mech)
			buf_addf(err, "the server offers no password login imapfs knows (it says "
				 "LOGINDISABLED and offers AUTHENTICATE %s)", caps.data);
		else
			buf_addf(err, "auth=%s: the server does not offer AUTHENTICATE %s (it offers: %s)",
				 auth_option_name(cfg->auth), mech, caps.data);
		buf_free(&caps);
		return -1;
	}
	bool token = auth_mech_is_token(cfg->auth);
	struct buf secret = BUF_INIT, json = BUF_INIT;
	/* a token may have been refreshed since the last connection */
	if (get_secret(cfg, token, &secret, err) < 0)
		return -1;
	int rc = attempt(cfg, s, mech, &secret, &json);
	if (rc == IMAP_ERROR && worth_retrying(cfg, s))
		rc = retry_fresh(cfg, s, idx, mech, &secret, &json, err);
	if (rc == IMAP_ERROR)
		refused(cfg, s, &json, err);
	else if (rc < 0 && !err->len)  /* not the server's answer: the connection failed */
		buf_addf(err, "login as %s: %s", cfg->url.user, imap_errmsg(s));
	buf_wipe(&secret);
	buf_free(&json);
	return rc < 0 ? -1 : 0;
}
