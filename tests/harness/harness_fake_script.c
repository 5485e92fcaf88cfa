/* harness_fake_script.c: the fake server's script parsed once, before the
 * server listens, so that a typo in a test's script fails fake_start with
 * its line number instead of surfacing as a protocol mismatch later. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "harness_fake_impl.h"
#include "xalloc.h"

static int fake_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static struct buf *fake_text_piece(struct fake_step *st)
{
	if (!st->npieces || st->pieces[st->npieces - 1].tag >= 0) {
		st->pieces = xrealloc(st->pieces, (st->npieces + 1) * sizeof *st->pieces);
		st->pieces[st->npieces].tag = -1;
		buf_init(&st->pieces[st->npieces].text);
		st->npieces++;
	}
	return &st->pieces[st->npieces - 1].text;
}

static int fake_parse_text(struct fake_step *st, const char *s, size_t n, struct buf *err)
{
	for (size_t i = 0; i < n;) {
		if (s[i] == '<' && n - i > 5 && strncmp(s + i, "<tag", 4) == 0) {
			size_t j = i + 4;
			int num = 0;
			while (j < n && s[j] >= '0' && s[j] <= '9' && num < 1000)
				num = num * 10 + (s[j++] - '0');
			if (j > i + 4 && j < n && s[j] == '>') {
				if (num >= FAKE_MAX_TAGS) {
					buf_addf(err, "fake script line %d: <tag%d>: at most %d tags",
						 st->line, num, FAKE_MAX_TAGS);
					return -1;
				}
				st->pieces = xrealloc(st->pieces, (st->npieces + 1) * sizeof *st->pieces);
				st->pieces[st->npieces].tag = num;
				buf_init(&st->pieces[st->npieces].text);
				st->npieces++;
				i = j + 1;
				continue;
			}
		}
		struct buf *out = fake_text_piece(st);
		if (s[i] != '\\') {
			buf_addch(out, s[i++]);
			continue;
		}
		char e = i + 1 < n ? s[i + 1] : '\0';
		if (e == 'r' || e == 'n' || e == 't' || e == '\\') {
			buf_addch(out, e == 'r' ? '\r' : e == 'n' ? '\n' : e == 't' ? '\t' : '\\');
			i += 2;
		} else if (e == 'x' && i + 3 < n && fake_hex(s[i + 2]) >= 0 && fake_hex(s[i + 3]) >= 0) {
			buf_addch(out, (char)(fake_hex(s[i + 2]) * 16 + fake_hex(s[i + 3])));
			i += 4;
		} else {
			buf_addf(err, "fake script line %d: bad escape at column %zu", st->line, i + 1);
			return -1;
		}
	}
	return 0;
}

static int fake_parse_count(const char *s, uint64_t *out, const char **end)
{
	char *e;
	errno = 0;
	if (*s < '0' || *s > '9')
		return -1;
	unsigned long long v = strtoull(s, &e, 10);
	if (errno || v > (1ULL << 40))
		return -1;
	*out = v;
	*end = e;
	return 0;
}

static int fake_parse_clit(struct fake_step *st, const char *rest, struct buf *err)
{
	while (*rest == ' ')
		rest++;
	if (!*rest)
		return 0;
	if (strncmp(rest, "sha256:", 7) == 0) {
		const char *h = rest + 7;
		if (strlen(h) != 64)
			goto bad;
		for (int i = 0; i < 32; i++) {
			int hi = fake_hex(h[2 * i]), lo = fake_hex(h[2 * i + 1]);
			if (hi < 0 || lo < 0)
				goto bad;
			st->sha256[i] = (unsigned char)(hi * 16 + lo);
		}
		st->check_hash = true;
		return 0;
	}
	if (rest[1] != '\0')
		goto bad;
	st->fill = rest[0];
	st->check_fill = true;
	return 0;
bad:
	buf_addf(err, "fake script line %d: C-LITERAL N [c | sha256:HEX]", st->line);
	return -1;
}

static int fake_parse_line(struct fake_step *st, const char *s, size_t n, struct buf *err)
{
	static const struct {
		const char *word;
		enum fake_op op;
	} words[] = {
		{ "LITERAL", FAKE_LITERAL }, { "C-LITERAL", FAKE_C_LITERAL }, { "TLS", FAKE_TLS },
		{ "SNI", FAKE_SNI }, { "SLEEP", FAKE_SLEEP }, { "PAUSE", FAKE_PAUSE },
		{ "CLOSE", FAKE_CLOSE }, { "EOF", FAKE_EOF }, { "DRAIN", FAKE_DRAIN },
		{ "ACCEPT", FAKE_ACCEPT },
	};
	if (n >= 2 && (strncmp(s, "S:", 2) == 0 || strncmp(s, "S+", 2) == 0 ||
		       strncmp(s, "C:", 2) == 0)) {
		st->op = s[0] == 'C' ? FAKE_EXPECT : s[1] == '+' ? FAKE_SEND_RAW : FAKE_SEND;
		size_t skip = n > 2 && s[2] == ' ' ? 3 : 2;
		return fake_parse_text(st, s + skip, n - skip, err);
	}
	char *line = xmemdup(s, n);
	char *rest = line + strcspn(line, " ");
	if (*rest)
		*rest++ = '\0';
	size_t i = 0;
	while (i < sizeof words / sizeof words[0] && strcmp(words[i].word, line) != 0)
		i++;
	int r = 0;
	const char *end = rest;
	if (i == sizeof words / sizeof words[0]) {
		buf_addf(err, "fake script line %d: unknown directive '%s'", st->line, line);
		r = -1;
		goto out;
	}
	st->op = words[i].op;
	switch (st->op) {
	case FAKE_LITERAL:
		st->fill = 'x';
		if (fake_parse_count(rest, &st->count, &end) < 0 ||
		    (*end && (end[0] != ' ' || !end[1] || end[2]))) {
			buf_addf(err, "fake script line %d: LITERAL N [c]", st->line);
			r = -1;
		} else if (*end) {
			st->fill = end[1];
		}
		break;
	case FAKE_C_LITERAL:
		if (fake_parse_count(rest, &st->count, &end) < 0 || (*end && *end != ' ')) {
			buf_addf(err, "fake script line %d: C-LITERAL N [c | sha256:HEX]", st->line);
			r = -1;
		} else {
			r = fake_parse_clit(st, end, err);
		}
		break;
	case FAKE_SLEEP:
		if (fake_parse_count(rest, &st->count, &end) < 0 || *end || st->count > 600000) {
			buf_addf(err, "fake script line %d: SLEEP MS", st->line);
			r = -1;
		}
		break;
	case FAKE_SNI:
		st->name = *rest ? xstrdup(rest) : NULL;
		break;
	default:
		if (*rest) {
			buf_addf(err, "fake script line %d: %s takes no argument", st->line, line);
			r = -1;
		}
		break;
	}
out:
	free(line);
	return r;
}

void fake_free_steps(struct fake_server *f)
{
	for (size_t i = 0; i < f->nsteps; i++) {
		for (size_t k = 0; k < f->steps[i].npieces; k++)
			buf_free(&f->steps[i].pieces[k].text);
		free(f->steps[i].pieces);
		free(f->steps[i].name);
	}
	free(f->steps);
	f->steps = NULL;
	f->nsteps = 0;
}

int fake_parse_script(struct fake_server *f, const char *script, struct buf *err)
{
	int lineno = 0;
	for (const char *p = script; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		const char *next = nl ? nl + 1 : p + n;
		lineno++;
		if (n && p[n - 1] == '\r')
			n--;
		size_t lead = 0;
		while (lead < n && (p[lead] == ' ' || p[lead] == '\t'))
			lead++;
		if (lead < n && p[lead] != '#') {
			f->steps = xrealloc(f->steps, (f->nsteps + 1) * sizeof *f->steps);
			struct fake_step *st = &f->steps[f->nsteps++];
			memset(st, 0, sizeof *st);
			st->line = lineno;
			if (fake_parse_line(st, p + lead, n - lead, err) < 0)
				return -1;
		}
		p = next;
	}
	return 0;
}
