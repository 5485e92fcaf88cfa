/* check_parser_gmail.c: Gmail's FETCH items (X-GM-EXT-1, proto/gmail.h)
 * from the exact bytes Gmail sends, through the one parser, and what a
 * hostile server may send instead: each odd item is left unread as a
 * whole (never half a list), and the response itself stays readable. */
#include "config.h"
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check_parser_conv.h"
#include "gmail.h"
#include "parser.h"

struct one {
	struct imap_parser *p;
	struct imap_resp r;
	struct imap_gm_fetch g;
};

/* Frames and splits data (n bytes: it may hold NUL in a literal), then
 * decodes its Gmail items into o->g; returns imap_gm_fetch's answer. */
static bool decode_n(struct one *o, const char *data, size_t n)
{
	o->p = imap_parser_new(NULL);
	size_t used;
	ck_assert_int_eq(imap_parser_feed(o->p, data, n, &used), IMAP_PARSE_DONE);
	ck_assert_uint_eq(used, n);
	ck_assert_int_eq(imap_resp_parse(o->p, imap_parser_response(o->p), &o->r, NULL), 0);
	return imap_gm_fetch(&o->r, &o->g);
}

static bool decode(struct one *o, const char *data)
{
	return decode_n(o, data, strlen(data));
}

static void label_is(const struct one *o, size_t i, const char *want)
{
	const char *s;
	size_t len;
	ck_assert_uint_lt(i, o->g.nlabels);
	imap_gm_label(&o->g, i, &s, &len);
	ck_assert_uint_eq(len, strlen(want));
	ck_assert_mem_eq(s, want, len);
}

START_TEST(test_gmail_items)
{
	struct one o;
	/* as Gmail answers: system labels quoted with their backslash escaped,
	 * a user label in modified UTF-7, 64-bit ids */
	ck_assert(decode(&o, "* 3 FETCH (UID 41 X-GM-LABELS (\"\\\\Inbox\" \"\\\\Important\" Work "
			     "\"Caf&AOk-/R&AOk-sum&AOk-\") X-GM-MSGID 1278455344230334865 "
			     "X-GM-THRID 18446744073709551615)\r\n"));
	ck_assert_uint_eq(o.g.uid, 41);
	ck_assert(o.g.has_labels && o.g.has_msgid && o.g.has_thrid && !o.g.malformed);
	ck_assert_uint_eq(o.g.nlabels, 4);
	label_is(&o, 0, "\\Inbox");
	label_is(&o, 1, "\\Important");
	label_is(&o, 2, "Work");
	label_is(&o, 3, "Caf&AOk-/R&AOk-sum&AOk-");
	ck_assert(imap_gm_label_is_system("\\Inbox", 6));
	ck_assert(!imap_gm_label_is_system("Work", 4));
	ck_assert(!imap_gm_label_is_system("\\", 1));
	ck_assert_uint_eq(o.g.msgid, 1278455344230334865ull);
	ck_assert_uint_eq(o.g.thrid, UINT64_MAX);
	imap_parser_free(o.p);

	/* Google's own example: unquoted system labels (atoms), an empty list,
	 * a literal label, no UID */
	ck_assert(decode(&o, "* 1 FETCH (X-GM-LABELS (\\Inbox \\Sent Important {14}\r\nMuy Importante))\r\n"));
	ck_assert_uint_eq(o.g.uid, 0);
	ck_assert(o.g.has_labels && !o.g.has_msgid && !o.g.malformed);
	ck_assert_uint_eq(o.g.nlabels, 4);
	label_is(&o, 0, "\\Inbox");
	label_is(&o, 1, "\\Sent");
	label_is(&o, 3, "Muy Importante");
	imap_parser_free(o.p);
	ck_assert(decode(&o, "* 3 FETCH (X-GM-LABELS () UID 7)\r\n"));
	ck_assert(o.g.has_labels && o.g.nlabels == 0 && o.g.uid == 7);
	imap_parser_free(o.p);

	/* not a FETCH, or a FETCH without the items */
	ck_assert(!decode(&o, "* 3 EXPUNGE\r\n"));
	imap_parser_free(o.p);
	ck_assert(decode(&o, "* 3 FETCH (UID 9 FLAGS (\\Seen))\r\n"));
	ck_assert(!o.g.has_labels && !o.g.malformed && o.g.labels == NULL);
	imap_parser_free(o.p);
}
END_TEST

/* Each hostile item is unread and marked; the others are still read. */
static void hostile(const char *data, size_t n, bool labels_ok, bool msgid_ok)
{
	struct one o;
	ck_assert(decode_n(&o, data, n));
	ck_assert_uint_eq(o.g.uid, 5);
	ck_assert(o.g.malformed);
	ck_assert_int_eq(o.g.has_labels, labels_ok);
	ck_assert_int_eq(o.g.has_msgid, msgid_ok);
	if (!labels_ok) {
		ck_assert_ptr_null(o.g.labels);
		ck_assert_uint_eq(o.g.nlabels, 0);
	}
	imap_parser_free(o.p);
}

