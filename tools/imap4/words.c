/* words.c: POSIX shell word splitting without expansions. */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>

#include "buf.h"
#include "xalloc.h"
#include "words.h"

static void push(struct words *w, struct buf *word)
{
	w->v = xrealloc(w->v, (w->n + 2) * sizeof *w->v);
	w->v[w->n++] = buf_detach(word, NULL);
	w->v[w->n] = NULL;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

int words_split(const char *text, struct words *out, struct buf *err)
{
	struct buf word = BUF_INIT;
	bool in_word = false;
	out->v = NULL;
	out->n = 0;
	for (const char *p = text; *p; p++) {
		if (is_blank(*p)) {
			if (in_word)
				push(out, &word);
			in_word = false;
			continue;
		}
		in_word = true;
		if (*p == '\\') {
			if (p[1] == '\n')
				p++;
			else if (p[1])
				buf_addch(&word, *++p);
		} else if (*p == '\'') {
			const char *q = p + 1;
			while (*q && *q != '\'')
				q++;
			if (!*q)
				goto unterminated;
			buf_add(&word, p + 1, (size_t)(q - p - 1));
			p = q;
		} else if (*p == '"') {
			const char *q = p + 1;
			for (; *q && *q != '"'; q++) {
				/* inside double quotes a backslash escapes only these */
				if (*q == '\\' && q[1] && (q[1] == '"' || q[1] == '\\' || q[1] == '$' ||
							   q[1] == '`' || q[1] == '\n'))
					q++;
				if (*q != '\n' || q[-1] != '\\')
					buf_addch(&word, *q);
			}
			if (!*q)
				goto unterminated;
			p = q;
		} else {
			buf_addch(&word, *p);
		}
	}
	if (in_word)
		push(out, &word);
	buf_free(&word);
	return 0;
unterminated:
	buf_free(&word);
	buf_addstr(err, "unterminated quote");
	words_free(out);
	return -1;
}

void words_free(struct words *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->v[i]);
	free(w->v);
	w->v = NULL;
	w->n = 0;
}
