/* siphash.h: a keyed hash for tables whose keys come from a server: without
 * the key (random per table) nobody can choose names that fall into one
 * chain and make every lookup walk all of them. */
#ifndef IMAPFS_SIPHASH_H
#define IMAPFS_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t siphash13(const uint64_t key[2], const void *data, size_t len);

#endif
