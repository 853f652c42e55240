/*
 * verify/hash.c — the streaming multi-hasher, one-shot digests and CRCs.
 *
 * What it is for: hashing every byte the bridge moves, once.  The multi-
 * hasher walks each buffer in cache-sized chunks and runs every selected
 * algorithm over a chunk before moving to the next, so the data is read from
 * memory once however many digests are wanted.  MD5, SHA-256 and HMAC come
 * from OpenSSL 3 (EVP); CRC32C and CRC32 from ISA-L when S3B_HAVE_ISAL is
 * defined; CRC64/NVME, and all CRCs in builds without ISA-L, from the
 * portable slicing-by-8 tables below.
 *
 * What it does not do: no I/O, no mutable globals, no allocation after
 * s3b_hasher_new() (the one-shot digest and HMAC helpers let OpenSSL
 * allocate a context per call; they are not on the per-byte path).  No
 * encodings: those are in base.c.
 */
#include "hash.h"
#include "hash_impl.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#ifdef S3B_HAVE_ISAL
#include <isa-l/crc.h>
#endif

/*
 * How much of a buffer the multi-hasher hands to each algorithm before
 * moving to the next one: small enough to stay in L2 between the passes,
 * large enough that per-call overhead in EVP is noise.
 */
#define S3B_HASH_CHUNK (64u * 1024u)

/* ---- portable CRCs: slicing-by-8 over compile-time tables ------------- */

/*
 * The tables are those of the classic reflected slicing-by-8 algorithm:
 * T[k][n] is the CRC register (no pre- or post-inversion) after feeding
 * byte n followed by k zero bytes.  That value is linear in n over GF(2),
 * so T[k][n] is the XOR of T[k][1 << i] over the bits i set in n, and
 * T[k][1 << i] = Q(8k + 7 - i), where Q(0) = P (the reflected polynomial)
 * and Q(m + 1) = (Q(m) >> 1) ^ (Q(m) & 1 ? P : 0).  The eight basis values
 * of each table are listed below (S3B_<CRC>_B<k>, bit 0 first) and the
 * preprocessor expands them into the 256 entries, so the tables are const
 * data with no run-time initialisation.  To regenerate the basis:
 *
 *     q = [P]; for m in range(63): q.append(q[-1] >> 1 ^ (P if q[-1] & 1 else 0))
 *     B[k] = [q[8*k + 7 - i] for i in range(8)]
 */
#define S3B_TE_(n, b0, b1, b2, b3, b4, b5, b6, b7)                          \
	(((n) & 1 ? (b0) : 0) ^ ((n) & 2 ? (b1) : 0) ^ ((n) & 4 ? (b2) : 0) ^  \
	 ((n) & 8 ? (b3) : 0) ^ ((n) & 16 ? (b4) : 0) ^ ((n) & 32 ? (b5) : 0) ^ \
	 ((n) & 64 ? (b6) : 0) ^ ((n) & 128 ? (b7) : 0))
#define S3B_TE(n, ...) S3B_TE_(n, __VA_ARGS__)
#define S3B_T4(n, ...)                                                      \
	S3B_TE((n), __VA_ARGS__), S3B_TE((n) + 1, __VA_ARGS__),             \
		S3B_TE((n) + 2, __VA_ARGS__), S3B_TE((n) + 3, __VA_ARGS__)
#define S3B_T16(n, ...)                                                     \
	S3B_T4((n), __VA_ARGS__), S3B_T4((n) + 4, __VA_ARGS__),             \
		S3B_T4((n) + 8, __VA_ARGS__), S3B_T4((n) + 12, __VA_ARGS__)
#define S3B_T64(n, ...)                                                     \
	S3B_T16((n), __VA_ARGS__), S3B_T16((n) + 16, __VA_ARGS__),          \
		S3B_T16((n) + 32, __VA_ARGS__), S3B_T16((n) + 48, __VA_ARGS__)
