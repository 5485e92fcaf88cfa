/* siphash.h: a keyed hash for tables whose keys come from a server: without
 * the key (random per table) nobody can choose names that fall into one
 * chain and make every lookup walk all of them. */
#ifndef IMAPFS_SIPHASH_H
#define IMAPFS_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t siphash13(const uint64_t key[2], const void *data, size_t len);
/* A new random key; seed (any address of the table's) keeps two tables of
 * one process apart when the kernel has no entropy yet (early boot). */
void siphash_key_random(uint64_t key[2], const void *seed);

#endif
