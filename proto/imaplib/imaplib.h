/* imaplib.h: Python imaplib's IMAP4 as C, a layer on the client core (imap.h).
 *
 * One C function per method of Python's imaplib.IMAP4 (imap_<method>), with
 * the same semantics, results and errors; the imap4 tool is built on it.
 * Programs that do not emulate Python use the core (imap.h) alone: its
 * imap_client_open()/imap_client_login() and the pipelined commands.  The
 * layer keeps its own state on the session (imap.h's layer hooks); the
 * core never calls it.
 *
 * Errors.  Every function that can fail returns an int: 0 (IMAP_OK) when
 * it returned, or one of imaplib's three exception kinds as a negative
 * number: IMAP_ERROR (the command or its arguments were wrong; the
 * connection is still usable), IMAP_ABORT (the connection is unusable: close
 * it), IMAP_READONLY (the selected mailbox became read-only).  The reason is
 * in imap_errmsg() until the next call.  A tagged NO is not an error here:
 * the result's type says "NO", as in imaplib.
 *
 * Ownership.  Results (struct imap_result) are owned by the caller and
 * released with imap_result_free().  Strings passed in are copied when
 * needed; nothing keeps a caller's pointer after the call returns.  A session opened
 * with imap_open*() is closed with the core's imap_close().
 *
 * Threads.  As the core: a struct imap is used by one thread at a time.
 *
 * Deadlines.  As the core's (imap.h): opts.timeout_ms bounds each
 * command's whole exchange, and a session opened here may use the core's
 * calls too.
 */
#ifndef IMAPFS_IMAPLIB_H
#define IMAPFS_IMAPLIB_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "date.h"
#include "imap.h"
#include "tag.h"
#include "transport.h"

/* imaplib's IMAP4.readonly exception, next to the core's IMAP_ERROR and
 * IMAP_ABORT. */
enum { IMAP_READONLY = -3 };

/* imaplib.IMAP4, IMAP4_SSL and IMAP4_stream: connect, read the greeting, ask
 * for CAPABILITY and check the protocol version, exactly as imaplib does.
 * On failure *out is NULL and err says why. */
int imap_open(struct imap **out, const char *host, const char *port,
	      const struct imap_opts *o, struct buf *err);
int imap_open_ssl(struct imap **out, const char *host, const char *port,
		  const struct imap_opts *o, struct buf *err);
int imap_open_stream(struct imap **out, const char *command, const struct imap_opts *o,
		     struct buf *err);

/* One data element of an imaplib result: None, bytes, (bytes, bytes), or
 * (getquotaroot only) a list of elements. */
struct imap_item {
	bool none;
	bool has_lit;
	struct buf text;
	struct buf lit;
	bool is_list;
	struct imap_item *sub;
	size_t nsub;
};

/* imaplib's (typ, [data, ...]). */
struct imap_result {
	char type[32];
	size_t n;
	struct imap_item *items;
};

void imap_result_free(struct imap_result *r);
/* imaplib's capabilities tuple: what the last CAPABILITY command (at
 * connect and after STARTTLS) returned.  imap_has_cap() instead follows
 * every capability update the server sends. */
size_t imaplib_ncaps(const struct imap *s);
const char *imaplib_cap(const struct imap *s, size_t i);
/* Python repr of the (typ, data) tuple, as imaplib's caller would print it. */
void imap_result_repr(const struct imap_result *r, struct buf *out);

/* An authobject: gets the decoded challenge, sets *resp (or *cancel). */
typedef int (*imap_auth_fn)(void *ctx, const void *challenge, size_t len, struct buf *resp,
			    bool *cancel);

/* Arguments are C strings; NULL stands for Python's None. */
int imap_append(struct imap *s, const char *mailbox, const char *flags, const char *date_time,
		const void *msg, size_t len, struct imap_result *r);
int imap_authenticate(struct imap *s, const char *mechanism, imap_auth_fn fn, void *ctx,
		      struct imap_result *r);
int imap_capability(struct imap *s, struct imap_result *r);
int imap_check(struct imap *s, struct imap_result *r);
int imap_close_mailbox(struct imap *s, struct imap_result *r);   /* imaplib close() */
int imap_copy(struct imap *s, const char *set, const char *mailbox, struct imap_result *r);
int imap_create(struct imap *s, const char *mailbox, struct imap_result *r);
int imap_delete(struct imap *s, const char *mailbox, struct imap_result *r);
int imap_deleteacl(struct imap *s, const char *mailbox, const char *who, struct imap_result *r);
int imap_enable(struct imap *s, const char *capability, struct imap_result *r);
int imap_expunge(struct imap *s, struct imap_result *r);
int imap_fetch(struct imap *s, const char *set, const char *parts, struct imap_result *r);
int imap_getacl(struct imap *s, const char *mailbox, struct imap_result *r);
int imap_getannotation(struct imap *s, const char *mailbox, const char *entry,
		       const char *attribute, struct imap_result *r);
