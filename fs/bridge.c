/*
 * fs/bridge.c — see bridge.h.  A ring of recent source streams, searched
 * linearly (a few thousand entries, one memcmp of 32 bytes each: cheaper
 * than it sounds next to the object uploads it guards).
 */
#include "bridge.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct s3b_pairing {
	pthread_mutex_t lock;
	struct s3b_source_stream *ring;   /* protected by lock */
	unsigned cap, next, count;        /* protected by lock */
};

int s3b_pairing_create(unsigned capacity, struct s3b_pairing **out)
{
	struct s3b_pairing *p = calloc(1, sizeof(*p));

	if (!p)
		return ENOMEM;
	p->cap = capacity ? capacity : 1024;
	p->ring = calloc(p->cap, sizeof(*p->ring));
	if (!p->ring) {
		free(p);
		return ENOMEM;
	}
	pthread_mutex_init(&p->lock, NULL);
	*out = p;
	return 0;
}

void s3b_pairing_destroy(struct s3b_pairing *p)
{
	if (!p)
		return;
	pthread_mutex_destroy(&p->lock);
	free(p->ring);
	free(p);
}

void s3b_pairing_publish(struct s3b_pairing *p, const struct s3b_source_stream *s)
{
	pthread_mutex_lock(&p->lock);
	p->ring[p->next] = *s;
	p->next = (p->next + 1) % p->cap;
	if (p->count < p->cap)
		p->count++;
	pthread_mutex_unlock(&p->lock);
}

static const char *last_component(const char *key)
{
	const char *s = strrchr(key, '/');

	return s ? s + 1 : key;
}

bool s3b_pairing_find(struct s3b_pairing *p, const struct s3b_digests *d, uint64_t size,
		      const char *dst_key, struct s3b_source_stream *out)
{
	const char *want = dst_key ? last_component(dst_key) : NULL;
	bool found = false, named = false;

	pthread_mutex_lock(&p->lock);
	/* newest first */
	for (unsigned i = 0; i < p->count && !named; i++) {
		unsigned at = (p->next + p->cap - 1 - i) % p->cap;
		const struct s3b_source_stream *s = &p->ring[at];

		if (s->size != size || memcmp(s->d.sha256, d->sha256, sizeof(d->sha256)) != 0)
			continue;
		named = want && strcmp(last_component(s->key), want) == 0;
		if (!found || named)
			*out = *s;
		found = true;
	}
	pthread_mutex_unlock(&p->lock);
	return found;
}

enum s3b_etag_verdict s3b_source_check(const char *src_etag, const struct s3b_digests *d,
				       const char *composite)
{
	struct s3b_etag e;

	s3b_etag_parse(src_etag, &e);
	switch (e.kind) {
	case S3B_ETAG_MD5:
		return memcmp(e.md5, d->md5, sizeof(e.md5)) == 0 ? S3B_ETAG_MATCH : S3B_ETAG_MISMATCH;
	case S3B_ETAG_MULTIPART:
		if (composite) {
			struct s3b_etag c;

			s3b_etag_parse(composite, &c);
			if (c.kind == S3B_ETAG_MULTIPART && c.parts == e.parts)
				return memcmp(c.md5, e.md5, sizeof(e.md5)) == 0 ? S3B_ETAG_MATCH
										 : S3B_ETAG_MISMATCH;
		}
		return S3B_ETAG_UNCOMPARABLE;
	default:
		return S3B_ETAG_UNCOMPARABLE;
	}
}

uint64_t s3b_guess_part_size(const char *src_etag, uint64_t size)
{
	static const uint64_t mib = 1ull << 20;
	static const uint64_t preferred[] = { 8, 5, 16, 10, 15, 32, 64, 100, 128, 256, 512 };
	struct s3b_etag e;
	uint64_t lo, hi;

	s3b_etag_parse(src_etag, &e);
	if (e.kind != S3B_ETAG_MULTIPART || e.parts == 0 || size == 0)
		return 0;
	if (e.parts == 1)
		return size < 5 * mib ? 5 * mib : (size + mib - 1) / mib * mib;
	/* parts 1..N-1 are P bytes, the last 1..P: (N-1)P < size <= N*P */
	lo = (size + e.parts - 1) / e.parts;
	hi = (size - 1) / (e.parts - 1);
	for (size_t i = 0; i < sizeof(preferred) / sizeof(preferred[0]); i++) {
		uint64_t p = preferred[i] * mib;

		if (p >= lo && p <= hi)
			return p;
	}
	/* the smallest whole MiB in range */
	uint64_t p = (lo + mib - 1) / mib * mib;

	return p <= hi && p >= 5 * mib ? p : 0;
}
