/* mutf7.c: modified UTF-7 (RFC 3501 5.1.3) <-> UTF-8. */
#include "config.h"
#include "mutf7.h"

#include <stdint.h>

#include "buf.h"
#include "utf8.h"

static const char mutf7_b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static bool mutf7_is_direct(unsigned char c)
{
	return c >= 0x20 && c <= 0x7e;
}

static int mutf7_b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == ',')
		return 63;
	return -1;
}

static void mutf7_utf8_encode(struct buf *out, uint32_t cp)
{
	unsigned char s[4];
	size_t n;

	if (cp < 0x80) {
		s[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		s[0] = (unsigned char)(0xc0 | cp >> 6);
		s[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		s[0] = (unsigned char)(0xe0 | cp >> 12);
		s[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		s[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		s[0] = (unsigned char)(0xf0 | cp >> 18);
		s[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
		s[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		s[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	buf_add(out, s, n);
}

/* Bits waiting to become base64 characters; at most 21 are ever held. */
struct mutf7_bits {
	uint32_t value;
	unsigned count;
};

static void mutf7_put_unit(struct buf *out, struct mutf7_bits *b, uint16_t unit)
{
	b->value = b->value << 16 | unit;
	b->count += 16;
	while (b->count >= 6) {
		b->count -= 6;
		buf_addch(out, mutf7_b64_alphabet[(b->value >> b->count) & 0x3f]);
	}
	b->value &= (1u << b->count) - 1;
}

int mutf7_from_utf8(const char *utf8, size_t len, struct buf *out, struct buf *err)
{
	const unsigned char *s = (const unsigned char *)utf8;
	size_t start = out->len;
	size_t i = 0;

	while (i < len) {
		if (s[i] == '&') {
			buf_add(out, "&-", 2);
			i++;
			continue;
		}
		if (mutf7_is_direct(s[i])) {
			buf_addch(out, (char)s[i]);
			i++;
			continue;
		}
		struct mutf7_bits bits = { 0, 0 };
		buf_addch(out, '&');
		while (i < len && !mutf7_is_direct(s[i])) {
			uint32_t cp;
			size_t n = utf8_decode(s + i, len - i, &cp);
			if (n == 0 || cp == 0) {
				buf_adderr(err, "%s at byte %zu of a mailbox name",
					   n ? "NUL" : "invalid UTF-8", i);
				buf_truncate(out, start);
				return -1;
			}
			if (cp >= 0x10000) {
				cp -= 0x10000;
				mutf7_put_unit(out, &bits, (uint16_t)(0xd800 | cp >> 10));
				mutf7_put_unit(out, &bits, (uint16_t)(0xdc00 | (cp & 0x3ff)));
			} else {
				mutf7_put_unit(out, &bits, (uint16_t)cp);
			}
			i += n;
		}
		if (bits.count)
			buf_addch(out, mutf7_b64_alphabet[(bits.value << (6 - bits.count)) & 0x3f]);
		buf_addch(out, '-');
	}
	return 0;
}

/* Decoding state of one "&...-" run. */
struct mutf7_run {
	struct mutf7_bits bits;
	uint16_t high;  /* pending high surrogate, 0 when none */
};

/* Takes one UTF-16 unit; returns NULL or the reason it is invalid. */
static const char *mutf7_take_unit(struct mutf7_run *run, uint16_t unit, struct buf *out)
{
	if (run->high) {
		if (unit < 0xdc00 || unit > 0xdfff)
			return "high surrogate without a low surrogate";
		uint32_t cp = 0x10000 + ((uint32_t)(run->high - 0xd800) << 10) + (unit - 0xdc00);
		run->high = 0;
		if (out)
			mutf7_utf8_encode(out, cp);
		return NULL;
	}
	if (unit >= 0xd800 && unit <= 0xdbff) {
		run->high = unit;
		return NULL;
	}
	if (unit >= 0xdc00 && unit <= 0xdfff)
		return "low surrogate without a high surrogate";
	if (unit == 0)
		return "encoded NUL";
	if (unit >= 0x20 && unit <= 0x7e)
		return "printable ASCII encoded in base64";
	if (out)
		mutf7_utf8_encode(out, unit);
	return NULL;
}

/* Decodes the run whose base64 starts at s[*pos]; on success *pos is just
 * past the closing '-'. */
static const char *mutf7_decode_run(const unsigned char *s, size_t len, size_t *pos,
				    struct buf *out)
{
	struct mutf7_run run = { { 0, 0 }, 0 };
	size_t i = *pos;

	for (;; i++) {
		if (i >= len)
			return "unterminated base64 run";
		if (s[i] == '-')
			break;
		int v = mutf7_b64_value(s[i]);
		if (v < 0) {
			*pos = i;
			return "invalid character in base64 run";
		}
		run.bits.value = run.bits.value << 6 | (uint32_t)v;
		run.bits.count += 6;
		if (run.bits.count >= 16) {
			run.bits.count -= 16;
			uint16_t unit = (uint16_t)(run.bits.value >> run.bits.count);
			run.bits.value &= (1u << run.bits.count) - 1;
			const char *why = mutf7_take_unit(&run, unit, out);
			if (why) {
				*pos = i;
				return why;
			}
		}
	}
	*pos = i;
	if (run.bits.count >= 6)
		return "base64 run does not end on a UTF-16 unit";
	if (run.bits.value != 0)
		return "non-zero padding bits at the end of a base64 run";
	if (run.high)
		return "high surrogate at the end of a base64 run";
	*pos = i + 1;
	return NULL;
}

static int mutf7_decode(const char *mutf7, size_t len, struct buf *out, struct buf *err)
{
	const unsigned char *s = (const unsigned char *)mutf7;
	size_t start = out ? out->len : 0;
	bool after_run = false;
	const char *why = NULL;
	size_t i = 0;

	while (i < len) {
		if (!mutf7_is_direct(s[i])) {
			why = "byte outside 0x20-0x7e";
			break;
		}
		if (s[i] != '&') {
			if (out)
				buf_addch(out, (char)s[i]);
			after_run = false;
			i++;
			continue;
		}
		if (i + 1 < len && s[i + 1] == '-') {
			if (out)
				buf_addch(out, '&');
			after_run = false;
			i += 2;
			continue;
		}
		if (after_run) {
			why = "two base64 runs back to back";
			break;
		}
		i++;
		why = mutf7_decode_run(s, len, &i, out);
		if (why)
			break;
		after_run = true;
	}
	if (!why)
		return 0;
	buf_adderr(err, "invalid modified UTF-7 mailbox name: %s at byte %zu", why, i);
	if (out)
		buf_truncate(out, start);
	return -1;
}

int mutf7_to_utf8(const char *mutf7, size_t len, struct buf *out, struct buf *err)
{
	return mutf7_decode(mutf7, len, out, err);
}

bool mutf7_is_valid(const char *mutf7, size_t len)
{
	return mutf7_decode(mutf7, len, NULL, NULL) == 0;
}
