/* harness.h: real mail for tests: a private Dovecot started as root
 * (harness_dovecot.c), Maildirs written directly (harness_maildir.c) and a
 * deterministic corpus of messages (harness_corpus.c).
 *
 * Errors: int functions return 0 on success and -1 on failure with a
 * one-line reason appended to err (which only dovecot_stop() accepts NULL).
 * Ownership: struct dovecot is plain data, no heap; it can be copied.  An
 * instance lives in its own directory; dovecot_stop() ends every process of
 * that instance (and no other) and removes the directory.  An instance
 * started without .detached is also stopped when the process that started it
 * exits (atexit; forked children never stop their parent's instances), and
 * Dovecot gets SIGTERM if that process dies without exiting (a crash, or a
 * failed Check test, which leaves with _exit()); the directory left behind
 * then is removed by the next dovecot_start().
 */
#ifndef IMAPFS_HARNESS_H
#define IMAPFS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "harness_cert.h"

struct buf;

#define HARNESS_PATH_MAX 512
/* The unprivileged system user that owns all mail (created when missing). */
#define HARNESS_MAIL_USER "imapfs-test"
/* Exit status that makes automake's test driver report SKIP. */
#define HARNESS_EXIT_SKIP 77

/* ---- a private Dovecot ---- */

/* Every instance has alice:secret, bob:secret and tiny:secret, where tiny
 * has a storage quota of 2 KiB (everyone else 1 GiB). */
struct dovecot_user {
	const char *name;        /* letters, digits, '.', '_', '-' */
	const char *password;    /* no ':' or line breaks */
	const char *quota_rule;  /* e.g. "*:storage=10M"; NULL = the default 1 GiB */
};

struct dovecot_opts {
	const char *dir;         /* state directory, created (may exist if empty); NULL = a
				  * fresh mkdtemp() directory under /tmp */
	bool detached;           /* keeps running after this process exits (testserver) */
	char separator;          /* IMAP hierarchy separator: '.' (default when 0) or '/' */
	const struct dovecot_user *users;  /* accounts besides the standard three */
	size_t nusers;
	unsigned max_connections;  /* per user and IP (a crowded account); 0 = 500 */
	int oauth2_port;         /* > 0: XOAUTH2 and OAUTHBEARER too, each token checked by
				  * POST http://127.0.0.1:PORT/introspect (an oauth2 passdb;
				  * harness_oauth2.py is such a server) */
	bool bare;               /* advertises IMAP4rev1 alone (imap_capability), as a
				  * bare RFC 3501 server: no UIDPLUS, MOVE, IDLE, ... */
	bool compress;           /* COMPRESS=DEFLATE offered (the imap_zlib plugin) */
};

struct dovecot {
	char dir[HARNESS_PATH_MAX / 2];   /* everything of this instance is below it */
	char conf[HARNESS_PATH_MAX];      /* dovecot.conf, for dovecot/doveadm -c */
	char log[HARNESS_PATH_MAX];       /* Dovecot's log file */
	char mailroot[HARNESS_PATH_MAX];  /* one Maildir per user below it */
	char instance[64];                /* instance_name: processes show "dovecot-NAME/..." */
	int imap_port;                    /* 127.0.0.1, plain, STARTTLS offered, LOGIN allowed */
	int imaps_port;                   /* 127.0.0.1, implicit TLS */
	char separator;
	unsigned max_connections;
	int oauth2_port;
	bool bare;
	bool compress;
	struct test_certs certs;          /* cafile verifies the server; otherca must fail */
	pid_t master;                     /* Dovecot's master process */
	pid_t owner;                      /* process that stops it at exit; 0 = none */
	bool running;
};

/* 0 if this machine can run a private Dovecot (root, dovecot and certtool
 * installed); otherwise -1 and why. */
int dovecot_usable(struct buf *why);
/* For test programs: prints why and exits with HARNESS_EXIT_SKIP unless usable. */
void dovecot_require_or_skip(const char *program);
/* The directory holding Dovecot's "imap" and "imap-login" executables (for
 * running DIR/imap over a pipe): the dovecot-imapd package's, or the copy
 * contrib/install-deps.sh unpacks where cyrus-imapd excludes that package.
 * NULL if there is neither. */
const char *dovecot_imap_dir(void);

/* Starts an instance and returns once both ports accept connections.  Call
 * it from a thread that lives as long as the instance should: Dovecot gets
 * SIGTERM when that thread ends (unless .detached). */
int dovecot_start(struct dovecot *d, const struct dovecot_opts *o, struct buf *err);
/* For test programs: a fresh instance whose alice holds the demo corpus;
 * prints why and exits with EXIT_FAILURE when it cannot be had. */
