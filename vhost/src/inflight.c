/* inflight.c - size arithmetic of the inflight region (see vu/inflight.h).
 *
 * The sizes come from a front-end message (GET_INFLIGHT_FD's num_queues and
 * queue_size), so every input is range-checked before it is multiplied.
 */
#include "vu/inflight.h"

#include "vu/vq.h"

/* Far above any real device; keeps the product well inside 64 bits. */
#define VU_INFLIGHT_MAX_QUEUES 1024u

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1u) & ~(a - 1u);
}

uint64_t vu_inflight_queue_bytes(uint32_t queue_size)
{
	if (!vu_vq_size_valid(queue_size))
		return 0;
	return align_up(sizeof(struct vu_inflight_queue) +
				(uint64_t)queue_size * sizeof(struct vu_inflight_desc),
			VU_INFLIGHT_ALIGN);
}

uint64_t vu_inflight_total_bytes(uint32_t num_queues, uint32_t queue_size)
{
	uint64_t per_queue = vu_inflight_queue_bytes(queue_size);

	if (per_queue == 0 || num_queues == 0 || num_queues > VU_INFLIGHT_MAX_QUEUES)
		return 0;
	if (per_queue > UINT64_MAX / num_queues)
		return 0;
	return per_queue * num_queues;
}
