/* check_harness.c: the test harness itself, against a real private Dovecot:
 * logins, LIST of seeded (non-ASCII) folders, verified TLS, byte-exact
 * FETCH, quota, ACL, kick, and a stop that leaves nothing behind.  The
 * client side is proto/transport with a minimal line reader.  The Maildir
 * writer and the corpus, which need no server, are tests/unit/check_corpus.c. */
#include "config.h"
#include <check.h>
#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "check_run.h"
#include "harness.h"
#include "harness_os.h"
#include "transport.h"

#define IO_TIMEOUT_MS 30000
#define MAX_TRANSCRIPT (64u << 20)

static struct dovecot dv;  /* started in main(), before Check forks the tests */

/* The message seeded into bob's empty INBOX, fetched back byte for byte. */
static const char bob_message[] =
	"From: =?UTF-8?Q?J=C3=BCrgen?= <juergen@example.de>\r\n"
	"To: bob@imapfs.test\r\n"
	"Subject: bytes\r\n"
	"Message-ID: <bytes.1@imapfs.test>\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: text/plain; charset=utf-8\r\n"
	"Content-Transfer-Encoding: 8bit\r\n"
	"\r\n"
	"Gr\xc3\xbc\xc3\x9f" "e aus Z\xc3\xbcrich, \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e.\r\n"
	".\r\n"
	"From the start of a line, a ) and a { and a \"quote\".\r\n"
	"\tTabbed   spaces   kept.   \r\n";
static const time_t bob_internaldate = 1686832496; /* 15-Jun-2023 12:34:56 +0000 */

/* ---- a minimal IMAP client over proto/transport ---- */

struct client {
	struct transport *t;
	struct buf in;     /* received, not yet consumed */
	struct buf err;
	unsigned tag;
};

static int client_fill(struct client *c)
{
	char chunk[65536];
	for (;;) {
		ssize_t n = transport_read_some(c->t, chunk, sizeof chunk, &c->err);
		if (n > 0) {
			buf_add(&c->in, chunk, (size_t)n);
			return 0;
		}
		if (n < 0)
			return -1;
		if (transport_wait(c->t, true, false, IO_TIMEOUT_MS, &c->err) != 1) {
			buf_addstr(&c->err, " (no data from the server)");
			return -1;
		}
	}
}

