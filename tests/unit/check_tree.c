/* check_tree.c: mailbox names <-> path components of the mount. */
#include "config.h"
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check_rng.h"
#include "check_run.h"
#include "mutf7.h"
#include "model/tree.h"

/* The path for a mailbox, or NULL when it is refused (an err line must then
 * have been written).  Returns a static buffer's text. */
static const char *path_of_names(const char *mailbox, char delim, bool utf8)
{
	static struct buf path = BUF_INIT;
	struct buf err = BUF_INIT;
	int rc = tree_path_from_mailbox(mailbox, delim, utf8, &path, &err);
	if (rc < 0) {
		ck_assert_uint_gt(err.len, 0);
		ck_assert_uint_eq(path.len, 0);
	} else {
		ck_assert_int_eq(rc, 0);
		ck_assert_uint_eq(err.len, 0);
	}
	buf_free(&err);
	return rc < 0 ? NULL : path.data;
}

static const char *mailbox_of_names(const char *path, char delim, bool utf8)
{
	static struct buf mailbox = BUF_INIT;
	struct buf err = BUF_INIT;
	int rc = tree_mailbox_from_path(path, delim, utf8, &mailbox, &err);
	if (rc < 0) {
		ck_assert_uint_gt(err.len, 0);
		ck_assert_uint_eq(mailbox.len, 0);
	} else {
		ck_assert_int_eq(rc, 0);
	}
	buf_free(&err);
	return rc < 0 ? NULL : mailbox.data;
}

/* Names in modified UTF-7, as servers without UTF8=ACCEPT send them. */
static const char *path_of(const char *mailbox, char delim)
{
	return path_of_names(mailbox, delim, false);
}

static const char *mailbox_of(const char *path, char delim)
{
	return mailbox_of_names(path, delim, false);
}

#define ck_assert_refused(expr) ck_assert_ptr_null(expr)

START_TEST(test_examples)
{
	ck_assert_str_eq(path_of("Reisen.Z&APw-rich", '.'), "Reisen/Z\xc3\xbcrich");
	ck_assert_str_eq(mailbox_of("Reisen/Z\xc3\xbcrich", '.'), "Reisen.Z&APw-rich");
	ck_assert_str_eq(path_of("Reisen/Z&APw-rich", '/'), "Reisen/Z\xc3\xbcrich");
	ck_assert_str_eq(mailbox_of("Reisen/Z\xc3\xbcrich", '/'), "Reisen/Z&APw-rich");
	ck_assert_str_eq(path_of("&Jjo-", '/'), "\xe2\x98\xba");
	ck_assert_str_eq(path_of("Tom &- Jerry", '/'), "Tom & Jerry");
	ck_assert_str_eq(mailbox_of("Tom & Jerry", '/'), "Tom &- Jerry");
	ck_assert_str_eq(path_of("a.b.c", '/'), "a.b.c");
	ck_assert_str_eq(path_of("a/b/c", '.'), "a%2Fb%2Fc");
	ck_assert_str_eq(mailbox_of("a%2Fb%2Fc", '.'), "a/b/c");
}
END_TEST

START_TEST(test_inbox_kept_as_reported)
{
	ck_assert_str_eq(path_of("INBOX", '.'), "INBOX");
	ck_assert_str_eq(path_of("Inbox", '.'), "Inbox");
	ck_assert_str_eq(path_of("INBOX.Sent", '.'), "INBOX/Sent");
	ck_assert_str_eq(mailbox_of("inbox", '.'), "inbox");
	ck_assert_str_eq(mailbox_of("INBOX/Sent", '.'), "INBOX.Sent");
}
END_TEST

START_TEST(test_dot_components)
{
	ck_assert_str_eq(path_of("..", '/'), "%2E%2E");
	ck_assert_str_eq(path_of(".", '/'), "%2E");
	ck_assert_str_eq(path_of("a/../b", '/'), "a/%2E%2E/b");
	ck_assert_str_eq(path_of("..", 0), "%2E%2E");
	ck_assert_str_eq(path_of("...", '/'), "...");
	ck_assert_str_eq(path_of(".hidden", '/'), ".hidden");
	ck_assert_str_eq(mailbox_of("%2E%2E", '/'), "..");
	ck_assert_str_eq(mailbox_of("a/%2E/b", '/'), "a/./b");
	/* With '.' as delimiter the same names are made of empty levels. */
	ck_assert_refused(path_of("..", '.'));
	ck_assert_refused(path_of(".", '.'));
	/* A bare "." or ".." never names a mailbox; "%2E" spelled elsewhere
	 * than a whole "."/".." component is not canonical. */
	ck_assert_refused(mailbox_of("..", '/'));
	ck_assert_refused(mailbox_of("a/./b", '/'));
	ck_assert_refused(mailbox_of("%2Ex", '/'));
	ck_assert_refused(mailbox_of("%2E%2E", '.'));  /* would contain the delimiter */
}
END_TEST

