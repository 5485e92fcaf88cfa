/* imaplib_int.h: what the files of the imaplib layer share (imaplib.c,
 * command.c, open.c, mailbox.c, message.c).  Not installed; not for other
 * modules: the layer is built on the core's public API (imap.h) and the
 * session's insides (session.h), and the core never calls it. */
#ifndef IMAPFS_IMAPLIB_INT_H
#define IMAPFS_IMAPLIB_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "imaplib.h"
#include "pyrepr.h"
#include "sasl.h"
#include "session.h"
#include "util.h"

struct py_entry {
	char *name;
	struct imap_item *items;
	size_t n;
};

struct imaplib_state {
	struct py_entry *ur;
	size_t nur;
	bool is_readonly;
	bool tls_established;
	bool stream;       /* a spawned command: no network path to protect */
	char *host;
	char *abort_msg;   /* an "unexpected response" seen by the handler */
	char **caps;       /* imaplib's self.capabilities */
	size_t ncaps;
	/* the tagged reply of the command being waited for */
	struct imap_cmd *current;
	struct buf tagged_text;
};

enum { ST_NONAUTH = 1, ST_AUTH = 2, ST_SELECTED = 4, ST_LOGOUT = 8 };

/* What a command carries besides its arguments. */
struct py_extra {
	const void *literal;       /* APPEND's message */
	size_t literal_len;
	imap_cont_fn cont;         /* AUTHENTICATE */
	void *cont_ctx;
	const char *secret;        /* LOGIN's password: always quoted */
};

#define ARGS(...) ((const char *const[]){ __VA_ARGS__ })
#define NARGS(...) (sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))
#define SIMPLE(s, name, res, ...) imaplib_simple(s, name, ARGS(__VA_ARGS__), NARGS(__VA_ARGS__), res)

/* imaplib.c */
struct imaplib_state *imaplib_state_of(const struct imap *s);
struct py_entry *imaplib_ur_find(struct imaplib_state *py, const char *name);
void imaplib_ur_delete(struct imaplib_state *py, const char *name);
void imaplib_ur_clear(struct imaplib_state *py);
bool imaplib_ur_pop(struct imaplib_state *py, const char *name, struct imap_result *r);
void imaplib_result_set(struct imap_result *r, const char *type);
struct imap_item *imaplib_result_add(struct imap_result *r);
void imaplib_result_none(struct imap_result *r, const char *type);
void imaplib_items_repr(const struct imap_item *items, size_t n, struct buf *out);
void imaplib_on_untagged(void *ctx, struct imap *s, const struct imap_response *raw,
			 const struct imap_resp *r);
void imaplib_attach(struct imap *s, struct imaplib_state *py);

/* command.c */
unsigned imaplib_state_bit(enum imap_state st);
unsigned imaplib_command_states(const char *name);
int imaplib_check_state(struct imap *s, const char *name, unsigned allowed);
int imaplib_command(struct imap *s, const char *name, unsigned allowed, const char *const *args,
		    size_t n, const struct py_extra *x, struct imap_cmd **out);
int imaplib_complete(struct imap *s, const char *name, struct imap_cmd *c, struct imap_result *res);
int imaplib_simple_x(struct imap *s, const char *name, const char *const *args, size_t n,
		     const struct py_extra *x, struct imap_result *res);
int imaplib_simple(struct imap *s, const char *name, const char *const *args, size_t n,
		   struct imap_result *res);
void imaplib_untagged(struct imap *s, struct imap_result *res, const char *name);
int imaplib_simple_untagged(struct imap *s, const char *name, const char *const *args, size_t n,
			    const char *untagged, struct imap_result *res);

#endif
