/* A flattened device tree reader: validate everything once, then walk. */
#include "kern/fdt.h"

#include <errno.h>
#include <string.h>

#define HDR_MAGIC 0
#define HDR_TOTALSIZE 4
#define HDR_OFF_STRUCT 8
#define HDR_OFF_STRINGS 12
#define HDR_OFF_RSVMAP 16
#define HDR_VERSION 20
#define HDR_LAST_COMP 24
#define HDR_SIZE_STRINGS 32
#define HDR_SIZE_STRUCT 36

uint32_t k_fdt_be32(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

uint64_t k_fdt_be64(const void *p)
{
	const uint8_t *b = p;
	return (uint64_t)k_fdt_be32(b) << 32 | k_fdt_be32(b + 4);
}

static uint32_t align4(uint32_t v)
{
	return (v + 3u) & ~3u;
}

/* The token at structure offset `pos` and the offset after it (name,
 * property value and padding included). Bounds-checked on its own, so it is
 * safe on any blob that passed the header checks. */
static int token(const struct k_fdt *f, uint32_t pos, uint32_t *tok, uint32_t *next)
{
	const uint8_t *s = f->blob + f->struct_off;
	uint32_t end = f->struct_size;

	if (pos % 4 || pos > end || end - pos < 4)
		return -EINVAL;
	*tok = k_fdt_be32(s + pos);
	switch (*tok) {
	case K_FDT_BEGIN_NODE: {
		const uint8_t *nul = memchr(s + pos + 4, 0, end - pos - 4);
		if (!nul)
			return -EINVAL;
		*next = align4((uint32_t)(nul - s) + 1);
		break;
	}
	case K_FDT_PROP: {
		uint32_t len, nameoff;
		if (end - pos < 12)
			return -EINVAL;
		len = k_fdt_be32(s + pos + 4);
		nameoff = k_fdt_be32(s + pos + 8);
		if (len > end - pos - 12)
			return -EINVAL;
		if (nameoff >= f->strings_size ||
		    !memchr(f->blob + f->strings_off + nameoff, 0, f->strings_size - nameoff))
			return -EINVAL;
		*next = align4(pos + 12 + len);
		break;
	}
	case K_FDT_END_NODE:
	case K_FDT_NOP:
	case K_FDT_END: *next = pos + 4; break;
	default: return -EINVAL;
	}
	if (*next > end)
		return -EINVAL;
	return 0;
}

static int check_structure(struct k_fdt *f)
{
	uint32_t pos = 0, tok, next;
	int depth = 0;
	bool root_done = false;

	for (;;) {
		if (token(f, pos, &tok, &next))
			return -EINVAL;
		switch (tok) {
		case K_FDT_BEGIN_NODE:
			if (root_done || ++depth > K_FDT_MAX_DEPTH)
				return -EINVAL;
			f->nodes++;
			break;
		case K_FDT_END_NODE:
			if (depth == 0)
				return -EINVAL;
			if (--depth == 0)
				root_done = true;
			break;
		case K_FDT_PROP:
			if (depth == 0)
				return -EINVAL;
			break;
		case K_FDT_END: return root_done && depth == 0 ? 0 : -EINVAL;
		default: /* NOP */ break;
		}
		pos = next;
	}
}

int k_fdt_init(struct k_fdt *f, const void *blob, size_t avail)
{
	const uint8_t *b = blob;
	uint32_t total, off_rsv;

	if (!f || !blob)
		return -EINVAL;
	memset(f, 0, sizeof(*f));
	if (avail < K_FDT_HEADER_SIZE)
		return -EINVAL;
	if (k_fdt_be32(b + HDR_MAGIC) != K_FDT_MAGIC)
		return -ENOEXEC;
	if (k_fdt_be32(b + HDR_VERSION) < 16 || k_fdt_be32(b + HDR_LAST_COMP) > 17)
		return -ENOTSUP;
	total = k_fdt_be32(b + HDR_TOTALSIZE);
	if (total < K_FDT_HEADER_SIZE || total > avail || total > K_FDT_MAX_SIZE)
		return -EINVAL;
	f->blob = b;
	f->size = total;
	f->struct_off = k_fdt_be32(b + HDR_OFF_STRUCT);
	f->strings_off = k_fdt_be32(b + HDR_OFF_STRINGS);
	f->strings_size = k_fdt_be32(b + HDR_SIZE_STRINGS);
	off_rsv = k_fdt_be32(b + HDR_OFF_RSVMAP);
	if (f->struct_off < K_FDT_HEADER_SIZE || f->struct_off % 4 || f->struct_off > total)
		return -EINVAL;
	/* size_dt_struct only exists from version 17 on. */
	if (k_fdt_be32(b + HDR_VERSION) >= 17)
		f->struct_size = k_fdt_be32(b + HDR_SIZE_STRUCT);
	else
		f->struct_size = total - f->struct_off;
	if (f->struct_size > total - f->struct_off)
		return -EINVAL;
	if (f->strings_off < K_FDT_HEADER_SIZE || f->strings_off > total ||
	    f->strings_size > total - f->strings_off)
		return -EINVAL;
	if (off_rsv < K_FDT_HEADER_SIZE || off_rsv % 8 || off_rsv > total || total - off_rsv < 16)
		return -EINVAL;
	if (check_structure(f)) {
		f->blob = NULL;
		return -EINVAL;
	}
	return 0;
}

int k_fdt_next_node(const struct k_fdt *f, int node, int *depth)
{
	uint32_t pos, tok, next;
	int d;

	if (!f || !f->blob || !depth)
		return -EINVAL;
	if (node < 0) {
		pos = 0;
		d = -1;
	} else {
		pos = (uint32_t)node;
		if (token(f, pos, &tok, &next) || tok != K_FDT_BEGIN_NODE)
			return -EINVAL;
		pos = next;
		d = *depth;
	}
	for (;;) {
		if (token(f, pos, &tok, &next))
			return -EINVAL;
		if (tok == K_FDT_BEGIN_NODE) {
			*depth = d + 1;
			return (int)pos;
		}
		if (tok == K_FDT_END)
			return -ENOENT;
		if (tok == K_FDT_END_NODE)
			d--;
		pos = next;
	}
}

const char *k_fdt_name(const struct k_fdt *f, int node)
{
	uint32_t tok, next;

	if (!f || !f->blob || node < 0 || token(f, (uint32_t)node, &tok, &next) ||
	    tok != K_FDT_BEGIN_NODE)
		return NULL;
	return (const char *)f->blob + f->struct_off + (uint32_t)node + 4;
}

int k_fdt_parent(const struct k_fdt *f, int node)
{
	int stack[K_FDT_MAX_DEPTH + 1];
	int depth = 0;
	int n = k_fdt_next_node(f, -1, &depth);

	while (n >= 0) {
		if (depth < 0 || depth > K_FDT_MAX_DEPTH)
			return -EINVAL;
		stack[depth] = n;
		if (n == node)
			return depth == 0 ? -ENOENT : stack[depth - 1];
		n = k_fdt_next_node(f, n, &depth);
	}
	return n;
}

static bool name_matches(const char *node_name, const char *name, size_t len)
{
	if (strncmp(node_name, name, len) != 0)
		return false;
	if (node_name[len] == '\0')
		return true;
	return node_name[len] == '@' && !memchr(name, '@', len);
}

int k_fdt_subnode(const struct k_fdt *f, int parent, const char *name, size_t len)
{
	int depth = 0;
	int n = k_fdt_next_node(f, parent, &depth);

	if (!name || memchr(name, 0, len))
		return -EINVAL;
	while (n >= 0 && depth > 0) {
		if (depth == 1 && name_matches(k_fdt_name(f, n), name, len))
			return n;
		n = k_fdt_next_node(f, n, &depth);
	}
	return n < 0 && n != -ENOENT ? n : -ENOENT;
}

int k_fdt_path(const struct k_fdt *f, const char *path)
{
	int depth = 0;
	int node = k_fdt_next_node(f, -1, &depth);

	if (!path || path[0] != '/')
		return -EINVAL;
	while (node >= 0) {
		const char *end;
		while (*path == '/')
			path++;
		if (!*path)
			return node;
		end = strchr(path, '/');
		if (!end)
			end = path + strlen(path);
		node = k_fdt_subnode(f, node, path, (size_t)(end - path));
		path = end;
	}
	return node;
}

const void *k_fdt_prop(const struct k_fdt *f, int node, const char *name, uint32_t *len)
{
	uint32_t pos, tok, next;

	if (!f || !f->blob || node < 0 || !name)
		return NULL;
	pos = (uint32_t)node;
	if (token(f, pos, &tok, &next) || tok != K_FDT_BEGIN_NODE)
		return NULL;
	for (pos = next;; pos = next) {
		const uint8_t *s = f->blob + f->struct_off;
		if (token(f, pos, &tok, &next))
			return NULL;
		if (tok == K_FDT_NOP)
			continue;
		if (tok != K_FDT_PROP)
			return NULL; /* properties precede subnodes */
		if (strcmp((const char *)f->blob + f->strings_off + k_fdt_be32(s + pos + 8),
			   name) == 0) {
			if (len)
				*len = k_fdt_be32(s + pos + 4);
			return s + pos + 12;
		}
	}
}

bool k_fdt_compatible(const struct k_fdt *f, int node, const char *compat)
{
	uint32_t len;
	const char *p = k_fdt_prop(f, node, "compatible", &len);
	size_t want = compat ? strlen(compat) : 0;

	if (!p || !compat)
		return false;
	while (len > 0) {
		const char *nul = memchr(p, 0, len);
		size_t n = nul ? (size_t)(nul - p) : len;
		if (n == want && memcmp(p, compat, n) == 0)
			return true;
		if (!nul)
			break;
		len -= (uint32_t)n + 1;
		p = nul + 1;
	}
	return false;
}

int k_fdt_find_compatible(const struct k_fdt *f, int after, const char *compat)
{
	int depth = 0;
	int n = k_fdt_next_node(f, after, &depth);

	while (n >= 0) {
		if (k_fdt_compatible(f, n, compat))
			return n;
		n = k_fdt_next_node(f, n, &depth);
	}
	return n;
}

int k_fdt_u32(const struct k_fdt *f, int node, const char *name, uint32_t *v)
{
	uint32_t len;
	const void *p = k_fdt_prop(f, node, name, &len);

	if (!p)
		return -ENOENT;
	if (len != 4)
		return -EINVAL;
	*v = k_fdt_be32(p);
	return 0;
}

int k_fdt_cells(const struct k_fdt *f, int node, uint32_t *addr_cells, uint32_t *size_cells)
{
	int r;

	*addr_cells = 2;
	*size_cells = 1;
	r = k_fdt_u32(f, node, "#address-cells", addr_cells);
	if (r == -EINVAL || *addr_cells > 4)
		return -EINVAL;
	r = k_fdt_u32(f, node, "#size-cells", size_cells);
	if (r == -EINVAL || *size_cells > 4)
		return -EINVAL;
	return 0;
}

uint64_t k_fdt_read_cells(const void *p, uint32_t ncells)
{
	const uint8_t *b = p;
	uint64_t v = 0;

	for (uint32_t i = 0; i < ncells && i < 2; i++)
		v = v << 32 | k_fdt_be32(b + 4 * i);
	return v;
}

int k_fdt_reg(const struct k_fdt *f, int node, unsigned idx, uint64_t *addr, uint64_t *size)
{
	uint32_t ac, sc, len, entry;
	int parent = k_fdt_parent(f, node);
	const uint8_t *p;

	if (parent < 0)
		return parent == -ENOENT ? -EINVAL : parent;
	if (k_fdt_cells(f, parent, &ac, &sc) || ac < 1 || ac > 2 || sc > 2)
		return -EINVAL;
	p = k_fdt_prop(f, node, "reg", &len);
	if (!p)
		return -ENOENT;
	entry = (ac + sc) * 4;
	if (len % entry)
		return -EINVAL;
	if (idx >= len / entry)
		return -ENOENT;
	p += (size_t)idx * entry;
	*addr = k_fdt_read_cells(p, ac);
	*size = k_fdt_read_cells(p + 4 * ac, sc);
	return 0;
}

int k_fdt_memory(const struct k_fdt *f, uint64_t *base, uint64_t *size)
{
	int depth = 0;
	int n = k_fdt_next_node(f, -1, &depth);

	while (n >= 0) {
		uint32_t len;
		const char *t = k_fdt_prop(f, n, "device_type", &len);
		if (t && len == sizeof("memory") && memcmp(t, "memory", len) == 0 &&
		    k_fdt_reg(f, n, 0, base, size) == 0 && *size)
			return 0;
		n = k_fdt_next_node(f, n, &depth);
	}
	return -ENOENT;
}

int k_fdt_bootargs(const struct k_fdt *f, const char **args, size_t *len)
{
	uint32_t plen;
	int chosen = k_fdt_path(f, "/chosen");
	const char *p;

	if (chosen < 0)
		return -ENOENT;
	p = k_fdt_prop(f, chosen, "bootargs", &plen);
	if (!p)
		return -ENOENT;
	if (plen == 0 || p[plen - 1] != '\0')
		return -EINVAL;
	*args = p;
	*len = strlen(p);
	return 0;
}
