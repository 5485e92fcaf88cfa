/* harness_proxy.c: see harness_proxy.h. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "harness_proxy.h"
#include "xalloc.h"

#define LINKS_MAX 64

struct proxy;

/* One direction's framing: a partial line, or bytes of a literal to pass. */
struct stream {
	struct buf line;
	size_t literal_left;
	bool held;                /* the literal belongs to a held response */
};

struct link {
	struct proxy *p;
	int cfd, sfd;
	pthread_t thread;
	struct stream from_client, from_server;
	bool idle_on;             /* the client's IDLE runs */
	struct buf held;          /* the server's words to the client meanwhile */
};

struct proxy {
	int lfd;
	int port;
	int server_port;
	enum proxy_mode mode;
	atomic_bool stop;
	atomic_uint idles;
	atomic_ullong from_server;  /* bytes the server sent, all links */
	pthread_mutex_t sent_lock;
	struct buf sent;          /* "VERB FIRST-ARGUMENT" of each command, one a line */
	pthread_t acceptor;
	struct link *links[LINKS_MAX];
	size_t nlinks;            /* only the acceptor adds; proxy_stop reads after joining it */
};

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The N of a line ending in {N} or {N+} (CRLF included), else 0. */
static size_t literal_size(const char *line, size_t len)
{
	if (len < 4 || memcmp(line + len - 3, "}\r\n", 3))
		return 0;
	size_t end = len - 3;
	if (end && line[end - 1] == '+')
		end--;
	size_t start = end;
	while (start && line[start - 1] >= '0' && line[start - 1] <= '9')
		start--;
	if (start == end || !start || line[start - 1] != '{')
		return 0;
	return (size_t)strtoull(line + start, NULL, 10);
}

/* Removes the word IDLE from a capability list in line. */
static void strip_idle(struct buf *line)
{
	if (!strstr(line->data, "CAPABILITY"))
		return;
	char *p = line->data;
	while ((p = strcasestr(p, " IDLE"))) {
		char after = p[5];
		if (after == ' ' || after == ']' || after == '\r') {
			memmove(p, p + 5, line->len - (size_t)(p + 5 - line->data) + 1);
			line->len -= 5;
		} else {
			p += 5;
		}
	}
}

static bool is_idle_command(const char *line)
{
	const char *sp = strchr(line, ' ');
	return sp && !strcasecmp(sp + 1, "IDLE\r\n");
}

/* Notes a command's verb and first argument (a mailbox's name, or the
 * user a LOGIN names: never the password after it). */
static void note_command(struct proxy *p, const char *line)
{
	const char *verb = strchr(line, ' ');
	if (!verb)
		return;
	verb++;
	size_t n = strcspn(verb, " \r\n");
	const char *arg = verb[n] == ' ' ? verb + n + 1 : verb + n;
	size_t an = strcspn(arg, " \r\n");
	pthread_mutex_lock(&p->sent_lock);
	buf_add(&p->sent, verb, n);
	buf_addch(&p->sent, ' ');
	buf_add(&p->sent, arg, an);
	buf_addch(&p->sent, '\n');
	pthread_mutex_unlock(&p->sent_lock);
}

/* A whole line from the client: watch for IDLE and DONE. */
static int client_line(struct link *l, struct buf *line)
{
	if (!l->idle_on)
		note_command(l->p, line->data);
	if (l->idle_on && !strcasecmp(line->data, "DONE\r\n")) {
		l->idle_on = false;
		if (write_all(l->cfd, l->held.data, l->held.len) < 0)
			return -1;
		buf_reset(&l->held);
	} else if (is_idle_command(line->data)) {
		atomic_fetch_add(&l->p->idles, 1);
		l->idle_on = (l->p->mode & PROXY_SILENT_IDLE) != 0;
	}
	return write_all(l->sfd, line->data, line->len);
}

/* A whole line from the server: held while the IDLE runs (untagged ones),
 * or with IDLE taken out. */
static int server_line(struct link *l, struct buf *line)
{
	if (l->p->mode & PROXY_NO_IDLE)
		strip_idle(line);
	bool hold = l->idle_on && line->data[0] == '*';
	l->from_server.held = hold;
	if (hold) {
		buf_add(&l->held, line->data, line->len);
		return 0;
	}
	return write_all(l->cfd, line->data, line->len);
}

/* Passes what arrived on one side through its framing. */
static int pass(struct link *l, struct stream *st, const char *p, size_t n, bool from_client)
{
	if (!from_client)
		atomic_fetch_add(&l->p->from_server, n);
	while (n) {
		if (st->literal_left) {
			size_t k = n < st->literal_left ? n : st->literal_left;
			int rc = 0;
			if (!from_client && st->held)
				buf_add(&l->held, p, k);
			else
				rc = write_all(from_client ? l->sfd : l->cfd, p, k);
			if (rc < 0)
				return -1;
			st->literal_left -= k;
			p += k;
			n -= k;
			continue;
		}
		const char *nl = memchr(p, '\n', n);
		size_t k = nl ? (size_t)(nl - p) + 1 : n;
		buf_add(&st->line, p, k);
		p += k;
		n -= k;
		if (!nl)
			break;
		size_t lit = literal_size(st->line.data, st->line.len);
		int rc = from_client ? client_line(l, &st->line) : server_line(l, &st->line);
		buf_reset(&st->line);
		if (rc < 0)
			return -1;
		st->literal_left = lit;
	}
	return 0;
}

