/* fdio.h: whole writes to a file descriptor, copies and comparisons.  write(2) and pwrite(2) may
 * write less than asked (and EINTR); these go on until everything is
 * written.  0, or -1 with errno (EIO when the kernel wrote nothing). */
#ifndef IMAPFS_FDIO_H
#define IMAPFS_FDIO_H

#include <stddef.h>
#include <stdint.h>

int fd_write_all(int fd, const void *p, size_t n);
int fd_pwrite_all(int fd, const void *p, size_t n, uint64_t off);
/* The same for n buffers in one call where the kernel takes them whole;
 * iov is modified. */
struct iovec;
int fd_pwritev_all(int fd, struct iovec *iov, int n, uint64_t off);
/* Copies from fd from, starting at offset off, to fd to (at its file
 * position) until n bytes or the end of from, whichever comes first;
 * *copied says how many.  0, or -1 with errno. */
int fd_copy(int from, uint64_t off, uint64_t n, int to, uint64_t *copied);
/* Whether the n bytes of a from aoff equal those of b from boff: 1 yes,
 * 0 no (either ends early counts as no), -1 with errno. */
int fd_same(int a, uint64_t aoff, int b, uint64_t boff, uint64_t n);

#endif
