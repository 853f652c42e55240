/*
 * tests/integration/seed.c — puts test data into a bucket quickly, straight
 * to the server (S3_DIRECT_ENDPOINT), for the scale tests:
 *
 *   seed many BUCKET PREFIX COUNT SIZE     COUNT objects PREFIXnnnnnn of SIZE
 *                                          bytes, 16 at a time
 *   seed big BUCKET KEY SIZE SEED          one object of SIZE pseudo-random
 *                                          bytes (multipart, 64 MiB parts);
 *                                          prints its SHA-256
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "s3.h"

static struct s3_client *client(const char *bucket)
{
	struct s3_client_conf c = {
		.endpoint = getenv("S3_DIRECT_ENDPOINT"),
		.region = getenv("AWS_DEFAULT_REGION") ? getenv("AWS_DEFAULT_REGION") : "us-east-1",
		.bucket = bucket,
		.path_style = true,
		.access_key = getenv("AWS_ACCESS_KEY_ID"),
		.secret_key = getenv("AWS_SECRET_ACCESS_KEY"),
		.max_connections = 20,
	};
	struct s3_client *out = NULL;

	if (!c.endpoint || s3_client_create(&c, &out)) {
		fprintf(stderr, "seed: cannot make a client (S3_DIRECT_ENDPOINT, keys?)\n");
		exit(2);
	}
	return out;
}

struct many {
	struct s3_client *c;
	const char *prefix;
	unsigned count;
	size_t size;
	_Atomic unsigned next;
	_Atomic int failed;
};

static void *many_worker(void *arg)
{
	struct many *m = arg;
	char *body = malloc(m->size ? m->size : 1);

	memset(body, 'x', m->size);
	for (;;) {
		unsigned i = atomic_fetch_add(&m->next, 1);
		char key[1024];
		struct s3_error err;

		if (i >= m->count)
			break;
		snprintf(key, sizeof(key), "%s%06u", m->prefix, i);
		if (s3_put_object(m->c, key, body, m->size, NULL, NULL, &err)) {
			fprintf(stderr, "seed: %s: %s HTTP %d\n", key, err.code, err.http_status);
			atomic_store(&m->failed, 1);
			break;
		}
	}
	free(body);
	return NULL;
}

static void fill(uint8_t *p, size_t n, uint64_t *state)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		z ^= z >> 31;
		memcpy(p + i, &z, n - i < 8 ? n - i : 8);
	}
}

int main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "many") == 0) {
		struct many m = { .c = client(argv[2]), .prefix = argv[3],
				  .count = (unsigned)strtoul(argv[4], NULL, 10),
				  .size = strtoul(argv[5], NULL, 10) };
		pthread_t t[16];

		for (int i = 0; i < 16; i++)
			pthread_create(&t[i], NULL, many_worker, &m);
		for (int i = 0; i < 16; i++)
			pthread_join(t[i], NULL);
		s3_client_destroy(m.c);
		return atomic_load(&m.failed);
	}
	if (argc == 6 && strcmp(argv[1], "big") == 0) {
		struct s3_client *c = client(argv[2]);
		uint64_t size = strtoull(argv[4], NULL, 10), state = strtoull(argv[5], NULL, 10), off;
		const size_t psz = 64u << 20;
		uint8_t *buf = malloc(psz);
		struct s3_part *parts = calloc(size / psz + 2, sizeof(*parts));
		struct s3b_hasher *h;
		struct s3b_digests d;
		struct s3_error err;
		char *upload = NULL, etag[S3B_ETAG_MAX], hex[65];
		unsigned n = 0;

		s3b_hasher_new(S3B_HASH_SHA256, &h);
		if (s3_create_multipart(c, argv[3], NULL, &upload, &err))
			return 1;
		for (off = 0; off < size; off += psz) {
			size_t len = size - off < psz ? (size_t)(size - off) : psz;

			fill(buf, len, &state);
			s3b_hasher_update(h, buf, len);
			parts[n].number = n + 1;
			if (s3_upload_part(c, argv[3], upload, n + 1, buf, len, NULL, parts[n].etag, &err))
				return 1;
			n++;
		}
		if (s3_complete_multipart(c, argv[3], upload, parts, n, etag, &err))
			return 1;
		s3b_hasher_final(h, &d);
		s3b_hex(d.sha256, 32, hex);
		puts(hex);
		s3b_hasher_free(h);
		free(upload);
		free(parts);
		free(buf);
		s3_client_destroy(c);
		return 0;
	}
	fprintf(stderr, "usage: seed many BUCKET PREFIX COUNT SIZE | seed big BUCKET KEY SIZE SEED\n");
	return 2;
}
