/* auth.h: logging a pool connection in as the mount asked (-o auth=), with
 * the password or token of remote/secret.h.
 *
 * auto (the default) logs in with the password by the means every
 * IMAP4rev1 server has: LOGIN, unless the server says LOGINDISABLED, then
 * AUTHENTICATE PLAIN, LOGIN or CRAM-MD5 as offered.  LOGIN stays first
 * because it is what imapfs always did with Dovecot, Cyrus and the rest,
 * and over TLS it shows the server no more than PLAIN does.  A named
 * mechanism is used as it is, and one the server does not advertise is an
 * error.  A password never goes over an unencrypted network link (the
 * core refuses) unless tls=none.
 *
 * Secrets per connection: a token (xoauth2, oauthbearer) is read again
 * (passfile) or its command run again (passcmd) for every new connection,
 * so a token an outside helper refreshed is used without remounting; a
 * password is read once and again only after a refusal.  A refused login
 * is retried once on the same connection with a secret read afresh (not
 * when that is the one just refused: providers count failed logins); a
 * second refusal is logged (with the server's error JSON, never the
 * token) and fails the connection, which the pool then treats as offline
 * (its backoff paces the next attempt): never a loop.
 *
 * Errors: -1 with a one-line reason in err. */
#ifndef IMAPFS_AUTH_H
#define IMAPFS_AUTH_H

#include <stdbool.h>

struct buf;
struct fs_config;
struct imap;

enum auth_mech { AUTH_AUTO, AUTH_PLAIN, AUTH_LOGIN, AUTH_CRAM_MD5, AUTH_XOAUTH2, AUTH_OAUTHBEARER };

/* "plain", "login", "cram-md5", "xoauth2", "oauthbearer" or "auto"
 * (any case); -1 for anything else. */
int auth_mech_parse(const char *name, enum auth_mech *out);
/* True for the mechanisms that carry an OAuth 2 token. */
bool auth_mech_is_token(enum auth_mech m);
/* Logs s in (NONAUTH: the greeting was not PREAUTH) as cfg->url.user; idx
 * names the connection in log lines. */
int auth_login(const struct fs_config *cfg, struct imap *s, unsigned idx, struct buf *err);
/* A refusal for having too many connections: [LIMIT] or [UNAVAILABLE]
 * (RFC 5530), or the words servers use without a code. */
bool auth_too_many_connections(const char *why);

#endif
