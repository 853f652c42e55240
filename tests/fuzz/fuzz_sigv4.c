/*
 * tests/fuzz/fuzz_sigv4.c — the SigV4 signer and the URI coder on
 * arbitrary input.
 *
 * The input is split into lines: line 1 is the method, line 2 the
 * (decoded) path, line 3 the query ("name=value&name"; no '=' means an
 * empty value), every further line a header ("Name:value"; no ':' means an
 * empty value; a line starting with SP or HTAB continues the previous
 * value, line break included; empty lines are ignored).  A NUL byte ends
 * its field, not the line.  The request is signed with a fixed key and
 * scope.  Checked, beyond "no crash, no leak, no UB":
 *   - when the canonical request is built, it starts with
 *     "METHOD\n" + uri_encode(path, keep '/') + "\n", ends with
 *     "\n" + signed headers + "\n" + payload hash, and the Authorization
 *     value is built too and names the same signed headers;
 *   - decode(encode(input)) gives the input back, for the whole input,
 *     when it has no NUL (with a NUL, decoding refuses %00).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "sigv4.h"
#include "uri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FIELDS 64
#define PAYLOAD "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void check_uri_round_trip(const uint8_t *data, size_t size)
{
	struct s3b_buf enc = S3B_BUF_INIT;
	char *dec = NULL;
	size_t declen = 0;
	int rc;

	if (s3b_uri_encode(&enc, (const char *)data, size, (size & 1) != 0) != 0)
		abort();
	rc = s3b_uri_decode(enc.data ? enc.data : "", enc.len, (size & 2) != 0, &dec, &declen);
	if (memchr(data, 0, size)) {
		if (rc != EINVAL)
			abort();
	} else if (rc != 0 || declen != size || memcmp(dec, data, size) != 0) {
		abort();
	}
	free(dec);
	s3b_buf_free(&enc);

	/* Decoding the raw input: anything but a crash is fine; on success
	 * the length fits. */
	dec = NULL;
	if (s3b_uri_decode((const char *)data, size, true, &dec, &declen) == 0 && declen > size)
		abort();
	free(dec);
}

static void check_signer(char *text, size_t size)
{
	struct s3b_sigv4_kv query[MAX_FIELDS], headers[MAX_FIELDS];
	char *line[3 + MAX_FIELDS];
	size_t nlines = 0, nquery = 0, nheaders = 0;
	char empty[1] = {0};
	char *p = text, *end = text + size;

	/* Lines (text[size] is a NUL, so the last one is terminated too). */
	while (nlines < sizeof(line) / sizeof(line[0])) {
		char *nl = memchr(p, '\n', (size_t)(end - p));

		line[nlines++] = p;
		if (!nl)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	while (nlines < 3)
		line[nlines++] = empty;

	for (char *q = line[2]; *q && nquery < MAX_FIELDS;) {
		char *amp = strchr(q, '&'), *eq;

		if (amp)
			*amp = '\0';
		eq = strchr(q, '=');
		if (eq)
			*eq = '\0';
		query[nquery++] = (struct s3b_sigv4_kv){.name = q, .value = eq ? eq + 1 : ""};
		if (!amp)
			break;
		q = amp + 1;
	}
	for (size_t i = 3; i < nlines && nheaders < MAX_FIELDS; i++) {
		char *colon, *l = line[i];

		if (*l == '\0')
			continue;
		if ((*l == ' ' || *l == '\t') && nheaders > 0) {
			/* Continuation: the line before runs on, line break kept. */
			l[-1] = '\n';
			continue;
		}
		colon = strchr(l, ':');
		if (colon)
			*colon = '\0';
		headers[nheaders++] = (struct s3b_sigv4_kv){.name = l, .value = colon ? colon + 1 : ""};
	}

	const struct s3b_sigv4_req req = {
		.method = line[0],
		.path = line[1],
		.query = query,
		.nquery = nquery,
		.headers = headers,
		.nheaders = nheaders,
		.payload_hash = PAYLOAD,
	};
	const struct s3b_sigv4_scope scope = {
		.amz_date = "20150830T123600Z", .region = "us-east-1", .service = "s3"};
	struct s3b_buf want = S3B_BUF_INIT;
	char *creq = NULL, *sh = NULL, *authz = NULL;
	uint8_t key[32];
	int rc;

	rc = s3b_sigv4_canonical_request(&req, &creq, &sh);
	if (rc != 0) {
		if ((rc != EINVAL && rc != ENOMEM && rc != EFBIG) || creq || sh)
			abort();
		goto out;
	}
	/* Prefix: method, encoded path. */
	if (s3b_buf_printf(&want, "%s\n", req.method) ||
	    s3b_uri_encode(&want, req.path, strlen(req.path), true) || s3b_buf_putc(&want, '\n'))
		abort();
	if (strncmp(creq, want.data, want.len) != 0)
		abort();
	/* Suffix: signed headers, payload hash. */
	s3b_buf_reset(&want);
	if (s3b_buf_printf(&want, "\n%s\n%s", sh, PAYLOAD))
		abort();
	if (strlen(creq) < want.len || strcmp(creq + strlen(creq) - want.len, want.data) != 0)
		abort();

	s3b_sigv4_signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", &scope, key);
	rc = s3b_sigv4_authorization(&req, "AKIDEXAMPLE", key, &scope, &authz);
	if (rc != 0 && rc != ENOMEM)
		abort();
	if (rc == 0) {
		s3b_buf_reset(&want);
		if (s3b_buf_printf(&want, ", SignedHeaders=%s, Signature=", sh))
			abort();
		if (!strstr(authz, want.data))
			abort();
	}
out:
	s3b_buf_free(&want);
	free(authz);
	free(sh);
	free(creq);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (size > 65536)
		return 0;
	check_uri_round_trip(data, size);
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	check_signer(text, size);
	free(text);
	return 0;
}
