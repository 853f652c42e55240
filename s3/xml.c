/*
 * s3/xml.c — the S3 XML bodies: strict parsers over a libxml2 DOM, and the
 * two request bodies we send (CompleteMultipartUpload, Delete).
 *
 * What it does:
 *  - reads a body with libxml2 (no network, no entity expansion, no DTD:
 *    a document with a DOCTYPE is stopped as soon as the parser sees it and
 *    refused, so entity tricks such as "billion laughs" never run), refuses
 *    bodies over S3B_XML_MAX before parsing, and never lets libxml2 print;
 *  - checks the root element, matches elements by local name whatever their
 *    namespace, ignores elements it does not know (S3 adds fields), and
 *    refuses a second copy of a field it reads;
 *  - fills a local result and hands it over only when the whole document
 *    was good: on any error the output is zeroed and EPROTO returned (ENOMEM
 *    when memory ran out);
 *  - parses times (ISO 8601 UTC and RFC 1123 HTTP dates) for the whole of
 *    s3/ (s3b_parse_time).
 *
 * What it does not do: HTTP, mapping S3 error codes to errno (errmap.c),
 * freeing the results (s3_free.c), or percent-decoding by itself (uri.c).
 */
#include "xml.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "uri.h"

/* Longest key, prefix, token, marker or upload id we accept from a server.
 * S3 keys are at most 1024 bytes; the filesystem layer decides what to do
 * with longer ones, but anything past this is not a key. */
#define XML_STR_MAX (64u << 10)

#define XML_OPTS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOBLANKS)

_Static_assert(S3B_XML_MAX <= INT_MAX, "xmlCtxtReadMemory takes an int length");

/* ---- libxml2 set-up ---- */

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_silent(void *ctx, const char *msg, ...)
{
}

static void xml_silent_structured(void *ctx, xmlErrorPtr error)
{
}

static void xml_init(void)
{
	xmlInitParser();
	/* Defaults for threads whose libxml2 state is created from now on. */
	xmlThrDefSetGenericErrorFunc(NULL, xml_silent);
	xmlThrDefSetStructuredErrorFunc(NULL, xml_silent_structured);
}

/* SAX hook: a DOCTYPE was seen.  Stop right there, before the internal
 * subset (entity declarations) is read: the parse ends with no document or
 * one without a root element, which xml_read refuses.  (It also refuses a
 * document that has an internal or external subset, should this hook ever
 * not be called.) */
static void xml_refuse_dtd(void *ctx, const xmlChar *name, const xmlChar *external_id,
			   const xmlChar *system_id)
{
	xmlStopParser((xmlParserCtxtPtr)ctx);
}

/* Parse body and check that its root element is called root (or alt when
 * not NULL).  On success *docp is the caller's to free with xmlFreeDoc.
 * 0, EPROTO or ENOMEM. */
static int xml_read(const char *body, size_t len, const char *root, const char *alt,
		    xmlDocPtr *docp, xmlNodePtr *rootp)
{
	xmlParserCtxtPtr ctxt;
	xmlDocPtr doc;
	xmlNodePtr r;
	int rc;

	*docp = NULL;
	*rootp = NULL;
	if (!body || len == 0 || len > S3B_XML_MAX)
		return EPROTO;
	pthread_once(&xml_once, xml_init);
	/* libxml2's handlers are per thread: silence this one, every time,
	 * for the errors that bypass the parser context (encoding ones). */
	xmlSetGenericErrorFunc(NULL, xml_silent);
	xmlSetStructuredErrorFunc(NULL, xml_silent_structured);

	ctxt = xmlNewParserCtxt();
	if (!ctxt)
		return ENOMEM;
	ctxt->sax->internalSubset = xml_refuse_dtd;
	doc = xmlCtxtReadMemory(ctxt, body, (int)len, NULL, NULL, XML_OPTS);
	rc = ctxt->errNo == XML_ERR_NO_MEMORY ? ENOMEM : EPROTO;
	xmlFreeParserCtxt(ctxt);
	if (!doc)
		return rc;
	if (doc->intSubset || doc->extSubset)
		goto bad;
	r = xmlDocGetRootElement(doc);
	if (!r || (strcmp((const char *)r->name, root) != 0 &&
		   (!alt || strcmp((const char *)r->name, alt) != 0)))
		goto bad;
	*docp = doc;
	*rootp = r;
	return 0;
bad:
	xmlFreeDoc(doc);
	return EPROTO;
}

