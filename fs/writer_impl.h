/*
 * fs/writer_impl.h — INTERNAL to fs/writer.c and tests/unit/test_writer.c.
 *
 * What it is for: a test seam.  The part-size plan of a writer is a pure
 * function of (configured part size, size hint, part number); declaring it
 * here lets the unit test check the schedule up to 10,000 parts and the
 * largest object it admits without writing terabytes.  Nothing else should
 * include this file.
 *
 * The rules (fs/writer.h says the same in words):
 *   - fixed (conf part_size != 0): every part is that size, raised to
 *     5 MiB and capped at 5 GiB; the hint is ignored.
 *   - hint (size_hint != 0): B = max(8 MiB, ceil(hint / 10,000) rounded up
 *     to a MiB), capped at 5 GiB; every part that starts before the hint is
 *     B, so an object of the hinted size is uniform parts of B.  Parts past
 *     the hint (the hint was wrong) take max(B, growth(n)): a small
 *     hint leaves the growth schedule's maximum, a large one at least
 *     the hint plus the remaining parts at growth sizes (200 GiB: 1.2 TiB).
 *   - neither: growth(n) = 8 MiB << ((n - 1) / 1000): 8 MiB for parts
 *     1-1000, 16 MiB for 1001-2000, ..., 4 GiB for 9001-10000; the largest
 *     object is 1000 * 8 MiB * (2^10 - 1), about 7.8 TiB.
 */
#ifndef S3B_WRITER_IMPL_H
#define S3B_WRITER_IMPL_H

#include <stddef.h>
#include <stdint.h>

struct s3b_part_plan {
	size_t fixed;   /* 0, or the fixed part size after clamping */
	size_t base;    /* hinted part size; 0 without a hint */
	uint64_t hint;
};

void s3b_part_plan_init(struct s3b_part_plan *p, size_t conf_part_size, uint64_t size_hint);
/* Size of part number n (1..10,000); 0 for a number out of range. */
size_t s3b_part_plan_size(const struct s3b_part_plan *p, unsigned n);
/* The largest object the plan fits in 10,000 parts. */
uint64_t s3b_part_plan_max(const struct s3b_part_plan *p);

#endif
