#!/usr/bin/python3
"""Baseline A of the benchmark: the bulk-fetch floor for a cold read of
everything.  One `UID FETCH 1:* (BODY.PEEK[])` per selectable folder with the
standard library's imaplib; the bytes are counted and dropped.

    bulk_fetch.py HOST PORT USER PASSFILE [--probes N]

Prints one line of key=value pairs:
    seconds   connect + login + LIST + per folder EXAMINE and FETCH (the
              interpreter's start and the LOGOUT are not counted)
    messages  literals received, bytes: their total size
    folders   folders fetched
    rtt_ms    median time of N NOOPs after the timed part (a check that the
              latency proxy adds what it says)
Exit status 1 with a message on stderr on any IMAP error.
"""
import imaplib
import re
import statistics
import sys
import time

LIST_LINE = re.compile(rb'^\((?P<flags>[^)]*)\) (?:"(?:[^"\\]|\\.)*"|NIL) (?P<name>.+)$')


def folder_names(conn):
    typ, data = conn.list()
    if typ != "OK":
        raise imaplib.IMAP4.error("LIST failed: %r" % (data,))
    names = []
    for item in data:
        if isinstance(item, tuple):       # a name sent as a literal
            flags_part, name = item[0], item[1]
            if b"\\noselect" in flags_part.lower():
                continue
            names.append(name.decode("ascii"))
            continue
        if item is None:
            continue
        m = LIST_LINE.match(item)
        if not m:
            raise imaplib.IMAP4.error("unexpected LIST line %r" % (item,))
        if b"\\noselect" in m.group("flags").lower():
            continue
        name = m.group("name")
        if name.startswith(b'"'):
            name = re.sub(rb'\\(.)', rb'\1', name[1:-1])
        names.append(name.decode("ascii"))
    return names


def quote(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main(argv):
    if len(argv) not in (5, 7) or (len(argv) == 7 and argv[5] != "--probes"):
        sys.stderr.write(__doc__)
        return 2
    host, port, user, passfile = argv[1], int(argv[2]), argv[3], argv[4]
    probes = int(argv[6]) if len(argv) == 7 else 5
    with open(passfile, encoding="utf-8") as f:
        password = f.readline().rstrip("\r\n")

    messages = size = 0
    start = time.perf_counter()
    conn = imaplib.IMAP4(host, port)
    conn.login(user, password)
    names = folder_names(conn)
    for name in names:
        typ, data = conn.select(quote(name), readonly=True)
        if typ != "OK":
            raise imaplib.IMAP4.error("EXAMINE %s: %r" % (name, data))
        typ, data = conn.uid("FETCH", "1:*", "(BODY.PEEK[])")
        if typ != "OK":
            raise imaplib.IMAP4.error("UID FETCH in %s: %r" % (name, data))
        for item in data:
            if isinstance(item, tuple):
                messages += 1
                size += len(item[1])
    seconds = time.perf_counter() - start

    rtts = []
    for _ in range(probes):
        t0 = time.perf_counter()
        conn.noop()
        rtts.append((time.perf_counter() - t0) * 1000)
    conn.logout()
    print("seconds=%.4f messages=%d bytes=%d folders=%d rtt_ms=%.2f" %
          (seconds, messages, size, len(names), statistics.median(rtts) if rtts else 0.0))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (imaplib.IMAP4.error, OSError) as e:
        sys.stderr.write("bulk_fetch: %s\n" % e)
        sys.exit(1)
