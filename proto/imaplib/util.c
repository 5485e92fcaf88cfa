/* util.c: imaplib's helpers (ParseFlags) and the argument quoting rule. */
#include "config.h"
#include "util.h"

#include <string.h>

#include "buf.h"
#include "quote.h"

/* bytes.split() separators. */
static bool util_is_py_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int imap_parse_flags(const char *resp, size_t len, struct buf *flags_out, size_t *count)
{
	static const char key[] = "FLAGS (";
	const size_t key_len = sizeof key - 1;

	*count = 0;
	if (len < key_len + 1)
		return 0;
	/* A "FLAGS (" matches when some ')' follows it (the group [^)]* may
	 * cross lines), and only before the first LF ('.*' stops there).
	 * Knowing the last ')' makes each candidate O(1). */
	const char *close_last = memrchr(resp, ')', len);
	if (!close_last)
		return 0;
	const char *lf = memchr(resp, '\n', len);
	size_t limit = lf ? (size_t)(lf - resp) : len;
	size_t pos = (size_t)(close_last - resp);
	if (pos < key_len)
		return 0;
	pos -= key_len; /* the latest start that leaves room for a ')' after */
	if (pos > limit)
		pos = limit;
	for (;; pos--) {
		if (memcmp(resp + pos, key, key_len) == 0)
			break;
		if (pos == 0)
			return 0;
	}

	const char *group = resp + pos + key_len;
	const char *end = memchr(group, ')', (size_t)(resp + len - group));
	size_t group_len = (size_t)(end - group);
	if (memchr(group, '\0', group_len))
		return -1;
	size_t i = 0, n = 0;
	while (i < group_len) {
		while (i < group_len && util_is_py_space(group[i]))
			i++;
		size_t start = i;
		while (i < group_len && !util_is_py_space(group[i]))
			i++;
		if (i > start) {
			buf_add(flags_out, group + start, i - start);
			buf_addch(flags_out, '\0');
			n++;
		}
	}
	*count = n;
	return 1;
}

bool imap_arg_is_safe(const char *arg, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (arg[i] == '\r' || arg[i] == '\n' || arg[i] == '\0')
			return false;
	return true;
}

static bool util_arg_is_wrapped(const char *arg, size_t len)
{
	return len >= 2 && ((arg[0] == '(' && arg[len - 1] == ')') ||
			    (arg[0] == '"' && arg[len - 1] == '"'));
}

static bool util_arg_needs_quotes(const char *arg, size_t len)
{
	if (len == 0)
		return true;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)arg[i];
		if (c < 0x20 || c >= 0x7f || strchr(" \"\\(){", c))
			return true;
	}
	return false;
}

int imap_append_arg(struct buf *cmd, const char *arg, size_t len, struct buf *err)
{
	if (!imap_arg_is_safe(arg, len)) {
		buf_adderr(err, "command argument contains CR, LF or NUL");
		return -1;
	}
	buf_addch(cmd, ' ');
	if (!util_arg_is_wrapped(arg, len) && util_arg_needs_quotes(arg, len))
		imap_quote(arg, len, cmd);
	else
		buf_add(cmd, arg, len);
	return 0;
}
