/* verify.c - what uvhost-bench believes about a completed request.
 *
 * Owns: the data pattern (a function of block, version and word), the
 * poison written into every read buffer before it is submitted, and the
 * checks of one completion: status byte, used length, and (--verify) the
 * data read.
 * Never: takes the back-end's word for anything. A status byte it did not
 * write, a used length that does not cover exactly the bytes the request
 * made writable, or a buffer still holding our poison are all failures,
 * each reported with the request's sector and length.
 * Used by: io.c (submit poisons and fills, reap checks) and the SHMEM
 * read-back check.
 */
#include <stdio.h>
#include <string.h>

#include "bench.h"

#define BLK_S_OK 0u
#define BLK_S_IOERR 1u
#define BLK_S_UNSUPP 2u
#define STATUS_UNSET 0xffu /* submit() puts it there; no device status has it */
#define MAX_REPORTS 10u	   /* problems printed; all are counted */

static uint64_t pattern_word(uint64_t block, uint32_t version, uint64_t i)
{
	return ((block << 24) ^ ((uint64_t)version << 4) ^ i) * 0x9E3779B97F4A7C15ull + 1;
}

void bench_pattern_fill(uint64_t *p, uint32_t words, uint64_t block, uint32_t version)
{
	for (uint32_t i = 0; i < words; i++)
		p[i] = pattern_word(block, version, i);
}

bool bench_pattern_ok(const uint64_t *p, uint32_t words, uint64_t block, uint32_t version)
{
	for (uint32_t i = 0; i < words; i++) {
		if (p[i] != pattern_word(block, version, i))
			return false;
	}
	return true;
}

/* Every poison word is the expected word XOR a non-zero mask, so no word of
 * a buffer the back-end left alone (wholly or in part) can pass for the
 * data; and the mask changes with every read, so a buffer left over from an
 * earlier read of the same block cannot pass either. */
void bench_poison(struct bench *b, struct bench_req *r)
{
	uint64_t *p = (uint64_t *)(void *)r->data;

	r->poison = (++b->poison_seq * 0xD6E8FEB86659FD93ull) | 1u;
	for (uint32_t i = 0; i < b->o.bs / 8; i++)
		p[i] = pattern_word(r->block, r->version, i) ^ r->poison;
}

static const char *status_name(uint8_t s)
{
	switch (s) {
	case BLK_S_OK: return "OK";
	case BLK_S_IOERR: return "IOERR";
	case BLK_S_UNSUPP: return "UNSUPP";
	case STATUS_UNSET: return "never written by the back-end";
	default: return "not a virtio-blk status";
	}
}

static bool report(uint64_t count)
{
	return count <= MAX_REPORTS;
}

/* The first word that differs, for the message. */
static void data_mismatch(struct bench *b, const struct bench_req *r, uint64_t sector)
{
	const uint64_t *p = (const uint64_t *)(const void *)r->data;
	uint32_t i = 0;
	uint64_t want;

	while (i < b->o.bs / 8 && p[i] == pattern_word(r->block, r->version, i))
		i++;
	want = pattern_word(r->block, r->version, i);
	bench_err("queue %u: read sector %llu len %u: data differs from version %u at byte %u: "
		  "expected 0x%016llx, got 0x%016llx%s",
		  r->q->index, (unsigned long long)sector, b->o.bs, r->version, i * 8,
		  (unsigned long long)want, (unsigned long long)p[i],
		  p[i] == (want ^ r->poison) ? " (our poison: the back-end never wrote it)" : "");
}

/* virtio 1.2 2.7.8: the used length is how many bytes the device wrote into
 * the chain's device-writable part, which is the data buffer (reads) and the
 * status byte, in that order. The status byte is the last writable byte, so
 * a successful request must report exactly all of them: bs + 1 for a read,
 * 1 for a write. Less means the driver may not trust the status or the
 * data; more is impossible for an honest device. */
int bench_check_done(struct bench *b, const struct bench_req *r, uint32_t used_len)
{
	uint8_t status = r->hdr[16];
	uint64_t sector = r->block * (b->o.bs / 512);
	const char *op = r->write ? "write" : "read";
	uint32_t want_len = r->write ? 1u : b->o.bs + 1u;

	if (status != BLK_S_OK) {
		b->errors++;
		if (report(b->errors))
			bench_err("queue %u: %s sector %llu len %u: status %u (%s), expected 0 "
				  "(OK)",
				  r->q->index, op, (unsigned long long)sector, b->o.bs, status,
				  status_name(status));
		return -1;
	}
	if (used_len != want_len) {
		b->errors++;
		b->used_len_errors++;
		if (report(b->errors))
			bench_err("queue %u: %s sector %llu len %u: used len %u, expected %u (%s"
				  "status byte)",
				  r->q->index, op, (unsigned long long)sector, b->o.bs, used_len,
				  want_len, r->write ? "" : "data + ");
		return -1;
	}
	if (!r->write && r->version &&
	    !bench_pattern_ok((const uint64_t *)(const void *)r->data, b->o.bs / 8, r->block,
			      r->version)) {
		b->mismatches++;
		if (report(b->mismatches))
			data_mismatch(b, r, sector);
		return -1;
	}
	return 0;
}
