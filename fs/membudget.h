/*
 * fs/membudget.h — the mount's memory budget for data buffers (read-ahead
 * windows, part buffers).  A counting semaphore of bytes: acquire blocks
 * while the budget is spent, release wakes waiters.  Backpressure, not
 * growth: a writer that outruns the network waits here.
 *
 * Deadlock rule: a thread may block in acquire only while it holds no
 * buffer that it alone would release (workers release on completion; a FUSE
 * thread holding a partly filled part must use try_acquire or acquire_for).
 */
#ifndef S3B_MEMBUDGET_H
#define S3B_MEMBUDGET_H

#include <stdbool.h>
#include <stddef.h>

struct s3b_membudget;

int s3b_membudget_create(size_t limit, struct s3b_membudget **out); /* 0 or ENOMEM */
void s3b_membudget_destroy(struct s3b_membudget *b);
/* Block until n bytes are available (n larger than the limit is clamped
 * to the limit so a single request can always proceed eventually). */
void s3b_membudget_acquire(struct s3b_membudget *b, size_t n);
/* Wait at most ms milliseconds; true when acquired. */
bool s3b_membudget_acquire_for(struct s3b_membudget *b, size_t n, unsigned ms);
bool s3b_membudget_try_acquire(struct s3b_membudget *b, size_t n);
void s3b_membudget_release(struct s3b_membudget *b, size_t n);
size_t s3b_membudget_used(struct s3b_membudget *b);
size_t s3b_membudget_limit(const struct s3b_membudget *b);

#endif
