/* imap4.c: the imap4 command-line tool.  Each CALL is an imaplib method
 * with its arguments; for each the tool prints exactly what Python prints
 * for repr() of imaplib's return value, or "error: ...", "abort: ...",
 * "readonly: ..." where imaplib raises.  This is the conformance surface:
 * the same calls against the same server state print what imaplib prints. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "imap.h"
#include "imaplib.h"
#include "pyrepr.h"
#include "sasl.h"
#include "url.h"
#include "words.h"
#include "xalloc.h"

struct tool {
	struct imap *s;
	struct imap_url url;
	struct tls_opts tls;
	const char *command;   /* spawned server */
	int timeout_ms;
	bool plaintext_ok;
	int debug;
};

static void usage(FILE *f)
{
	fputs("usage: imap4 [-d LEVEL] [-o OPTION[,OPTION...]] URL CALL...\n"
	      "  URL     imap://[USER@]HOST[:PORT] (STARTTLS unless -o tls=none)\n"
	      "          imaps://[USER@]HOST[:PORT] (implicit TLS)\n"
	      "          stream: with -o command=CMD (a spawned server on stdin/stdout)\n"
	      "  CALL    one argument: an imaplib method and its arguments, split like\n"
	      "          shell words; None, True, False as in Python; @FILE for a file's bytes\n"
	      "  options tls=none, cafile=FILE, insecure, passfile=FILE, command=CMD, timeout=SECONDS\n"
	      "  The password comes from passfile= or the IMAPFS_PASSWORD environment variable.\n"
	      "  See imap4(1).\n", f);
}

/* ---------------- argument conversion ---------------- */

struct call {
	char **argv;
	size_t argc;
	struct buf *files;   /* contents of @FILE arguments, index-aligned */
	const char **conv;   /* scratch for rest() */
};

static bool is_none(const char *a) { return a && !strcmp(a, "None"); }

/* NULL for None, the text otherwise. */
static const char *arg_str(const struct call *c, size_t i, const char *dflt)
{
	if (i >= c->argc)
		return dflt;
	if (is_none(c->argv[i]))
		return NULL;
	if (c->files[i].len || c->argv[i][0] == '@')
		return c->files[i].data;
	return c->argv[i];
}

static bool arg_bool(const struct call *c, size_t i, bool dflt)
{
	if (i >= c->argc)
		return dflt;
	const char *a = c->argv[i];
	return !(is_none(a) || !strcmp(a, "False") || !strcmp(a, "0") || !*a);
}

/* ---------------- authobjects for authenticate ---------------- */

/* ---------------- the calls ---------------- */

/* A call that printed its own error line. */
enum { CALL_PRINTED = -100 };

typedef int (*call_fn)(struct tool *t, const struct call *c, struct imap_result *r, struct buf *out);

/* The arguments from index from on, converted (None -> NULL, @FILE -> its
 * bytes): the variable part of search, uid, xatom and the like. */
static const char *const *rest(const struct call *c, size_t from, size_t *n)
{
	*n = c->argc > from ? c->argc - from : 0;
	for (size_t i = 0; i < *n; i++)
		c->conv[i] = arg_str(c, from + i, NULL);
	return c->conv;
}

#define A(i) arg_str(c, i, NULL)

static int call_append(struct tool *t, const struct call *c, struct imap_result *r, struct buf *o)
{
	(void)o;
	const char *msg = A(3);
	size_t len = c->argc > 3 ? (c->files[3].len ? c->files[3].len : strlen(c->argv[3])) : 0;
	return imap_append(t->s, A(0), A(1), A(2), msg ? msg : "", msg ? len : 0, r);
}