START_TEST(test_slash_and_delimiter)
{
	ck_assert_str_eq(path_of("a/b", '.'), "a%2Fb");
	ck_assert_str_eq(path_of("a/b", 0), "a%2Fb");
	ck_assert_str_eq(path_of("a/b", '/'), "a/b");
	ck_assert_str_eq(mailbox_of("a%2Fb", 0), "a/b");
	/* With '/' as delimiter an escaped '/' would be the delimiter. */
	ck_assert_refused(mailbox_of("a%2Fb", '/'));
	/* A component holding the delimiter cannot be one level. */
	ck_assert_refused(mailbox_of("a.b", '.'));
	ck_assert_str_eq(mailbox_of("a.b", '/'), "a.b");
	/* Flat namespace: no sub-levels. */
	ck_assert_refused(mailbox_of("a/b", 0));
	ck_assert_str_eq(path_of("a.b", 0), "a.b");
	/* Unusable delimiters. */
	ck_assert_refused(path_of("a&b", '&'));
	ck_assert_refused(path_of("a\x01" "b", '\x01'));
	ck_assert_refused(path_of("a\xc3" "b", '\xc3'));
	ck_assert_refused(mailbox_of("a", '&'));
	/* Other printable delimiters work. */
	ck_assert_str_eq(path_of("a\\b", '\\'), "a/b");
	ck_assert_str_eq(mailbox_of("a/b", '\\'), "a\\b");
	ck_assert_str_eq(path_of("50%off%x", '%'), "50/off/x");
	ck_assert_str_eq(mailbox_of("50/off/x", '%'), "50%off%x");
	ck_assert_refused(mailbox_of("50%25off", '%'));
}
END_TEST

START_TEST(test_empty_components)
{
	ck_assert_refused(path_of("", '.'));
	ck_assert_refused(path_of("", 0));
	ck_assert_refused(path_of("a..b", '.'));
	ck_assert_refused(path_of(".a", '.'));
	ck_assert_refused(path_of("a.", '.'));
	ck_assert_refused(path_of("a//b", '/'));
	ck_assert_refused(path_of("/a", '/'));
	ck_assert_refused(mailbox_of("", '.'));
	ck_assert_refused(mailbox_of("/a", '.'));
	ck_assert_refused(mailbox_of("a/", '.'));
	ck_assert_refused(mailbox_of("a//b", '.'));
}
END_TEST

START_TEST(test_invalid_modified_utf7)
{
	ck_assert_refused(path_of("&", '/'));
	ck_assert_refused(path_of("&Jjo", '/'));
	ck_assert_refused(path_of("a.&Jjo.b", '.'));
	ck_assert_refused(path_of("&AOQ-&APY-", '/'));     /* two runs back to back */
	ck_assert_refused(path_of("&AGE-", '/'));          /* encoded printable ASCII */
	ck_assert_refused(path_of("&AAA-", '/'));          /* encoded NUL */
	ck_assert_refused(path_of("Z\xc3\xbcrich", '/'));  /* raw 8-bit */
	ck_assert_refused(path_of("a\tb", '/'));           /* raw control */
	ck_assert_refused(path_of("a\x7f", '/'));
	ck_assert_str_eq(path_of("&-", '/'), "&");
}
END_TEST

