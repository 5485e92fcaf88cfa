/* latency-proxy.c: a TCP forwarder that adds network latency, for the
 * benchmark (the kernel here has no netem).
 *
 *   latency-proxy [--rtt-ms MS] [--rate-kbit N] [--no-handshake] HOST PORT
 *
 * Listens on 127.0.0.1 at a port picked by the kernel, prints "PORT=N" on
 * stdout, and forwards every accepted connection to HOST:PORT.  Every chunk
 * read in either direction is held for RTT/2 before it is written on, in
 * arrival order, so one request/response exchange costs one RTT more than
 * it would directly.  Opening the upstream connection is held for one RTT
 * too (the TCP handshake a real link would cost) unless --no-handshake.
 * With --rate-kbit each direction is also one wire of N kbit/s shared by
 * all connections (a thin link: a hotel, a phone): a chunk leaves the wire
 * once the chunks before it, of any connection, have passed at that rate,
 * then takes RTT/2; reading stops while a direction's wire has more than
 * PROXY_WIRE_BACKLOG_NS queued, so the senders feel the bottleneck as TCP
 * back-pressure, as behind a real one with a small buffer.
 * A half-close (EOF) is delayed like data; a reset or write error closes
 * both sides at once.  Single-threaded with ppoll; exits on SIGTERM/SIGINT.
 *
 * Errors: setup problems print one line on stderr and exit 1; a failing
 * connection is closed and logged, the proxy goes on.  Out of memory
 * aborts.  Nothing the peers send is interpreted: bytes are only queued,
 * and each direction's queue is bounded (reading stops while it is full).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PROXY_READ_SIZE   (64 * 1024)
#define PROXY_QUEUE_LIMIT (16u * 1024 * 1024)  /* bytes held per direction */
#define PROXY_MAX_LINKS   1024
/* Under --rate-kbit: what a direction's wire may hold queued (its buffer),
 * and the largest chunk taken in one read (so connections interleave). */
#define PROXY_WIRE_BACKLOG_NS (20 * 1000000LL)
#define PROXY_WIRE_READ_SIZE  (16 * 1024)

struct chunk {
	struct chunk *next;
	int64_t due_ns;          /* when it may be written on */
	size_t len, off;         /* off: bytes already written */
	bool eof;                /* a half-close, no data */
	unsigned char data[];
};

/* One direction of a connection: bytes read from one fd, written to the
 * other after the delay. */
struct lane {
	struct chunk *head, *tail;
	size_t queued;
	bool read_done;          /* EOF seen on the reading side */
	bool write_done;         /* EOF passed on (shutdown sent) */
	bool want_write;         /* a due chunk is waiting for POLLOUT */
};

/* One direction of the rate-limited link, shared by every connection. */
struct wire {
	double ns_per_byte;      /* 0: no rate limit */
	int64_t free_ns;         /* when the bytes already queued have passed */
};

/* Whether w may take more bytes now; otherwise *when it may again. */
static bool wire_open(const struct wire *w, int64_t now_ns, int64_t *when)
{
	if (w->ns_per_byte <= 0 || w->free_ns - now_ns <= PROXY_WIRE_BACKLOG_NS)
		return true;
	*when = w->free_ns - PROXY_WIRE_BACKLOG_NS;
	return false;
}

/* When n bytes read now arrive at the far end: after the wire carried them
 * (behind whatever it holds), plus the one-way delay. */
static int64_t wire_due(struct wire *w, size_t n, int64_t now_ns, int64_t delay_ns)
{
	if (w->ns_per_byte <= 0)
		return now_ns + delay_ns;
	int64_t start = w->free_ns > now_ns ? w->free_ns : now_ns;
	w->free_ns = start + (int64_t)((double)n * w->ns_per_byte);
	return w->free_ns + delay_ns;
}

struct link {
	int client, server;      /* server is -1 until the upstream connect */
	int64_t connect_due_ns;
	struct lane up, down;    /* up: client -> server; down: server -> client */
	bool dead;
};

static volatile sig_atomic_t proxy_stop;

static void proxy_on_signal(int sig)
{
	(void)sig;
	proxy_stop = 1;
}

static void *proxy_alloc(size_t n)
{
	void *p = malloc(n);
	if (!p) {
		fputs("latency-proxy: out of memory\n", stderr);
		abort();
	}
	return p;
}

