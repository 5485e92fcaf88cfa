#!/usr/bin/python3
"""Runs one benchmark step with a monotonic clock and a time limit.

    timed.py LIMIT OUT ERR CMD [ARG...]

CMD runs in a session of its own with stdin from /dev/null, stdout to the
file OUT and stderr appended to the file ERR.  Prints "SECONDS STATUS":
the wall time from just before the start to the moment CMD was reaped, and
CMD's exit status, 124 when LIMIT seconds passed and the whole group was
killed (a hung mount must not hang the benchmark).  A SIGTERM or SIGINT to
this helper kills the group too.
"""
import os
import signal
import subprocess
import sys
import time


def main(argv):
    if len(argv) < 5:
        sys.stderr.write(__doc__)
        return 2
    limit, out_path, err_path, cmd = float(argv[1]), argv[2], argv[3], argv[4:]
    with open(out_path, "wb") as out, open(err_path, "ab") as err:
        start = time.monotonic()
        child = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                 start_new_session=True)

        def kill_group():
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        def on_signal(signum, _frame):
            kill_group()
            sys.exit(128 + signum)

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        try:
            status = child.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            kill_group()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            status = 124
        elapsed = time.monotonic() - start
    print("%.4f %d" % (elapsed, status))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