#define S3B_T256(...)                                                       \
	{ S3B_T64(0, __VA_ARGS__), S3B_T64(64, __VA_ARGS__),                \
	  S3B_T64(128, __VA_ARGS__), S3B_T64(192, __VA_ARGS__) }

/* CRC-32/ISCSI (Castagnoli), P = 0x82f63b78. */
#define S3B_CRC32C_B0 0xf26b8303u, 0xe13b70f7u, 0xc79a971fu, 0x8ad958cfu, 0x105ec76fu, 0x20bd8edeu, 0x417b1dbcu, 0x82f63b78u
#define S3B_CRC32C_B1 0x13a29877u, 0x274530eeu, 0x4e8a61dcu, 0x9d14c3b8u, 0x3fc5f181u, 0x7f8be302u, 0xff17c604u, 0xfbc3faf9u
#define S3B_CRC32C_B2 0xa541927eu, 0x4f6f520du, 0x9edea41au, 0x38513ec5u, 0x70a27d8au, 0xe144fb14u, 0xc76580d9u, 0x8b277743u
#define S3B_CRC32C_B3 0xdd45aab8u, 0xbf672381u, 0x7b2231f3u, 0xf64463e6u, 0xe964b13du, 0xd725148bu, 0xaba65fe7u, 0x52a0c93fu
#define S3B_CRC32C_B4 0x38116facu, 0x7022df58u, 0xe045beb0u, 0xc5670b91u, 0x8f2261d3u, 0x1ba8b557u, 0x37516aaeu, 0x6ea2d55cu
#define S3B_CRC32C_B5 0xef306b19u, 0xdb8ca0c3u, 0xb2f53777u, 0x6006181fu, 0xc00c303eu, 0x85f4168du, 0x0e045bebu, 0x1c08b7d6u
#define S3B_CRC32C_B6 0x68032cc8u, 0xd0065990u, 0xa5e0c5d1u, 0x4e2dfd53u, 0x9c5bfaa6u, 0x3d5b83bdu, 0x7ab7077au, 0xf56e0ef4u
#define S3B_CRC32C_B7 0x493c7d27u, 0x9278fa4eu, 0x211d826du, 0x423b04dau, 0x847609b4u, 0x0d006599u, 0x1a00cb32u, 0x34019664u

/* CRC-32/ISO-HDLC (zlib, gzip), P = 0xedb88320. */
#define S3B_CRC32_B0 0x77073096u, 0xee0e612cu, 0x076dc419u, 0x0edb8832u, 0x1db71064u, 0x3b6e20c8u, 0x76dc4190u, 0xedb88320u
#define S3B_CRC32_B1 0x191b3141u, 0x32366282u, 0x646cc504u, 0xc8d98a08u, 0x4ac21251u, 0x958424a2u, 0xf0794f05u, 0x3b83984bu
#define S3B_CRC32_B2 0x01c26a37u, 0x0384d46eu, 0x0709a8dcu, 0x0e1351b8u, 0x1c26a370u, 0x384d46e0u, 0x709a8dc0u, 0xe1351b80u
#define S3B_CRC32_B3 0xb8bc6765u, 0xaa09c88bu, 0x8f629757u, 0xc5b428efu, 0x5019579fu, 0xa032af3eu, 0x9b14583du, 0xed59b63bu
#define S3B_CRC32_B4 0x3d6029b0u, 0x7ac05360u, 0xf580a6c0u, 0x30704bc1u, 0x60e09782u, 0xc1c12f04u, 0x58f35849u, 0xb1e6b092u
#define S3B_CRC32_B5 0xcb5cd3a5u, 0x4dc8a10bu, 0x9b914216u, 0xec53826du, 0x03d6029bu, 0x07ac0536u, 0x0f580a6cu, 0x1eb014d8u
#define S3B_CRC32_B6 0xa6770bb4u, 0x979f1129u, 0xf44f2413u, 0x33ef4e67u, 0x67de9cceu, 0xcfbd399cu, 0x440b7579u, 0x8816eaf2u
#define S3B_CRC32_B7 0xccaa009eu, 0x4225077du, 0x844a0efau, 0xd3e51bb5u, 0x7cbb312bu, 0xf9766256u, 0x299dc2edu, 0x533b85dau

