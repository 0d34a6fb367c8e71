#include "msg_build.h"

#include <string.h>

void msg_build(struct vu_msg *m, uint32_t request, uint32_t size)
{
	memset(m, 0, sizeof(*m));
	m->hdr.request = request;
	m->hdr.flags = VU_VERSION;
	m->hdr.size = size;
	for (uint32_t i = 0; i < VU_MAX_FDS; i++)
		m->fds[i] = -1;
}
