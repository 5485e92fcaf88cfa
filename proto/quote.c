/* quote.c: the RFC 3501 astring rule (quote.h). */
#include "config.h"
#include "quote.h"

#include <strings.h>

#include "buf.h"

bool imap_is_atom_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	switch (c) {
	case '(': case ')': case '{': case '%': case '*': case '"': case '\\': case ']':
		return false;
	default:
		return true;
	}
}

static bool all_atom_chars(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!imap_is_atom_char((unsigned char)s[i]))
			return false;
	return true;
}

static bool quotable(const char *s, size_t n)
{
	if (n > IMAP_QUOTED_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == 0 || c == '\r' || c == '\n' || c >= 0x80)
			return false;
	}
	return true;
}

enum imap_astring_form imap_astring_form(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\0')
			return IMAP_ASTRING_INVALID;
	if (n && all_atom_chars(s, n) && !(n == 3 && !strncasecmp(s, "NIL", 3)))
		return IMAP_ASTRING_ATOM;
	if (quotable(s, n))
		return IMAP_ASTRING_QUOTED;
	return IMAP_ASTRING_LITERAL;
}

void imap_quote(const char *s, size_t len, struct buf *out)
{
	buf_grow(out, len + 2);
	buf_addch(out, '"');
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\' || s[i] == '"')
			buf_addch(out, '\\');
		buf_addch(out, s[i]);
	}
	buf_addch(out, '"');
}
