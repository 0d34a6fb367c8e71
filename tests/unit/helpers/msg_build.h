/* msg_build.h - build a front-end request for tests: header set, payload
 * zeroed, no fds (every fd slot -1). Shared by the back-end and blk tests. */
#ifndef MSG_BUILD_H
#define MSG_BUILD_H

#include <stdint.h>

#include "vu/wire.h"

void msg_build(struct vu_msg *m, uint32_t request, uint32_t size);

#endif
