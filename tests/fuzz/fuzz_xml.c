/*
 * tests/fuzz/fuzz_xml.c — libFuzzer target for s3/xml.c.
 *
 * The first byte chooses what the rest feeds: one of the seven parsers (the
 * result is checked for the promises of xml.h, then freed), the Delete
 * builder (keys split at NUL; a body it builds must read back through
 * libxml2 as exactly those keys), or s3b_parse_time.  A broken promise
 * aborts.  The builder input also goes to the CompleteMultipartUpload
 * builder as ETags, whose body must read back the same way.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "buf.h"
#include "s3.h"
#include "xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(int cond)
{
	if (!cond)
		abort();
}

static int zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

static void key_ok(const char *k)
{
	must(k != NULL && k[0] != '\0' && strlen(k) <= (64u << 10));
}

static void fuzz_list(const char *b, size_t n)
{
	struct s3_list_page p;
	int rc = s3b_xml_parse_list_v2(b, n, &p);

	if (rc) {
		must(rc == EPROTO || rc == ENOMEM);
		must(zero(&p, sizeof(p)));
		return;
	}
	must(p.truncated == (p.next_token != NULL));
	for (size_t i = 0; i < p.n_entries; i++) {
		key_ok(p.entries[i].key);
		must(memchr(p.entries[i].etag, '\0', sizeof(p.entries[i].etag)) != NULL);
		must(p.entries[i].mtime.tv_nsec >= 0 && p.entries[i].mtime.tv_nsec < 1000000000);
	}
	for (size_t i = 0; i < p.n_prefixes; i++)
		key_ok(p.prefixes[i]);
	s3_list_page_free(&p);
}

static void fuzz_uploads(const char *b, size_t n)
{
	struct s3_upload_list l;
	int rc = s3b_xml_parse_list_uploads(b, n, &l);

	if (rc) {
		must(zero(&l, sizeof(l)));
		return;
	}
	must(!l.truncated || (l.next_key_marker && l.next_upload_id_marker));
	for (size_t i = 0; i < l.n; i++) {
		key_ok(l.uploads[i].key);
		must(l.uploads[i].upload_id && l.uploads[i].upload_id[0]);
	}
	s3_upload_list_free(&l);
}

static void fuzz_delete(const char *b, size_t n)
{
	struct s3_delete_failure *f;
	size_t nf;
	int rc = s3b_xml_parse_delete(b, n, &f, &nf);

	if (rc) {
		must(f == NULL && nf == 0);
		return;
	}
	for (size_t i = 0; i < nf; i++) {
		key_ok(f[i].key);
		must(f[i].code[0] != '\0');
	}
	s3_delete_failures_free(f, nf);
}

static void fuzz_etag_docs(const char *b, size_t n, int which)
{
	char etag[S3B_ETAG_MAX];
	char *id;
	struct s3_error e = {.http_status = 500};
	int rc;

	switch (which) {
	case 0:
		rc = s3b_xml_parse_initiate(b, n, &id);
		must(rc ? id == NULL : (id != NULL && id[0] != '\0'));
		free(id);
		break;
	case 1:
	case 2:
		rc = which == 1 ? s3b_xml_parse_complete(b, n, etag) : s3b_xml_parse_copy(b, n, etag);
		must(rc ? zero(etag, sizeof(etag)) : memchr(etag, '\0', sizeof(etag)) != NULL);
		break;
	default:
		rc = s3b_xml_parse_error(b, n, &e);
		must(e.http_status == 500);
		must(!rc || (e.code[0] == '\0' && e.message[0] == '\0' && e.request_id[0] == '\0'));
		break;
	}
}

/* Keys split at NUL; a built body must give the keys back. */
static void fuzz_build(const char *b, size_t n)
{
	const char *keys[64];
	size_t nk = 0, pos = 0, got = 0;
	char *copy = malloc(n + 1);
	struct s3b_buf out = S3B_BUF_INIT;
	xmlDocPtr doc;

	if (!copy)
		return;
	memcpy(copy, b, n);
	copy[n] = '\0';
	while (pos <= n && nk < 64) {
		keys[nk++] = copy + pos;
		pos += strlen(copy + pos) + 1;
	}
	if (s3b_xml_build_delete(&out, keys, nk) != 0) {
		must(out.len == 0);
		goto done;
	}
	doc = xmlReadMemory(out.data, (int)out.len, NULL, NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	must(doc != NULL);
	for (xmlNodePtr o = xmlDocGetRootElement(doc)->children; o; o = o->next) {
		xmlChar *k;

		if (strcmp((const char *)o->name, "Object") != 0)
			continue;
		must(got < nk);
		k = xmlNodeGetContent(o->children);
		must(k && strcmp((const char *)k, keys[got]) == 0);
		xmlFree(k);
		got++;
	}
	must(got == nk);
	xmlFreeDoc(doc);

	/* The same strings as ETags of parts 1..n. */
	struct s3_part parts[64];
	size_t np = 0;

	for (size_t i = 0; i < nk; i++) {
		size_t kl = strlen(keys[i]);

		if (kl >= S3B_ETAG_MAX)
			continue;
		parts[np].number = (unsigned)np + 1;
		memcpy(parts[np++].etag, keys[i], kl + 1);
	}
	s3b_buf_free(&out);
	if (s3b_xml_build_complete(&out, parts, np) != 0) {
		must(out.len == 0);
		goto done;
	}
	doc = xmlReadMemory(out.data, (int)out.len, NULL, NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	must(doc != NULL);
	got = 0;
	for (xmlNodePtr o = xmlDocGetRootElement(doc)->children; o; o = o->next) {
		xmlChar *num = xmlNodeGetContent(o->children);
		xmlChar *etag = xmlNodeGetContent(o->children->next);
		size_t el;

		must(got < np && num && etag);
		must(strtoul((const char *)num, NULL, 10) == got + 1);
		el = strlen((const char *)etag);
		must(el >= 2 && etag[0] == '"' && etag[el - 1] == '"');
		must(el - 2 == strlen(parts[got].etag));
		must(memcmp(etag + 1, parts[got].etag, el - 2) == 0);
		xmlFree(num);
		xmlFree(etag);
		got++;
	}
	must(got == np);
	xmlFreeDoc(doc);
done:
	s3b_buf_free(&out);
	free(copy);
}

static void fuzz_time(const char *b, size_t n)
{
	char *s = malloc(n + 1);
	struct timespec ts;

	if (!s)
		return;
	memcpy(s, b, n);
	s[n] = '\0';
	if (s3b_parse_time(s, &ts) == 0)
		must(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000);
	else
		must(ts.tv_sec == 0 && ts.tv_nsec == 0);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *b = (const char *)data + 1;
	size_t n = size - 1;

	if (size == 0)
		return 0;
	switch (data[0] % 10) {
	case 0: fuzz_list(b, n); break;
	case 1: fuzz_uploads(b, n); break;
	case 2: fuzz_delete(b, n); break;
	case 3: fuzz_etag_docs(b, n, 0); break;
	case 4: fuzz_etag_docs(b, n, 1); break;
	case 5: fuzz_etag_docs(b, n, 2); break;
	case 6: fuzz_etag_docs(b, n, 3); break;
	case 7: fuzz_build(b, n); break;
	case 8: fuzz_time(b, n); break;
	default:
		/* all parsers on the same bytes */
		fuzz_list(b, n);
		fuzz_uploads(b, n);
		fuzz_delete(b, n);
		for (int i = 0; i < 4; i++)
			fuzz_etag_docs(b, n, i);
		break;
	}
	return 0;
}