/* CRC-64/NVME, P = 0x9a6c9329ac4bc9b5 (0xad93d23594c93659 reflected). */
#define S3B_CRC64NVME_B0 0x7f6ef0c830358979ull, 0xfedde190606b12f2ull, 0xc962e5739841b68full, 0xa61cecb46814fe75ull, \
	0x78e0ff3b88be6f81ull, 0xf1c1fe77117cdf02ull, 0xd75adabd7a6e2d6full, 0x9a6c9329ac4bc9b5ull
#define S3B_CRC64NVME_B1 0x8776a97d73bddf69ull, 0x3a3474a9bfec2db9ull, 0x7468e9537fd85b72ull, 0xe8d1d2a6ffb0b6e4ull, \
	0xe57a831ea7f6fea3ull, 0xfe2c206e177a6e2dull, 0xc881668f76634f31ull, 0xa5dbeb4db4510d09ull
#define S3B_CRC64NVME_B2 0xff6e4e1f4e4038beull, 0xca05ba6dc417e217ull, 0xa0d25288d0b85745ull, 0x757d8342f9e73de1ull, \
	0xeafb0685f3ce7bc2ull, 0xe12f2b58bf0b64efull, 0xf68770e226815ab5ull, 0xd9d7c79715952601ull
#define S3B_CRC64NVME_B3 0x8211147cbaf96306ull, 0x30fb0eaa2d655567ull, 0x61f61d545acaaaceull, 0xc3ec3aa8b595559cull, \
	0xb301530233bd3853ull, 0x52db80573fede3cdull, 0xa5b700ae7fdbc79aull, 0x7fb7270fa7201c5full
#define S3B_CRC64NVME_B4 0x373d15f784905d1eull, 0x6e7a2bef0920ba3cull, 0xdcf457de12417478ull, 0x8d3189ef7c157b9bull, \
	0x2eba358da0bd645dull, 0x5d746b1b417ac8baull, 0xbae8d63682f59174ull, 0x41088a3e5d7cb183ull
#define S3B_CRC64NVME_B5 0xe9742a79ef04a5d4ull, 0xe63172a0869ed8c3ull, 0xf8bbc31255aa22edull, 0xc5aea077f3c3d6b1ull, \
	0xbf8466bcbf103e09ull, 0x4bd1eb2a26b7ef79ull, 0x97a3d6544d6fdef2ull, 0x1b9e8afbc2482e8full
#define S3B_CRC64NVME_B6 0xfc5d27f6bf353971ull, 0xcc6369be26fde189ull, 0xac1ff52f156c5079ull, 0x6ce6cc0d724f3399ull, \
	0xd9cd981ae49e6732ull, 0x8742166691ab5d0full, 0x3a5d0a9e7bc12975ull, 0x74ba153cf78252eaull
#define S3B_CRC64NVME_B7 0x21e9761e252621acull, 0x43d2ec3c4a4c4358ull, 0x87a5d878949886b0ull, 0x3b9296a271a69e0bull, \
	0x77252d44e34d3c16ull, 0xee4a5a89c69a782cull, 0xe84d9340d5a36333ull, 0xe44200d2f3d1550dull

static const uint32_t crc32c_tab[8][256] = {
	S3B_T256(S3B_CRC32C_B0), S3B_T256(S3B_CRC32C_B1), S3B_T256(S3B_CRC32C_B2),
	S3B_T256(S3B_CRC32C_B3), S3B_T256(S3B_CRC32C_B4), S3B_T256(S3B_CRC32C_B5),
	S3B_T256(S3B_CRC32C_B6), S3B_T256(S3B_CRC32C_B7),
};

