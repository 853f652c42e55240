/*
 * fs/pool.h — a fixed set of worker threads running submitted jobs (ranged
 * GETs of the read-ahead, part uploads of the writer).  Jobs must not wait
 * for other jobs of the same pool (that can deadlock a full pool); they
 * signal their owner through the owner's own lock and condition variable.
 */
#ifndef S3B_POOL_H
#define S3B_POOL_H

struct s3b_pool;

typedef void (*s3b_job_fn)(void *arg);

int s3b_pool_create(unsigned threads, struct s3b_pool **out); /* 0 or errno */
/* Runs every queued job, then joins the threads. */
void s3b_pool_destroy(struct s3b_pool *p);
/* Queue a job (never fails: the queue is a list of caller-owned nodes). */
struct s3b_job {
	s3b_job_fn fn;
	void *arg;
	struct s3b_job *next; /* pool's */
};
void s3b_pool_submit(struct s3b_pool *p, struct s3b_job *job);

#endif