#define HOSTILE(s, labels_ok, msgid_ok) hostile(s, sizeof s - 1, labels_ok, msgid_ok)

START_TEST(test_gmail_hostile)
{
	/* numbers: past 64 bits, 0, signs, not a number, a list, too many digits */
	HOSTILE("* 1 FETCH (UID 5 X-GM-LABELS (a) X-GM-MSGID 18446744073709551616)\r\n", true, false);
	HOSTILE("* 1 FETCH (UID 5 X-GM-LABELS (a) X-GM-MSGID 0)\r\n", true, false);
	HOSTILE("* 1 FETCH (UID 5 X-GM-LABELS (a) X-GM-MSGID -1)\r\n", true, false);
	HOSTILE("* 1 FETCH (UID 5 X-GM-LABELS (a) X-GM-MSGID \"12\")\r\n", true, false);
	HOSTILE("* 1 FETCH (UID 5 X-GM-LABELS (a) X-GM-MSGID (12))\r\n", true, false);
	HOSTILE("* 1 FETCH (UID 5 X-GM-LABELS (a) X-GM-MSGID 000000000000000000001)\r\n", true, false);
	HOSTILE("* 1 FETCH (UID 5 X-GM-LABELS (a) X-GM-THRID 12x X-GM-MSGID 3)\r\n", true, true);
	/* labels: not a list, NIL in it, a nested list, an empty one */
	HOSTILE("* 1 FETCH (UID 5 X-GM-LABELS \\Inbox X-GM-MSGID 3)\r\n", false, true);
	HOSTILE("* 1 FETCH (UID 5 X-GM-LABELS NIL X-GM-MSGID 3)\r\n", false, true);
	HOSTILE("* 1 FETCH (UID 5 X-GM-LABELS (a NIL) X-GM-MSGID 3)\r\n", false, true);
	HOSTILE("* 1 FETCH (UID 5 X-GM-LABELS (a (b)) X-GM-MSGID 3)\r\n", false, true);
	HOSTILE("* 1 FETCH (UID 5 X-GM-LABELS (a \"\") X-GM-MSGID 3)\r\n", false, true);
	/* control bytes a literal can carry: NUL, LF, DEL; and a TAB quoted */
	HOSTILE("* 1 FETCH (UID 5 X-GM-LABELS (a {3}\r\nb\0c) X-GM-MSGID 3)\r\n", false, true);
	HOSTILE("* 1 FETCH (UID 5 X-GM-LABELS ({3}\r\nb\nc) X-GM-MSGID 3)\r\n", false, true);
	HOSTILE("* 1 FETCH (UID 5 X-GM-LABELS ({3}\r\nb\x7f" "c) X-GM-MSGID 3)\r\n", false, true);
	HOSTILE("* 1 FETCH (UID 5 X-GM-LABELS (\"a\tb\") X-GM-MSGID 3)\r\n", false, true);
}
END_TEST

/* Bounds: IMAP_GM_MAX_LABELS labels and a label of IMAP_GM_MAX_LABEL bytes
 * are read; one more of either is not. */
static void bounded(size_t nlabels, size_t label_len, bool ok)
{
	struct buf b = BUF_INIT;
	buf_addstr(&b, "* 1 FETCH (UID 5 X-GM-LABELS (");
	for (size_t i = 0; i < nlabels; i++)
		buf_addf(&b, "%sl%zu", i ? " " : "", i);
	buf_addstr(&b, " ");
	for (size_t i = 0; i < label_len; i++)
		buf_addch(&b, 'x');
	buf_addstr(&b, "))\r\n");
	struct one o;
	ck_assert(decode_n(&o, b.data, b.len));
	ck_assert_int_eq(o.g.has_labels, ok);
	ck_assert_uint_eq(o.g.nlabels, ok ? nlabels + 1 : 0);
	ck_assert_int_eq(o.g.malformed, !ok);
	imap_parser_free(o.p);
	buf_free(&b);
}

START_TEST(test_gmail_bounds)
{
	bounded(IMAP_GM_MAX_LABELS - 1, IMAP_GM_MAX_LABEL, true);
	bounded(IMAP_GM_MAX_LABELS, 1, false);
	bounded(1, IMAP_GM_MAX_LABEL + 1, false);
	bounded(100000, 1, false);
}
END_TEST

void check_parser_add_gmail(TCase *tc)
{
	tcase_add_test(tc, test_gmail_items);
	tcase_add_test(tc, test_gmail_hostile);
	tcase_add_test(tc, test_gmail_bounds);
}