/* ---- reading elements ---- */

static bool is_elem(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

/* The fields of one element that we read, each at most once. */
struct field {
	const char *name;
	const xmlNode *node; /* filled by find_fields: NULL when absent */
};

/* Fill f[i].node with parent's child element named f[i].name.  A second
 * child of the same name is EPROTO.  Other children are ignored. */
static int find_fields(const xmlNode *parent, struct field *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		f[i].node = NULL;
	for (const xmlNode *c = parent->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		for (size_t i = 0; i < n; i++) {
			if (strcmp((const char *)c->name, f[i].name) != 0)
				continue;
			if (f[i].node)
				return EPROTO;
			f[i].node = c;
			break;
		}
	}
	return 0;
}

/* The text of a leaf element: its text and CDATA children joined (comments
 * skipped).  An element inside makes it not a leaf: EPROTO.  *out is
 * malloc'd, NUL-terminated, the caller's to free; *outlen its length.
 * 0, EPROTO or ENOMEM. */
static int leaf_text(const xmlNode *n, char **out, size_t *outlen)
{
	size_t len = 0, pos = 0;
	char *s;

	*out = NULL;
	*outlen = 0;
	for (const xmlNode *c = n->children; c; c = c->next) {
		if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
			if (c->content)
				len += strlen((const char *)c->content);
		} else if (c->type != XML_COMMENT_NODE && c->type != XML_PI_NODE) {
			return EPROTO;
		}
	}
	s = malloc(len + 1);
	if (!s)
		return ENOMEM;
	for (const xmlNode *c = n->children; c; c = c->next) {
		if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content) {
			size_t l = strlen((const char *)c->content);

			memcpy(s + pos, c->content, l);
			pos += l;
		}
	}
	s[len] = '\0';
	*out = s;
	*outlen = len;
	return 0;
}

/* A string field we keep (token, upload id): not empty unless allow_empty,
 * at most XML_STR_MAX bytes.  *out malloc'd, caller frees. */
static int str_field(const xmlNode *n, bool allow_empty, char **out)
{
	size_t len;
	int rc = leaf_text(n, out, &len);

	if (rc)
		return rc;
	if ((len == 0 && !allow_empty) || len > XML_STR_MAX) {
		free(*out);
		*out = NULL;
		return EPROTO;
	}
	return 0;
}

/* A key-like field (Key, Prefix, StartAfter, KeyMarker): percent-decoded
 * when url ('+' is a space, as AWS encodes it), then not empty unless
 * allow_empty, at most XML_STR_MAX bytes, no NUL.  *out malloc'd, caller
 * frees.  0, EPROTO or ENOMEM. */
static int key_field(const xmlNode *n, bool url, bool allow_empty, char **out)
{
	char *text, *dec;
	size_t len, dlen;
	int rc;

	*out = NULL;
	rc = leaf_text(n, &text, &len);
	if (rc)
		return rc;
	if (url) {
		rc = s3b_uri_decode(text, len, true, &dec, &dlen);
		free(text);
		if (rc)
			return rc == ENOMEM ? ENOMEM : EPROTO;
		text = dec;
		len = dlen;
	}
	if ((len == 0 && !allow_empty) || len > XML_STR_MAX || strlen(text) != len) {
		free(text);
		return EPROTO;
	}
	*out = text;
	return 0;
}

/* Copy a leaf's text into dst[size].  Too long: EPROTO, or when truncate
 * (diagnostic text), cut at a UTF-8 character boundary. */