static int call_authenticate(struct tool *t, const struct call *c, struct imap_result *r, struct buf *o)
{
	(void)o;
	/* From the command line the authobject is one of the built-in
	 * mechanisms: authenticate MECH USER SECRET. */
	struct buf err = BUF_INIT;
	struct sasl *a = sasl_new(A(0) ? A(0) : "", A(1) ? A(1) : "", A(2) ? A(2) : "", &err);
	if (!a) {
		printf("error: %s\n", err.data);
		buf_free(&err);
		return CALL_PRINTED;
	}
	buf_free(&err);
	int rc = imap_authenticate(t->s, A(0), sasl_step, a, r);
	sasl_free(a);
	return rc;
}

static int call_starttls(struct tool *t, const struct call *c, struct imap_result *r, struct buf *o)
{
	(void)c;
	(void)o;
	return imap_starttls(t->s, &t->tls, r);
}

static int call_search(struct tool *t, const struct call *c, struct imap_result *r, struct buf *o)
{
	(void)o;
	size_t n;
	const char *const *v = rest(c, 1, &n);
	return imap_search(t->s, A(0), v, n, r);
}

static int call_sort(struct tool *t, const struct call *c, struct imap_result *r, struct buf *o)
{
	(void)o;
	size_t n;
	const char *const *v = rest(c, 2, &n);
	return imap_sort(t->s, A(0) ? A(0) : "", A(1), v, n, r);
}

static int call_thread(struct tool *t, const struct call *c, struct imap_result *r, struct buf *o)
{
	(void)o;
	size_t n;
	const char *const *v = rest(c, 2, &n);
	return imap_thread(t->s, A(0), A(1), v, n, r);
}

static int call_uid(struct tool *t, const struct call *c, struct imap_result *r, struct buf *o)
{
	(void)o;
	size_t n;
	const char *const *v = rest(c, 1, &n);
	return imap_uid(t->s, A(0) ? A(0) : "", v, n, r);
}

static int call_xatom(struct tool *t, const struct call *c, struct imap_result *r, struct buf *o)
{
	(void)o;
	size_t n;
	const char *const *v = rest(c, 1, &n);
	return imap_xatom(t->s, A(0) ? A(0) : "", v, n, r);
}

static int call_setannotation(struct tool *t, const struct call *c, struct imap_result *r, struct buf *o)
{
	(void)o;
	size_t n;
	const char *const *v = rest(c, 0, &n);
	return imap_setannotation(t->s, v, n, r);
}

static int call_select(struct tool *t, const struct call *c, struct imap_result *r, struct buf *o)
{
	(void)o;
	return imap_select(t->s, arg_str(c, 0, "INBOX"), arg_bool(c, 1, false), r);
}

static int call_list(struct tool *t, const struct call *c, struct imap_result *r, struct buf *o)
{
	(void)o;
	return imap_list(t->s, arg_str(c, 0, "\"\""), arg_str(c, 1, "*"), r);
}

static int call_lsub(struct tool *t, const struct call *c, struct imap_result *r, struct buf *o)
{
	(void)o;
	return imap_lsub(t->s, arg_str(c, 0, "\"\""), arg_str(c, 1, "*"), r);
}

/* Raw access: imaplib's read(), readline(), send(), shutdown(). */
static int call_read(struct tool *t, const struct call *c, struct imap_result *r, struct buf *o)
{
	(void)r;
	struct buf b = BUF_INIT;
	int rc = imap_read_raw(t->s, (size_t)strtoul(A(0) ? A(0) : "0", NULL, 10), &b);
	if (rc == 0)
		pyrepr_bytes(o, b.data, b.len);
	buf_free(&b);
	return rc;
}

static int call_readline(struct tool *t, const struct call *c, struct imap_result *r, struct buf *o)
{
	(void)r;
	(void)c;
	struct buf b = BUF_INIT;
	int rc = imap_readline_raw(t->s, &b);
	if (rc == 0)
		pyrepr_bytes(o, b.data, b.len);
	buf_free(&b);
	return rc;
}

