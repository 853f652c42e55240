/*
 * s3/errmap.c — HTTP status / S3 error code -> errno and retry decision,
 * in one table; libcurl codes likewise.  What a caller may retry is decided
 * here and nowhere else (the retry loop in client.c asks).
 *
 * Retried: 500, 502, 503, 504, 429, SlowDown, RequestTimeout, InternalError,
 * transient transport failures.  Never retried: 403, 404, BadDigest,
 * InvalidDigest, EntityTooSmall and every other 4xx: they cannot succeed.
 */
#include "errmap.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "s3.h"

struct code_row {
	const char *code;
	int err;
	bool retry;
};

/* S3 error codes with a meaning of their own (matched before the status). */
static const struct code_row code_table[] = {
	{ .code = "SlowDown", .err = EAGAIN, .retry = true },
	{ .code = "RequestTimeout", .err = ETIMEDOUT, .retry = true },
	{ .code = "InternalError", .err = EIO, .retry = true },
	{ .code = "ServiceUnavailable", .err = EAGAIN, .retry = true },
	{ .code = "Throttling", .err = EAGAIN, .retry = true },
	{ .code = "ThrottlingException", .err = EAGAIN, .retry = true },
	{ .code = "RequestThrottled", .err = EAGAIN, .retry = true },
	{ .code = "NoSuchKey", .err = ENOENT },
	{ .code = "NoSuchBucket", .err = ENOENT },
	{ .code = "NoSuchUpload", .err = ENOENT },
	{ .code = "AccessDenied", .err = EACCES },
	{ .code = "AllAccessDisabled", .err = EACCES },
	{ .code = "InvalidAccessKeyId", .err = EACCES },
	{ .code = "SignatureDoesNotMatch", .err = EACCES },
	{ .code = "ExpiredToken", .err = EACCES },
	{ .code = "InvalidToken", .err = EACCES },
	{ .code = "TokenRefreshRequired", .err = EACCES },
	{ .code = "RequestTimeTooSkewed", .err = EACCES },
	{ .code = "BadDigest", .err = EBADMSG },
	{ .code = "InvalidDigest", .err = EBADMSG },
	{ .code = "XAmzContentSHA256Mismatch", .err = EBADMSG },
	{ .code = "IncompleteBody", .err = EBADMSG },
	{ .code = "EntityTooSmall", .err = EINVAL },
	{ .code = "EntityTooLarge", .err = EFBIG },
	{ .code = "InvalidPart", .err = EINVAL },
	{ .code = "InvalidPartOrder", .err = EINVAL },
	{ .code = "InvalidArgument", .err = EINVAL },
	{ .code = "InvalidRequest", .err = EINVAL },
	{ .code = "KeyTooLongError", .err = ENAMETOOLONG },
	{ .code = "MetadataTooLarge", .err = E2BIG },
	{ .code = "InvalidRange", .err = ERANGE },
	{ .code = "PreconditionFailed", .err = ESTALE },
	{ .code = "QuotaExceeded", .err = EDQUOT },
	{ .code = "InsufficientStorage", .err = ENOSPC },
	{ .code = "NotImplemented", .err = ENOTSUP },
	{ .code = "MethodNotAllowed", .err = ENOTSUP },
	{ .code = "BucketNotEmpty", .err = ENOTEMPTY },
	{ .code = "InvalidBucketName", .err = EINVAL },
	{ .code = "PermanentRedirect", .err = EREMOTE },
	{ .code = "AuthorizationHeaderMalformed", .err = EINVAL },
};

struct status_row {
	int status;
	int err;
	bool retry;
};

static const struct status_row status_table[] = {
	{ .status = 301, .err = EREMOTE },
	{ .status = 307, .err = EREMOTE },
	{ .status = 400, .err = EINVAL },
	{ .status = 401, .err = EACCES },
	{ .status = 403, .err = EACCES },
	{ .status = 404, .err = ENOENT },
	{ .status = 405, .err = ENOTSUP },
	{ .status = 409, .err = EBUSY },
	{ .status = 411, .err = EINVAL },
	{ .status = 412, .err = ESTALE },
	{ .status = 416, .err = ERANGE },
	{ .status = 429, .err = EAGAIN, .retry = true },
	{ .status = 500, .err = EIO, .retry = true },
	{ .status = 501, .err = ENOTSUP },
	{ .status = 502, .err = EIO, .retry = true },
	{ .status = 503, .err = EAGAIN, .retry = true },
	{ .status = 504, .err = ETIMEDOUT, .retry = true },
	{ .status = 507, .err = ENOSPC },
};

struct s3b_errclass s3b_classify_http(int status, const char *code)
{
	if (code && *code)
		for (size_t i = 0; i < sizeof(code_table) / sizeof(code_table[0]); i++)
			if (strcmp(code, code_table[i].code) == 0)
				return (struct s3b_errclass){ code_table[i].err, code_table[i].retry };
	for (size_t i = 0; i < sizeof(status_table) / sizeof(status_table[0]); i++)
		if (status == status_table[i].status)
			return (struct s3b_errclass){ status_table[i].err, status_table[i].retry };
	if (status >= 500)
		return (struct s3b_errclass){ EIO, true };
	return (struct s3b_errclass){ EIO, false };
}

struct s3b_errclass s3b_classify_curl(CURLcode cc)
{
	switch (cc) {
	case CURLE_OK:
		return (struct s3b_errclass){ 0, false };
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return (struct s3b_errclass){ EHOSTUNREACH, true };
	case CURLE_COULDNT_CONNECT:
		return (struct s3b_errclass){ ECONNREFUSED, true };
	case CURLE_OPERATION_TIMEDOUT:
		return (struct s3b_errclass){ ETIMEDOUT, true };
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SEND_FAIL_REWIND:
	case CURLE_SSL_CONNECT_ERROR:
		return (struct s3b_errclass){ ECONNRESET, true };
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		return (struct s3b_errclass){ EPROTO, false };
	case CURLE_OUT_OF_MEMORY:
		return (struct s3b_errclass){ ENOMEM, false };
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return (struct s3b_errclass){ EINVAL, false };
	default:
		return (struct s3b_errclass){ EIO, false };
	}
}

int s3_errno_of(int http_status, const char *code)
{
	return s3b_classify_http(http_status, code).err;
}

void s3_error_format(const struct s3_error *err, char *out, size_t outlen)
{
	if (!err) {
		snprintf(out, outlen, "unknown error");
		return;
	}
	if (err->http_status == 0) {
		snprintf(out, outlen, "%s%s(after %u attempt%s)",
			 err->message[0] ? err->message : "transport error",
			 err->message[0] ? " " : " ", err->attempts, err->attempts == 1 ? "" : "s");
		return;
	}
	snprintf(out, outlen, "%s (HTTP %d)%s%s%s%s%s", err->code[0] ? err->code : "error",
		 err->http_status, err->message[0] ? ": " : "", err->message,
		 err->request_id[0] ? " [request id " : "", err->request_id,
		 err->request_id[0] ? "]" : "");
}