static int fixed_field(const xmlNode *n, char *dst, size_t size, bool truncate)
{
	char *text;
	size_t len;
	int rc = leaf_text(n, &text, &len);

	if (rc)
		return rc;
	if (len >= size) {
		if (!truncate) {
			free(text);
			return EPROTO;
		}
		len = size - 1;
		while (len > 0 && ((unsigned char)text[len] & 0xC0) == 0x80)
			len--;
	}
	memcpy(dst, text, len);
	dst[len] = '\0';
	free(text);
	return 0;
}

/* An ETag: surrounding quotes stripped (a quote at one end only is
 * EPROTO); what is left must fit in S3B_ETAG_MAX - 1 bytes. */
static int etag_field(const xmlNode *n, char etag[S3B_ETAG_MAX])
{
	char *text;
	const char *p;
	size_t len;
	bool q0, q1;
	int rc = leaf_text(n, &text, &len);

	if (rc)
		return rc;
	p = text;
	q0 = len >= 1 && text[0] == '"';
	q1 = len >= 2 && text[len - 1] == '"';
	if (q0 != q1 || (len == 1 && text[0] == '"')) {
		rc = EPROTO;
		goto out;
	}
	if (q0) {
		p++;
		len -= 2;
	}
	if (len > S3B_ETAG_MAX - 1) {
		rc = EPROTO;
		goto out;
	}
	memcpy(etag, p, len);
	etag[len] = '\0';
out:
	free(text);
	return rc;
}

/* A decimal unsigned 64-bit number: digits only, no sign, no space, no
 * overflow. */
static int u64_field(const xmlNode *n, uint64_t *v)
{
	char *text, *end;
	size_t len;
	unsigned long long x;
	int rc = leaf_text(n, &text, &len);

	if (rc)
		return rc;
	rc = EPROTO;
	if (len == 0 || len > 20)
		goto out;
	for (size_t i = 0; i < len; i++)
		if (text[i] < '0' || text[i] > '9')
			goto out;
	errno = 0;
	x = strtoull(text, &end, 10);
	if (errno != 0 || *end != '\0')
		goto out;
	*v = x;
	rc = 0;
out:
	free(text);
	return rc;
}

/* "true" or "false", nothing else. */
static int bool_field(const xmlNode *n, bool *v)
{
	char *text;
	size_t len;
	int rc = leaf_text(n, &text, &len);

	if (rc)
		return rc;
	if (strcmp(text, "true") == 0)
		*v = true;
	else if (strcmp(text, "false") == 0)
		*v = false;
	else
		rc = EPROTO;
	free(text);
	return rc;
}

static int time_field(const xmlNode *n, struct timespec *ts)
{
	char *text;
	size_t len;
	int rc = leaf_text(n, &text, &len);

	if (rc)
		return rc;
	if (s3b_parse_time(text, ts) != 0)
		rc = EPROTO;
	free(text);
	return rc;
}

/* <EncodingType>: absent (plain keys) or "url"; anything else is a form we
 * cannot read. */
static int encoding_field(const xmlNode *n, bool *url)
{
	char *text;
	size_t len;
	int rc;

	*url = false;
	if (!n)
		return 0;
	rc = leaf_text(n, &text, &len);
	if (rc)
		return rc;
	if (strcmp(text, "url") == 0)
		*url = true;
	else
		rc = EPROTO;
	free(text);
	return rc;
}

/* Read an optional key-like field only to check that it decodes. */
static int check_key_field(const xmlNode *n, bool url)
{
	char *s;
	int rc;

	if (!n)
		return 0;
	rc = key_field(n, url, true, &s);
	free(s);
	return rc;
}

static size_t count_children(const xmlNode *parent, const char *name)
{
	size_t n = 0;

	for (const xmlNode *c = parent->children; c; c = c->next)
		if (is_elem(c, name))
			n++;
	return n;
}

