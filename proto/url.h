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
 * IMAPFS_PASSWORD environment variable. */
int url_read_password(const struct url_options *o, struct imap_url *u, struct buf *err);

#endif
