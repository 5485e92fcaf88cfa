/* sasl.h: the client side of SASL for IMAP AUTHENTICATE (RFC 3501 6.2.2,
 * RFC 4959 SASL-IR): strict base64 (RFC 4648) and the mechanisms PLAIN
 * (RFC 4616), LOGIN, CRAM-MD5 (RFC 2195) and XOAUTH2 (Google/Microsoft).
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

/* mechanism is case-insensitive: PLAIN, LOGIN, CRAM-MD5 or XOAUTH2.  secret
 * is the password, or the OAuth 2 access token for XOAUTH2.  NULL (with
 * err set) for an unknown mechanism or an argument the mechanism cannot
 * carry (e.g. \001 in an XOAUTH2 user). */
struct sasl *sasl_new(const char *mechanism, const char *user, const char *secret,
		      struct buf *err);
/* PLAIN only: log in as user but act as authzid. */
void sasl_set_authzid(struct sasl *a, const char *authzid);
/* The mechanism's name in upper case, for the AUTHENTICATE command. */
const char *sasl_mechanism(const struct sasl *a);
/* True when the first response needs no challenge, so it can go with the
 * command when the server has SASL-IR (PLAIN, XOAUTH2): call sasl_step
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
/* "user SP lowercase-hex(HMAC-MD5(password, challenge))" */
int sasl_cram_md5_response(struct buf *out, const char *user, const char *password,
			   const void *challenge, size_t len, struct buf *err);

/* Zeroes all of b's storage, then frees it. */
void sasl_wipe(struct buf *b);

#endif