/* ---- <Error> ---- */

int s3b_xml_parse_error(const char *body, size_t len, struct s3_error *err)
{
	struct field f[] = {{.name = "Code"}, {.name = "Message"}, {.name = "RequestId"}};
	xmlDocPtr doc;
	xmlNodePtr root;
	int rc;

	err->code[0] = err->message[0] = err->request_id[0] = '\0';
	rc = xml_read(body, len, "Error", NULL, &doc, &root);
	if (rc)
		return rc;
	rc = find_fields(root, f, 3);
	if (!rc && f[0].node)
		rc = fixed_field(f[0].node, err->code, sizeof(err->code), false);
	if (!rc && f[1].node)
		rc = fixed_field(f[1].node, err->message, sizeof(err->message), true);
	if (!rc && f[2].node)
		rc = fixed_field(f[2].node, err->request_id, sizeof(err->request_id), true);
	xmlFreeDoc(doc);
	if (rc)
		err->code[0] = err->message[0] = err->request_id[0] = '\0';
	return rc;
}

/* ---- ListObjectsV2 ---- */

static int parse_contents(const xmlNode *c, bool url, struct s3_list_entry *e)
{
	enum { KEY, SIZE, ETAG, MTIME, CLASS, N };
	struct field f[N] = {
		[KEY] = {.name = "Key"},
		[SIZE] = {.name = "Size"},
		[ETAG] = {.name = "ETag"},
		[MTIME] = {.name = "LastModified"},
		[CLASS] = {.name = "StorageClass"},
	};
	int rc = find_fields(c, f, N);

	if (rc)
		return rc;
	if (!f[KEY].node || !f[SIZE].node || !f[MTIME].node)
		return EPROTO;
	rc = u64_field(f[SIZE].node, &e->size);
	if (!rc)
		rc = time_field(f[MTIME].node, &e->mtime);
	if (!rc && f[ETAG].node)
		rc = etag_field(f[ETAG].node, e->etag);
	if (!rc && f[CLASS].node)
		rc = fixed_field(f[CLASS].node, e->storage_class, sizeof(e->storage_class), false);
	if (!rc)
		rc = key_field(f[KEY].node, url, false, &e->key);
	return rc;
}

static int parse_common_prefix(const xmlNode *c, bool url, char **prefix)
{
	struct field f[] = {{.name = "Prefix"}};
	int rc = find_fields(c, f, 1);

	if (rc)
		return rc;
	if (!f[0].node)
		return EPROTO;
	return key_field(f[0].node, url, false, prefix);
}

int s3b_xml_parse_list_v2(const char *body, size_t len, struct s3_list_page *out)
{
	enum { TRUNC, TOKEN, ENC, PREFIX, AFTER, N };
	struct field f[N] = {
		[TRUNC] = {.name = "IsTruncated"},
		[TOKEN] = {.name = "NextContinuationToken"},
		[ENC] = {.name = "EncodingType"},
		[PREFIX] = {.name = "Prefix"},
		[AFTER] = {.name = "StartAfter"},
	};
	struct s3_list_page page = {0};
	size_t n_entries, n_prefixes;
	xmlDocPtr doc;
	xmlNodePtr root;
	bool url = false;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = xml_read(body, len, "ListBucketResult", NULL, &doc, &root);
	if (rc)
		return rc;
	rc = find_fields(root, f, N);
	if (rc)
		goto fail;
	rc = EPROTO;
	if (!f[TRUNC].node)
		goto fail;
	rc = bool_field(f[TRUNC].node, &page.truncated);
	if (!rc)
		rc = encoding_field(f[ENC].node, &url);
	/* The echoed Prefix and StartAfter are not used, and RGW 16.2 sends
	 * them unencoded even with EncodingType=url ("pct%" stays "pct%"):
	 * they are not checked.  Keys and CommonPrefixes are. */
	if (rc)
		goto fail;
	if (page.truncated) {
		rc = EPROTO;
		if (!f[TOKEN].node)
			goto fail;
		rc = str_field(f[TOKEN].node, false, &page.next_token);
		if (rc)
			goto fail;
	}

	n_entries = count_children(root, "Contents");
	n_prefixes = count_children(root, "CommonPrefixes");
	rc = ENOMEM;
	if (n_entries && !(page.entries = calloc(n_entries, sizeof(*page.entries))))
		goto fail;
	if (n_prefixes && !(page.prefixes = calloc(n_prefixes, sizeof(*page.prefixes))))
		goto fail;
	rc = 0;
	for (const xmlNode *c = root->children; c && !rc; c = c->next) {
		if (is_elem(c, "Contents"))
			rc = parse_contents(c, url, &page.entries[page.n_entries++]);
		else if (is_elem(c, "CommonPrefixes"))
			rc = parse_common_prefix(c, url, &page.prefixes[page.n_prefixes++]);
	}
	if (rc)
		goto fail;
	xmlFreeDoc(doc);
	*out = page;
	return 0;
fail:
	xmlFreeDoc(doc);
	s3_list_page_free(&page);
	return rc;
}

