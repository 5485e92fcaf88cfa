/* fdio.c: see fdio.h. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fdio.h"

/* Until every buffer is written: with writev at the file position, or
 * with pwritev at *off. */
static int write_iov_all(int fd, struct iovec *iov, int n, const uint64_t *off)
{
	uint64_t at = off ? *off : 0;
	for (;;) {
		while (n > 0 && !iov->iov_len) {  /* nothing (more) to write there */
			iov++;
			n--;
		}
		if (n == 0)
			return 0;
		ssize_t w = off ? pwritev(fd, iov, n, (off_t)at) : writev(fd, iov, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		at += (uint64_t)w;
		while (n > 0 && (size_t)w >= iov->iov_len) {  /* what was written whole */
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
}

int fd_write_all(int fd, const void *p, size_t n)
{
	struct iovec iov = { (void *)p, n };
	return write_iov_all(fd, &iov, 1, NULL);
}

int fd_pwrite_all(int fd, const void *p, size_t n, uint64_t off)
{
	struct iovec iov = { (void *)p, n };
	return write_iov_all(fd, &iov, 1, &off);
}

int fd_pwritev_all(int fd, struct iovec *iov, int n, uint64_t off)
{
	return write_iov_all(fd, iov, n, &off);
}

int fd_copy(int from, uint64_t off, uint64_t n, int to, uint64_t *copied)
{
	char chunk[65536];
	*copied = 0;
	while (*copied < n) {
		size_t want = n - *copied < sizeof chunk ? (size_t)(n - *copied) : sizeof chunk;
		ssize_t r = pread(from, chunk, want, (off_t)(off + *copied));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return 0;
		if (fd_write_all(to, chunk, (size_t)r) < 0)
			return -1;
		*copied += (uint64_t)r;
	}
	return 0;
}

/* Reads up to n bytes at off; the count, 0 at the end, -1 with errno. */
static ssize_t pread_some(int fd, void *p, size_t n, uint64_t off)
{
	ssize_t r;
	do
		r = pread(fd, p, n, (off_t)off);
	while (r < 0 && errno == EINTR);
	return r;
}

int fd_same(int a, uint64_t aoff, int b, uint64_t boff, uint64_t n)
{
	char x[32768], y[32768];
	while (n) {
		size_t want = n < sizeof x ? (size_t)n : sizeof x;
		ssize_t ra = pread_some(a, x, want, aoff);
		if (ra < 0)
			return -1;
		if (ra == 0)
			return 0;
		size_t got = 0;
		while (got < (size_t)ra) {
			ssize_t rb = pread_some(b, y + got, (size_t)ra - got, boff + got);
			if (rb < 0)
				return -1;
			if (rb == 0)
				return 0;
			got += (size_t)rb;
		}
		if (memcmp(x, y, (size_t)ra))
			return 0;
		aoff += (uint64_t)ra;
		boff += (uint64_t)ra;
		n -= (uint64_t)ra;
	}
	return 1;
}
