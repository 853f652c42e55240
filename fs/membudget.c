/*
 * fs/membudget.c — the mount's memory budget: a counting semaphore of
 * bytes (see membudget.h).
 *
 * What it is for: bounding the bytes that read-ahead windows and part
 * buffers hold at once, across every open file of a mount.  Blocking
 * acquirers wait on one condition variable; every release wakes them all
 * (requests differ in size, so any of them may now fit).
 *
 * What it does not do: it allocates nothing for the caller (it only
 * counts) and it does not know who holds what; a release of more than is
 * in use is clamped at zero rather than trusted.
 *
 * Fairness: a non-blocking try_acquire fails while a blocking acquirer is
 * waiting, so a stream of opportunistic takers (read-ahead) cannot starve
 * a thread that must have its buffer.  Blocking acquirers compete among
 * themselves.
 *
 * Sizes: a request larger than the limit is clamped to the limit, here and
 * in release, so that acquire(n) ... release(n) always balance.
 */
#include "membudget.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct s3b_membudget {
	pthread_mutex_t lock;
	pthread_cond_t cond;   /* signalled on every release */
	size_t limit;          /* fixed at create */
	size_t used;           /* protected by lock */
	unsigned waiting;      /* blocking acquirers asleep; protected by lock */
};

int s3b_membudget_create(size_t limit, struct s3b_membudget **out)
{
	struct s3b_membudget *b;
	pthread_condattr_t attr;
	int rc;

	*out = NULL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return ENOMEM;
	b->limit = limit;
	rc = pthread_condattr_init(&attr);
	if (rc)
		goto fail_free;
	/* acquire_for measures its timeout on the monotonic clock */
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	rc = pthread_cond_init(&b->cond, &attr);
	pthread_condattr_destroy(&attr);
	if (rc)
		goto fail_free;
	rc = pthread_mutex_init(&b->lock, NULL);
	if (rc)
		goto fail_cond;
	*out = b;
	return 0;

fail_cond:
	pthread_cond_destroy(&b->cond);
fail_free:
	free(b);
	return ENOMEM;
}

void s3b_membudget_destroy(struct s3b_membudget *b)
{
	if (!b)
		return;
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->cond);
	free(b);
}

static size_t clamp(const struct s3b_membudget *b, size_t n)
{
	return n > b->limit ? b->limit : n;
}

static bool fits(const struct s3b_membudget *b, size_t n)
{
	return b->limit - b->used >= n;
}

void s3b_membudget_acquire(struct s3b_membudget *b, size_t n)
{
	n = clamp(b, n);
	pthread_mutex_lock(&b->lock);
	while (!fits(b, n)) {
		b->waiting++;
		pthread_cond_wait(&b->cond, &b->lock);
		b->waiting--;
	}
	b->used += n;
	pthread_mutex_unlock(&b->lock);
}

bool s3b_membudget_acquire_for(struct s3b_membudget *b, size_t n, unsigned ms)
{
	struct timespec deadline;
	bool ok = true;

	n = clamp(b, n);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += ms / 1000;
	deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&b->lock);
	while (!fits(b, n)) {
		int rc;

		b->waiting++;
		rc = pthread_cond_timedwait(&b->cond, &b->lock, &deadline);
		b->waiting--;
		if (rc == ETIMEDOUT && !fits(b, n)) {
			ok = false;
			break;
		}
	}
	if (ok)
		b->used += n;
	pthread_mutex_unlock(&b->lock);
	return ok;
}

bool s3b_membudget_try_acquire(struct s3b_membudget *b, size_t n)
{
	bool ok;

	n = clamp(b, n);
	pthread_mutex_lock(&b->lock);
	ok = b->waiting == 0 && fits(b, n);
	if (ok)
		b->used += n;
	pthread_mutex_unlock(&b->lock);
	return ok;
}

void s3b_membudget_release(struct s3b_membudget *b, size_t n)
{
	n = clamp(b, n);
	if (n == 0)
		return;
	pthread_mutex_lock(&b->lock);
	b->used -= n > b->used ? b->used : n;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

size_t s3b_membudget_used(struct s3b_membudget *b)
{
	size_t used;

	pthread_mutex_lock(&b->lock);
	used = b->used;
	pthread_mutex_unlock(&b->lock);
	return used;
}

size_t s3b_membudget_limit(const struct s3b_membudget *b)
{
	return b->limit;
}