static int call_send(struct tool *t, const struct call *c, struct imap_result *r, struct buf *o)
{
	(void)r;
	const char *d = A(0) ? A(0) : "";
	size_t len = c->argc && c->files[0].len ? c->files[0].len : strlen(d);
	int rc = imap_send_raw(t->s, d, len);
	if (rc == 0)
		pyrepr_none(o);
	return rc;
}

static int call_shutdown(struct tool *t, const struct call *c, struct imap_result *r, struct buf *o)
{
	(void)r;
	(void)c;
	imap_shutdown(t->s);
	pyrepr_none(o);
	return 0;
}

/* Attributes: capabilities, PROTOCOL_VERSION, state, utf8_enabled, debug. */
static int call_capabilities(struct tool *t, const struct call *c, struct imap_result *r, struct buf *o)
{
	(void)r;
	(void)c;
	struct pyrepr_seq seq;
	pyrepr_open_tuple(o, &seq);
	for (size_t i = 0; i < imaplib_ncaps(t->s); i++) {
		pyrepr_sep(o, &seq);
		const char *cap = imaplib_cap(t->s, i);
		pyrepr_str(o, cap, strlen(cap));
	}
	pyrepr_close(o, &seq);
	return 0;
}

static int call_protocol_version(struct tool *t, const struct call *c, struct imap_result *r,
				 struct buf *o)
{
	(void)r;
	(void)c;
	const char *v = imap_protocol_version(t->s);
	pyrepr_str(o, v, strlen(v));
	return 0;
}

static int call_state(struct tool *t, const struct call *c, struct imap_result *r, struct buf *o)
{
	(void)r;
	(void)c;
	const char *v = imap_state_name(imap_get_state(t->s));
	pyrepr_str(o, v, strlen(v));
	return 0;
}

static int call_utf8_enabled(struct tool *t, const struct call *c, struct imap_result *r, struct buf *o)
{
	(void)r;
	(void)c;
	pyrepr_bool(o, imap_utf8_enabled(t->s));
	return 0;
}

