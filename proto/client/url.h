/* url.h: imap://[USER@]HOST[:PORT] and imaps://... as the imap4 tool and the
 * filesystem take them, the connection options they share, and where the
 * password comes from (never the command line).
 *
 * Ownership: parsed strings belong to the struct and are released by
 * url_free() / url_options_free(); the password is wiped when freed.
 * Errors: -1 with a one-line reason appended to err. */
#ifndef IMAPFS_URL_H
#define IMAPFS_URL_H

#include <stdbool.h>

#include "transport.h"

struct buf;

struct imap_url {
	char *user;       /* NULL when the URL names none */
	char *host;       /* without IPv6 brackets */
	char *port;       /* "143" / "993" by default */
	bool implicit_tls;
	char *password;   /* filled by url_read_password */
};

struct url_options {
	struct tls_opts *tls;  /* cafile, certfile, keyfile, insecure land here */
	bool tls_none;         /* tls=none: an unencrypted link is allowed */
	char *command;         /* command=CMD: spawned server */
	char *passfile;
	char *passcmd;
	int timeout_s;
};

int url_parse(const char *text, struct imap_url *out, struct buf *err);
void url_free(struct imap_url *u);
/* Comma-separated key[=value] list; unknown keys are an error. */
int url_parse_options(const char *list, struct url_options *o);
/* Takes one option; returns 1 when it was one of ours, 0 when unknown. */
int url_take_option(const char *key, const char *value, struct url_options *o);
void url_options_free(struct url_options *o);
/* passfile= (first line), passcmd= (first line of its output), then the
 * IMAPFS_PASSWORD environment variable (wiped from the environment once
 * read).  The password is read without stdio and kept in one block, so no
 * copy is left in freed memory.  A passfile that group or others may
 * access gets one warning line on stderr (like ssh's for keys). */
int url_read_password(const struct url_options *o, struct imap_url *u, struct buf *err);
/* The first line of fd (without CR LF) into out, a secret: read(2) only,
 * grown without leaving copies; at most URL_SECRET_MAX bytes.  On failure
 * out is wiped and -1 returned, with the reason in err (may be NULL). */
#define URL_SECRET_MAX 65536
int url_read_secret_line(int fd, struct buf *out, struct buf *err);
/* Overwrites the bytes of every IMAPFS_PASSWORD= value in the environment
 * block (which /proc/PID/environ shows to the end) and unsets it. */
void url_forget_env_password(void);

#endif
