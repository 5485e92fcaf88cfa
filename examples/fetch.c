/* fetch.c: writes one message, as the server holds it, to stdout.
 *
 *   IMAP_USER=alice IMAP_PASS=... ./fetch MAILBOX UID > message.eml
 *
 * The message streams from the socket to stdout through a literal hook, so
 * its size does not matter. */
#include <stdint.h>
#include <string.h>

#include "example.h"

struct out {
	int literals;
	int failed;
};

static int write_out(void *ctx, const void *p, size_t n)
{
	struct out *o = ctx;
	if (fwrite(p, 1, n, stdout) != n) {
		o->failed = 1;
		return -1;
	}
	return 0;
}

static void done_out(void *ctx, bool ok)
{
	struct out *o = ctx;
	if (ok)
		o->literals++;
	else
		o->failed = 1;
}

/* Every literal of a FETCH response is the message (we ask for nothing else). */
static bool take_literal(void *ctx, const struct imap_response *so_far, uint64_t size,
			 struct imap_sink *sink)
{
	(void)size;
	const char *line = so_far->pieces[0].text;
	if (!strstr(line, "FETCH"))
		return false;
	sink->write = write_out;
	sink->done = done_out;
	sink->ctx = ctx;
	return true;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: fetch MAILBOX UID\n");
		return 2;
	}
	char *end;
	unsigned long uid = strtoul(argv[2], &end, 10);
	if (*end || !uid) {
		fprintf(stderr, "fetch: not a UID: %s\n", argv[2]);
		return 2;
	}
	struct imap *s = example_login();
	if (!s)
		return 1;
	struct out o = { 0, 0 };
	struct imap_cmd *c = imap_cmd_new("EXAMINE");
	imap_cmd_add_astring(c, argv[1], strlen(argv[1]));
	int rc = example_run(s, c);
	if (rc == 0) {
		imap_set_literal_hook(s, take_literal, &o);
		c = imap_cmd_new("UID FETCH");
		imap_cmd_addf(c, " %lu BODY.PEEK[]", uid);
		rc = example_run(s, c);
	}
	imap_client_logout(s, 5000);
	imap_close(s);
	if (rc == 0 && o.literals != 1) {
		fprintf(stderr, "fetch: no message with UID %lu\n", uid);
		rc = -1;
	}
	return rc == 0 && !o.failed && fflush(stdout) == 0 ? 0 : 1;
}
