/* fdt_build.h - a tiny flattened-device-tree writer for host tests: nodes
 * and properties in document order, then fdtb_finish() lays out the header,
 * an empty reserve map, the structure and the strings. Sizes are fixed and
 * generous; overflowing them aborts the test program. */
#ifndef TEST_FDT_BUILD_H
#define TEST_FDT_BUILD_H

#include <stdint.h>

struct fdtb {
	uint8_t st[16384];
	uint32_t slen;
	char str[1024];
	uint32_t strlen_;
	uint8_t blob[20480];
	uint32_t size;
};

void fdtb_init(struct fdtb *w);
void fdtb_begin(struct fdtb *w, const char *name);
void fdtb_end(struct fdtb *w);
void fdtb_prop(struct fdtb *w, const char *name, const void *val, uint32_t len);
/* `n` big-endian cells (n may be 0: an empty property). */
void fdtb_prop_cells(struct fdtb *w, const char *name, const uint32_t *cells, unsigned n);
void fdtb_prop_u32(struct fdtb *w, const char *name, uint32_t v);
void fdtb_prop_str(struct fdtb *w, const char *name, const char *s);
void fdtb_finish(struct fdtb *w);

#endif
