#!/usr/bin/env python3
"""harness_oauth2.py PORT TOKENS: an OAuth 2 token introspection endpoint
(RFC 7662) on 127.0.0.1:PORT for a test Dovecot's oauth2 passdb.

TOKENS is read again for every request: one "TOKEN USER" pair a line.  A
token listed there is active for its user; any other is not.  A test
rotates tokens by rewriting the file (write a new one, rename it over).
Each request is logged on stderr as "introspect TOKEN-PREFIX active|inactive"
(the first 6 bytes only: enough to tell test tokens apart)."""
import http.server
import json
import sys
import urllib.parse

PORT = int(sys.argv[1])
TOKENS = sys.argv[2]


def active_tokens():
    users = {}
    try:
        with open(TOKENS, encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2:
                    users[parts[0]] = parts[1]
    except OSError:
        pass
    return users


class Introspect(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = min(int(self.headers.get("Content-Length") or 0), 65536)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
        token = form.get("token", [""])[0]
        auth = self.headers.get("Authorization") or ""
        if not token and auth.startswith("Bearer "):
            token = auth[len("Bearer "):]
        users = active_tokens()
        if token in users:
            reply = {"active": True, "username": users[token]}
        else:
            reply = {"active": False}
        sys.stderr.write("introspect %s %s\n" % (token[:6], "active" if token in users else "inactive"))
        sys.stderr.flush()
        body = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Introspect).serve_forever()