static int64_t proxy_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int proxy_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Small chunks are the point of the exercise (IMAP commands): no Nagle. */
static void proxy_set_nodelay(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void lane_push(struct lane *l, const void *p, size_t n, bool eof, int64_t due_ns)
{
	struct chunk *c = proxy_alloc(sizeof *c + n);
	c->next = NULL;
	c->due_ns = due_ns;
	c->len = n;
	c->off = 0;
	c->eof = eof;
	if (n)
		memcpy(c->data, p, n);
	if (l->tail)
		l->tail->next = c;
	else
		l->head = c;
	l->tail = c;
	l->queued += n;
}

static void lane_free(struct lane *l)
{
	while (l->head) {
		struct chunk *c = l->head;
		l->head = c->next;
		free(c);
	}
	l->tail = NULL;
	l->queued = 0;
}

/* Reads what is there now (and what the wire takes) into the lane.  -1:
 * the connection is broken. */
static int lane_read(struct lane *l, int fd, int64_t delay_ns, struct wire *w)
{
	unsigned char tmp[PROXY_READ_SIZE];
	size_t size = w->ns_per_byte > 0 ? PROXY_WIRE_READ_SIZE : sizeof tmp;
	int64_t when;
	while (!l->read_done && l->queued < PROXY_QUEUE_LIMIT && wire_open(w, proxy_now_ns(), &when)) {
		ssize_t n = recv(fd, tmp, size, 0);
		if (n > 0) {
			lane_push(l, tmp, (size_t)n, false, wire_due(w, (size_t)n, proxy_now_ns(), delay_ns));
		} else if (n == 0) {
			lane_push(l, NULL, 0, true, wire_due(w, 0, proxy_now_ns(), delay_ns));
			l->read_done = true;
		} else if (errno == EINTR) {
			continue;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			return 0;
		} else {
			return -1;
		}
	}
	return 0;
}

/* Writes the chunks whose time has come.  -1: the connection is broken. */
static int lane_flush(struct lane *l, int fd, int64_t now_ns)
{
	l->want_write = false;
	while (l->head && l->head->due_ns <= now_ns) {
		struct chunk *c = l->head;
		if (c->eof) {
			if (shutdown(fd, SHUT_WR) < 0 && errno != ENOTCONN)
				return -1;
			l->write_done = true;
		} else {
			while (c->off < c->len) {
				ssize_t n = send(fd, c->data + c->off, c->len - c->off, MSG_NOSIGNAL);
				if (n > 0) {
					c->off += (size_t)n;
					l->queued -= (size_t)n;
				} else if (n < 0 && errno == EINTR) {
					continue;
				} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
					l->want_write = true;
					return 0;
				} else {
					return -1;
				}
			}
		}
		l->head = c->next;
		if (!l->head)
			l->tail = NULL;
		free(c);
	}
	return 0;
}

static int proxy_connect_upstream(const struct addrinfo *target)
{
	int fd = socket(target->ai_family, target->ai_socktype | SOCK_CLOEXEC, target->ai_protocol);
	if (fd < 0)
		return -1;
	/* Blocking connect: the target is on this machine, it answers at once. */
	if (connect(fd, target->ai_addr, target->ai_addrlen) < 0 || proxy_set_nonblock(fd) < 0) {
		close(fd);
		return -1;
	}
	proxy_set_nodelay(fd);
	return fd;
}

static void link_close(struct link *k)
{
	if (k->client >= 0)
		close(k->client);
	if (k->server >= 0)
		close(k->server);
	lane_free(&k->up);
	lane_free(&k->down);
	free(k);
}

/* Advances one connection: connect when due, move bytes whose time has come.
 * Marks it dead when it is over or broken. */
static void link_step(struct link *k, const struct addrinfo *target, int64_t now_ns)
{
	if (k->server < 0 && now_ns >= k->connect_due_ns) {
		k->server = proxy_connect_upstream(target);
		if (k->server < 0) {
			fprintf(stderr, "latency-proxy: connecting upstream: %s\n", strerror(errno));
			k->dead = true;
			return;
		}
	}
	if (lane_flush(&k->down, k->client, now_ns) < 0 ||
	    (k->server >= 0 && lane_flush(&k->up, k->server, now_ns) < 0)) {
		k->dead = true;
		return;
	}
	if (k->up.write_done && k->down.write_done)
		k->dead = true;
}

