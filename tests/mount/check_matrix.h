/* check_matrix.h: the same mount checks against every server the project
 * supports (check_matrix.c runs one TCase per server; the checks are in
 * check_matrix_read.c and check_matrix_write.c).
 *
 * A check names folders relative to the server's personal namespace, with
 * '/' between levels and in UTF-8 ("Reisen/Zürich"); mx_imap_name() and
 * mx_path() turn that into what the second client and the mount use.  Each
 * check makes folders of its own (a name with the check's name in it), so
 * the checks of one server share its store without meeting. */
#ifndef IMAPFS_CHECK_MATRIX_H
#define IMAPFS_CHECK_MATRIX_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness_mount.h"

struct imap;
struct buf;

/* The server of the TCase running now, as the checks see it. */
struct mx_server {
	const char *name;
	const char *prefix;    /* the personal namespace's prefix: "" or "INBOX." */
	char sep;              /* the hierarchy separator */
	bool uidplus;          /* rm and mv work without -o plain_expunge */
	bool flags_on_close;   /* other sessions see flags only once the folder is closed
				* (mailutils' maildir: not even CHECK writes them) */
	const char *opts;      /* -o options of every mount (poll= for servers whose IDLE is silent) */
	bool munges_8bit;      /* rewrites 8-bit header bytes of an APPEND (our Cyrus: munge8bit) */
};
extern const struct mx_server *mx;

/* Mounts the server (a fresh cache) at work/mnt-NAME with extra -o options. */
void mx_mount(struct fsmount *m, const char *name, const char *extra_opts);
/* A session of the second client. */
struct imap *mx_second(void);
/* The IMAP name (modified UTF-7) of folder rel, into out. */
void mx_imap_name(const char *rel, char *out, size_t size);
/* The path of folder rel (and file, when not NULL) in mount m. */
void mx_path(const struct fsmount *m, const char *rel, const char *file, char *out, size_t size);
/* CREATE folder rel (its parent first, when it has one) and APPEND n
 * messages, each with the text "matrix-TAG-I" (I from 1) and an
 * INTERNALDATE a day apart; then SELECTs it read-write, which settles
 * mailutils' maildir (a message in new/ gets a new UID in every read-only
 * session until then). */
void mx_seed(struct imap *s, const char *rel, unsigned n, const char *tag);
/* The UIDs of folder rel, ascending (up to max); how many. */
size_t mx_uids(struct imap *s, const char *rel, uint32_t *uids, size_t max);
/* BODY.PEEK[] of a message of folder rel. */
void mx_body(struct imap *s, const char *rel, uint32_t uid, struct buf *out);
/* Its RFC822.SIZE, INTERNALDATE (as a time) and FLAGS (the text). */
void mx_meta(struct imap *s, const char *rel, uint32_t uid, uint64_t *size, int64_t *date,
	     struct buf *flags);
/* Whether LIST names folder rel. */
bool mx_listed(struct imap *s, const char *rel);
void mx_close(struct imap *s);

/* A check's second client and mount. */
struct mx_case {
	struct imap *s;
	struct fsmount m;
};
/* The second client seeds folder rel with n messages (mx_seed), then the
 * mount NAME (mx_mount) starts; mx_end stops both (the mount unless the
 * check stopped it). */
void mx_begin(struct mx_case *c, const char *rel, unsigned n, const char *name, const char *extra_opts);
void mx_end(struct mx_case *c);
/* The file at path holds exactly want's bytes. */
void mx_assert_file_is(const char *path, const struct buf *want);
/* ... exactly what the server holds as message uid of folder rel. */
void mx_assert_file_is_message(struct imap *s, const char *rel, uint32_t uid, const char *path);

void mx_add_read_tests(TCase *tc);
void mx_add_write_tests(TCase *tc);

#endif
