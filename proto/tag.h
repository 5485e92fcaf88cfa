/* tag.h: the letters of command tags.  Tags are made the way imaplib makes
 * them (a random prefix written by Int2AP, then a counter), so that traces
 * compare with Python's. */
#ifndef IMAPFS_TAG_H
#define IMAPFS_TAG_H

struct buf;

/* imaplib.Int2AP: base 16 with the letters A-P, most significant first;
 * 0 gives "" as in imaplib.  Appended to out. */
void imap_int2ap(unsigned long num, struct buf *out);

#endif
