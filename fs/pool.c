/*
 * fs/pool.c — a fixed set of worker threads and one FIFO of jobs (see
 * pool.h).
 *
 * What it is for: running the blocking requests of the read-ahead and of
 * the part uploads off the FUSE threads.  The queue is intrusive: a job
 * node belongs to its submitter, the pool only links it through ->next
 * from submit until a worker takes it off the queue; after that (while and
 * after fn runs) the pool never touches the node again, so fn may free it.
 *
 * What it does not do: no priorities, no cancellation (owners cancel by
 * marking their own job so fn returns at once), no growth.
 *
 * Shutdown: destroy sets `stopping`; workers keep taking jobs until the
 * queue is empty and only then exit, so every job submitted before destroy
 * (and any a job submits while the pool drains) runs.
 */
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct s3b_pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;        /* a job was queued, or stopping was set */
	struct s3b_job *head, *tail; /* protected by lock */
	bool stopping;              /* protected by lock */
	unsigned n;                 /* threads started */
	pthread_t threads[];
};

static void *worker(void *arg)
{
	struct s3b_pool *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct s3b_job *job;
		s3b_job_fn fn;
		void *fnarg;

		while (!p->head && !p->stopping)
			pthread_cond_wait(&p->cond, &p->lock);
		job = p->head;
		if (!job)
			break; /* stopping and drained */
		p->head = job->next;
		if (!p->head)
			p->tail = NULL;
		fn = job->fn;
		fnarg = job->arg;
		pthread_mutex_unlock(&p->lock);
		fn(fnarg); /* may free the node */
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static void stop_and_join(struct s3b_pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->n; i++)
		pthread_join(p->threads[i], NULL);
}

int s3b_pool_create(unsigned threads, struct s3b_pool **out)
{
	struct s3b_pool *p;
	int rc;

	*out = NULL;
	if (threads == 0 || threads > 4096)
		return EINVAL;
	p = calloc(1, sizeof(*p) + threads * sizeof(pthread_t));
	if (!p)
		return ENOMEM;
	rc = pthread_mutex_init(&p->lock, NULL);
	if (rc)
		goto fail_free;
	rc = pthread_cond_init(&p->cond, NULL);
	if (rc)
		goto fail_mutex;
	for (; p->n < threads; p->n++) {
		rc = pthread_create(&p->threads[p->n], NULL, worker, p);
		if (rc)
			goto fail_threads;
	}
	*out = p;
	return 0;

fail_threads:
	stop_and_join(p);
	pthread_cond_destroy(&p->cond);
fail_mutex:
	pthread_mutex_destroy(&p->lock);
fail_free:
	free(p);
	return rc;
}

void s3b_pool_destroy(struct s3b_pool *p)
{
	if (!p)
		return;
	stop_and_join(p);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

void s3b_pool_submit(struct s3b_pool *p, struct s3b_job *job)
{
	job->next = NULL;
	pthread_mutex_lock(&p->lock);
	if (p->tail)
		p->tail->next = job;
	else
		p->head = job;
	p->tail = job;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}
