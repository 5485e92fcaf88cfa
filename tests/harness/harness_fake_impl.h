/* harness_fake_impl.h: the insides of the scripted fake IMAP server (see
 * fake.h), shared by its parts only: the script as parsed, the server's
 * state, and the calls one part makes into another.  The script thread
 * owns the connection state; the fields under mu are the only ones another
 * thread touches before the join. */
#ifndef IMAPFS_HARNESS_FAKE_IMPL_H
#define IMAPFS_HARNESS_FAKE_IMPL_H

#include <gnutls/gnutls.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "fake.h"

#define FAKE_MAX_TAGS 32
#define FAKE_MAX_LINE (1024 * 1024)
#define FAKE_CHUNK 65536
#define FAKE_DEFAULT_TIMEOUT_MS 5000

enum fake_op {
	FAKE_SEND, FAKE_SEND_RAW, FAKE_EXPECT, FAKE_LITERAL, FAKE_C_LITERAL, FAKE_TLS, FAKE_SNI,
	FAKE_SLEEP, FAKE_PAUSE, FAKE_CLOSE, FAKE_EOF, FAKE_DRAIN, FAKE_ACCEPT,
};

/* Text with tag placeholders: a piece is either bytes or a tag number. */
struct fake_piece {
	int tag;          /* -1 for text */
	struct buf text;
};

struct fake_step {
	enum fake_op op;
	int line;
	struct fake_piece *pieces;
	size_t npieces;
	uint64_t count;   /* LITERAL, C-LITERAL: bytes; SLEEP: ms */
	char fill;
	bool check_fill;
	bool check_hash;
	unsigned char sha256[32];
	char *name;       /* SNI: expected name, NULL for none */
};

struct fake_server {
	struct fake_step *steps;
	size_t nsteps;
	struct fake_opts opts;
	struct test_certs certs;
	gnutls_certificate_credentials_t cred;
	int listen_fd;
	int port;
	char port_str[16];
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool resumed;     /* under mu */
	bool paused;      /* under mu: the script waits at PAUSE */
	bool handshaken;  /* under mu */
	bool done;        /* under mu */
	char sni[256];    /* under mu */

	/* The script thread's own state; read by others only after the join. */
	struct buf error;
	int fd;
	gnutls_session_t tls;
	struct buf in;
	struct buf tags[FAKE_MAX_TAGS];
	bool bound[FAKE_MAX_TAGS];
	const struct fake_step *cur;
};

/* Helpers (harness_fake.c). */
long long fake_now_ms(void);
/* Printable rendering of bytes for messages, cut after a few hundred. */
void fake_show(struct buf *out, const void *p, size_t n);
void fake_show_pattern(struct buf *out, const struct fake_step *st);
int fake_fail(struct fake_server *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The script (harness_fake_script.c). */
int fake_parse_script(struct fake_server *f, const char *script, struct buf *err);
void fake_free_steps(struct fake_server *f);

/* The connection (harness_fake_conn.c), script thread only. */
int fake_timeout(const struct fake_server *f);
void fake_conn_close(struct fake_server *f, bool bye);
int fake_need_conn(struct fake_server *f);
int fake_fill(struct fake_server *f, const char *awaiting);
int fake_send(struct fake_server *f, const void *p, size_t n);
int fake_handshake(struct fake_server *f);
int fake_accept(struct fake_server *f);

/* The script thread (harness_fake_steps.c): accepts and plays the script. */
void *fake_main(void *arg);

#endif
