/* seqset.c: RFC 3501 sequence sets, parsed and built (see seqset.h).
 *   sequence-set = (seq-number / seq-range) *("," sequence-set)
 *   seq-range    = seq-number ":" seq-number
 *   seq-number   = nz-number / "*" */
#include "config.h"

#include <stdlib.h>

#include "buf.h"
#include "xalloc.h"
#include "seqset.h"

/* One seq-number at s[*pos]; false when there is none (or '*' is not
 * allowed, or it is 0 or above 2^32-1). */
static bool seq_number(const char *s, size_t len, size_t *pos, uint32_t star, uint32_t *v)
{
	size_t i = *pos;
	if (i < len && s[i] == '*') {
		if (!star)
			return false;
		*v = star;
		*pos = i + 1;
		return true;
	}
	uint64_t n = 0;
	size_t start = i;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		n = n * 10 + (uint64_t)(s[i] - '0');
		if (n > UINT32_MAX)
			return false;
	}
	if (i == start || n == 0)
		return false;
	*v = (uint32_t)n;
	*pos = i;
	return true;
}

static void add_range(struct seqset *out, uint32_t a, uint32_t b)
{
	if (out->n == out->cap) {
		out->cap = out->cap ? out->cap * 2 : 16;
		out->r = xrealloc(out->r, out->cap * sizeof *out->r);
	}
	out->r[out->n].lo = a < b ? a : b;
	out->r[out->n].hi = a < b ? b : a;
	out->n++;
}

int seqset_parse(struct seqset *out, const char *s, size_t len, uint32_t star)
{
	size_t pos = 0;
	for (;;) {
		uint32_t a, b;
		if (!seq_number(s, len, &pos, star, &a))
			return -1;
		b = a;
		if (pos < len && s[pos] == ':') {
			pos++;
			if (!seq_number(s, len, &pos, star, &b))
				return -1;
		}
		add_range(out, a, b);
		if (pos == len)
			return 0;
		if (s[pos] != ',')
			return -1;
		pos++;
	}
}

bool seqset_single(const struct seqset *set, uint32_t *v)
{
	if (set->n != 1 || set->r[0].lo != set->r[0].hi)
		return false;
	*v = set->r[0].lo;
	return true;
}

void seqset_free(struct seqset *set)
{
	free(set->r);
	*set = (struct seqset)SEQSET_INIT;
}

void seqset_build(const uint32_t *uids, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && uids[j + 1] == uids[j] + 1)
			j++;
		if (out->len)
			buf_addch(out, ',');
		if (j > i)
			buf_addf(out, "%u:%u", uids[i], uids[j]);
		else
			buf_addf(out, "%u", uids[i]);
		i = j + 1;
	}
}
