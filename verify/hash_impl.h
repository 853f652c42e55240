/*
 * verify/hash_impl.h — INTERNAL to verify/ and its unit test.
 *
 * What it is for: a test seam.  s3b_crc*_update() in hash.h dispatch to
 * ISA-L when the build has it; the portable slicing-by-8 versions below are
 * what they run otherwise.  Declaring them here lets tests/unit/test_verify.c
 * check both paths against known answers and against each other in one
 * build.  Nothing outside verify/ and its tests should include this file.
 */
#ifndef S3B_VERIFY_HASH_IMPL_H
#define S3B_VERIFY_HASH_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Same contract as the s3b_crc*_update() functions in hash.h (running value
 * in, 0 to start; updated value out), always through the portable tables. */
uint32_t s3b_crc32c_update_portable(uint32_t crc, const void *data, size_t len);
uint32_t s3b_crc32_update_portable(uint32_t crc, const void *data, size_t len);
uint64_t s3b_crc64nvme_update_portable(uint64_t crc, const void *data, size_t len);

/* True when s3b_crc32c_update() and s3b_crc32_update() run ISA-L code
 * (CRC64/NVME is always portable: ISA-L 2.30 has no Rocksoft variant). */
bool s3b_crc_have_isal(void);

#endif
