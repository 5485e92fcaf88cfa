/* gmail.c: Gmail's FETCH items (gmail.h). */
#include "config.h"
#include "gmail.h"

#include <string.h>

/* A label the filesystem can show one per line: no control byte (a
 * literal may hold any), not empty, bounded. */
static bool label_usable(const struct imap_arg *a)
{
	const char *s;
	size_t len;
	if (a->type == IMAP_ARG_LIST || !imap_arg_astring(a, &s, &len))
		return false;
	if (len == 0 || len > IMAP_GM_MAX_LABEL)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

static bool labels_decode(const struct imap_arg *v, struct imap_gm_fetch *out)
{
	if (v->type != IMAP_ARG_LIST || v->count > IMAP_GM_MAX_LABELS)
		return false;
	for (size_t i = 0; i < v->count; i++)
		if (!label_usable(&v->list[i]))
			return false;
	out->labels = v->list;
	out->nlabels = v->count;
	return true;
}

/* 1 to 20 digits, within 64 bits, not 0 (Gmail's ids start at 1). */
static bool id_decode(const struct imap_arg *v, uint64_t *out)
{
	return v->type == IMAP_ARG_ATOM && v->len <= 20 && imap_arg_number(v, out) && *out;
}

bool imap_gm_fetch(const struct imap_resp *r, struct imap_gm_fetch *out)
{
	memset(out, 0, sizeof *out);
	if (!r || !r->name || strcmp(r->name, "FETCH") || r->nargs < 1 || r->args[0].type != IMAP_ARG_LIST)
		return false;
	const struct imap_arg *a = r->args[0].list;
	for (size_t i = 0; i + 1 < r->args[0].count; i += 2) {
		const struct imap_arg *k = &a[i], *v = &a[i + 1];
		uint64_t num;
		if (imap_arg_is_atom(k, "UID")) {
			if (imap_arg_number(v, &num) && num && num <= UINT32_MAX)
				out->uid = (uint32_t)num;
		} else if (imap_arg_is_atom(k, "X-GM-LABELS")) {
			out->has_labels = labels_decode(v, out);
			out->malformed |= !out->has_labels;
		} else if (imap_arg_is_atom(k, "X-GM-MSGID")) {
			out->has_msgid = id_decode(v, &out->msgid);
			out->malformed |= !out->has_msgid;
		} else if (imap_arg_is_atom(k, "X-GM-THRID")) {
			out->has_thrid = id_decode(v, &out->thrid);
			out->malformed |= !out->has_thrid;
		}
	}
	if (!out->has_labels) {
		out->labels = NULL;
		out->nlabels = 0;
	}
	return true;
}

void imap_gm_label(const struct imap_gm_fetch *g, size_t i, const char **s, size_t *len)
{
	*s = g->labels[i].str;
	*len = g->labels[i].len;
}

bool imap_gm_label_is_system(const char *s, size_t len)
{
	return len > 1 && s[0] == '\\';
}
