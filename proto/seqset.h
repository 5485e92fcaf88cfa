/* seqset.h: RFC 3501 sequence sets ("1:5,7,9:*"), the one place that
 * parses and builds them: VANISHED, COPYUID and APPENDUID in responses,
 * UID sets in commands.  Grammar, no I/O.  A set owns its ranges;
 * seqset_free releases them and leaves an empty set.  Not thread-safe:
 * one owner at a time. */
#ifndef IMAP_SEQSET_H
#define IMAP_SEQSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

/* lo <= hi, whichever order the text named them in ("9:3" is 3..9) */
struct seqset_range {
	uint32_t lo, hi;
};

struct seqset {
	struct seqset_range *r;   /* in the order the text gave them */
	size_t n, cap;
};

#define SEQSET_INIT { NULL, 0, 0 }

/* Appends the ranges of the set s[0..len) to out.  star is what '*'
 * stands for, 0 where '*' is not allowed (the UID sets a server sends:
 * RFC 4315, RFC 7162).  Numbers are nz-numbers up to 2^32-1.  0, or -1 at
 * the first element that breaks the grammar (an empty element, a 0, a
 * number too large, a stray byte): the ranges before it stay in out, so
 * a caller may use what was well formed. */
int seqset_parse(struct seqset *out, const char *s, size_t len, uint32_t star);
/* Whether the set is exactly one number; *v is that number. */
bool seqset_single(const struct seqset *set, uint32_t *v);
void seqset_free(struct seqset *set);

/* Appends uids (ascending, no duplicates) to out as a set, runs of
 * consecutive numbers as "a:b": {1,2,3,5} gives "1:3,5".  A ',' goes
 * before every element when out is not empty, so calls may add up. */
void seqset_build(const uint32_t *uids, size_t n, struct buf *out);

#endif
