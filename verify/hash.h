/*
 * verify/hash.h — streaming checksums of a byte stream.
 *
 * What it is for: hashing bytes as they pass through the bridge, once, with
 * every algorithm the product reports (MD5, SHA-256, CRC32C), plus the
 * single-algorithm helpers S3 headers need (Content-MD5, x-amz-checksum-*).
 * What it does not do: no I/O, no globals, no allocation after init.
 *
 * Algorithms: MD5 and SHA-256 through OpenSSL EVP; CRC32C, CRC32 and
 * CRC64/NVME through ISA-L when built with it, otherwise through the
 * portable slicing-by-8 tables in hash.c (same answers, slower).
 */
#ifndef S3B_VERIFY_HASH_H
#define S3B_VERIFY_HASH_H

#include <stddef.h>
#include <stdint.h>

#define S3B_MD5_LEN    16
#define S3B_SHA256_LEN 32

/* The digests of a finished stream. */
struct s3b_digests {
	uint8_t md5[S3B_MD5_LEN];
	uint8_t sha256[S3B_SHA256_LEN];
	uint32_t crc32c;
	uint64_t bytes;
};

/* Which algorithms a multi-hasher runs (bit set). */
enum {
	S3B_HASH_MD5 = 1u << 0,
	S3B_HASH_SHA256 = 1u << 1,
	S3B_HASH_CRC32C = 1u << 2,
	S3B_HASH_ALL = S3B_HASH_MD5 | S3B_HASH_SHA256 | S3B_HASH_CRC32C,
};

/* Opaque streaming multi-hasher.  One owner; not thread-safe. */
struct s3b_hasher;

/* Returns 0 or ENOMEM.  *out is owned by the caller (s3b_hasher_free). */
int s3b_hasher_new(unsigned algs, struct s3b_hasher **out);
void s3b_hasher_free(struct s3b_hasher *h);
/* Restart from an empty stream with the same algorithms. */
void s3b_hasher_reset(struct s3b_hasher *h);
void s3b_hasher_update(struct s3b_hasher *h, const void *data, size_t len);
/* Finish into *out (fields of algorithms not run are zero).  The hasher
 * must be reset before further use. */
void s3b_hasher_final(struct s3b_hasher *h, struct s3b_digests *out);

/* One-shot helpers. */
void s3b_md5(const void *data, size_t len, uint8_t out[S3B_MD5_LEN]);
void s3b_sha256(const void *data, size_t len, uint8_t out[S3B_SHA256_LEN]);
/* CRCs take the running value (0 to start) and return the updated one, so
 * that crc(a||b) == crc_update(crc_update(0, a), b). */
uint32_t s3b_crc32c_update(uint32_t crc, const void *data, size_t len);
uint32_t s3b_crc32_update(uint32_t crc, const void *data, size_t len);
uint64_t s3b_crc64nvme_update(uint64_t crc, const void *data, size_t len);

/* HMAC-SHA256 (for SigV4). */
void s3b_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
		     uint8_t out[S3B_SHA256_LEN]);

/* ---- encodings (base.c) ---- */

/* Lower-case hex of len bytes into out (2*len+1 bytes, NUL-terminated). */
void s3b_hex(const uint8_t *in, size_t len, char *out);
/* Parse exactly 2*len hex digits (either case).  0 or EINVAL. */
int s3b_unhex(const char *in, uint8_t *out, size_t len);
/* Standard base64 with padding; out needs 4*((len+2)/3)+1 bytes. */
void s3b_base64(const uint8_t *in, size_t len, char *out);
/* Decode standard base64 (padding required, no whitespace).  Returns 0 and
 * the decoded length in *outlen, or EINVAL; never writes past outcap. */
int s3b_unbase64(const char *in, uint8_t *out, size_t outcap, size_t *outlen);
/* The S3 header form of a CRC: base64 of its big-endian bytes. */
void s3b_crc32_b64(uint32_t crc, char out[9]);
void s3b_crc64_b64(uint64_t crc, char out[13]);

#endif
