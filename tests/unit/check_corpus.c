/* check_corpus.c: the harness's Maildir writer and mail corpus, no server
 * needed: the layout maildir_add makes, a corpus message the same for the
 * same seed, the demo folders' names in modified UTF-7, the bench spread. */
#include "config.h"
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "xalloc.h"
#include "check_run.h"
#include "harness.h"
#include "harness_os.h"

static char *make_temp_dir(void)
{
	char tmpl[] = "/tmp/imapfs-check-harness-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	return xstrdup(tmpl);
}

START_TEST(test_maildir_add_layout)
{
	char *dir = make_temp_dir();
	struct buf root = BUF_INIT, path = BUF_INIT, err = BUF_INIT;
	buf_addf(&root, "%s/mail", dir);
	/* Files and folders take the owner of the directory they go into. */
	if (geteuid() == 0)
		ck_assert_int_eq(chown(dir, 65534, 65534), 0);

	ck_assert_msg(maildir_add(root.data, "A.B", "x\r\n", 3, "SF", 1234567890, &path, &err) == 0,
		      "%s", err.data);
	const char *name = strrchr(path.data, '/') + 1;
	ck_assert_msg(strncmp(name, "1234567890.", 11) == 0, "%s", name);
	ck_assert_msg(strstr(name, ",S=3,W=3:2,FS") && name[strlen(name) - 1] == 'S', "%s", name);
	char want_dir[600];
	snprintf(want_dir, sizeof want_dir, "%s/.A.B/cur/", root.data);
	ck_assert_int_eq(strncmp(path.data, want_dir, strlen(want_dir)), 0);
	struct stat st;
	ck_assert_int_eq(stat(path.data, &st), 0);
	ck_assert_int_eq(st.st_mtime, 1234567890);
	ck_assert_int_eq(st.st_size, 3);
	if (geteuid() == 0)
		ck_assert_int_eq(st.st_uid, 65534);
	snprintf(want_dir, sizeof want_dir, "%s/.A.B/maildirfolder", root.data);
	ck_assert_int_eq(access(want_dir, F_OK), 0);

	/* Bare LFs count twice in the CRLF size Dovecot reports. */
	ck_assert_int_eq(maildir_add(root.data, NULL, "a\nb\n", 4, NULL, 1000000000, &path, &err), 0);
	ck_assert_msg(strstr(path.data, ",S=4,W=6:2,"), "%s", path.data);
	ck_assert_int_eq(strncmp(path.data + strlen(root.data), "/cur/", 5), 0);

	/* Later additions sort after earlier ones with the same date. */
	struct buf second = BUF_INIT;
	ck_assert_int_eq(maildir_add(root.data, "INBOX", "c", 1, "", 1000000000, &second, &err), 0);
	ck_assert_int_lt(strcmp(path.data, second.data), 0);

	ck_assert_int_eq(maildir_add(root.data, NULL, "x", 1, "X", 0, NULL, &err), -1);
	ck_assert_int_eq(maildir_add(root.data, "../evil", "x", 1, NULL, 0, NULL, &err), -1);
	ck_assert_int_eq(maildir_add(root.data, "a/b", "x", 1, NULL, 0, NULL, &err), -1);
	ck_assert_int_eq(maildir_make_folder(root.data, ".hidden", &err), -1);
	ck_assert(err.len > 0);

	ck_assert_int_eq(os_rmtree(dir, NULL), 0);
	buf_free(&second);
	buf_free(&root);
	buf_free(&path);
	buf_free(&err);
	free(dir);
}
END_TEST

START_TEST(test_corpus_message_is_deterministic)
{
	struct buf a = BUF_INIT, b = BUF_INIT, c = BUF_INIT;
	corpus_message(7, 3, 20000, 1700000000, &a);
	corpus_message(7, 3, 20000, 1700000000, &b);
	corpus_message(7, 4, 20000, 1700000000, &c);
	ck_assert_uint_eq(a.len, b.len);
	ck_assert_int_eq(memcmp(a.data, b.data, a.len), 0);
	ck_assert(c.len != a.len || memcmp(a.data, c.data, a.len) != 0);
	ck_assert_uint_gt(a.len, 18000);
	ck_assert_uint_lt(a.len, 22000);
	ck_assert_ptr_nonnull(strstr(a.data, "imapfs-corpus-7-3\r\n"));
	ck_assert_ptr_nonnull(strstr(a.data, "\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\n"));
	ck_assert_ptr_nonnull(strstr(a.data, "\r\nMessage-ID: <corpus.7.3@imapfs.test>\r\n"));
	/* Every line ends in CRLF and fits the 998-octet limit of RFC 5322. */
	size_t line = 0;
	for (size_t i = 0; i < a.len; i++) {
		if (a.data[i] == '\n') {
			ck_assert_msg(i > 0 && a.data[i - 1] == '\r', "bare LF at %zu", i);
			line = 0;
		} else {
			ck_assert_uint_lt(++line, 999);
		}
	}
	ck_assert_int_eq(a.data[a.len - 1], '\n');
	buf_free(&a);
	buf_free(&b);
	buf_free(&c);
}
END_TEST

/* RFC 3501 5.1.3 written out independently of proto/mutf7.c: printable
 * ASCII stands for itself ('&' as "&-"), anything else goes as UTF-16BE in
 * base64 with ',' for '/', between '&' and '-'. */