static int client_send(struct client *c, const void *p, size_t n)
{
	const char *s = p;
	while (n > 0) {
		ssize_t w = transport_write_some(c->t, s, n, &c->err);
		if (w < 0)
			return -1;
		if (w == 0 && transport_wait(c->t, false, true, IO_TIMEOUT_MS, &c->err) != 1)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Appends one response (its lines and the literals inside them) to out and
 * returns the offset where it starts, or -1. */
static long client_response(struct client *c, struct buf *out)
{
	size_t start = out->len, scanned = 0;
	for (;;) {
		char *eol = memmem(c->in.data + scanned, c->in.len - scanned, "\r\n", 2);
		if (!eol) {
			scanned = c->in.len > 0 ? c->in.len - 1 : 0;
			if (out->len + c->in.len > MAX_TRANSCRIPT || client_fill(c) < 0)
				return -1;
			continue;
		}
		size_t line = (size_t)(eol - c->in.data) + 2;
		unsigned long long lit = 0;
		char *open = line > 3 && eol[-1] == '}' ? memrchr(c->in.data, '{', line) : NULL;
		if (open) {
			char *end;
			lit = strtoull(open + 1, &end, 10);
			if (end != eol - 1 || lit > MAX_TRANSCRIPT)
				lit = 0;
		}
		while (lit && c->in.len < line + lit)
			if (client_fill(c) < 0)
				return -1;
		buf_add(out, c->in.data, line + lit);
		buf_consume(&c->in, line + lit);
		scanned = 0;
		if (!lit)
			return (long)start;
	}
}

static void client_open(struct client *c, int port, const char *cafile)
{
	char p[16];
	memset(c, 0, sizeof *c);
	buf_init(&c->in);
	buf_init(&c->err);
	snprintf(p, sizeof p, "%d", port);
	ck_assert_msg(transport_connect_tcp(&c->t, "127.0.0.1", p, IO_TIMEOUT_MS, &c->err) == 0,
		      "connect to %s: %s", p, c->err.data);
	if (cafile) {
		struct tls_opts o = { .cafile = cafile, .servername = "localhost" };
		ck_assert_msg(transport_start_tls(c->t, &o, &c->err) == 0, "TLS: %s", c->err.data);
	}
}

static void client_close(struct client *c)
{
	transport_close(c->t);
	buf_free(&c->in);
	buf_free(&c->err);
}

/* Reads the greeting into out. */
static void client_greeting(struct client *c, struct buf *out)
{
	long at = client_response(c, out);
	ck_assert_msg(at >= 0, "no greeting: %s", c->err.data);
	ck_assert_msg(strncmp(out->data + at, "* OK ", 5) == 0, "greeting: %s", out->data + at);
}

/* Sends a command; out gets everything up to and including its tagged
 * reply.  Returns the tagged status word: "OK", "NO" or "BAD". */
__attribute__((format(printf, 3, 4)))
static const char *client_cmd(struct client *c, struct buf *out, const char *fmt, ...)
{
	char tag[16];
	struct buf cmd = BUF_INIT;
	va_list ap;
	snprintf(tag, sizeof tag, "t%u ", ++c->tag);
	buf_addstr(&cmd, tag);
	va_start(ap, fmt);
	buf_vaddf(&cmd, fmt, ap);
	va_end(ap);
	buf_addstr(&cmd, "\r\n");
	int sent = client_send(c, cmd.data, cmd.len);
	buf_free(&cmd);
	ck_assert_msg(sent == 0, "send: %s", c->err.data);
	for (;;) {
		long at = client_response(c, out);
		ck_assert_msg(at >= 0, "reading the reply: %s", c->err.data);
		const char *r = out->data + at;
		if (strncmp(r, tag, strlen(tag)) != 0)
			continue;
		r += strlen(tag);
		return strncmp(r, "OK", 2) == 0 ? "OK" : strncmp(r, "NO", 2) == 0 ? "NO" : "BAD";
	}
}

static void client_login(struct client *c, const char *user)
{
	struct buf out = BUF_INIT;
	const char *st = client_cmd(c, &out, "LOGIN %s secret", user);
	ck_assert_msg(strcmp(st, "OK") == 0, "LOGIN %s: %s", user, out.data);
	buf_free(&out);
}

/* ---- logins and LIST ---- */

static void assert_demo_folders_listed(const char *list, char sep)
{
	char want[256];
	snprintf(want, sizeof want, "\"%c\" INBOX\r\n", sep);
	ck_assert_msg(strstr(list, want), "INBOX missing: %s", list);
	for (size_t i = 0; i < corpus_demo_nfolders; i++) {
		const char *name = corpus_demo_folders[i].mutf7;
		bool quote = strchr(name, ' ') != NULL;
		snprintf(want, sizeof want, "\"%c\" %s%s%s\r\n", sep, quote ? "\"" : "", name,
			 quote ? "\"" : "");
		ck_assert_msg(strstr(list, want), "%s (%s) missing: %s", name,
			      corpus_demo_folders[i].utf8, list);
	}
}

START_TEST(test_plain_login_lists_seeded_folders)
{
	struct client c;
	struct buf out = BUF_INIT;
	client_open(&c, dv.imap_port, NULL);
	client_greeting(&c, &out);
	/* ssl = yes offers STARTTLS, but LOGIN stays allowed without it. */
	ck_assert_msg(strstr(out.data, " STARTTLS"), "greeting: %s", out.data);
	ck_assert_ptr_null(strstr(out.data, "LOGINDISABLED"));
	ck_assert(!transport_is_tls(c.t));
	client_login(&c, "alice");
	buf_reset(&out);
	ck_assert_str_eq(client_cmd(&c, &out, "LIST \"\" \"*\""), "OK");
	assert_demo_folders_listed(out.data, '.');
	ck_assert_msg(strstr(out.data, "\\Sent) \".\" Sent\r\n"), "special use: %s", out.data);
	buf_free(&out);
	client_close(&c);
}
END_TEST

START_TEST(test_wrong_password_gets_no)
{
	struct client c;
	struct buf out = BUF_INIT;
	client_open(&c, dv.imap_port, NULL);
	client_greeting(&c, &out);
	buf_reset(&out);
	ck_assert_str_eq(client_cmd(&c, &out, "LOGIN alice wrong"), "NO");
	ck_assert_msg(strstr(out.data, "AUTHENTICATIONFAILED"), "%s", out.data);
	buf_reset(&out);
	ck_assert_str_eq(client_cmd(&c, &out, "LOGIN nobody secret"), "NO");
	/* The same connection still logs in with the right password. */
	client_login(&c, "alice");
	buf_free(&out);
	client_close(&c);
}
END_TEST

START_TEST(test_implicit_tls_verified_by_harness_ca)
{
	struct client c;
	struct buf out = BUF_INIT;
	client_open(&c, dv.imaps_port, dv.certs.cafile);
	ck_assert(transport_is_tls(c.t));
	client_greeting(&c, &out);
	client_login(&c, "alice");
	buf_reset(&out);
	ck_assert_str_eq(client_cmd(&c, &out, "LIST \"\" \"*\""), "OK");
	assert_demo_folders_listed(out.data, '.');
	buf_free(&out);
	client_close(&c);
}
END_TEST

START_TEST(test_implicit_tls_refuses_other_ca)
{
	struct transport *t;
	struct buf err = BUF_INIT;
	char port[16];
	snprintf(port, sizeof port, "%d", dv.imaps_port);
	ck_assert_msg(transport_connect_tcp(&t, "127.0.0.1", port, IO_TIMEOUT_MS, &err) == 0, "%s",
		      err.data);
	struct tls_opts o = { .cafile = dv.certs.otherca, .servername = "localhost" };
	ck_assert_int_eq(transport_start_tls(t, &o, &err), -1);
	ck_assert_msg(err.len > 0, "a refused certificate needs a reason");
	ck_assert(!transport_is_tls(t));
	transport_close(t);
	buf_free(&err);
}
END_TEST

START_TEST(test_starttls_then_login)
{
	struct client c;
	struct buf out = BUF_INIT;
	client_open(&c, dv.imap_port, NULL);
	client_greeting(&c, &out);
	buf_reset(&out);
	ck_assert_str_eq(client_cmd(&c, &out, "STARTTLS"), "OK");
	struct tls_opts o = { .cafile = dv.certs.cafile, .servername = "localhost" };
	ck_assert_msg(transport_start_tls(c.t, &o, &c.err) == 0, "%s", c.err.data);
	buf_reset(&out);
	ck_assert_str_eq(client_cmd(&c, &out, "CAPABILITY"), "OK");
	ck_assert_ptr_null(strstr(out.data, "STARTTLS"));
	client_login(&c, "bob");
	buf_free(&out);
	client_close(&c);
}
END_TEST

/* ---- mail ---- */

START_TEST(test_seeded_message_fetched_byte_for_byte)
{
	struct client c;
	struct buf out = BUF_INIT;
	client_open(&c, dv.imap_port, NULL);
	client_greeting(&c, &out);
	client_login(&c, "bob");
	buf_reset(&out);
	ck_assert_str_eq(client_cmd(&c, &out, "SELECT INBOX"), "OK");
	ck_assert_msg(strstr(out.data, "* 1 EXISTS\r\n"), "%s", out.data);
	buf_reset(&out);
	ck_assert_str_eq(client_cmd(&c, &out, "UID FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])"),
			 "OK");
	size_t len = sizeof bob_message - 1;
	char size[64], lit[64];
	snprintf(size, sizeof size, "RFC822.SIZE %zu ", len);
	snprintf(lit, sizeof lit, "BODY[] {%zu}\r\n", len);
	ck_assert_msg(strstr(out.data, size), "%s", out.data);
	ck_assert_msg(strstr(out.data, "INTERNALDATE \"15-Jun-2023 12:34:56 +0000\""), "%s", out.data);
	ck_assert_msg(strstr(out.data, "\\Flagged") && strstr(out.data, "\\Seen"), "%s", out.data);
	const char *body = strstr(out.data, lit);
	ck_assert_msg(body, "no literal of %zu bytes: %s", len, out.data);
	body += strlen(lit);
	ck_assert_uint_ge(out.len - (size_t)(body - out.data), len);
	ck_assert_int_eq(memcmp(body, bob_message, len), 0);
	buf_free(&out);
	client_close(&c);
}
END_TEST

START_TEST(test_demo_folders_hold_their_messages)
{
	struct client c;
	struct buf out = BUF_INIT;
	client_open(&c, dv.imap_port, NULL);
	client_greeting(&c, &out);
	client_login(&c, "alice");
	buf_reset(&out);
	ck_assert_str_eq(client_cmd(&c, &out, "STATUS INBOX (MESSAGES UNSEEN)"), "OK");
	ck_assert_msg(strstr(out.data, "MESSAGES 120"), "%s", out.data);
	buf_reset(&out);
	ck_assert_str_eq(client_cmd(&c, &out, "SELECT Reisen.Z&APw-rich"), "OK");
	ck_assert_msg(strstr(out.data, "* 12 EXISTS\r\n"), "%s", out.data);
	buf_reset(&out);
	ck_assert_str_eq(client_cmd(&c, &out, "SELECT \"Caf&AOk- &- Bar\""), "OK");
	ck_assert_msg(strstr(out.data, "* 6 EXISTS\r\n"), "%s", out.data);
	for (size_t i = 0; i < corpus_demo_nfolders; i++) {
		char want[64];
		buf_reset(&out);
		ck_assert_str_eq(client_cmd(&c, &out, "STATUS \"%s\" (MESSAGES)",
					    corpus_demo_folders[i].mutf7), "OK");
		snprintf(want, sizeof want, "(MESSAGES %u)", corpus_demo_folders[i].messages);
		ck_assert_msg(strstr(out.data, want), "%s", out.data);
	}
	/* The message is the one the corpus makes for its seed and index. */
	buf_reset(&out);
	ck_assert_str_eq(client_cmd(&c, &out, "UID FETCH 1 (BODY.PEEK[TEXT]<0.200>)"), "OK");
	ck_assert_msg(strstr(out.data, "imapfs-corpus-1-"), "%s", out.data);
	buf_free(&out);
	client_close(&c);
}
END_TEST

START_TEST(test_tiny_quota_refuses_append)
{
	struct client c;
	struct buf out = BUF_INIT, msg = BUF_INIT;
	client_open(&c, dv.imap_port, NULL);
	client_greeting(&c, &out);
	client_login(&c, "tiny");
	buf_reset(&out);
	ck_assert_str_eq(client_cmd(&c, &out, "GETQUOTAROOT INBOX"), "OK");
	ck_assert_msg(strstr(out.data, "(STORAGE "), "%s", out.data);
	ck_assert_msg(strstr(out.data, " 2)\r\n"), "limit of 2 KiB: %s", out.data);
	buf_addstr(&msg, "Subject: too big\r\n\r\n");
	while (msg.len < 6000)
		buf_addstr(&msg, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd\r\n");
	buf_reset(&out);
	ck_assert_str_eq(client_cmd(&c, &out, "APPEND INBOX {%zu+}\r\n%s", msg.len, msg.data), "NO");
	ck_assert_msg(strstr(out.data, "[OVERQUOTA]"), "%s", out.data);
	buf_reset(&out);
	ck_assert_str_eq(client_cmd(&c, &out, "APPEND INBOX {24+}\r\nSubject: fits\r\n\r\nsmall\r\n"), "OK");
	buf_free(&msg);
	buf_free(&out);
	client_close(&c);
}
END_TEST

START_TEST(test_acl_commands_work)
{
	struct client c;
	struct buf out = BUF_INIT;
	client_open(&c, dv.imap_port, NULL);
	client_greeting(&c, &out);
	client_login(&c, "alice");
	buf_reset(&out);
	ck_assert_str_eq(client_cmd(&c, &out, "MYRIGHTS Projekte"), "OK");
	ck_assert_msg(strstr(out.data, "* MYRIGHTS Projekte lr"), "%s", out.data);
	buf_reset(&out);
	ck_assert_str_eq(client_cmd(&c, &out, "SETACL Projekte bob lr"), "OK");
	buf_reset(&out);
	ck_assert_str_eq(client_cmd(&c, &out, "GETACL Projekte"), "OK");
	ck_assert_msg(strstr(out.data, " bob lr"), "%s", out.data);
	buf_reset(&out);
	ck_assert_str_eq(client_cmd(&c, &out, "DELETEACL Projekte bob"), "OK");
	buf_free(&out);
	client_close(&c);
}
END_TEST

static void base64_datum(const char *text, size_t len, gnutls_datum_t *out, bool decode)
{
	gnutls_datum_t in = { (unsigned char *)text, (unsigned)len };
	int r = decode ? gnutls_base64_decode2(&in, out) : gnutls_base64_encode2(&in, out);
	ck_assert_int_eq(r, 0);
}

START_TEST(test_cram_md5_login)
{
	struct client c;
	struct buf out = BUF_INIT, reply = BUF_INIT;
	client_open(&c, dv.imap_port, NULL);
	client_greeting(&c, &out);
	ck_assert_msg(strstr(out.data, "AUTH=CRAM-MD5"), "%s", out.data);
	ck_assert_int_eq(client_send(&c, "a1 AUTHENTICATE CRAM-MD5\r\n", 26), 0);
	buf_reset(&out);
	ck_assert_int_ge(client_response(&c, &out), 0);
	ck_assert_msg(strncmp(out.data, "+ ", 2) == 0, "%s", out.data);
	gnutls_datum_t challenge, answer;
	base64_datum(out.data + 2, out.len - 4, &challenge, true);
	unsigned char mac[16];
	ck_assert_int_eq(gnutls_hmac_fast(GNUTLS_MAC_MD5, "secret", 6, challenge.data, challenge.size, mac), 0);
	buf_addstr(&reply, "bob ");
	for (size_t i = 0; i < sizeof mac; i++)
		buf_addf(&reply, "%02x", mac[i]);
	base64_datum(reply.data, reply.len, &answer, false);
	buf_set(&reply, answer.data, answer.size);
	buf_addstr(&reply, "\r\n");
	ck_assert_int_eq(client_send(&c, reply.data, reply.len), 0);
	buf_reset(&out);
	ck_assert_int_ge(client_response(&c, &out), 0);
	ck_assert_msg(strncmp(out.data, "a1 OK", 5) == 0, "%s", out.data);
	gnutls_free(challenge.data);
	gnutls_free(answer.data);
	buf_free(&reply);
	buf_free(&out);
	client_close(&c);
}
END_TEST

/* ---- control of the instance ---- */

START_TEST(test_kick_drops_the_session)
{
	struct client c;
	struct buf out = BUF_INIT, err = BUF_INIT;
	client_open(&c, dv.imap_port, NULL);
	client_greeting(&c, &out);
	client_login(&c, "alice");
	buf_reset(&out);
	ck_assert_str_eq(client_cmd(&c, &out, "SELECT INBOX"), "OK");
	ck_assert_msg(dovecot_kick(&dv, "alice", &err) == 0, "%s", err.data);
	/* The server says BYE (or nothing) and closes: reading ends in EOF. */
	buf_reset(&out);
	while (client_fill(&c) == 0)
		ck_assert_uint_lt(c.in.len, 4096);
	ck_assert_msg(transport_eof(c.t), "expected end of stream, got: %s", c.err.data);
	ck_assert_ptr_null(strstr(c.in.data, "OK"));
	buf_free(&err);
	buf_free(&out);
	client_close(&c);
}
END_TEST

START_TEST(test_stop_leaves_nothing_behind)
{
	struct dovecot second;
	struct buf err = BUF_INIT;
	ck_assert_msg(dovecot_start(&second, NULL, &err) == 0, "%s", err.data);
	ck_assert_str_ne(second.dir, dv.dir);
	ck_assert_int_ne(second.imap_port, dv.imap_port);
	ck_assert_int_gt(dovecot_count_processes(&second), 0);
	ck_assert(os_port_accepts(second.imap_port) && os_port_accepts(second.imaps_port));

	ck_assert_msg(dovecot_stop(&second, &err) == 0, "%s", err.data);
	ck_assert_int_eq(dovecot_count_processes(&second), 0);
	ck_assert(!os_port_accepts(second.imap_port));
	ck_assert(!os_port_accepts(second.imaps_port));
	ck_assert_int_eq(access(second.dir, F_OK), -1);
	ck_assert_int_eq(errno, ENOENT);
	/* Stopping again is harmless. */
	ck_assert_int_eq(dovecot_stop(&second, NULL), 0);

	/* The other instance did not notice. */
	ck_assert_int_gt(dovecot_count_processes(&dv), 0);
	struct client c;
	struct buf out = BUF_INIT;
	client_open(&c, dv.imap_port, NULL);
	client_greeting(&c, &out);
	client_login(&c, "alice");
	client_close(&c);
	buf_free(&out);
	buf_free(&err);
}
END_TEST

/* A halted instance (no process left, as during a server restart) still
 * belongs to a live test: another instance starting meanwhile, which
 * sweeps what dead tests left, must leave it alone. */
START_TEST(test_halted_instance_survives_another_start)
{
	struct dovecot halted, other;
	struct buf err = BUF_INIT, out = BUF_INIT;
	ck_assert_msg(dovecot_start(&halted, NULL, &err) == 0, "%s", err.data);
	ck_assert_msg(dovecot_halt(&halted, &err) == 0, "%s", err.data);
	ck_assert_int_eq(dovecot_count_processes(&halted), 0);
	ck_assert_msg(dovecot_start(&other, NULL, &err) == 0, "%s", err.data);
	ck_assert_msg(access(halted.dir, F_OK) == 0, "%s: %s", halted.dir, strerror(errno));
	ck_assert_msg(dovecot_resume(&halted, &err) == 0, "%s", err.data);
	struct client c;
	client_open(&c, halted.imap_port, NULL);
	client_greeting(&c, &out);
	client_login(&c, "alice");
	client_close(&c);
	ck_assert_msg(dovecot_stop(&other, &err) == 0, "%s", err.data);
	ck_assert_msg(dovecot_stop(&halted, &err) == 0, "%s", err.data);
	ck_assert_int_eq(access(halted.dir, F_OK), -1);
	buf_free(&out);
	buf_free(&err);
}
END_TEST

START_TEST(test_slash_separator_instance)
{
	struct dovecot other;
	struct buf err = BUF_INIT, root = BUF_INIT, out = BUF_INIT;
	struct dovecot_user carol = { "carol", "secret", NULL };
	struct dovecot_opts o = { .separator = '/', .users = &carol, .nusers = 1 };
	ck_assert_msg(dovecot_start(&other, &o, &err) == 0, "%s", err.data);
	dovecot_user_maildir(&other, "carol", &root);
	ck_assert_msg(maildir_make_folder(root.data, "Reisen.Z&APw-rich", &err) == 0, "%s", err.data);
	struct client c;
	client_open(&c, other.imap_port, NULL);
	client_greeting(&c, &out);
	client_login(&c, "carol");
	buf_reset(&out);
	ck_assert_str_eq(client_cmd(&c, &out, "LIST \"\" \"*\""), "OK");
	ck_assert_msg(strstr(out.data, "\"/\" Reisen/Z&APw-rich\r\n"), "%s", out.data);
	client_close(&c);
	ck_assert_msg(dovecot_stop(&other, &err) == 0, "%s", err.data);
	buf_free(&out);
	buf_free(&root);
	buf_free(&err);
}
END_TEST

/* ---- setup ---- */

static int start_and_seed(void)
{
	struct buf err = BUF_INIT, root = BUF_INIT;
	struct corpus_stats st;
	int rc = dovecot_start(&dv, NULL, &err);
	if (rc == 0) {
		dovecot_user_maildir(&dv, "alice", &root);
		rc = corpus_seed_demo(root.data, &st, &err);
	}
	if (rc == 0) {
		buf_reset(&root);
		dovecot_user_maildir(&dv, "bob", &root);
		rc = maildir_add(root.data, NULL, bob_message, sizeof bob_message - 1, "SF",
				 bob_internaldate, NULL, &err);
	}
	if (rc < 0)
		fprintf(stderr, "check_harness: %s\n", err.data);
	buf_free(&err);
	buf_free(&root);
	return rc;
}

int main(void)
{
	dovecot_require_or_skip("check_harness");
	if (start_and_seed() < 0)
		return EXIT_FAILURE;

	Suite *s = suite_create("harness");
	TCase *tc = tcase_create("dovecot");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_plain_login_lists_seeded_folders);
	tcase_add_test(tc, test_wrong_password_gets_no);
	tcase_add_test(tc, test_implicit_tls_verified_by_harness_ca);
	tcase_add_test(tc, test_implicit_tls_refuses_other_ca);
	tcase_add_test(tc, test_starttls_then_login);
	tcase_add_test(tc, test_seeded_message_fetched_byte_for_byte);
	tcase_add_test(tc, test_demo_folders_hold_their_messages);
	tcase_add_test(tc, test_tiny_quota_refuses_append);
	tcase_add_test(tc, test_acl_commands_work);
	tcase_add_test(tc, test_cram_md5_login);
	tcase_add_test(tc, test_kick_drops_the_session);
	tcase_add_test(tc, test_stop_leaves_nothing_behind);
	tcase_add_test(tc, test_slash_separator_instance);
	tcase_add_test(tc, test_halted_instance_survives_another_start);
	suite_add_tcase(s, tc);

	int failed = check_run_suite(s);

	struct buf err = BUF_INIT;
	if (dovecot_stop(&dv, &err) < 0) {
		fprintf(stderr, "check_harness: stopping dovecot: %s\n", err.data);
		failed++;
	}
	buf_free(&err);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