/* ---- multipart ---- */

int s3b_xml_parse_initiate(const char *body, size_t len, char **upload_id)
{
	struct field f[] = {{.name = "UploadId"}};
	xmlDocPtr doc;
	xmlNodePtr root;
	int rc;

	*upload_id = NULL;
	rc = xml_read(body, len, "InitiateMultipartUploadResult", NULL, &doc, &root);
	if (rc)
		return rc;
	rc = find_fields(root, f, 1);
	if (!rc)
		rc = f[0].node ? str_field(f[0].node, false, upload_id) : EPROTO;
	xmlFreeDoc(doc);
	return rc;
}

/* An ETag out of a result document.  required: the element must be there
 * and not empty; otherwise a missing or empty one gives "" (RGW's Complete
 * sends <ETag></ETag>; the caller then asks HEAD). */
static int parse_etag_doc(const char *body, size_t len, const char *root1, const char *root2,
			  bool required, char etag[S3B_ETAG_MAX])
{
	struct field f[] = {{.name = "ETag"}};
	char tmp[S3B_ETAG_MAX] = "";
	xmlDocPtr doc;
	xmlNodePtr root;
	int rc;

	memset(etag, 0, S3B_ETAG_MAX);
	rc = xml_read(body, len, root1, root2, &doc, &root);
	if (rc)
		return rc;
	rc = find_fields(root, f, 1);
	if (!rc && f[0].node)
		rc = etag_field(f[0].node, tmp);
	if (!rc && required && tmp[0] == '\0')
		rc = EPROTO;
	xmlFreeDoc(doc);
	if (!rc)
		memcpy(etag, tmp, S3B_ETAG_MAX);
	return rc;
}

int s3b_xml_parse_complete(const char *body, size_t len, char etag[S3B_ETAG_MAX])
{
	return parse_etag_doc(body, len, "CompleteMultipartUploadResult", NULL, false, etag);
}

int s3b_xml_parse_copy(const char *body, size_t len, char etag[S3B_ETAG_MAX])
{
	return parse_etag_doc(body, len, "CopyObjectResult", "CopyPartResult", true, etag);
}

static int parse_upload(const xmlNode *c, bool url, struct s3_upload *u)
{
	enum { KEY, ID, INIT, N };
	struct field f[N] = {
		[KEY] = {.name = "Key"},
		[ID] = {.name = "UploadId"},
		[INIT] = {.name = "Initiated"},
	};
	int rc = find_fields(c, f, N);

	if (rc)
		return rc;
	if (!f[KEY].node || !f[ID].node || !f[INIT].node)
		return EPROTO;
	rc = time_field(f[INIT].node, &u->initiated);
	if (!rc)
		rc = key_field(f[KEY].node, url, false, &u->key);
	if (!rc)
		rc = str_field(f[ID].node, false, &u->upload_id);
	return rc;
}

