/* idle.c: waits in IDLE (RFC 2177) and prints each change the server
 * reports ("* 3 EXISTS", "* 2 EXPUNGE", "* 1 FETCH (FLAGS ...)"), one a
 * line, until SECONDS have passed.
 *
 *   IMAP_USER=alice IMAP_PASS=... ./idle MAILBOX SECONDS */
#include <string.h>

#include "example.h"

static void on_untagged(void *ctx, struct imap *s, const struct imap_response *raw,
			const struct imap_resp *r)
{
	(void)ctx;
	(void)s;
	if (!r || !r->has_number)
		return;
	/* the line as the server sent it, up to the first literal */
	fwrite(raw->pieces[0].text, 1, raw->pieces[0].text_len, stdout);
	putchar('\n');
	fflush(stdout);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: idle MAILBOX SECONDS\n");
		return 2;
	}
	char *end;
	long seconds = strtol(argv[2], &end, 10);
	if (*end || seconds <= 0 || seconds > 86400) {
		fprintf(stderr, "idle: not a number of seconds: %s\n", argv[2]);
		return 2;
	}
	struct imap *s = example_login();
	if (!s)
		return 1;
	struct imap_cmd *c = imap_cmd_new("SELECT");
	imap_cmd_add_astring(c, argv[1], strlen(argv[1]));
	int rc = example_run(s, c);
	if (rc == 0) {
		/* what SELECT said is not a change */
		imap_set_untagged_handler(s, on_untagged, NULL);
		printf("idling\n");
		fflush(stdout);
		rc = imap_idle(s, (int)(seconds * 1000), NULL);
		if (rc < 0)
			fprintf(stderr, "idle: %s\n", imap_errmsg(s));
	}
	imap_client_logout(s, 5000);
	imap_close(s);
	return rc == 0 ? 0 : 1;
}
