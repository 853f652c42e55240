/*
 * s3/http.c — the handle pool (see http.h).  Lock order: pool->lock, then
 * the share's locks (taken inside libcurl); never the other way.
 */
#include "http.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

struct s3b_http_pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	CURL **free_handles;     /* protected by lock */
	unsigned n_free;         /* protected by lock */
	unsigned n_created;      /* protected by lock */
	unsigned size;
	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void s3b_http_global_init(void)
{
	pthread_once(&global_once, global_init_once);
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *userp)
{
	struct s3b_http_pool *p = userp;

	(void)h;
	(void)access;
	pthread_mutex_lock(&p->share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *userp)
{
	struct s3b_http_pool *p = userp;

	(void)h;
	pthread_mutex_unlock(&p->share_locks[data]);
}

int s3b_http_pool_create(unsigned size, struct s3b_http_pool **out)
{
	struct s3b_http_pool *p;

	s3b_http_global_init();
	p = calloc(1, sizeof(*p));
	if (!p)
		return ENOMEM;
	p->size = size ? size : 16;
	p->free_handles = calloc(p->size, sizeof(CURL *));
	if (!p->free_handles)
		goto fail_handles;
	p->share = curl_share_init();
	if (!p->share)
		goto fail_share;
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&p->share_locks[i], NULL);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	curl_share_setopt(p->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(p->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(p->share, CURLSHOPT_USERDATA, p);
	curl_share_setopt(p->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(p->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	*out = p;
	return 0;

fail_share:
	free(p->free_handles);
fail_handles:
	free(p);
	return ENOMEM;
}

void s3b_http_pool_destroy(struct s3b_http_pool *p)
{
	if (!p)
		return;
	for (unsigned i = 0; i < p->n_free; i++)
		curl_easy_cleanup(p->free_handles[i]);
	curl_share_cleanup(p->share);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&p->share_locks[i]);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	free(p->free_handles);
	free(p);
}

CURL *s3b_http_acquire(struct s3b_http_pool *p)
{
	CURL *h = NULL;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		if (p->n_free) {
			h = p->free_handles[--p->n_free];
			break;
		}
		if (p->n_created < p->size) {
			p->n_created++;
			break;
		}
		pthread_cond_wait(&p->cond, &p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	if (!h) {
		h = curl_easy_init();
		if (!h) {
			/* no memory for a handle: give the slot back and wait for one */
			pthread_mutex_lock(&p->lock);
			p->n_created--;
			while (!p->n_free)
				pthread_cond_wait(&p->cond, &p->lock);
			h = p->free_handles[--p->n_free];
			pthread_mutex_unlock(&p->lock);
		}
	}
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_SHARE, p->share);
	return h;
}

void s3b_http_release(struct s3b_http_pool *p, CURL *h, bool forget_connection)
{
	if (forget_connection) {
		/* a fresh handle drops the suspect connection */
		curl_easy_cleanup(h);
		h = curl_easy_init();
	}
	pthread_mutex_lock(&p->lock);
	if (h)
		p->free_handles[p->n_free++] = h;
	else
		p->n_created--;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}
