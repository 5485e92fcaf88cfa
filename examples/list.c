/* list.c: prints the name of every mailbox, one a line (LIST "" "*").
 *
 *   IMAP_USER=alice IMAP_PASS=... ./list */
#include <string.h>

#include "example.h"

static void on_untagged(void *ctx, struct imap *s, const struct imap_response *raw,
			const struct imap_resp *r)
{
	(void)s;
	(void)raw;
	int *count = ctx;
	const char *name;
	size_t len;
	/* * LIST (\HasNoChildren) "/" INBOX */
	if (!r || strcmp(r->name, "LIST") || r->nargs < 3 || !imap_arg_astring(&r->args[2], &name, &len))
		return;
	fwrite(name, 1, len, stdout);
	putchar('\n');
	(*count)++;
}

int main(void)
{
	struct imap *s = example_login();
	if (!s)
		return 1;
	int count = 0;
	imap_set_untagged_handler(s, on_untagged, &count);
	struct imap_cmd *c = imap_cmd_new("LIST");
	imap_cmd_add(c, " \"\" \"*\"");
	int rc = example_run(s, c);
	imap_client_logout(s, 5000);
	imap_close(s);
	return rc == 0 && count > 0 ? 0 : 1;
}
