/* clock.h: the clock that every timeout is measured with. */
#ifndef IMAPFS_CLOCK_H
#define IMAPFS_CLOCK_H

/* Milliseconds on CLOCK_MONOTONIC (not wall time, so deadlines survive clock
 * changes); only differences between two readings mean anything. */
long long clock_ms(void);

#endif
