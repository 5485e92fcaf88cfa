/* harness_proxy.h: a TCP proxy on 127.0.0.1 in front of a plain IMAP
 * server, that makes a real server behave like others do, for the mount
 * tests of freshness:
 *
 *   PROXY_SILENT_IDLE  what the server sends while a client's IDLE is on
 *                      is held until the client sends DONE: an IDLE that
 *                      reports only when the command ends (Courier without
 *                      FAM, Cyrus without idled).
 *   PROXY_NO_IDLE      IDLE taken out of every capability list the server
 *                      sends: a server without IDLE (mailutils).
 *
 * The proxy follows literals in both directions ({N} and {N+} at a line's
 * end), so message bytes are never taken for commands or responses.  Only
 * plaintext: STARTTLS would hide the lines.  Any number of clients; each
 * gets its own server connection.  The proxy notes each command's verb and
 * first argument (proxy_commands), never what follows.
 *
 * Errors: proxy_start returns NULL with a reason in err.  proxy_stop
 * closes every connection and frees the proxy. */
#ifndef IMAPFS_HARNESS_PROXY_H
#define IMAPFS_HARNESS_PROXY_H

struct buf;
struct proxy;

enum proxy_mode {
	PROXY_SILENT_IDLE = 1,
	PROXY_NO_IDLE = 2,
};

struct proxy *proxy_start(int server_port, enum proxy_mode mode, struct buf *err);
int proxy_port(const struct proxy *p);
/* How many bytes the server sent to clients so far (what a mount pulled). */
unsigned long long proxy_server_bytes(struct proxy *p);
/* How many IDLE commands clients sent through the proxy so far. */
unsigned proxy_idles(struct proxy *p);
/* How many commands named verb (LOGIN, EXAMINE: "UID FETCH" counts as UID)
 * clients sent through the proxy so far; with arg, only those whose first
 * argument is arg (unquoted: a mailbox's name). */
unsigned proxy_commands(struct proxy *p, const char *verb, const char *arg);
void proxy_stop(struct proxy *p);

#endif
