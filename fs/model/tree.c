/* tree.c: server mailbox names <-> path components (rules in tree.h). */
#include "config.h"
#include "model/tree.h"

#include <string.h>

#include "buf.h"
#include "mutf7.h"
#include "utf8.h"
#include "siphash.h"

static const char tree_hex[] = "0123456789ABCDEF";

/* Longest message file name: "4294967295.eml". */
#define TREE_MESSAGE_NAME_MAX 14

static bool tree_delim_usable(char delim, struct buf *err)
{
	unsigned char d = (unsigned char)delim;

	/* '&' opens a modified UTF-7 run, so it cannot also split names. */
	if (d == 0 || (d >= 0x20 && d <= 0x7e && d != '&'))
		return true;
	if (err)
		buf_addstr(err, "unusable hierarchy delimiter");
	return false;
}

static bool tree_is_message_span(const char *s, size_t n)
{
	char name[TREE_MESSAGE_NAME_MAX + 1];

	if (n > TREE_MESSAGE_NAME_MAX || memchr(s, '\0', n))
		return false;
	memcpy(name, s, n);
	name[n] = '\0';
	return tree_is_message_name(name, NULL);
}

bool tree_is_message_name(const char *name, uint32_t *uid)
{
	uint64_t v = 0;
	size_t i = 0;

	if (name[0] < '1' || name[0] > '9')
		return false;
	for (; name[i] >= '0' && name[i] <= '9'; i++) {
		if (i >= 10)
			return false;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	if (v > UINT32_MAX || strcmp(name + i, ".eml") != 0)
		return false;
	if (uid)
		*uid = (uint32_t)v;
	return true;
}

static void tree_add_escape(struct buf *out, unsigned char c)
{
	char e[3] = { '%', tree_hex[c >> 4], tree_hex[c & 0xf] };

	buf_add(out, e, sizeof e);
}

/* Appends the canonical path component for one decoded (UTF-8) level. */
static void tree_escape_component(const char *s, size_t n, struct buf *out)
{
	if (n == 1 && s[0] == '.') {
		buf_addstr(out, "%2E");
		return;
	}
	if (n == 2 && s[0] == '.' && s[1] == '.') {
		buf_addstr(out, "%2E%2E");
		return;
	}
	bool message_like = tree_is_message_span(s, n);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((i == 0 && message_like) || c == '%' || c == '/' || c < 0x20 || c == 0x7f)
			tree_add_escape(out, c);
		else
			buf_addch(out, (char)c);
	}
}

static int tree_fail(struct buf *out, struct buf *err, const char *why)
{
	buf_reset(out);
	if (err)
		buf_addstr(err, why);
	return -1;
}

/* A UTF-8 name (UTF8=ACCEPT): taken as it is once it is well-formed. */
static int utf8_name(const char *p, size_t n, struct buf *out, struct buf *why)
{
	size_t bad;
	if (!utf8_text_valid(p, n, &bad)) {
		buf_adderr(why, "invalid UTF-8 at byte %zu of a mailbox name", bad);
		return -1;
	}
	buf_add(out, p, n);
	return 0;
}

int tree_path_from_mailbox(const char *mailbox, char delim, bool utf8, struct buf *path, struct buf *err)
{
	struct buf text = BUF_INIT, why = BUF_INIT;
	const char *p = mailbox;
	int rc = 0;

	buf_reset(path);
	if (!tree_delim_usable(delim, err))
		return -1;
	if (!*mailbox)
		return tree_fail(path, err, "empty mailbox name");
	for (;;) {
		const char *end = delim ? strchr(p, delim) : NULL;
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n == 0) {
			rc = tree_fail(path, err, "empty hierarchy level in mailbox name");
			break;
		}
		buf_reset(&text);
		if ((utf8 ? utf8_name(p, n, &text, &why) : mutf7_to_utf8(p, n, &text, &why)) < 0) {
			buf_reset(path);
			if (err)
				buf_addstr(err, why.data);
			rc = -1;
			break;
		}
		size_t before = path->len;
		tree_escape_component(text.data, text.len, path);
		if (path->len - before > TREE_NAME_MAX) {
			rc = tree_fail(path, err, "hierarchy level longer than 255 bytes");
			break;
		}
		if (!end)
			break;
		buf_addch(path, '/');
		p = end + 1;
	}
	buf_free(&text);
	buf_free(&why);
	return rc;
}

/* "%~" and eight hex digits */
#define TREE_ALIAS_SUFFIX 10

