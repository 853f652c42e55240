/*
 * s3/xml.h — the S3 XML bodies, parsed strictly with libxml2 and built for
 * requests.  Internal to s3/.
 *
 * Strict means: the document must be well formed, its root element must be
 * the expected one, every field we rely on must be present and valid
 * (numbers are numbers, sizes fit in 64 bits), and on any error the output
 * is left empty (zeroed, nothing allocated) and EPROTO is returned.  Never a
 * half-filled result.  No network access, no entity expansion, no DTD
 * loading; bodies over S3B_XML_MAX are refused (EPROTO) before parsing.
 * Namespaces are accepted with or without the S3 namespace URI.
 */
#ifndef S3B_XML_H
#define S3B_XML_H

#include <stddef.h>

#include "buf.h"
#include "s3.h"

#define S3B_XML_MAX (64u << 20)

/* <Error><Code/><Message/><RequestId/></Error>; fields missing are "".
 * Returns 0 or EPROTO (not an Error document). */
int s3b_xml_parse_error(const char *body, size_t len, struct s3_error *err);

/* <ListBucketResult> of ListObjectsV2.  When the document says
 * <EncodingType>url</EncodingType>, Key, Prefix (of CommonPrefixes) and
 * StartAfter are percent-decoded (NextContinuationToken never is).
 * 0, EPROTO or ENOMEM.  Caller frees with s3_list_page_free. */
int s3b_xml_parse_list_v2(const char *body, size_t len, struct s3_list_page *out);

/* <InitiateMultipartUploadResult><UploadId/>; *upload_id caller frees. */
int s3b_xml_parse_initiate(const char *body, size_t len, char **upload_id);

/* <CompleteMultipartUploadResult><ETag/>: etag unquoted, may be "" (RGW). */
int s3b_xml_parse_complete(const char *body, size_t len, char etag[S3B_ETAG_MAX]);

/* <CopyObjectResult> or <CopyPartResult> with an ETag.  A 200 response
 * whose body is an <Error> (S3 does that for CopyObject and Complete) is
 * detected by the caller with s3b_xml_parse_error first. */
int s3b_xml_parse_copy(const char *body, size_t len, char etag[S3B_ETAG_MAX]);

/* <ListMultipartUploadsResult>.  Caller frees with s3_upload_list_free. */
int s3b_xml_parse_list_uploads(const char *body, size_t len, struct s3_upload_list *out);

/* <DeleteResult>: the <Error> entries only (quiet mode). */
int s3b_xml_parse_delete(const char *body, size_t len, struct s3_delete_failure **failures,
			 size_t *n);

/* Request bodies (keys are XML-escaped). 0, ENOMEM or EFBIG. */
int s3b_xml_build_complete(struct s3b_buf *out, const struct s3_part *parts, size_t n);
int s3b_xml_build_delete(struct s3b_buf *out, const char *const *keys, size_t n);

/* Parse an ISO 8601 / RFC 3339 UTC time ("2009-10-12T17:50:30.000Z") or an
 * HTTP date ("Wed, 12 Oct 2009 17:50:00 GMT").  0 or EINVAL. */
int s3b_parse_time(const char *s, struct timespec *out);

#endif
