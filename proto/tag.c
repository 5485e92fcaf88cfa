/* tag.c: Int2AP, the letters of command tags. */
#include "config.h"
#include "tag.h"

#include "buf.h"

void imap_int2ap(unsigned long num, struct buf *out)
{
	char digits[sizeof num * 2];
	size_t n = sizeof digits;

	while (num) {
		digits[--n] = (char)('A' + (num & 15));
		num >>= 4;
	}
	buf_add(out, digits + n, sizeof digits - n);
}