/* Aliases must be the same on every mount, so the key is no secret; a
 * keyed PRF all the same, so a server cannot pick names whose aliases
 * collide at every salt. */
static uint32_t tree_alias_hash(const char *mailbox, uint32_t salt)
{
	static const uint64_t key[2] = { 0x696d617066732061ull, 0x6c69617320706174ull };
	struct buf in = BUF_INIT;

	buf_addstr(&in, mailbox);
	for (int i = 0; i < 4; i++)
		buf_addch(&in, (char)(salt >> (8 * i)));
	uint64_t h = siphash13(key, in.data, in.len);
	buf_free(&in);
	return (uint32_t)(h ^ (h >> 32));
}

void tree_alias_path(const char *path, const char *mailbox, uint32_t salt, struct buf *out)
{
	const char *slash = strrchr(path, '/');
	size_t dir = slash ? (size_t)(slash - path) + 1 : 0;
	size_t keep = strlen(path) - dir;

	if (keep > TREE_NAME_MAX - TREE_ALIAS_SUFFIX) {
		keep = TREE_NAME_MAX - TREE_ALIAS_SUFFIX;
		/* not inside a UTF-8 sequence, nor inside a "%XX" escape */
		while (keep && ((unsigned char)path[dir + keep] & 0xc0) == 0x80)
			keep--;
		if (keep >= 1 && path[dir + keep - 1] == '%')
			keep -= 1;
		else if (keep >= 2 && path[dir + keep - 2] == '%')
			keep -= 2;
	}
	uint32_t h = tree_alias_hash(mailbox, salt);
	buf_reset(out);
	buf_add(out, path, dir + keep);
	buf_addstr(out, "%~");
	for (int shift = 28; shift >= 0; shift -= 4)
		buf_addch(out, tree_hex[(h >> shift) & 0xf]);
}

static int tree_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Undoes the escapes of one component into out; NULL or the reason. */
static const char *tree_unescape_component(const char *s, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			buf_addch(out, s[i]);
			continue;
		}
		if (n - i < 3 || tree_hex_value(s[i + 1]) < 0 || tree_hex_value(s[i + 2]) < 0)
			return "'%' not followed by two hex digits";
		int c = tree_hex_value(s[i + 1]) << 4 | tree_hex_value(s[i + 2]);
		if (c == 0)
			return "escape decodes to NUL";
		buf_addch(out, (char)c);
		i += 2;
	}
	return NULL;
}

int tree_mailbox_from_path(const char *path, char delim, bool utf8, struct buf *mailbox, struct buf *err)
{
	struct buf raw = BUF_INIT, canon = BUF_INIT, why = BUF_INIT;
	const char *p = path, *reason = NULL;

	buf_reset(mailbox);
	if (!tree_delim_usable(delim, err))
		return -1;
	if (!*path)
		return tree_fail(mailbox, err, "empty path");
	for (;;) {
		const char *end = strchr(p, '/');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n == 0) {
			reason = "empty path component";
			break;
		}
		if (n > TREE_NAME_MAX) {
			reason = "path component longer than 255 bytes";
			break;
		}
		if (tree_is_message_span(p, n)) {
			reason = "a message file name is not a mailbox";
			break;
		}
		buf_reset(&raw);
		reason = tree_unescape_component(p, n, &raw);
		if (reason)
			break;
		if (delim && memchr(raw.data, delim, raw.len)) {
			reason = "path component contains the hierarchy delimiter";
			break;
		}
		buf_reset(&canon);
		tree_escape_component(raw.data, raw.len, &canon);
		if (canon.len != n || memcmp(canon.data, p, n) != 0) {
			reason = "path component not in canonical escaped form";
			break;
		}
		if ((utf8 ? utf8_name(raw.data, raw.len, mailbox, &why)
			  : mutf7_from_utf8(raw.data, raw.len, mailbox, &why)) < 0) {
			buf_reset(mailbox);
			if (err)
				buf_addf(err, "cannot encode path component (%s)", why.data);
			buf_free(&raw);
			buf_free(&canon);
			buf_free(&why);
			return -1;
		}
		if (!end)
			break;
		if (!delim) {
			reason = "flat namespace: a mailbox cannot have sub-levels";
			break;
		}
		buf_addch(mailbox, delim);
		p = end + 1;
	}
	buf_free(&raw);
	buf_free(&canon);
	buf_free(&why);
	if (reason)
		return tree_fail(mailbox, err, reason);
	return 0;
}