void dovecot_start_demo_or_exit(struct dovecot *d, const char *program);
/* The same with o's settings (o->dir is ignored). */
void dovecot_start_demo_with_or_exit(struct dovecot *d, const struct dovecot_opts *o, const char *program);
/* Fills d from a directory made by a detached dovecot_start() (for
 * "testserver stop"); fails if DIR is not such a directory. */
int dovecot_attach(struct dovecot *d, const char *dir, struct buf *err);
/* Stops the instance, waits until every one of its processes is gone and
 * removes its directory.  Returns -1 if something could not be cleaned up. */
int dovecot_stop(struct dovecot *d, struct buf *err);
/* A server restart in two halves: halt ends every process of the instance
 * but keeps its directory and mail; resume starts it again on the same
 * ports (waiting for them to be free).  dovecot_stop works in between. */
int dovecot_halt(struct dovecot *d, struct buf *err);
int dovecot_resume(struct dovecot *d, struct buf *err);
/* Drops every session of user (doveadm kick). */
int dovecot_kick(const struct dovecot *d, const char *user, struct buf *err);
/* Appends the path of user's Maildir (it may not exist yet) to out. */
void dovecot_user_maildir(const struct dovecot *d, const char *user, struct buf *out);
/* Live processes that belong to this instance (also after it stopped). */
int dovecot_count_processes(const struct dovecot *d);
/* The last max bytes of Dovecot's log, replacing out's contents. */
void dovecot_log_tail(const struct dovecot *d, size_t max, struct buf *out);

/* ---- Maildir, written directly ---- */

/* folder is the IMAP name in modified UTF-7 with '.' as the hierarchy
 * separator, as it is on disk in the maildir++ layout ("Reisen.Z&APw-rich"
 * is the directory ".Reisen.Z&APw-rich"); NULL or "INBOX" is the root.
 * New files and directories get the owner of the directory they are made
 * in (so a root process seeding Dovecot's mail leaves it to imapfs-test). */
int maildir_make_folder(const char *root, const char *folder, struct buf *err);
/* Removes a folder made by maildir_make_folder with all its mail, from
 * under the server: faster than a DELETE through it, which for 100,000
 * messages takes minutes on a loaded machine.  No session may have it
 * selected.  Not INBOX. */
int maildir_remove_folder(const char *root, const char *folder, struct buf *err);
/* Delivers one message into cur/ (via tmp/) as TIME.UNIQUE,S=SIZE:2,FLAGS
 * with the file's mtime set to internaldate, which Dovecot reports as the
 * INTERNALDATE.  flags: any of "DFPRST" (Draft Flagged Passed Replied Seen
 * Trashed), any order; NULL = none.  Messages added in one process with
 * non-decreasing internaldate sort, and so get UIDs, in the order added.
 * path (may be NULL) gets the file's path. */
int maildir_add(const char *root, const char *folder, const void *msg, size_t len,
		const char *flags, time_t internaldate, struct buf *path, struct buf *err);

/* ---- a deterministic corpus ---- */

struct corpus_stats {
	unsigned messages;
	unsigned folders;    /* folders made, INBOX included */
	uint64_t bytes;      /* total message size */
};

/* The demo preset's folders (besides INBOX): IMAP names with '.' separator. */
struct corpus_folder {
	const char *utf8;    /* "Reisen.Zürich" */
	const char *mutf7;   /* "Reisen.Z&APw-rich" */
	unsigned messages;   /* how many the demo preset puts there */
};
#define CORPUS_DEMO_INBOX 120  /* messages the demo preset puts in INBOX */
extern const struct corpus_folder corpus_demo_folders[];
extern const size_t corpus_demo_nfolders;

/* One message of about target_size bytes (CRLF line ends), the same bytes for
 * the same (seed, index, target_size) on every machine: headers (From, To,
 * Subject, Date, Message-ID, MIME), a text body, and above a few KiB often a
 * multipart/mixed with a base64 attachment.  date is put in the Date header.
 * The body contains the marker "imapfs-corpus-SEED-INDEX". */
void corpus_message(uint64_t seed, unsigned index, size_t target_size, time_t date,
		    struct buf *out);
/* The "demo" preset: a folder tree with non-ASCII names and a few hundred
 * messages of varied sizes. */
int corpus_seed_demo(const char *root, struct corpus_stats *st, struct buf *err);
/* The "bench" preset: n messages spread over nfolders folders (INBOX counts
 * as one), sizes with a realistic spread averaging about 18 KB. */
int corpus_seed_bench(const char *root, unsigned n, unsigned nfolders,
		      struct corpus_stats *st, struct buf *err);
/* "demo", "bench:N:F", or "small:N:F": the bench preset's folders and
 * names with every message 2 to 4 KB. */
int corpus_seed(const char *root, const char *preset, struct corpus_stats *st,
		struct buf *err);

#endif