static const uint32_t crc32_tab[8][256] = {
	S3B_T256(S3B_CRC32_B0), S3B_T256(S3B_CRC32_B1), S3B_T256(S3B_CRC32_B2),
	S3B_T256(S3B_CRC32_B3), S3B_T256(S3B_CRC32_B4), S3B_T256(S3B_CRC32_B5),
	S3B_T256(S3B_CRC32_B6), S3B_T256(S3B_CRC32_B7),
};

static const uint64_t crc64nvme_tab[8][256] = {
	S3B_T256(S3B_CRC64NVME_B0), S3B_T256(S3B_CRC64NVME_B1), S3B_T256(S3B_CRC64NVME_B2),
	S3B_T256(S3B_CRC64NVME_B3), S3B_T256(S3B_CRC64NVME_B4), S3B_T256(S3B_CRC64NVME_B5),
	S3B_T256(S3B_CRC64NVME_B6), S3B_T256(S3B_CRC64NVME_B7),
};

/* Little-endian loads by bytes: alignment- and host-order-free; compilers
 * turn them into one load on little-endian machines. */
static inline uint32_t load32le(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t load64le(const unsigned char *p)
{
	return (uint64_t)load32le(p) | (uint64_t)load32le(p + 4) << 32;
}

/* A reflected 32-bit CRC with init and xorout all ones, over one buffer. */
static uint32_t crc32_slice8(const uint32_t tab[8][256], uint32_t crc, const unsigned char *p,
			     size_t len)
{
	crc = ~crc;
	for (; len >= 8; p += 8, len -= 8) {
		uint32_t lo = load32le(p) ^ crc, hi = load32le(p + 4);

		crc = tab[7][lo & 0xff] ^ tab[6][(lo >> 8) & 0xff] ^ tab[5][(lo >> 16) & 0xff] ^
		      tab[4][lo >> 24] ^ tab[3][hi & 0xff] ^ tab[2][(hi >> 8) & 0xff] ^
		      tab[1][(hi >> 16) & 0xff] ^ tab[0][hi >> 24];
	}
	for (; len > 0; p++, len--)
		crc = (crc >> 8) ^ tab[0][(crc ^ *p) & 0xff];
	return ~crc;
}

/* The same for a 64-bit CRC. */
static uint64_t crc64_slice8(const uint64_t tab[8][256], uint64_t crc, const unsigned char *p,
			     size_t len)
{
	crc = ~crc;
	for (; len >= 8; p += 8, len -= 8) {
		crc ^= load64le(p);
		crc = tab[7][crc & 0xff] ^ tab[6][(crc >> 8) & 0xff] ^ tab[5][(crc >> 16) & 0xff] ^
		      tab[4][(crc >> 24) & 0xff] ^ tab[3][(crc >> 32) & 0xff] ^
		      tab[2][(crc >> 40) & 0xff] ^ tab[1][(crc >> 48) & 0xff] ^ tab[0][crc >> 56];
	}
	for (; len > 0; p++, len--)
		crc = (crc >> 8) ^ tab[0][(crc ^ *p) & 0xff];
	return ~crc;
}

uint32_t s3b_crc32c_update_portable(uint32_t crc, const void *data, size_t len)
{
	if (len == 0)
		return crc;
	return crc32_slice8(crc32c_tab, crc, data, len);
}

uint32_t s3b_crc32_update_portable(uint32_t crc, const void *data, size_t len)
{
	if (len == 0)
		return crc;
	return crc32_slice8(crc32_tab, crc, data, len);
}

uint64_t s3b_crc64nvme_update_portable(uint64_t crc, const void *data, size_t len)
{
	if (len == 0)
		return crc;
	return crc64_slice8(crc64nvme_tab, crc, data, len);
}

bool s3b_crc_have_isal(void)
{
#ifdef S3B_HAVE_ISAL
	return true;
#else
	return false;
#endif
}

/* ---- dispatching CRCs -------------------------------------------------- */

#ifdef S3B_HAVE_ISAL
/*
 * ISA-L 2.30's AVX-512 CRC kernels (crc32_iscsi_by16_10, crc32_gzip_refl_
 * by16_10) return without VZEROUPPER.  The dirty upper register state then
 * slows every later legacy-SSE instruction on the thread, notably OpenSSL's
 * SHA-NI SHA-256: measured here (Zen 4) SHA-256 interleaved with CRC32C ran
 * 27% slower, and the multi-hasher 9% slower than the sum of its parts.
 * Clearing the state after each call costs one instruction.
 */
static inline void isal_upper_clear(void)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
	if (__builtin_cpu_supports("avx"))
		__asm__ volatile("vzeroupper");
#endif
}
#endif