int imap_getquota(struct imap *s, const char *root, struct imap_result *r);
int imap_getquotaroot(struct imap *s, const char *mailbox, struct imap_result *r);
int imap_list(struct imap *s, const char *directory, const char *pattern, struct imap_result *r);
int imap_login(struct imap *s, const char *user, const char *password, struct imap_result *r);
int imap_login_cram_md5(struct imap *s, const char *user, const char *password,
			struct imap_result *r);
int imap_logout(struct imap *s, struct imap_result *r);
int imap_lsub(struct imap *s, const char *directory, const char *pattern, struct imap_result *r);
int imap_myrights(struct imap *s, const char *mailbox, struct imap_result *r);
int imap_namespace(struct imap *s, struct imap_result *r);
int imap_noop(struct imap *s, struct imap_result *r);
int imap_partial(struct imap *s, const char *num, const char *part, const char *start,
		 const char *length, struct imap_result *r);
int imap_proxyauth(struct imap *s, const char *user, struct imap_result *r);
int imap_recent(struct imap *s, struct imap_result *r);
int imap_rename(struct imap *s, const char *oldname, const char *newname, struct imap_result *r);
int imap_response(struct imap *s, const char *code, struct imap_result *r);
int imap_search(struct imap *s, const char *charset, const char *const *criteria, size_t n,
		struct imap_result *r);
int imap_select(struct imap *s, const char *mailbox, bool readonly, struct imap_result *r);
int imap_setacl(struct imap *s, const char *mailbox, const char *who, const char *what,
		struct imap_result *r);
int imap_setannotation(struct imap *s, const char *const *args, size_t n, struct imap_result *r);
int imap_setquota(struct imap *s, const char *root, const char *limits, struct imap_result *r);
int imap_sort(struct imap *s, const char *criteria, const char *charset,
	      const char *const *search, size_t n, struct imap_result *r);
/* STARTTLS: refused unless advertised; any byte received after the tagged
 * OK and before the handshake aborts (response injection); afterwards the
 * capabilities are asked again.  o = NULL uses the connection's options. */
int imap_starttls(struct imap *s, const struct tls_opts *o, struct imap_result *r);
int imap_status(struct imap *s, const char *mailbox, const char *names, struct imap_result *r);
int imap_store(struct imap *s, const char *set, const char *command, const char *flags,
	       struct imap_result *r);
int imap_subscribe(struct imap *s, const char *mailbox, struct imap_result *r);
int imap_thread(struct imap *s, const char *algorithm, const char *charset,
		const char *const *search, size_t n, struct imap_result *r);
int imap_uid(struct imap *s, const char *command, const char *const *args, size_t n,
	     struct imap_result *r);
int imap_unsubscribe(struct imap *s, const char *mailbox, struct imap_result *r);
int imap_unselect(struct imap *s, struct imap_result *r);
/* IDLE for duration_ms; r's items are one list per response received,
 * [type, data...], in arrival order (Python 3.14's Idler pairs). */
int imap_idle_collect(struct imap *s, int duration_ms, struct imap_result *r);
int imap_xatom(struct imap *s, const char *name, const char *const *args, size_t n,
	       struct imap_result *r);

/* imaplib's module helpers: Int2AP is imap_int2ap (tag.h),
 * Internaldate2tuple and Time2Internaldate are imap_internaldate2tuple and
 * imap_time2internaldate (date.h). */
/* imaplib.ParseFlags: the regex `.*FLAGS \((?P<flags>[^\)]*)\)` matched at
 * the start (so '.' stops at the first LF and the last matching "FLAGS ("
 * wins, "PERMANENTFLAGS (" included), then bytes.split() on ASCII
 * whitespace.  Appends each flag followed by a NUL to flags_out and sets
 * *count.  Returns 1 when the regex matched (possibly 0 flags), 0 when it
 * did not (count 0), -1 when a flag would contain a NUL byte, which the
 * NUL-separated output cannot carry (nothing appended, count 0). */
int imap_parse_flags(const char *resp, size_t len, struct buf *flags_out, size_t *count);

#endif