static void *link_main(void *arg)
{
	struct link *l = arg;
	char chunk[16384];
	while (!atomic_load(&l->p->stop)) {
		struct pollfd pf[2] = { { l->cfd, POLLIN, 0 }, { l->sfd, POLLIN, 0 } };
		if (poll(pf, 2, 200) < 0 && errno != EINTR)
			break;
		bool ok = true;
		for (int i = 0; i < 2 && ok; i++) {
			if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t r = recv(pf[i].fd, chunk, sizeof chunk, 0);
			if (r <= 0) {
				ok = false;
				break;
			}
			bool from_client = i == 0;
			ok = pass(l, from_client ? &l->from_client : &l->from_server, chunk, (size_t)r,
				  from_client) == 0;
		}
		if (!ok)
			break;
	}
	shutdown(l->cfd, SHUT_RDWR);
	shutdown(l->sfd, SHUT_RDWR);
	return NULL;
}

static int connect_server(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void start_link(struct proxy *p, int cfd)
{
	int sfd = p->nlinks < LINKS_MAX ? connect_server(p->server_port) : -1;
	if (sfd < 0) {
		close(cfd);
		return;
	}
	struct link *l = xcalloc(1, sizeof *l);
	l->p = p;
	l->cfd = cfd;
	l->sfd = sfd;
	if (pthread_create(&l->thread, NULL, link_main, l) != 0) {
		close(cfd);
		close(sfd);
		free(l);
		return;
	}
	p->links[p->nlinks++] = l;
}

static void *accept_main(void *arg)
{
	struct proxy *p = arg;
	while (!atomic_load(&p->stop)) {
		struct pollfd pf = { p->lfd, POLLIN, 0 };
		if (poll(&pf, 1, 200) <= 0)
			continue;
		int cfd = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd >= 0)
			start_link(p, cfd);
	}
	return NULL;
}

static int listen_any_port(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof a;
	if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

struct proxy *proxy_start(int server_port, enum proxy_mode mode, struct buf *err)
{
	struct proxy *p = xcalloc(1, sizeof *p);
	p->server_port = server_port;
	p->mode = mode;
	pthread_mutex_init(&p->sent_lock, NULL);
	p->lfd = listen_any_port(&p->port);
	if (p->lfd < 0) {
		buf_addf(err, "proxy: listen on 127.0.0.1: %s", strerror(errno));
		pthread_mutex_destroy(&p->sent_lock);
		free(p);
		return NULL;
	}
	if (pthread_create(&p->acceptor, NULL, accept_main, p) != 0) {
		buf_addstr(err, "proxy: no thread");
		pthread_mutex_destroy(&p->sent_lock);
		close(p->lfd);
		free(p);
		return NULL;
	}
	return p;
}

int proxy_port(const struct proxy *p)
{
	return p->port;
}

unsigned long long proxy_server_bytes(struct proxy *p)
{
	return atomic_load(&p->from_server);
}

unsigned proxy_idles(struct proxy *p)
{
	return atomic_load(&p->idles);
}

unsigned proxy_commands(struct proxy *p, const char *verb, const char *arg)
{
	unsigned count = 0;
	pthread_mutex_lock(&p->sent_lock);
	const char *line = p->sent.data, *end = line + p->sent.len;
	while (line && line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *sp = memchr(line, ' ', (size_t)(nl - line));
		size_t vn = (size_t)(sp - line);
		const char *a = sp + 1;
		size_t an = (size_t)(nl - a);
		if (an >= 2 && a[0] == '"' && a[an - 1] == '"') {  /* a quoted name */
			a++;
			an -= 2;
		}
		if (vn == strlen(verb) && !strncasecmp(line, verb, vn) &&
		    (!arg || (an == strlen(arg) && !memcmp(a, arg, an))))
			count++;
		line = nl + 1;
	}
	pthread_mutex_unlock(&p->sent_lock);
	return count;
}

void proxy_stop(struct proxy *p)
{
	atomic_store(&p->stop, true);
	pthread_join(p->acceptor, NULL);
	for (size_t i = 0; i < p->nlinks; i++) {
		struct link *l = p->links[i];
		pthread_join(l->thread, NULL);
		close(l->cfd);
		close(l->sfd);
		buf_free(&l->from_client.line);
		buf_free(&l->from_server.line);
		buf_free(&l->held);
		free(l);
	}
	close(p->lfd);
	buf_free(&p->sent);
	pthread_mutex_destroy(&p->sent_lock);
	free(p);
}