#define FIXED0(fn) \
	static int call_##fn(struct tool *t, const struct call *c, struct imap_result *r, struct buf *o) \
	{ (void)c; (void)o; return imap_##fn(t->s, r); }
#define FIXED1(fn) \
	static int call_##fn(struct tool *t, const struct call *c, struct imap_result *r, struct buf *o) \
	{ (void)o; return imap_##fn(t->s, A(0), r); }
#define FIXED2(fn) \
	static int call_##fn(struct tool *t, const struct call *c, struct imap_result *r, struct buf *o) \
	{ (void)o; return imap_##fn(t->s, A(0), A(1), r); }
#define FIXED3(fn) \
	static int call_##fn(struct tool *t, const struct call *c, struct imap_result *r, struct buf *o) \
	{ (void)o; return imap_##fn(t->s, A(0), A(1), A(2), r); }

FIXED0(capability)
FIXED0(check)
FIXED0(expunge)
FIXED0(logout)
FIXED0(namespace)
FIXED0(noop)
FIXED0(recent)
FIXED0(unselect)
FIXED1(create)
FIXED1(delete)
FIXED1(enable)
FIXED1(getacl)
FIXED1(getquota)
FIXED1(getquotaroot)
FIXED1(myrights)
FIXED1(proxyauth)
FIXED1(subscribe)
FIXED1(unsubscribe)
FIXED2(copy)
FIXED2(deleteacl)
FIXED2(fetch)
FIXED2(login)
FIXED2(login_cram_md5)
FIXED2(rename)
FIXED2(setquota)
FIXED2(status)
FIXED3(getannotation)
FIXED3(setacl)
FIXED3(store)

/* idle SECONDS: prints [(typ, [data, ...]), ...] for what arrived. */
static int call_idle(struct tool *t, const struct call *c, struct imap_result *r, struct buf *o)
{
	double secs = A(0) ? strtod(A(0), NULL) : 29 * 60;
	int rc = imap_idle_collect(t->s, (int)(secs * 1000), r);
	if (rc < 0)
		return rc;
	struct pyrepr_seq pairs, pair, data;
	pyrepr_open_list(o, &pairs);
	for (size_t i = 0; i < r->n; i++) {
		const struct imap_item *it = &r->items[i];
		pyrepr_sep(o, &pairs);
		pyrepr_open_tuple(o, &pair);
		pyrepr_sep(o, &pair);
		pyrepr_str(o, it->sub[0].text.data, it->sub[0].text.len);
		pyrepr_sep(o, &pair);
		pyrepr_open_list(o, &data);
		for (size_t k = 1; k < it->nsub; k++) {
			pyrepr_sep(o, &data);
			if (it->sub[k].has_lit) {
				struct pyrepr_seq tup;
				pyrepr_open_tuple(o, &tup);
				pyrepr_sep(o, &tup);
				pyrepr_bytes(o, it->sub[k].text.data, it->sub[k].text.len);
				pyrepr_sep(o, &tup);
				pyrepr_bytes(o, it->sub[k].lit.data, it->sub[k].lit.len);
				pyrepr_close(o, &tup);
			} else {
				pyrepr_bytes(o, it->sub[k].text.data, it->sub[k].text.len);
			}
		}
		pyrepr_close(o, &data);
		pyrepr_close(o, &pair);
	}
	pyrepr_close(o, &pairs);
	return 0;
}

static int call_close(struct tool *t, const struct call *c, struct imap_result *r, struct buf *o)
{
	(void)c;
	(void)o;
	return imap_close_mailbox(t->s, r);
}

static int call_response(struct tool *t, const struct call *c, struct imap_result *r, struct buf *o)
{
	(void)o;
	return imap_response(t->s, A(0) ? A(0) : "", r);
}

static int call_partial(struct tool *t, const struct call *c, struct imap_result *r, struct buf *o)
{
	(void)o;
	return imap_partial(t->s, A(0), A(1), A(2), A(3), r);
}

static const struct {
	const char *name;
	call_fn fn;
	size_t min, max;  /* argument counts */
} calls[] = {
	{ "append", call_append, 4, 4 },
	{ "authenticate", call_authenticate, 1, 3 },
	{ "capability", call_capability, 0, 0 },
	{ "check", call_check, 0, 0 },
	{ "close", call_close, 0, 0 },
	{ "copy", call_copy, 2, 2 },
	{ "create", call_create, 1, 1 },
	{ "delete", call_delete, 1, 1 },
	{ "deleteacl", call_deleteacl, 2, 2 },
	{ "enable", call_enable, 1, 1 },
	{ "expunge", call_expunge, 0, 0 },
	{ "fetch", call_fetch, 2, 2 },
	{ "getacl", call_getacl, 1, 1 },
	{ "getannotation", call_getannotation, 3, 3 },
	{ "getquota", call_getquota, 1, 1 },
	{ "getquotaroot", call_getquotaroot, 1, 1 },
	{ "idle", call_idle, 0, 1 },
	{ "list", call_list, 0, 2 },
	{ "login", call_login, 2, 2 },
	{ "login_cram_md5", call_login_cram_md5, 2, 2 },
	{ "logout", call_logout, 0, 0 },
	{ "lsub", call_lsub, 0, 2 },
	{ "myrights", call_myrights, 1, 1 },
	{ "namespace", call_namespace, 0, 0 },
	{ "noop", call_noop, 0, 0 },
	{ "partial", call_partial, 4, 4 },
	{ "proxyauth", call_proxyauth, 1, 1 },
	{ "recent", call_recent, 0, 0 },
	{ "rename", call_rename, 2, 2 },
	{ "response", call_response, 1, 1 },
	{ "search", call_search, 1, 1000 },
	{ "select", call_select, 0, 2 },
	{ "setacl", call_setacl, 3, 3 },
	{ "setannotation", call_setannotation, 0, 1000 },
	{ "setquota", call_setquota, 2, 2 },
	{ "sort", call_sort, 2, 1000 },
	{ "starttls", call_starttls, 0, 1 },
	{ "status", call_status, 2, 2 },
	{ "store", call_store, 3, 3 },
	{ "subscribe", call_subscribe, 1, 1 },
	{ "thread", call_thread, 2, 1000 },
	{ "uid", call_uid, 1, 1000 },
	{ "unselect", call_unselect, 0, 0 },
	{ "unsubscribe", call_unsubscribe, 1, 1 },
	{ "xatom", call_xatom, 1, 1000 },
	{ "read", call_read, 1, 1 },
	{ "readline", call_readline, 0, 0 },
	{ "send", call_send, 1, 1 },
	{ "shutdown", call_shutdown, 0, 0 },
	{ "capabilities", call_capabilities, 0, 0 },
	{ "PROTOCOL_VERSION", call_protocol_version, 0, 0 },
	{ "state", call_state, 0, 0 },
	{ "utf8_enabled", call_utf8_enabled, 0, 0 },
};

static const char *kind_name(int rc)
{
	switch (rc) {
	case IMAP_ABORT: return "abort";
	case IMAP_READONLY: return "readonly";
	default: return "error";
	}
}

static int read_file(const char *path, struct buf *out, struct buf *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		buf_addf(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	char chunk[65536];
	ssize_t n;
	while ((n = read(fd, chunk, sizeof chunk)) > 0)
		buf_add(out, chunk, (size_t)n);
	int e = errno;
	close(fd);
	if (n < 0) {
		buf_addf(err, "%s: %s", path, strerror(e));
		return -1;
	}
	return 0;
}

/* Runs one CALL; prints its line.  Returns 0 when the call returned. */
static int run_call(struct tool *t, const char *text)
{
	struct words w;
	struct buf err = BUF_INIT, out = BUF_INIT;
	struct call c = { NULL, 0, NULL, NULL };
	int rc = IMAP_ERROR;
	if (words_split(text, &w, &err) < 0 || w.n == 0) {
		printf("error: cannot split call %s: %s\n", text, w.n == 0 && !err.len ? "empty" : err.data);
		buf_free(&err);
		words_free(&w);
		return -1;
	}
	c.argv = w.v + 1;
	c.argc = w.n - 1;
	c.files = xcalloc(c.argc + 1, sizeof *c.files);
	c.conv = xcalloc(c.argc + 1, sizeof *c.conv);
	for (size_t i = 0; i < c.argc; i++) {
		buf_init(&c.files[i]);
		if (c.argv[i][0] == '@' && read_file(c.argv[i] + 1, &c.files[i], &err) < 0) {
			printf("error: %s\n", err.data);
			goto done;
		}
	}
	size_t k;
	for (k = 0; k < sizeof calls / sizeof calls[0]; k++)
		if (!strcmp(calls[k].name, w.v[0]) ||
		    (!strcasecmp(calls[k].name, w.v[0]) && calls[k].name[0] >= 'a'))
			break;
	if (k == sizeof calls / sizeof calls[0]) {
		printf("error: Unknown IMAP4 command: '%s'\n", w.v[0]);
		goto done;
	}
	if (c.argc < calls[k].min || c.argc > calls[k].max) {
		printf("error: %s() takes %zu to %zu arguments (%zu given)\n", calls[k].name,
		       calls[k].min, calls[k].max, c.argc);
		goto done;
	}
	struct imap_result r = { .n = 0 };
	rc = calls[k].fn(t, &c, &r, &out);
	if (rc == CALL_PRINTED) {
		rc = IMAP_ERROR;
	} else if (rc < 0) {
		printf("%s: %s\n", kind_name(rc), imap_errmsg(t->s));
	} else {
		if (!out.len)
			imap_result_repr(&r, &out);
		printf("%s\n", out.data);
	}
	imap_result_free(&r);
done:
	fflush(stdout);
	for (size_t i = 0; i < c.argc; i++)
		buf_free(&c.files[i]);
	free(c.files);
	free(c.conv);
	buf_free(&out);
	buf_free(&err);
	words_free(&w);
	return rc < 0 ? -1 : 0;
}

static void trace_to_stderr(void *ctx, const char *line)
{
	(void)ctx;
	fprintf(stderr, "  imap4: %s\n", line);
}

static int connect_and_login(struct tool *t)
{
	/* imaplib keeps every literal, bodies too, in memory and has no bound;
	 * ours is the core's former one */
	struct imap_opts o = { .timeout_ms = t->timeout_ms, .tls = t->tls, .debug = t->debug,
			       .trace = trace_to_stderr, .allow_plaintext = t->plaintext_ok,
			       .require_tls = !t->plaintext_ok && !t->command,
			       .limits = { .max_mem_literal = (size_t)256 << 20 } };
	struct buf err = BUF_INIT;
	int rc;
	if (t->command)
		rc = imap_open_stream(&t->s, t->command, &o, &err);
	else if (t->url.implicit_tls)
		rc = imap_open_ssl(&t->s, t->url.host, t->url.port, &o, &err);
	else
		rc = imap_open(&t->s, t->url.host, t->url.port, &o, &err);
	if (rc < 0) {
		fprintf(stderr, "imap4: cannot connect to %s: %s\n",
			t->command ? t->command : t->url.host, err.data);
		buf_free(&err);
		return -1;
	}
	buf_free(&err);
	struct imap_result r = { .n = 0 };
	if (!t->command && !t->url.implicit_tls && !t->plaintext_ok &&
	    imap_get_state(t->s) == IMAP_STATE_NONAUTH) {
		if ((rc = imap_starttls(t->s, &t->tls, &r)) < 0) {
			fprintf(stderr, "imap4: STARTTLS failed: %s (use -o tls=none for an unencrypted link)\n",
				imap_errmsg(t->s));
			imap_result_free(&r);
			return -1;
		}
	}
	if (t->url.user && imap_get_state(t->s) == IMAP_STATE_NONAUTH) {
		rc = imap_login(t->s, t->url.user, t->url.password ? t->url.password : "", &r);
		if (rc < 0) {
			fprintf(stderr, "imap4: login as %s failed: %s\n", t->url.user, imap_errmsg(t->s));
			imap_result_free(&r);
			return -1;
		}
	}
	imap_result_free(&r);
	return 0;
}

int main(int argc, char **argv)
{
	struct tool t = { .timeout_ms = 60000 };
	struct url_options uo = { .tls = &t.tls };
	int opt;
	while ((opt = getopt(argc, argv, "+d:o:hV")) != -1) {
		switch (opt) {
		case 'd':
			t.debug = atoi(optarg);
			break;
		case 'o':
			if (url_parse_options(optarg, &uo) < 0) {
				fprintf(stderr, "imap4: bad option: %s\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("imap4 (imapfs) %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind < 1) {
		usage(stderr);
		return 2;
	}
	struct buf err = BUF_INIT;
	if (url_parse(argv[optind], &t.url, &err) < 0) {
		fprintf(stderr, "imap4: %s\n", err.data);
		buf_free(&err);
		return 2;
	}
	t.plaintext_ok = uo.tls_none;
	t.command = uo.command;
	if (uo.timeout_s > 0)
		t.timeout_ms = uo.timeout_s * 1000;
	if (t.url.user && url_read_password(&uo, &t.url, &err) < 0) {
		fprintf(stderr, "imap4: %s\n", err.data);
		buf_free(&err);
		url_free(&t.url);
		return 2;
	}
	buf_free(&err);
	int status = 0;
	if (connect_and_login(&t) < 0) {
		status = 1;
	} else {
		for (int i = optind + 1; i < argc; i++)
			if (run_call(&t, argv[i]) < 0)
				status = 1;
	}
	imap_close(t.s);
	url_free(&t.url);
	url_options_free(&uo);
	return status;
}