uint32_t s3b_crc32c_update(uint32_t crc, const void *data, size_t len)
{
#ifdef S3B_HAVE_ISAL
	/*
	 * ISA-L's crc32_iscsi() neither inverts the seed nor the result, and
	 * takes an int length: invert around it and feed at most 1 GiB a call.
	 * (It takes a non-const pointer but does not write through it.)
	 */
	const unsigned char *p = data;

	if (len == 0)
		return crc;
	crc = ~crc;
	while (len > 0) {
		size_t n = len < (1u << 30) ? len : (1u << 30);

		crc = crc32_iscsi((unsigned char *)p, (int)n, crc);
		p += n;
		len -= n;
	}
	isal_upper_clear();
	return ~crc;
#else
	return s3b_crc32c_update_portable(crc, data, len);
#endif
}

uint32_t s3b_crc32_update(uint32_t crc, const void *data, size_t len)
{
#ifdef S3B_HAVE_ISAL
	/* crc32_gzip_refl() inverts seed and result itself: it chains as is. */
	if (len == 0)
		return crc;
	crc = crc32_gzip_refl(crc, data, len);
	isal_upper_clear();
	return crc;
#else
	return s3b_crc32_update_portable(crc, data, len);
#endif
}

uint64_t s3b_crc64nvme_update(uint64_t crc, const void *data, size_t len)
{
	/* ISA-L gained crc64_rocks_refl() (this CRC) in 2.31; we build against
	 * 2.30, so this is always the portable code. */
	return s3b_crc64nvme_update_portable(crc, data, len);
}

/* ---- one-shot digests and HMAC ----------------------------------------- */

/*
 * These return void, so a failure inside OpenSSL (only a failed allocation
 * in practice) leaves an all-zero digest: it can never match a real one,
 * so a comparison fails loudly instead of passing by accident.
 */
void s3b_md5(const void *data, size_t len, uint8_t out[S3B_MD5_LEN])
{
	if (EVP_Digest(data, len, out, NULL, EVP_md5(), NULL) != 1)
		memset(out, 0, S3B_MD5_LEN);
}

void s3b_sha256(const void *data, size_t len, uint8_t out[S3B_SHA256_LEN])
{
	if (EVP_Digest(data, len, out, NULL, EVP_sha256(), NULL) != 1)
		memset(out, 0, S3B_SHA256_LEN);
}

void s3b_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
		     uint8_t out[S3B_SHA256_LEN])
{
	static const unsigned char empty[1];
	uint8_t keyhash[S3B_SHA256_LEN];
	unsigned int outlen = 0;

	if (key == NULL || keylen == 0) {
		key = empty;
		keylen = 0;
	} else if (keylen > INT_MAX) {
		/* RFC 2104: a key longer than the block is replaced by its hash,
		 * which HMAC() would do too if its length fitted in an int. */
		s3b_sha256(key, keylen, keyhash);
		key = keyhash;
		keylen = sizeof(keyhash);
	}
	if (HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &outlen) == NULL ||
	    outlen != S3B_SHA256_LEN)
		memset(out, 0, S3B_SHA256_LEN);
}