START_TEST(test_message_like_names)
{
	ck_assert_str_eq(path_of("12.eml", '/'), "%312.eml");
	ck_assert_str_eq(path_of("x/12.eml", '/'), "x/%312.eml");
	ck_assert_str_eq(path_of("12.eml", 0), "%312.eml");
	ck_assert_str_eq(path_of("4294967295.eml", '/'), "%34294967295.eml");
	ck_assert_str_eq(path_of("9.eml", '/'), "%39.eml");
	/* Not message names: left alone. */
	ck_assert_str_eq(path_of("4294967296.eml", '/'), "4294967296.eml");
	ck_assert_str_eq(path_of("0.eml", '/'), "0.eml");
	ck_assert_str_eq(path_of("012.eml", '/'), "012.eml");
	ck_assert_str_eq(path_of("12.EML", '/'), "12.EML");
	ck_assert_str_eq(path_of("12.eml.old", '/'), "12.eml.old");
	ck_assert_str_eq(path_of("12", '/'), "12");
	/* With '.' as delimiter "12.eml" is two levels. */
	ck_assert_str_eq(path_of("12.eml", '.'), "12/eml");

	ck_assert_str_eq(mailbox_of("%312.eml", '/'), "12.eml");
	ck_assert_str_eq(mailbox_of("x/%34294967295.eml", '/'), "x/4294967295.eml");
	ck_assert_refused(mailbox_of("12.eml", '/'));
	ck_assert_refused(mailbox_of("x/12.eml", '/'));
	ck_assert_refused(mailbox_of("%31x", '/'));  /* "1x" needs no escape */
	ck_assert_str_eq(mailbox_of("0.eml", '/'), "0.eml");
}
END_TEST

START_TEST(test_control_characters)
{
	struct buf mb = BUF_INIT;
	ck_assert_int_eq(mutf7_from_utf8("a\x01" "b\x1f\x7f" "c", 6, &mb, NULL), 0);
	ck_assert_str_eq(path_of(mb.data, '/'), "a%01b%1F%7Fc");
	ck_assert_str_eq(mailbox_of("a%01b%1F%7Fc", '/'), mb.data);
	buf_reset(&mb);
	ck_assert_int_eq(mutf7_from_utf8("line\nbreak", 10, &mb, NULL), 0);
	ck_assert_str_eq(path_of(mb.data, '.'), "line%0Abreak");
	buf_free(&mb);
	/* Raw control characters in a path are not the canonical form. */
	ck_assert_refused(mailbox_of("a\x01" "b", '/'));
	ck_assert_refused(mailbox_of("a\nb", '/'));
	ck_assert_refused(mailbox_of("a%00b", '/'));
}
END_TEST

START_TEST(test_percent)
{
	ck_assert_str_eq(path_of("100%", '/'), "100%25");
	ck_assert_str_eq(path_of("%2E", '/'), "%252E");
	ck_assert_str_eq(mailbox_of("100%25", '/'), "100%");
	ck_assert_str_eq(mailbox_of("%252E", '/'), "%2E");
	/* Anything the encoder does not write is refused. */
	ck_assert_refused(mailbox_of("100%", '/'));
	ck_assert_refused(mailbox_of("%4", '/'));
	ck_assert_refused(mailbox_of("%zz", '/'));
	ck_assert_refused(mailbox_of("%41", '/'));    /* 'A' is never escaped */
	ck_assert_refused(mailbox_of("%2e%2e", '/'));  /* lower case */
	ck_assert_refused(mailbox_of("%C3%BC", '/'));  /* UTF-8 is written as is */
	ck_assert_refused(mailbox_of("%25%", '/'));
}
END_TEST

START_TEST(test_utf8_checked)
{
	ck_assert_refused(mailbox_of("\xff", '/'));
	ck_assert_refused(mailbox_of("a\xc3", '/'));
	ck_assert_refused(mailbox_of("\xc0\xaf", '/'));       /* overlong '/' */
	ck_assert_refused(mailbox_of("\xed\xa0\x80", '/'));   /* surrogate */
	ck_assert_str_eq(mailbox_of("\xf0\x9f\x98\x80", '/'), "&2D3eAA-");
	ck_assert_str_eq(path_of("&2D3eAA-", '/'), "\xf0\x9f\x98\x80");
}
END_TEST

/* UTF8=ACCEPT: names are UTF-8 both ways, '&' is an ordinary byte, and a
 * name that is not well-formed UTF-8 is refused from either side. */
START_TEST(test_utf8_names)
{
	ck_assert_str_eq(path_of_names("Entw\xc3\xbcrfe/a&b", '/', true), "Entw\xc3\xbcrfe/a&b");
	ck_assert_str_eq(mailbox_of_names("Entw\xc3\xbcrfe/a&b", '/', true), "Entw\xc3\xbcrfe/a&b");
	ck_assert_str_eq(path_of_names("&2D3eAA-", '/', true), "&2D3eAA-");
	ck_assert_ptr_null(path_of_names("a/\xff", '/', true));
	ck_assert_ptr_null(path_of_names("\xed\xa0\x80", '/', true));
	ck_assert_ptr_null(mailbox_of_names("a\xc3", '/', true));
	ck_assert_ptr_null(mailbox_of_names("\xc0\xaf", '/', true));
}
END_TEST

