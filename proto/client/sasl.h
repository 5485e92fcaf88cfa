/* sasl.h: the client side of SASL for IMAP AUTHENTICATE (RFC 3501 6.2.2,
 * RFC 4959 SASL-IR): strict base64 (RFC 4648) and the mechanisms PLAIN
 * (RFC 4616), LOGIN, CRAM-MD5 (RFC 2195), XOAUTH2 (Google/Microsoft) and
 * OAUTHBEARER (RFC 7628).
 *
 * A struct sasl is one exchange: it answers server challenges in turn, in
 * the way of an imaplib "authobject".  sasl_step() has the shape of
 * imap_auth_fn (imaplib.h), so imap_authenticate(s, sasl_mechanism(a),
 * sasl_step, a, &r) runs a mechanism.  Challenges and responses are raw
 * bytes: the session does the base64 on the wire.
 *
 * Secrets: a struct sasl keeps copies of the user name, password or token;
 * sasl_free() wipes them.  Responses hold secrets too: functions that write
 * one reserve the room first so the buffer does not move (a realloc would
 * leave a copy behind), and the caller should release it with sasl_wipe().
 * Nothing here logs.
 *
 * Errors: int functions give 0 on success and -1 with a one-line reason
 * appended to err (when err is not NULL).
 */
#ifndef IMAPFS_SASL_H
#define IMAPFS_SASL_H

#include <stdbool.h>
#include <stddef.h>

struct buf;
struct sasl;

/* Appends the base64 of p[0..n) to out (with padding, no line breaks). */
void sasl_base64_encode(struct buf *out, const void *p, size_t n);
/* Appends the decoded bytes to out.  Strict: only the RFC 4648 alphabet,
 * length a multiple of 4, padding only at the end, unused bits zero, no
 * whitespace.  On error out is left as it was. */
int sasl_base64_decode(struct buf *out, const char *s, size_t n, struct buf *err);

/* mechanism is case-insensitive: PLAIN, LOGIN, CRAM-MD5, XOAUTH2 or
 * OAUTHBEARER.  secret is the password, or the OAuth 2 access token for
 * XOAUTH2 and OAUTHBEARER.  NULL (with
 * err set) for an unknown mechanism or an argument the mechanism cannot
 * carry (e.g. \001 in an XOAUTH2 user). */
struct sasl *sasl_new(const char *mechanism, const char *user, const char *secret,
		      struct buf *err);
/* PLAIN only: log in as user but act as authzid. */
void sasl_set_authzid(struct sasl *a, const char *authzid);
/* OAUTHBEARER only: the host and port the client connected to, sent in
 * the initial response (RFC 7628 3.1); either may be NULL (left out). */
void sasl_set_host(struct sasl *a, const char *host, const char *port);
/* XOAUTH2 and OAUTHBEARER: after a refusal, the server's error challenge
 * (a JSON object such as {"status":"invalid_token",...}), at most 512
 * bytes with every byte outside printable ASCII shown as '?'; NULL when
 * the server sent none.  It holds no secret: fit for a log line. */
const char *sasl_server_error(const struct sasl *a);
/* The mechanism's name in upper case, for the AUTHENTICATE command. */
const char *sasl_mechanism(const struct sasl *a);
/* True when the first response needs no challenge, so it can go with the
 * command when the server has SASL-IR (PLAIN, XOAUTH2, OAUTHBEARER): call sasl_step
 * with an empty challenge to get it. */
bool sasl_has_initial_response(const struct sasl *a);
/* The authobject: ctx is the struct sasl.  Given the decoded challenge,
 * appends the response to resp, or sets *cancel when the exchange cannot go
 * on (the session then sends "*").  Returns 0, or -1 on an internal error. */
int sasl_step(void *ctx, const void *challenge, size_t len, struct buf *resp, bool *cancel);
void sasl_free(struct sasl *a);

/* The mechanisms' single responses, for callers that run the exchange
 * themselves (imaplib's login_cram_md5) and for tests. */
void sasl_plain_response(struct buf *out, const char *authzid, const char *user,
			 const char *password);
int sasl_xoauth2_response(struct buf *out, const char *user, const char *token,
			  struct buf *err);
/* RFC 7628's initial client response: the GS2 header "n,a=USER," (',' and
 * '=' in the user escaped as =2C and =3D), then host=, port= (each left
 * out when NULL or empty) and auth=Bearer TOKEN, each ended by \001, and
 * a final \001. */
int sasl_oauthbearer_response(struct buf *out, const char *user, const char *host,
			      const char *port, const char *token, struct buf *err);
/* "user SP lowercase-hex(HMAC-MD5(password, challenge))" */
int sasl_cram_md5_response(struct buf *out, const char *user, const char *password,
			   const void *challenge, size_t len, struct buf *err);

/* Zeroes all of b's storage, then frees it. */
void sasl_wipe(struct buf *b);

#endif