int s3b_xml_parse_list_uploads(const char *body, size_t len, struct s3_upload_list *out)
{
	enum { TRUNC, NKEY, NID, ENC, PREFIX, KEYM, N };
	struct field f[N] = {
		[TRUNC] = {.name = "IsTruncated"},
		[NKEY] = {.name = "NextKeyMarker"},
		[NID] = {.name = "NextUploadIdMarker"},
		[ENC] = {.name = "EncodingType"},
		[PREFIX] = {.name = "Prefix"},
		[KEYM] = {.name = "KeyMarker"},
	};
	struct s3_upload_list l = {0};
	size_t n;
	xmlDocPtr doc;
	xmlNodePtr root;
	bool url = false;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = xml_read(body, len, "ListMultipartUploadsResult", NULL, &doc, &root);
	if (rc)
		return rc;
	rc = find_fields(root, f, N);
	if (rc)
		goto fail;
	rc = EPROTO;
	if (!f[TRUNC].node)
		goto fail;
	rc = bool_field(f[TRUNC].node, &l.truncated);
	if (!rc)
		rc = encoding_field(f[ENC].node, &url);
	if (!rc)
		rc = check_key_field(f[PREFIX].node, url);
	if (!rc)
		rc = check_key_field(f[KEYM].node, url);
	if (rc)
		goto fail;
	if (l.truncated) {
		rc = EPROTO;
		if (!f[NKEY].node || !f[NID].node)
			goto fail;
		rc = key_field(f[NKEY].node, url, false, &l.next_key_marker);
		if (!rc)
			rc = str_field(f[NID].node, true, &l.next_upload_id_marker);
		if (rc)
			goto fail;
	}

	n = count_children(root, "Upload");
	rc = ENOMEM;
	if (n && !(l.uploads = calloc(n, sizeof(*l.uploads))))
		goto fail;
	rc = 0;
	for (const xmlNode *c = root->children; c && !rc; c = c->next)
		if (is_elem(c, "Upload"))
			rc = parse_upload(c, url, &l.uploads[l.n++]);
	if (rc)
		goto fail;
	xmlFreeDoc(doc);
	*out = l;
	return 0;
fail:
	xmlFreeDoc(doc);
	s3_upload_list_free(&l);
	return rc;
}

/* ---- DeleteObjects ---- */

static int parse_delete_error(const xmlNode *c, struct s3_delete_failure *d)
{
	enum { KEY, CODE, MSG, N };
	struct field f[N] = {
		[KEY] = {.name = "Key"},
		[CODE] = {.name = "Code"},
		[MSG] = {.name = "Message"},
	};
	int rc = find_fields(c, f, N);

	if (rc)
		return rc;
	if (!f[KEY].node || !f[CODE].node)
		return EPROTO;
	rc = fixed_field(f[CODE].node, d->code, sizeof(d->code), false);
	if (!rc && d->code[0] == '\0')
		rc = EPROTO;
	if (!rc && f[MSG].node)
		rc = fixed_field(f[MSG].node, d->message, sizeof(d->message), true);
	if (!rc)
		rc = key_field(f[KEY].node, false, false, &d->key);
	return rc;
}

int s3b_xml_parse_delete(const char *body, size_t len, struct s3_delete_failure **failures,
			 size_t *n)
{
	struct s3_delete_failure *f = NULL;
	size_t count, done = 0;
	xmlDocPtr doc;
	xmlNodePtr root;
	int rc;

	*failures = NULL;
	*n = 0;
	rc = xml_read(body, len, "DeleteResult", NULL, &doc, &root);
	if (rc)
		return rc;
	count = count_children(root, "Error");
	rc = ENOMEM;
	if (count && !(f = calloc(count, sizeof(*f))))
		goto fail;
	rc = 0;
	for (const xmlNode *c = root->children; c && !rc; c = c->next)
		if (is_elem(c, "Error"))
			rc = parse_delete_error(c, &f[done++]);
	if (rc)
		goto fail;
	xmlFreeDoc(doc);
	*failures = f;
	*n = count;
	return 0;
fail:
	xmlFreeDoc(doc);
	s3_delete_failures_free(f, done);
	return rc;
}