START_TEST(test_long_names)
{
	struct buf name = BUF_INIT;
	for (int i = 0; i < 255; i++)
		buf_addch(&name, 'x');
	ck_assert_str_eq(path_of(name.data, '/'), name.data);
	ck_assert_str_eq(mailbox_of(name.data, '/'), name.data);
	buf_addch(&name, 'x');
	ck_assert_refused(path_of(name.data, '/'));
	ck_assert_refused(mailbox_of(name.data, '/'));

	/* Escaping counts: 85 '%' fit (255 bytes), 86 do not. */
	buf_reset(&name);
	for (int i = 0; i < 85; i++)
		buf_addch(&name, '%');
	ck_assert_uint_eq(strlen(path_of(name.data, '/')), 255);
	buf_addch(&name, '%');
	ck_assert_refused(path_of(name.data, '/'));

	/* Many levels, each within bounds, make a long path. */
	buf_reset(&name);
	for (int i = 0; i < 100; i++) {
		if (i)
			buf_addch(&name, '.');
		for (int j = 0; j < 200; j++)
			buf_addch(&name, (char)('a' + (i + j) % 26));
	}
	const char *p = path_of(name.data, '.');
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(strlen(p), name.len);
	struct buf path = BUF_INIT;
	buf_addstr(&path, p);
	ck_assert_str_eq(mailbox_of(path.data, '.'), name.data);
	buf_free(&path);
	buf_free(&name);
}
END_TEST

START_TEST(test_is_message_name)
{
	uint32_t uid = 0;
	ck_assert(tree_is_message_name("1.eml", &uid));
	ck_assert_uint_eq(uid, 1);
	ck_assert(tree_is_message_name("4294967295.eml", &uid));
	ck_assert_uint_eq(uid, 4294967295u);
	ck_assert(tree_is_message_name("1234567.eml", NULL));
	uid = 77;
	ck_assert(!tree_is_message_name("4294967296.eml", &uid));
	ck_assert(!tree_is_message_name("99999999999.eml", &uid));
	ck_assert(!tree_is_message_name("0.eml", &uid));
	ck_assert(!tree_is_message_name("01.eml", &uid));
	ck_assert(!tree_is_message_name(".eml", &uid));
	ck_assert(!tree_is_message_name("1.eml ", &uid));
	ck_assert(!tree_is_message_name("1.emlx", &uid));
	ck_assert(!tree_is_message_name("1.em", &uid));
	ck_assert(!tree_is_message_name("-1.eml", &uid));
	ck_assert(!tree_is_message_name("+1.eml", &uid));
	ck_assert(!tree_is_message_name(" 1.eml", &uid));
	ck_assert(!tree_is_message_name("1", &uid));
	ck_assert(!tree_is_message_name("", &uid));
	ck_assert(!tree_is_message_name("1.EML", &uid));
	ck_assert_uint_eq(uid, 77);  /* untouched when false */
}
END_TEST

/* ---- properties over many random names ---- */

static const char *const nasty[] = {
	".", "..", "%", "%25", "%2E", "/", "&", "&-", "\x01", "\x1f", "\x7f", "\n", " ", "~", "\\", "*",
	"1", "0", "9", "2.eml", ".eml", "4294967295", "\xc3\xbc", "\xe2\x98\xba", "\xf0\x9f\x98\x80",
	"\xc2\x85", "INBOX", "a", "Z", "-", ",", "+", "\"",
};

/* A random UTF-8 level without the delimiter. */
static void random_level(struct buf *out, char delim)
{
	do {
		buf_reset(out);
		size_t parts = 1 + rng() % 6;
		for (size_t i = 0; i < parts; i++)
			buf_addstr(out, nasty[rng() % (sizeof nasty / sizeof nasty[0])]);
	} while (delim && memchr(out->data, delim, out->len));
}

