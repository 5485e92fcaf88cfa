#!/usr/bin/python3
"""What one open(2) + close(2) of a file costs, in microseconds.

    open_close.py FILE [--pairs N]

On a FUSE mount this is the price of the requests the kernel sends for
them (none on a read-only imapfs mount, a FLUSH on a read-write one): the
time a synchronous request takes to reach the daemon and come back on
this machine.  Prints the median of 5 batches of N pairs (default 5000).
"""
import os
import statistics
import sys
import time


def main(argv):
    if len(argv) not in (2, 4) or (len(argv) == 4 and argv[2] != "--pairs"):
        sys.stderr.write(__doc__)
        return 2
    path = argv[1]
    pairs = int(argv[3]) if len(argv) == 4 else 5000
    batches = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(pairs):
            os.close(os.open(path, os.O_RDONLY))
        batches.append((time.perf_counter() - start) / pairs * 1e6)
    print("%.2f" % statistics.median(batches))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