/* ---- builders ---- */

#define S3_NS "http://s3.amazonaws.com/doc/2006-03-01/"

/* Length of the UTF-8 character at p (rem bytes left) if XML 1.0 can carry
 * it (Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] |
 * [#x10000-#x10FFFF]), else 0.  Overlong forms and surrogates are 0. */
static size_t xml_char_len(const unsigned char *p, size_t rem)
{
	uint32_t cp;
	size_t n;

	if (p[0] < 0x80)
		return (p[0] >= 0x20 || p[0] == '\t' || p[0] == '\n' || p[0] == '\r') ? 1 : 0;
	if (p[0] >= 0xC2 && p[0] <= 0xDF) {
		n = 2;
		cp = p[0] & 0x1F;
	} else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
		n = 3;
		cp = p[0] & 0x0F;
	} else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
		n = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (rem < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	if ((cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF)
		return 0;
	return n;
}

/* Append s as XML character data.  & < > " ' become entities and CR a
 * character reference (a literal CR would reach the server as LF).
 * Empty, invalid UTF-8 or characters XML 1.0 cannot carry: EINVAL.
 * 0, EINVAL, ENOMEM or EFBIG; on failure b may hold part of s. */
static int put_text(struct s3b_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, run = 0;
	int rc;

	if (len == 0)
		return EINVAL;
	while (i < len) {
		const char *ent = NULL;
		size_t n = xml_char_len(p + i, len - i);

		if (n == 0)
			return EINVAL;
		switch (p[i]) {
		case '&': ent = "&amp;"; break;
		case '<': ent = "&lt;"; break;
		case '>': ent = "&gt;"; break;
		case '"': ent = "&quot;"; break;
		case '\'': ent = "&apos;"; break;
		case '\r': ent = "&#13;"; break;
		default: break;
		}
		if (!ent) {
			i += n;
			continue;
		}
		rc = s3b_buf_append(b, p + run, i - run);
		if (!rc)
			rc = s3b_buf_puts(b, ent);
		if (rc)
			return rc;
		i++;
		run = i;
	}
	return s3b_buf_append(b, p + run, len - run);
}

int s3b_xml_build_complete(struct s3b_buf *out, const struct s3_part *parts, size_t n)
{
	size_t start = out->len;
	int rc;

	if (n == 0 || n > S3_MAX_PARTS)
		return EINVAL;
	rc = s3b_buf_puts(out, "<CompleteMultipartUpload xmlns=\"" S3_NS "\">");
	for (size_t i = 0; i < n && !rc; i++) {
		if (parts[i].number < 1 || parts[i].number > S3_MAX_PARTS ||
		    memchr(parts[i].etag, '\0', S3B_ETAG_MAX) == NULL) {
			rc = EINVAL;
			break;
		}
		rc = s3b_buf_printf(out, "<Part><PartNumber>%u</PartNumber><ETag>\"",
				    parts[i].number);
		if (!rc)
			rc = put_text(out, parts[i].etag);
		if (!rc)
			rc = s3b_buf_puts(out, "\"</ETag></Part>");
	}
	if (!rc)
		rc = s3b_buf_puts(out, "</CompleteMultipartUpload>");
	if (rc && out->data) {
		out->len = start;
		out->data[start] = '\0';
	}
	return rc;
}

int s3b_xml_build_delete(struct s3b_buf *out, const char *const *keys, size_t n)
{
	size_t start = out->len;
	int rc;

	if (n == 0 || n > 1000)
		return EINVAL;
	rc = s3b_buf_puts(out, "<Delete><Quiet>true</Quiet>");
	for (size_t i = 0; i < n && !rc; i++) {
		if (!keys[i]) {
			rc = EINVAL;
			break;
		}
		rc = s3b_buf_puts(out, "<Object><Key>");
		if (!rc)
			rc = put_text(out, keys[i]);
		if (!rc)
			rc = s3b_buf_puts(out, "</Key></Object>");
	}
	if (!rc)
		rc = s3b_buf_puts(out, "</Delete>");
	if (rc && out->data) {
		out->len = start;
		out->data[start] = '\0';
	}
	return rc;
}

/* ---- times ---- */

/* n decimal digits at s into *v; false if any is not a digit. */
static bool digits(const char *s, size_t n, int *v)
{
	int x = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		x = x * 10 + (s[i] - '0');
	}
	*v = x;
	return true;
}