/* ---- the multi-hasher --------------------------------------------------- */

struct s3b_hasher {
	unsigned algs;          /* S3B_HASH_* bits */
	EVP_MD *md5_md;         /* fetched once; owned; NULL unless MD5 */
	EVP_MD *sha256_md;      /* fetched once; owned; NULL unless SHA256 */
	EVP_MD_CTX *md5;        /* owned; NULL unless MD5 */
	EVP_MD_CTX *sha256;     /* owned; NULL unless SHA256 */
	uint32_t crc32c;        /* running value */
	uint64_t bytes;         /* fed since the last reset */
	unsigned failed;        /* S3B_HASH_* bits whose EVP state went bad */
};

int s3b_hasher_new(unsigned algs, struct s3b_hasher **out)
{
	struct s3b_hasher *h;

	*out = NULL;
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return ENOMEM;
	h->algs = algs & S3B_HASH_ALL;
	if (h->algs & S3B_HASH_MD5) {
		h->md5_md = EVP_MD_fetch(NULL, "MD5", NULL);
		h->md5 = EVP_MD_CTX_new();
		if (h->md5_md == NULL || h->md5 == NULL)
			goto fail;
	}
	if (h->algs & S3B_HASH_SHA256) {
		h->sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
		h->sha256 = EVP_MD_CTX_new();
		if (h->sha256_md == NULL || h->sha256 == NULL)
			goto fail;
	}
	s3b_hasher_reset(h);
	if (h->failed)
		goto fail;
	*out = h;
	return 0;

fail:
	s3b_hasher_free(h);
	return ENOMEM;
}

void s3b_hasher_free(struct s3b_hasher *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->sha256);
	EVP_MD_CTX_free(h->md5);
	EVP_MD_free(h->sha256_md);
	EVP_MD_free(h->md5_md);
	free(h);
}

void s3b_hasher_reset(struct s3b_hasher *h)
{
	h->failed = 0;
	h->crc32c = 0;
	h->bytes = 0;
	if (h->md5 && EVP_DigestInit_ex2(h->md5, h->md5_md, NULL) != 1)
		h->failed |= S3B_HASH_MD5;
	if (h->sha256 && EVP_DigestInit_ex2(h->sha256, h->sha256_md, NULL) != 1)
		h->failed |= S3B_HASH_SHA256;
}

void s3b_hasher_update(struct s3b_hasher *h, const void *data, size_t len)
{
	const unsigned char *p = data;

	h->bytes += len;
	while (len > 0) {
		size_t n = len < S3B_HASH_CHUNK ? len : S3B_HASH_CHUNK;

		if (h->md5 && EVP_DigestUpdate(h->md5, p, n) != 1)
			h->failed |= S3B_HASH_MD5;
		if (h->sha256 && EVP_DigestUpdate(h->sha256, p, n) != 1)
			h->failed |= S3B_HASH_SHA256;
		if (h->algs & S3B_HASH_CRC32C)
			h->crc32c = s3b_crc32c_update(h->crc32c, p, n);
		p += n;
		len -= n;
	}
}

void s3b_hasher_final(struct s3b_hasher *h, struct s3b_digests *out)
{
	*out = (struct s3b_digests){ .bytes = h->bytes };
	if (h->md5 && (EVP_DigestFinal_ex(h->md5, out->md5, NULL) != 1 ||
		       (h->failed & S3B_HASH_MD5)))
		memset(out->md5, 0, sizeof(out->md5));
	if (h->sha256 && (EVP_DigestFinal_ex(h->sha256, out->sha256, NULL) != 1 ||
			  (h->failed & S3B_HASH_SHA256)))
		memset(out->sha256, 0, sizeof(out->sha256));
	if (h->algs & S3B_HASH_CRC32C)
		out->crc32c = h->crc32c;
}