/* Every component of a produced path is a safe directory entry name. */
static void check_components_safe(const char *path)
{
	const char *p = path;
	for (;;) {
		const char *end = strchr(p, '/');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		ck_assert_uint_gt(n, 0);
		ck_assert_uint_le(n, TREE_NAME_MAX);
		ck_assert(!(n == 1 && p[0] == '.'));
		ck_assert(!(n == 2 && p[0] == '.' && p[1] == '.'));
		char name[TREE_NAME_MAX + 1];
		memcpy(name, p, n);
		name[n] = '\0';
		ck_assert(!tree_is_message_name(name, NULL));
		for (size_t i = 0; i < n; i++)
			ck_assert(((unsigned char)p[i] >= 0x20 && p[i] != 0x7f));
		if (!end)
			break;
		p = end + 1;
	}
}

START_TEST(test_round_trip_random_names)
{
	static const char delims[] = { '.', '/', 0, '%', '\\', ' ' };
	struct buf mailbox = BUF_INIT, level = BUF_INIT, path = BUF_INIT, back = BUF_INIT, err = BUF_INIT;

	rng_state = 0x9e3779b97f4a7c15ULL;
	for (int iter = 0; iter < 20000; iter++) {
		char delim = delims[iter % sizeof delims];
		size_t levels = delim ? 1 + rng() % 4 : 1;
		buf_reset(&mailbox);
		for (size_t i = 0; i < levels; i++) {
			if (i)
				buf_addch(&mailbox, delim);
			random_level(&level, delim);
			ck_assert_int_eq(mutf7_from_utf8(level.data, level.len, &mailbox, &err), 0);
		}
		buf_reset(&err);
		ck_assert_msg(tree_path_from_mailbox(mailbox.data, delim, false, &path, &err) == 0,
			      "refused \"%s\" (%s)", mailbox.data, err.data);
		ck_assert_uint_eq(strlen(path.data), path.len);
		check_components_safe(path.data);
		ck_assert_msg(tree_mailbox_from_path(path.data, delim, false, &back, &err) == 0,
			      "path of \"%s\" refused (%s)", mailbox.data, err.data);
		ck_assert_str_eq(back.data, mailbox.data);
	}
	buf_free(&mailbox);
	buf_free(&level);
	buf_free(&path);
	buf_free(&back);
	buf_free(&err);
}
END_TEST

/* Raw hostile bytes from a server: whatever is accepted is safe and comes
 * back unchanged. */
START_TEST(test_round_trip_random_bytes)
{
	static const char alphabet[] = "&-./%AZaz09+,\x01\x7f\xc3\xbc ";
	struct buf name = BUF_INIT, path = BUF_INIT, back = BUF_INIT;
	int accepted = 0;

	rng_state = 12345;
	for (int iter = 0; iter < 50000; iter++) {
		char delim = iter % 2 ? '.' : '/';
		size_t n = 1 + rng() % 10;
		buf_reset(&name);
		for (size_t i = 0; i < n; i++)
			buf_addch(&name, alphabet[rng() % (sizeof alphabet - 1)]);
		if (tree_path_from_mailbox(name.data, delim, false, &path, NULL) < 0)
			continue;
		accepted++;
		check_components_safe(path.data);
		ck_assert_int_eq(tree_mailbox_from_path(path.data, delim, false, &back, NULL), 0);
		ck_assert_str_eq(back.data, name.data);
	}
	ck_assert_int_gt(accepted, 1000);  /* the property was really exercised */
	buf_free(&name);
	buf_free(&path);
	buf_free(&back);
}
END_TEST

/* Paths a user may type: whatever is accepted maps back to the very same
 * path, so one mailbox never shows under two names. */
START_TEST(test_accepted_paths_are_canonical)
{
	static const char alphabet[] = "%25%2E%2F%31%01%7Fa.b/1.eml\xc3\xbc";
	struct buf path = BUF_INIT, mailbox = BUF_INIT, again = BUF_INIT;
	int accepted = 0;

	rng_state = 777;
	for (int iter = 0; iter < 50000; iter++) {
		char delim = iter % 3 == 0 ? '.' : iter % 3 == 1 ? '/' : 0;
		size_t n = 1 + rng() % 12;
		buf_reset(&path);
		for (size_t i = 0; i < n; i++)
			buf_addch(&path, alphabet[rng() % (sizeof alphabet - 1)]);
		if (tree_mailbox_from_path(path.data, delim, false, &mailbox, NULL) < 0)
			continue;
		accepted++;
		ck_assert_int_eq(tree_path_from_mailbox(mailbox.data, delim, false, &again, NULL), 0);
		ck_assert_str_eq(again.data, path.data);
	}
	ck_assert_int_gt(accepted, 1000);
	buf_free(&path);
	buf_free(&mailbox);
	buf_free(&again);
}
END_TEST