static bool valid_tm(const struct tm *tm)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y = tm->tm_year + 1900;
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	int dim;

	if (tm->tm_mon < 0 || tm->tm_mon > 11)
		return false;
	dim = mdays[tm->tm_mon] + (tm->tm_mon == 1 ? leap : 0);
	return tm->tm_mday >= 1 && tm->tm_mday <= dim && tm->tm_hour <= 23 && tm->tm_min <= 59 &&
	       tm->tm_sec <= 59;
}

/* "2009-10-12T17:50:30[.fraction](Z|+00:00)" */
static int parse_iso8601(const char *s, struct tm *tm, long *nsec)
{
	int y, mo, d, h, mi, se;
	const char *p;

	if (strlen(s) < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &d) || s[10] != 'T' || !digits(s + 11, 2, &h) ||
	    s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &se))
		return EINVAL;
	p = s + 19;
	*nsec = 0;
	if (*p == '.') {
		long scale = 100000000;
		size_t nd = 0;

		for (p++; *p >= '0' && *p <= '9'; p++, nd++) {
			if (nd == 9)
				return EINVAL;
			*nsec += (*p - '0') * scale;
			scale /= 10;
		}
		if (nd == 0)
			return EINVAL;
	}
	if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0)
		return EINVAL;
	*tm = (struct tm){.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
			  .tm_hour = h, .tm_min = mi, .tm_sec = se};
	return 0;
}

/* "Wed, 12 Oct 2009 17:50:00 GMT" (RFC 1123 / IMF-fixdate, exactly). */
static int parse_rfc1123(const char *s, struct tm *tm)
{
	static const char days[] = "SunMonTueWedThuFriSat";
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	int d, y, h, mi, se, mo = -1;
	bool wday = false;

	if (strlen(s) != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
	    s[16] != ' ' || s[19] != ':' || s[22] != ':' || strcmp(s + 25, " GMT") != 0)
		return EINVAL;
	for (int i = 0; i < 7; i++)
		wday |= memcmp(s, days + 3 * i, 3) == 0;
	for (int i = 0; i < 12; i++)
		if (memcmp(s + 8, months + 3 * i, 3) == 0)
			mo = i;
	if (!wday || mo < 0 || !digits(s + 5, 2, &d) || !digits(s + 12, 4, &y) ||
	    !digits(s + 17, 2, &h) || !digits(s + 20, 2, &mi) || !digits(s + 23, 2, &se))
		return EINVAL;
	*tm = (struct tm){.tm_year = y - 1900, .tm_mon = mo, .tm_mday = d,
			  .tm_hour = h, .tm_min = mi, .tm_sec = se};
	return 0;
}

int s3b_parse_time(const char *s, struct timespec *out)
{
	struct tm tm;
	long nsec = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!s)
		return EINVAL;
	if (s[0] >= '0' && s[0] <= '9')
		rc = parse_iso8601(s, &tm, &nsec);
	else
		rc = parse_rfc1123(s, &tm);
	if (rc || !valid_tm(&tm))
		return EINVAL;
	out->tv_sec = timegm(&tm); /* four-digit years: no overflow */
	out->tv_nsec = nsec;
	return 0;
}
