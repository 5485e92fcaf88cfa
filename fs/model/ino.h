/* ino.h: stable inode numbers: the same (kind, name, x, y) gives the same
 * number on every mount, so backup tools comparing inodes see unchanged
 * files.  Never 0 or the root's 1.  No state, any thread. */
#ifndef IMAPFS_INO_H
#define IMAPFS_INO_H

#include <stdint.h>

uint64_t fs_hash_ino(const char *kind, const char *a, uint32_t x, uint32_t y);

#endif