static void reference_mutf7(const char *utf8, struct buf *out)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
	const unsigned char *p = (const unsigned char *)utf8;
	while (*p) {
		if (*p >= 0x20 && *p < 0x7f) {
			buf_addstr(out, *p == '&' ? "&-" : (char[]){ (char)*p, 0 });
			p++;
			continue;
		}
		unsigned char units[256];
		size_t n = 0;
		while (*p && !(*p >= 0x20 && *p < 0x7f)) {
			uint32_t cp;
			if (*p >= 0xf0) {
				cp = (uint32_t)(p[0] & 7) << 18 | (uint32_t)(p[1] & 63) << 12 |
				     (uint32_t)(p[2] & 63) << 6 | (p[3] & 63);
				p += 4;
			} else if (*p >= 0xe0) {
				cp = (uint32_t)(p[0] & 15) << 12 | (uint32_t)(p[1] & 63) << 6 | (p[2] & 63);
				p += 3;
			} else {
				cp = (uint32_t)(p[0] & 31) << 6 | (p[1] & 63);
				p += 2;
			}
			ck_assert(cp < 0x10000 && n + 2 <= sizeof units); /* enough for these names */
			units[n++] = (unsigned char)(cp >> 8);
			units[n++] = (unsigned char)cp;
		}
		buf_addch(out, '&');
		uint32_t bits = 0;
		int nbits = 0;
		for (size_t i = 0; i < n; i++) {
			bits = bits << 8 | units[i];
			nbits += 8;
			while (nbits >= 6) {
				nbits -= 6;
				buf_addch(out, b64[(bits >> nbits) & 63]);
			}
		}
		if (nbits)
			buf_addch(out, b64[(bits << (6 - nbits)) & 63]);
		buf_addch(out, '-');
	}
}

START_TEST(test_demo_folder_names_are_mutf7)
{
	ck_assert_uint_ge(corpus_demo_nfolders, 10);
	size_t non_ascii = 0;
	for (size_t i = 0; i < corpus_demo_nfolders; i++) {
		struct buf want = BUF_INIT;
		reference_mutf7(corpus_demo_folders[i].utf8, &want);
		ck_assert_str_eq(corpus_demo_folders[i].mutf7, want.data);
		non_ascii += strchr(want.data, '&') != NULL;
		buf_free(&want);
	}
	ck_assert_uint_ge(non_ascii, 3);
	/* And the reference itself, against encodings worked out by hand. */
	struct buf b = BUF_INIT;
	reference_mutf7("Reisen.Z\xc3\xbcrich", &b);
	ck_assert_str_eq(b.data, "Reisen.Z&APw-rich");
	buf_reset(&b);
	reference_mutf7("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", &b);
	ck_assert_str_eq(b.data, "&ZeVnLIqe-");
	buf_reset(&b);
	reference_mutf7("Caf\xc3\xa9 & Bar", &b);
	ck_assert_str_eq(b.data, "Caf&AOk- &- Bar");
	buf_free(&b);
}
END_TEST

static unsigned count_files(const char *dir)
{
	char cmd[700];
	snprintf(cmd, sizeof cmd, "ls -1 '%s' | wc -l", dir);
	FILE *p = popen(cmd, "r");
	unsigned n = 0;
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(fscanf(p, "%u", &n), 1);
	pclose(p);
	return n;
}

START_TEST(test_corpus_bench_spread)
{
	char *dir = make_temp_dir();
	struct buf err = BUF_INIT, sub = BUF_INIT;
	struct corpus_stats st, again;
	ck_assert_msg(corpus_seed(dir, "bench:600:3", &st, &err) == 0, "%s", err.data);
	ck_assert_uint_eq(st.messages, 600);
	ck_assert_uint_eq(st.folders, 3);
	/* A realistic spread averaging about 18 KB. */
	ck_assert_uint_gt(st.bytes / st.messages, 14000);
	ck_assert_uint_lt(st.bytes / st.messages, 23000);
	buf_addf(&sub, "%s/cur", dir);
	ck_assert_uint_eq(count_files(sub.data), 200);
	buf_reset(&sub);
	buf_addf(&sub, "%s/.bench-002/cur", dir);
	ck_assert_uint_eq(count_files(sub.data), 200);
	ck_assert_int_eq(os_rmtree(dir, NULL), 0);
	/* Seeded again: the same bytes. */
	ck_assert_int_eq(corpus_seed(dir, "bench:600:3", &again, &err), 0);
	ck_assert_uint_eq(again.bytes, st.bytes);
	ck_assert_int_eq(corpus_seed(dir, "bench:x:3", &again, &err), -1);
	ck_assert_int_eq(corpus_seed(dir, "nonsense", &again, &err), -1);
	ck_assert_int_eq(os_rmtree(dir, NULL), 0);
	buf_free(&sub);
	buf_free(&err);
	free(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("corpus");
	TCase *files = tcase_create("files");
	tcase_set_timeout(files, 120);
	tcase_add_test(files, test_maildir_add_layout);
	tcase_add_test(files, test_corpus_message_is_deterministic);
	tcase_add_test(files, test_demo_folder_names_are_mutf7);
	tcase_add_test(files, test_corpus_bench_spread);
	suite_add_tcase(s, files);
	int failed = check_run_suite(s);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