static int64_t lane_next_due(const struct lane *l, int64_t best)
{
	if (l->head && !l->want_write && (best < 0 || l->head->due_ns < best))
		return l->head->due_ns;
	return best;
}

static int proxy_listen(uint16_t *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 128) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

struct proxy {
	int listener;
	const struct addrinfo *target;
	int64_t delay_ns;        /* one way: RTT/2 */
	int64_t handshake_ns;    /* before the upstream connect */
	struct wire up, down;    /* --rate-kbit: client -> server, server -> client */
	struct link *links[PROXY_MAX_LINKS];
	size_t nlinks;
};

static void proxy_accept(struct proxy *p)
{
	for (;;) {
		int fd = accept4(p->listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				fprintf(stderr, "latency-proxy: accept: %s\n", strerror(errno));
			return;
		}
		if (p->nlinks == PROXY_MAX_LINKS) {
			fputs("latency-proxy: too many connections, refusing one\n", stderr);
			close(fd);
			continue;
		}
		proxy_set_nodelay(fd);
		struct link *k = proxy_alloc(sizeof *k);
		memset(k, 0, sizeof *k);
		k->client = fd;
		k->server = -1;
		k->connect_due_ns = proxy_now_ns() + p->handshake_ns;
		p->links[p->nlinks++] = k;
	}
}

/* The poll set: listener first, then two slots per link (client, server). */
static nfds_t proxy_fill_poll(struct proxy *p, struct pollfd *pf, int64_t *next_due)
{
	nfds_t n = 0;
	*next_due = -1;
	pf[n++] = (struct pollfd){ .fd = p->listener, .events = POLLIN };
	int64_t now = proxy_now_ns(), up_when = -1, down_when = -1;
	bool up_open = wire_open(&p->up, now, &up_when);
	bool down_open = wire_open(&p->down, now, &down_when);
	/* a full wire is read again once it has drained enough */
	if (!up_open)
		*next_due = up_when;
	if (!down_open && (*next_due < 0 || down_when < *next_due))
		*next_due = down_when;
	for (size_t i = 0; i < p->nlinks; i++) {
		struct link *k = p->links[i];
		short cev = 0, sev = 0;
		if (up_open && !k->up.read_done && k->up.queued < PROXY_QUEUE_LIMIT)
			cev |= POLLIN;
		if (k->down.want_write)
			cev |= POLLOUT;
		if (down_open && k->server >= 0 && !k->down.read_done && k->down.queued < PROXY_QUEUE_LIMIT)
			sev |= POLLIN;
		if (k->up.want_write)
			sev |= POLLOUT;
		/* An fd with nothing wanted is left out (fd -1): a socket closed
		 * both ways would report POLLHUP on every call and spin the loop
		 * while the last delayed bytes wait for their time. */
		pf[n++] = (struct pollfd){ .fd = cev ? k->client : -1, .events = cev };
		pf[n++] = (struct pollfd){ .fd = sev ? k->server : -1, .events = sev };
		*next_due = lane_next_due(&k->down, *next_due);
		if (k->server >= 0)
			*next_due = lane_next_due(&k->up, *next_due);
		else if (*next_due < 0 || k->connect_due_ns < *next_due)
			*next_due = k->connect_due_ns;
	}
	return n;
}

static void proxy_reap(struct proxy *p)
{
	size_t kept = 0;
	for (size_t i = 0; i < p->nlinks; i++) {
		if (p->links[i]->dead)
			link_close(p->links[i]);
		else
			p->links[kept++] = p->links[i];
	}
	p->nlinks = kept;
}

