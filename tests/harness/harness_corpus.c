/* harness_corpus.c: deterministic mail for demos, benchmarks and tests.
 * Everything follows from a seeded generator; nothing comes from the clock,
 * so every machine seeds the same bytes. */
#include "config.h"
#include "harness.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define CORPUS_DEMO_SEED 1
#define CORPUS_BENCH_SEED 2
#define CORPUS_MAX_BENCH_MESSAGES 10000000u
#define CORPUS_MAX_BENCH_FOLDERS 1000u

/* Hand-checked modified UTF-7 (RFC 3501 5.1.3): UTF-16BE, base64 with ','
 * for '/', between '&' and '-'; a literal '&' is "&-".
 *   ü  U+00FC -> 00 FC       -> "APw"
 *   日本語 U+65E5 U+672C U+8A9E -> 65 E5 67 2C 8A 9E -> "ZeVnLIqe"
 *   é  U+00E9 -> 00 E9       -> "AOk"
 * Columns: IMAP name (UTF-8), its mUTF-7 form, messages, first internal
 * date and the step between dates (so UIDs follow the dates). */
#define CORPUS_DEMO_PLAN(X) \
	X("Drafts", "Drafts", 3, 1717200000, 86400) \
	X("Sent", "Sent", 40, 1709280000, 43200) \
	X("Trash", "Trash", 5, 1711000000, 86400) \
	X("Archive", "Archive", 10, 1672531200, 604800) \
	X("Archive.Old", "Archive.Old", 60, 1546300800, 259200) \
	X("Projekte", "Projekte", 15, 1700000000, 172800) \
	X("Projekte.2024", "Projekte.2024", 30, 1704067200, 86400) \
	X("Reisen", "Reisen", 8, 1690000000, 345600) \
	X("Reisen.Z\xc3\xbcrich", "Reisen.Z&APw-rich", 12, 1693526400, 21600) \
	X("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "&ZeVnLIqe-", 10, 1706745600, 86400) \
	X("Caf\xc3\xa9 & Bar", "Caf&AOk- &- Bar", 6, 1711929600, 604800)

#define CORPUS_PUBLIC(utf8, mutf7, count, first, step) { utf8, mutf7, count },
const struct corpus_folder corpus_demo_folders[] = { CORPUS_DEMO_PLAN(CORPUS_PUBLIC) };
const size_t corpus_demo_nfolders = sizeof corpus_demo_folders / sizeof corpus_demo_folders[0];

/* ---- the generator ---- */

struct corpus_rng {
	uint64_t s;
};

static uint64_t corpus_next(struct corpus_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull); /* splitmix64 */
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t corpus_below(struct corpus_rng *r, uint32_t n)
{
	return n ? (uint32_t)((corpus_next(r) >> 32) % n) : 0;
}

static struct corpus_rng corpus_rng_for(uint64_t seed, uint64_t index)
{
	struct corpus_rng r = { seed * 0x2545f4914f6cdd1dull ^ (index + 1) * 0x9e3779b97f4a7c15ull };
	corpus_next(&r);
	return r;
}

#define PICK(r, arr) ((arr)[corpus_below((r), sizeof(arr) / sizeof((arr)[0]))])

static const char *const corpus_names[][2] = {
	{ "Anna Berger", "anna.berger@example.org" },
	{ "J\xc3\xbcrgen M\xc3\xbcller", "juergen@example.de" },
	{ "Mar\xc3\xad" "a Garc\xc3\xad" "a", "maria@example.es" },
	{ "Li Wei", "li.wei@example.cn" },
	{ "Sam O'Brien", "sam@example.ie" },
	{ "Priya Nair", "priya@example.in" },
	{ "Build Bot", "ci@builds.example.com" },
	{ "\xe5\xb1\xb1\xe7\x94\xb0\xe5\xa4\xaa\xe9\x83\x8e", "yamada@example.jp" },
};

static const char *const corpus_subjects[] = {
	"Quarterly report", "Re: Meeting on Thursday", "Fwd: Invoice 2024-117",
	"Reisepl\xc3\xa4ne f\xc3\xbcr Z\xc3\xbcrich", "Build failed on main", "Lunch?",
	"Minutes of the planning meeting", "\xe4\xbc\x9a\xe8\xad\xb0\xe3\x81\xae\xe4\xba\x88\xe5\xae\x9a",
	"Re: Re: Projektstand", "Your order has shipped", "Photos from the weekend",
	"Draft: proposal v3", "Caf\xc3\xa9 & Bar opening hours",
};

static const char *const corpus_words[] = {
	"the", "mail", "server", "folder", "message", "report", "meeting", "tomorrow",
	"please", "attached", "find", "draft", "review", "budget", "project", "team",
	"schedule", "update", "thanks", "regards", "question", "answer", "before",
	"after", "Friday", "Monday", "release", "notes", "bug", "fix", "test", "plan",
	"und", "der", "die", "das", "Bericht", "Gr\xc3\xbc\xc3\x9f" "e", "Z\xc3\xbcrich",
	"Stra\xc3\x9f" "e", "caf\xc3\xa9", "na\xc3\xafve", "\xe6\x97\xa5\xe6\x9c\xac",
	"data", "numbers", "invoice", "travel", "hotel", "train", "ticket", "window",
	"system", "backup", "network", "latency", "cache", "sync", "index", "query",
};

static const char corpus_b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void corpus_base64(struct buf *out, const unsigned char *p, size_t n)
{
	size_t i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		char q[4] = { corpus_b64[v >> 18], corpus_b64[(v >> 12) & 63],
			      corpus_b64[(v >> 6) & 63], corpus_b64[v & 63] };
		buf_add(out, q, 4);
	}
	if (i < n) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
		char q[4] = { corpus_b64[v >> 18], corpus_b64[(v >> 12) & 63],
			      i + 1 < n ? corpus_b64[(v >> 6) & 63] : '=', '=' };
		buf_add(out, q, 4);
	}
}