/* An alias: the path's last component, "%~" and eight upper-case hex
 * digits, the same for the same name and salt, within TREE_NAME_MAX, and
 * never a path a mailbox can have or a user can create. */
static void check_alias(const char *alias, const char *kept)
{
	size_t n = strlen(alias), k = strlen(kept);
	ck_assert_uint_eq(n, k + 10);
	ck_assert(!memcmp(alias, kept, k));
	ck_assert(!memcmp(alias + k, "%~", 2));
	for (size_t i = k + 2; i < n; i++)
		ck_assert_msg(strchr("0123456789ABCDEF", alias[i]) && alias[i], "%s", alias);
	check_components_safe(alias);
	static const char delims[] = { '.', '/', 0, '%', '~' };
	for (size_t i = 0; i < sizeof delims; i++)
		ck_assert_refused(mailbox_of(alias, delims[i]));
}

START_TEST(test_alias_paths)
{
	struct buf a = BUF_INIT, b = BUF_INIT, comp = BUF_INIT;
	tree_alias_path("a/b", "a/b", 0, &a);
	check_alias(a.data, "a/b");
	tree_alias_path("a/b", "a/b", 0, &b);
	ck_assert_str_eq(b.data, a.data);             /* every mount the same */
	tree_alias_path("a/b", "a/b", 1, &b);
	ck_assert_str_ne(b.data, a.data);             /* the next salt: another */
	tree_alias_path("a/b", "a|b", 0, &b);
	ck_assert_str_ne(b.data, a.data);             /* another name: another */
	tree_alias_path("x", "x", 0, &b);
	check_alias(b.data, "x");
	tree_alias_path("%2E%2E", "..", 0, &b);
	check_alias(b.data, "%2E%2E");

	/* too long: cut to fit, at a character and never inside an escape */
	struct buf kept = BUF_INIT;
	for (int i = 0; i < 255; i++)
		buf_addch(&comp, 'x');
	tree_alias_path(comp.data, "long", 0, &b);
	buf_add(&kept, comp.data, 245);
	check_alias(b.data, kept.data);
	ck_assert_uint_eq(b.len, 255);
	buf_reset(&comp);
	buf_addstr(&comp, "dir/");
	for (int i = 0; i < 127; i++)
		buf_addstr(&comp, "\xc3\xbc");  /* 254 bytes: a cut at 245 would split one */
	tree_alias_path(comp.data, "umlauts", 0, &b);
	buf_set(&kept, comp.data, 4 + 244);
	check_alias(b.data, kept.data);
	buf_reset(&comp);
	for (int i = 0; i < 85; i++)
		buf_addstr(&comp, "%25");  /* 255 bytes: 245 is inside an escape */
	tree_alias_path(comp.data, "percent", 0, &b);
	buf_set(&kept, comp.data, 243);
	check_alias(b.data, kept.data);
	buf_free(&kept);
	buf_free(&a);
	buf_free(&b);
	buf_free(&comp);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tree");
	TCase *tc = tcase_create("mapping");
	tcase_add_test(tc, test_examples);
	tcase_add_test(tc, test_inbox_kept_as_reported);
	tcase_add_test(tc, test_dot_components);
	tcase_add_test(tc, test_slash_and_delimiter);
	tcase_add_test(tc, test_empty_components);
	tcase_add_test(tc, test_invalid_modified_utf7);
	tcase_add_test(tc, test_message_like_names);
	tcase_add_test(tc, test_control_characters);
	tcase_add_test(tc, test_percent);
	tcase_add_test(tc, test_utf8_checked);
	tcase_add_test(tc, test_utf8_names);
	tcase_add_test(tc, test_long_names);
	tcase_add_test(tc, test_is_message_name);
	tcase_add_test(tc, test_alias_paths);
	suite_add_tcase(s, tc);
	tc = tcase_create("properties");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_round_trip_random_names);
	tcase_add_test(tc, test_round_trip_random_bytes);
	tcase_add_test(tc, test_accepted_paths_are_canonical);
	suite_add_tcase(s, tc);

	int failed = check_run_suite(s);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