static int proxy_run(struct proxy *p, const sigset_t *waitmask)
{
	static struct pollfd pf[1 + 2 * PROXY_MAX_LINKS];
	while (!proxy_stop) {
		int64_t now = proxy_now_ns();
		for (size_t i = 0; i < p->nlinks; i++)
			link_step(p->links[i], p->target, now);
		proxy_reap(p);

		int64_t next_due;
		nfds_t n = proxy_fill_poll(p, pf, &next_due);
		struct timespec ts, *tsp = NULL;
		if (next_due >= 0) {
			int64_t wait = next_due - proxy_now_ns();
			if (wait < 0)
				wait = 0;
			ts.tv_sec = (time_t)(wait / 1000000000);
			ts.tv_nsec = (long)(wait % 1000000000);
			tsp = &ts;
		}
		int rc = ppoll(pf, n, tsp, waitmask);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "latency-proxy: poll: %s\n", strerror(errno));
			return -1;
		}
		if (pf[0].revents & POLLIN)
			proxy_accept(p);
		/* Links accepted just now have no slots yet: only the first ones. */
		for (size_t i = 0; i < (n - 1) / 2; i++) {
			struct link *k = p->links[i];
			short cre = pf[1 + 2 * i].revents, sre = pf[2 + 2 * i].revents;
			if (cre & (POLLIN | POLLHUP | POLLERR))
				if (lane_read(&k->up, k->client, p->delay_ns, &p->up) < 0)
					k->dead = true;
			if (!k->dead && k->server >= 0 && (sre & (POLLIN | POLLHUP | POLLERR)))
				if (lane_read(&k->down, k->server, p->delay_ns, &p->down) < 0)
					k->dead = true;
		}
	}
	return 0;
}

static void proxy_usage(FILE *f)
{
	fputs("usage: latency-proxy [--rtt-ms MS] [--rate-kbit N] [--no-handshake] HOST PORT\n"
	      "Listens on 127.0.0.1 (port printed as PORT=N) and forwards to HOST:PORT,\n"
	      "delaying each chunk by MS/2 in each direction (default MS: 20); with N,\n"
	      "each direction is a link of N kbit/s shared by all connections.\n", f);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rtt-ms", required_argument, NULL, 'r' },
		{ "rate-kbit", required_argument, NULL, 'k' },
		{ "no-handshake", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	double rtt_ms = 20, rate_kbit = 0;
	bool handshake = true;
	int c;
	while ((c = getopt_long(argc, argv, "r:k:nh", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'r':
			rtt_ms = strtod(optarg, &end);
			if (*end || end == optarg || !(rtt_ms >= 0 && rtt_ms <= 60000)) {
				fprintf(stderr, "latency-proxy: bad --rtt-ms %s\n", optarg);
				return 2;
			}
			break;
		case 'k':
			rate_kbit = strtod(optarg, &end);
			if (*end || end == optarg || !(rate_kbit >= 1 && rate_kbit <= 100000000)) {
				fprintf(stderr, "latency-proxy: bad --rate-kbit %s\n", optarg);
				return 2;
			}
			break;
		case 'n':
			handshake = false;
			break;
		case 'h':
			proxy_usage(stdout);
			return 0;
		default:
			proxy_usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 2) {
		proxy_usage(stderr);
		return 2;
	}

	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *target = NULL;
	int gai = getaddrinfo(argv[optind], argv[optind + 1], &hints, &target);
	if (gai != 0) {
		fprintf(stderr, "latency-proxy: %s:%s: %s\n", argv[optind], argv[optind + 1],
			gai_strerror(gai));
		return 1;
	}

	/* Signals stay blocked except inside ppoll, so a TERM is never lost
	 * between the check of proxy_stop and the wait. */
	sigset_t block, waitmask;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	struct sigaction sa = { .sa_handler = proxy_on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	static struct proxy p;
	uint16_t port;
	p.listener = proxy_listen(&port);
	if (p.listener < 0) {
		fprintf(stderr, "latency-proxy: listening on 127.0.0.1: %s\n", strerror(errno));
		freeaddrinfo(target);
		return 1;
	}
	p.target = target;
	p.delay_ns = (int64_t)(rtt_ms * 1e6 / 2);
	p.handshake_ns = handshake ? (int64_t)(rtt_ms * 1e6) : 0;
	if (rate_kbit > 0)  /* 8 bits a byte, 1000 bits a kbit, 1e9 ns a second */
		p.up.ns_per_byte = p.down.ns_per_byte = 8e9 / (rate_kbit * 1000);
	printf("PORT=%u\n", (unsigned)port);
	fflush(stdout);

	int rc = proxy_run(&p, &waitmask);
	for (size_t i = 0; i < p.nlinks; i++)
		link_close(p.links[i]);
	close(p.listener);
	freeaddrinfo(target);
	return rc < 0 ? 1 : 0;
}
