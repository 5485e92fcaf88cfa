/* example.h: how the examples reach the server, from the environment (the
 * names tests/testserver prints), never from the command line, which
 * other users can read:
 *   IMAP_HOST (default 127.0.0.1), IMAP_PORT (default 143), IMAP_USER,
 *   IMAP_PASS, CAFILE (PEM trust anchors; unset: the system's).
 * The link becomes TLS with STARTTLS before the password is sent. */
#ifndef EXAMPLE_H
#define EXAMPLE_H

#include <stdio.h>
#include <stdlib.h>

#include <imap4/imap.h>

/* Connects, upgrades with STARTTLS and logs in; NULL (with a message on
 * stderr) on failure. */
static struct imap *example_login(void)
{
	const char *user = getenv("IMAP_USER"), *pass = getenv("IMAP_PASS");
	if (!user || !pass) {
		fprintf(stderr, "set IMAP_USER and IMAP_PASS (and IMAP_HOST, IMAP_PORT, CAFILE)\n");
		return NULL;
	}
	struct imap_endpoint ep = {
		.kind = IMAP_LINK_TCP,
		.host = getenv("IMAP_HOST") ? getenv("IMAP_HOST") : "127.0.0.1",
		.port = getenv("IMAP_PORT") ? getenv("IMAP_PORT") : "143",
		.starttls = true,
	};
	struct imap_opts o = { .timeout_ms = 30000 };
	o.tls.cafile = getenv("CAFILE");
	struct buf err = BUF_INIT;
	struct imap *s = NULL;
	if (imap_client_open(&s, &ep, &o, &err) < 0) {
		fprintf(stderr, "connect: %s\n", err.data ? err.data : "failed");
		buf_free(&err);
		return NULL;
	}
	buf_free(&err);
	if (imap_client_login(s, user, pass) < 0) {
		fprintf(stderr, "login: %s\n", imap_errmsg(s));
		imap_close(s);
		return NULL;
	}
	return s;
}

/* Runs c to its tagged reply; 0 when the server said OK.  Frees c. */
static int example_run(struct imap *s, struct imap_cmd *c)
{
	int rc = imap_submit(s, c);
	if (rc == 0)
		rc = imap_wait(s, c);
	if (rc == 0 && !imap_cmd_ok(c)) {
		fprintf(stderr, "%s\n", imap_cmd_text(c));
		rc = -1;
	} else if (rc < 0) {
		fprintf(stderr, "%s\n", imap_errmsg(s));
	}
	imap_cmd_free(c);
	return rc;
}

#endif
