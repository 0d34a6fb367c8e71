#include "fdt_build.h"

#include <stdlib.h>
#include <string.h>

#include "kern/fdt.h"

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void room(const struct fdtb *w, uint32_t n)
{
	if (w->slen + n + 4 > sizeof(w->st))
		abort();
}

static void w_u32(struct fdtb *w, uint32_t v)
{
	room(w, 4);
	put32(w->st + w->slen, v);
	w->slen += 4;
}

static void w_bytes(struct fdtb *w, const void *p, uint32_t n)
{
	room(w, n);
	if (n)
		memcpy(w->st + w->slen, p, n);
	w->slen += n;
	while (w->slen % 4)
		w->st[w->slen++] = 0;
}

static uint32_t w_string(struct fdtb *w, const char *s)
{
	uint32_t off = w->strlen_, n = (uint32_t)strlen(s) + 1;

	/* Reuse a name already stored. */
	for (uint32_t o = 0; o < w->strlen_; o += (uint32_t)strlen(w->str + o) + 1)
		if (strcmp(w->str + o, s) == 0)
			return o;
	if (off + n > sizeof(w->str))
		abort();
	memcpy(w->str + off, s, n);
	w->strlen_ += n;
	return off;
}

void fdtb_init(struct fdtb *w)
{
	memset(w, 0, sizeof(*w));
}

void fdtb_begin(struct fdtb *w, const char *name)
{
	w_u32(w, K_FDT_BEGIN_NODE);
	w_bytes(w, name, (uint32_t)strlen(name) + 1);
}

void fdtb_end(struct fdtb *w)
{
	w_u32(w, K_FDT_END_NODE);
}

void fdtb_prop(struct fdtb *w, const char *name, const void *val, uint32_t len)
{
	w_u32(w, K_FDT_PROP);
	w_u32(w, len);
	w_u32(w, w_string(w, name));
	w_bytes(w, val, len);
}

void fdtb_prop_cells(struct fdtb *w, const char *name, const uint32_t *cells, unsigned n)
{
	static uint8_t buf[12288];

	if (n > sizeof(buf) / 4)
		abort();
	for (unsigned i = 0; i < n; i++)
		put32(buf + 4 * i, cells[i]);
	fdtb_prop(w, name, buf, 4 * n);
}

void fdtb_prop_u32(struct fdtb *w, const char *name, uint32_t v)
{
	fdtb_prop_cells(w, name, &v, 1);
}

void fdtb_prop_str(struct fdtb *w, const char *name, const char *s)
{
	fdtb_prop(w, name, s, (uint32_t)strlen(s) + 1);
}

void fdtb_finish(struct fdtb *w)
{
	uint32_t off_struct = 56, off_strings;

	w_u32(w, K_FDT_END);
	off_strings = off_struct + w->slen;
	w->size = off_strings + w->strlen_;
	if (w->size > sizeof(w->blob))
		abort();
	memset(w->blob, 0, sizeof(w->blob));
	put32(w->blob + 0, K_FDT_MAGIC);
	put32(w->blob + 4, w->size);
	put32(w->blob + 8, off_struct);
	put32(w->blob + 12, off_strings);
	put32(w->blob + 16, 40);
	put32(w->blob + 20, 17);
	put32(w->blob + 24, 16);
	put32(w->blob + 32, w->strlen_);
	put32(w->blob + 36, w->slen);
	memcpy(w->blob + off_struct, w->st, w->slen);
	memcpy(w->blob + off_strings, w->str, w->strlen_);
}