/* An RFC 2047 encoded word for text that is not plain ASCII. */
static void corpus_header_text(struct buf *out, const char *s)
{
	for (const char *c = s; *c; c++) {
		if ((unsigned char)*c >= 0x80) {
			buf_addstr(out, "=?UTF-8?B?");
			corpus_base64(out, (const unsigned char *)s, strlen(s));
			buf_addstr(out, "?=");
			return;
		}
	}
	buf_addstr(out, s);
}

/* RFC 5322 date in UTC, spelled out here so the locale cannot change it. */
static void corpus_date(struct buf *out, time_t t)
{
	static const char days[][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	gmtime_r(&t, &tm);
	buf_addf(out, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
		 months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Lines of words, at most 76 octets each, until about size bytes. */
static void corpus_text(struct corpus_rng *r, struct buf *out, size_t size)
{
	size_t start = out->len, line = 0;
	while (out->len - start < size) {
		const char *w = PICK(r, corpus_words);
		size_t n = strlen(w);
		if (line && line + 1 + n > 76) {
			buf_addstr(out, corpus_below(r, 6) ? "\r\n" : ".\r\n\r\n");
			line = 0;
		} else if (line) {
			buf_addch(out, ' ');
			line++;
		}
		buf_add(out, w, n);
		line += n;
	}
	buf_addstr(out, "\r\n");
}

static void corpus_attachment(struct corpus_rng *r, struct buf *out, size_t encoded_size)
{
	/* Random bytes, like the compressed formats (PDF, JPEG, ZIP) most
	 * attachments are: nothing along the way can shrink them. */
	unsigned char raw[57]; /* 57 bytes make one 76-character base64 line */
	for (size_t done = 0; done < encoded_size; done += 78) {
		for (size_t i = 0; i < sizeof raw; i += 8) {
			uint64_t v = corpus_next(r);
			memcpy(raw + i, &v, sizeof raw - i < 8 ? sizeof raw - i : 8);
		}
		corpus_base64(out, raw, sizeof raw);
		buf_addstr(out, "\r\n");
	}
}

void corpus_message(uint64_t seed, unsigned index, size_t target_size, time_t date,
		    struct buf *out)
{
	static const char *const kinds[][3] = {
		{ "application/pdf", "report", "pdf" },
		{ "image/jpeg", "photo", "jpg" },
		{ "application/zip", "files", "zip" },
		{ "application/octet-stream", "data", "bin" },
	};
	struct corpus_rng r = corpus_rng_for(seed, index);
	const char *const *from = corpus_names[corpus_below(&r, sizeof corpus_names / sizeof corpus_names[0])];
	size_t start = out->len;

	buf_addf(out, "Return-Path: <%s>\r\n", from[1]);
	buf_addf(out, "Message-ID: <corpus.%llu.%u@imapfs.test>\r\n", (unsigned long long)seed, index);
	buf_addstr(out, "Date: ");
	corpus_date(out, date);
	buf_addstr(out, "\r\nFrom: ");
	corpus_header_text(out, from[0]);
	buf_addf(out, " <%s>\r\nTo: Alice <alice@imapfs.test>\r\nSubject: ", from[1]);
	corpus_header_text(out, PICK(&r, corpus_subjects));
	buf_addf(out, " #%u\r\nMIME-Version: 1.0\r\n", index);

	size_t head = out->len - start;
	size_t body = target_size > head + 200 ? target_size - head : 200;
	bool multipart = body > 6000 && corpus_below(&r, 10) < 7;
	char marker[64];
	snprintf(marker, sizeof marker, "imapfs-corpus-%llu-%u", (unsigned long long)seed, index);
	if (!multipart) {
		buf_addstr(out, "Content-Type: text/plain; charset=utf-8\r\n"
				"Content-Transfer-Encoding: 8bit\r\n\r\n");
		buf_addf(out, "%s\r\n\r\n", marker);
		corpus_text(&r, out, body > 150 ? body - 150 : 50);
		return;
	}
	const char *const *kind = kinds[corpus_below(&r, sizeof kinds / sizeof kinds[0])];
	size_t text = 300 + corpus_below(&r, 2500);
	buf_addf(out, "Content-Type: multipart/mixed; boundary=\"=_corpus_%u\"\r\n\r\n"
		      "This is a multi-part message in MIME format.\r\n\r\n"
		      "--=_corpus_%u\r\n"
		      "Content-Type: text/plain; charset=utf-8\r\n"
		      "Content-Transfer-Encoding: 8bit\r\n\r\n%s\r\n\r\n", index, index, marker);
	corpus_text(&r, out, text);
	buf_addf(out, "\r\n--=_corpus_%u\r\n"
		      "Content-Type: %s; name=\"%s-%u.%s\"\r\n"
		      "Content-Disposition: attachment; filename=\"%s-%u.%s\"\r\n"
		      "Content-Transfer-Encoding: base64\r\n\r\n",
		 index, kind[0], kind[1], index, kind[2], kind[1], index, kind[2]);
	size_t used = out->len - start + 40;
	corpus_attachment(&r, out, target_size > used + 78 ? target_size - used : 78);
	buf_addf(out, "\r\n--=_corpus_%u--\r\n", index);
}

/* Message sizes seen in ordinary mailboxes: mostly short text, a tail of
 * attachments.  The weights give a mean of about 18 KB. */
static size_t corpus_pick_size(struct corpus_rng *r)
{
	static const struct { unsigned weight, lo, hi; } buckets[] = {
		{ 30, 1000, 4000 },
		{ 34, 3000, 10000 },
		{ 20, 10000, 28000 },
		{ 13, 32000, 80000 },
		{ 3, 96000, 192000 },
	};
	uint32_t x = corpus_below(r, 100);
	for (size_t i = 0; i < sizeof buckets / sizeof buckets[0]; i++) {
		if (x < buckets[i].weight)
			return buckets[i].lo + corpus_below(r, buckets[i].hi - buckets[i].lo);
		x -= buckets[i].weight;
	}
	return 4000;
}

/* ---- presets ---- */

static int corpus_deliver(const char *root, const char *folder, uint64_t seed, unsigned index,
			  size_t size, time_t date, const char *flags, struct buf *msg,
			  struct corpus_stats *st, struct buf *err)
{
	buf_reset(msg);
	corpus_message(seed, index, size, date - 60 - (time_t)(index % 600), msg);
	if (maildir_add(root, folder, msg->data, msg->len, flags, date, NULL, err) < 0)
		return -1;
	st->messages++;
	st->bytes += msg->len;
	return 0;
}

static const char *corpus_demo_flags(struct corpus_rng *r, const char *folder, unsigned i, unsigned n)
{
	if (strcmp(folder, "Drafts") == 0)
		return "DS";
	if (strcmp(folder, "Sent") == 0)
		return "S";
	if (i + 8 >= n && strcmp(folder, "INBOX") == 0)
		return ""; /* the newest few are unread */
	switch (corpus_below(r, 10)) {
	case 0: return "FS";
	case 1: return "RS";
	case 2: return "";
	default: return "S";
	}
}

int corpus_seed_demo(const char *root, struct corpus_stats *st, struct buf *err)
{
#define CORPUS_PLAN_ROW(utf8, mutf7, count, first, step) { mutf7, count, first, step },
	static const struct { const char *folder; unsigned count; time_t first, step; } plan[] = {
		{ "INBOX", CORPUS_DEMO_INBOX, 1709251200, 10800 }, /* from 2024-03-01, every 3 h */
		CORPUS_DEMO_PLAN(CORPUS_PLAN_ROW)
	};
	struct corpus_stats local = { 0 };
	struct buf msg = BUF_INIT;
	struct corpus_rng r = corpus_rng_for(CORPUS_DEMO_SEED, 0xdeadbeef);
	unsigned index = 0;
	int rc = 0;
	if (!st)
		st = &local;
	memset(st, 0, sizeof *st);
	for (size_t f = 0; rc == 0 && f < sizeof plan / sizeof plan[0]; f++) {
		rc = maildir_make_folder(root, plan[f].folder, err);
		st->folders++;
		for (unsigned i = 0; rc == 0 && i < plan[f].count; i++, index++) {
			size_t size = corpus_pick_size(&r);
			/* A few large ones for reads that span many blocks. */
			if (index == 7)
				size = 1200000;
			else if (index == 250)
				size = 3000000;
			time_t date = plan[f].first + (time_t)i * plan[f].step +
				      (time_t)corpus_below(&r, (uint32_t)plan[f].step / 2);
			rc = corpus_deliver(root, plan[f].folder, CORPUS_DEMO_SEED, index, size, date,
					    corpus_demo_flags(&r, plan[f].folder, i, plan[f].count),
					    &msg, st, err);
		}
	}
	buf_free(&msg);
	return rc;
}

/* small: every message 2 to 4 KB (a big account seeded in minutes),
 * else the realistic spread. */
static int corpus_seed_spread(const char *root, unsigned n, unsigned nfolders, bool small,
			      struct corpus_stats *st, struct buf *err)
{
	struct corpus_stats local = { 0 };
	struct buf msg = BUF_INIT;
	char folder[32];
	int rc = 0;
	if (!st)
		st = &local;
	memset(st, 0, sizeof *st);
	if (nfolders < 1 || nfolders > CORPUS_MAX_BENCH_FOLDERS || n > CORPUS_MAX_BENCH_MESSAGES) {
		buf_addf(err, "bench preset: 1 to %u folders and at most %u messages",
			 CORPUS_MAX_BENCH_FOLDERS, CORPUS_MAX_BENCH_MESSAGES);
		return -1;
	}
	for (unsigned f = 0; rc == 0 && f < nfolders; f++) {
		snprintf(folder, sizeof folder, f ? "bench-%03u" : "INBOX", f);
		rc = maildir_make_folder(root, folder, err);
		st->folders++;
	}
	struct corpus_rng r = corpus_rng_for(CORPUS_BENCH_SEED, 0xbe9c4);
	for (unsigned i = 0; rc == 0 && i < n; i++) {
		unsigned f = i % nfolders;
		snprintf(folder, sizeof folder, f ? "bench-%03u" : "INBOX", f);
		/* One message every ten minutes from 2023-01-01: ascending per folder. */
		time_t date = 1672531200 + (time_t)i * 600;
		size_t size = small ? 2000 + corpus_below(&r, 2000) : corpus_pick_size(&r);
		rc = corpus_deliver(root, folder, CORPUS_BENCH_SEED, i, size, date,
				    corpus_below(&r, 5) ? "S" : "", &msg, st, err);
	}
	buf_free(&msg);
	return rc;
}

int corpus_seed_bench(const char *root, unsigned n, unsigned nfolders,
		      struct corpus_stats *st, struct buf *err)
{
	return corpus_seed_spread(root, n, nfolders, false, st, err);
}

int corpus_seed(const char *root, const char *preset, struct corpus_stats *st, struct buf *err)
{
	if (strcmp(preset, "demo") == 0)
		return corpus_seed_demo(root, st, err);
	unsigned long n, f;
	char *end;
	bool small = strncmp(preset, "small:", 6) == 0;
	if (small || strncmp(preset, "bench:", 6) == 0) {
		errno = 0;
		n = strtoul(preset + 6, &end, 10);
		if (!errno && end != preset + 6 && *end == ':') {
			const char *fs = end + 1;
			f = strtoul(fs, &end, 10);
			if (!errno && end != fs && !*end && n <= CORPUS_MAX_BENCH_MESSAGES &&
			    f <= CORPUS_MAX_BENCH_FOLDERS)
				return corpus_seed_spread(root, (unsigned)n, (unsigned)f, small, st, err);
		}
	}
	buf_addf(err, "unknown corpus preset '%s' (use demo, bench:N:F or small:N:F)", preset);
	return -1;
}
