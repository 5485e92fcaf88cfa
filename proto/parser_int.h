/* parser_int.h: what the two layers of parser.h share inside the parser:
 * parser.c (framing) and resp.c (structure).  Not for other modules. */
#ifndef IMAPFS_PARSER_INT_H
#define IMAPFS_PARSER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct imap_parser;
struct resp_store;  /* store.h: resp.c's arena and list stack, owned by the parser */

/* parser.c: the parser's slot for the store (NULL until resp.c makes it). */
struct resp_store **parser_resp_store(struct imap_parser *p);
/* parser.c: does the line end with "{N}"?  *overflow when N needs more than
 * 64 bits (then *size is UINT64_MAX). */
bool parser_literal_announced(const char *s, size_t len, uint64_t *size, bool *overflow);

#endif
