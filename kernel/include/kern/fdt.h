/* kern/fdt.h - a small, bounds-checked reader of flattened device trees.
 *
 * Owns: validation of a DTB blob (header, block offsets and sizes, and the
 * whole token stream: nesting, names, property lengths, string offsets) and
 * read-only lookups on a validated blob: walk nodes, find by path or
 * compatible, read properties, `reg`, #address-cells/#size-cells, memory
 * and /chosen/bootargs.
 * Never: writes the blob, allocates, or trusts it: k_fdt_init() rejects any
 * blob whose structure is not fully inside `avail` bytes, and every
 * accessor re-checks its own bounds. All values are big-endian on the wire
 * and read byte by byte (the blob need not be aligned).
 * Used by: the unikernel main, the aarch64 port (console, GIC, timer) and
 * kernel/src/pci_dt.c; host unit tests and the fuzz_fdt target.
 *
 * A node is named by the offset of its FDT_BEGIN_NODE token inside the
 * structure block (the root is 0). Functions returning a node return it
 * (>= 0) or a negative errno: -ENOENT not found, -EINVAL malformed.
 */
#ifndef KERN_FDT_H
#define KERN_FDT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define K_FDT_MAGIC 0xd00dfeedu
#define K_FDT_HEADER_SIZE 40u
#define K_FDT_MAX_DEPTH 16
#define K_FDT_MAX_SIZE (16u << 20)

#define K_FDT_BEGIN_NODE 1u
#define K_FDT_END_NODE 2u
#define K_FDT_PROP 3u
#define K_FDT_NOP 4u
#define K_FDT_END 9u

struct k_fdt {
	const uint8_t *blob;
	uint32_t size; /* totalsize, validated <= avail */
	uint32_t struct_off, struct_size;
	uint32_t strings_off, strings_size;
	uint32_t nodes; /* counted by validation */
};

uint32_t k_fdt_be32(const void *p);
uint64_t k_fdt_be64(const void *p);

/* Validate `blob` (at most `avail` bytes readable). Returns 0, -EINVAL
 * (malformed), -ENOEXEC (no FDT magic) or -ENOTSUP (version < 16). */
int k_fdt_init(struct k_fdt *f, const void *blob, size_t avail);

/* The node after `node` in document order (-1: the root), with `*depth`
 * updated (root = 0; pass depth 0 with -1). -ENOENT at the end. */
int k_fdt_next_node(const struct k_fdt *f, int node, int *depth);

/* The node's name ("" for the root), or NULL if `node` is not a node. */
const char *k_fdt_name(const struct k_fdt *f, int node);

/* The parent of `node`, or -ENOENT for the root. */
int k_fdt_parent(const struct k_fdt *f, int node);

/* The child of `parent` named `name` (len bytes; without '@', the unit
 * address of the child is ignored). */
int k_fdt_subnode(const struct k_fdt *f, int parent, const char *name, size_t len);

/* The node at an absolute path such as "/chosen" or "/pcie@10000000". */
int k_fdt_path(const struct k_fdt *f, const char *path);

/* A property's value and length, or NULL if absent. */
const void *k_fdt_prop(const struct k_fdt *f, int node, const char *name, uint32_t *len);

/* Whether the node's "compatible" string list contains `compat`. */
bool k_fdt_compatible(const struct k_fdt *f, int node, const char *compat);

/* The first node after `after` (-1: from the start) compatible with `compat`. */
int k_fdt_find_compatible(const struct k_fdt *f, int after, const char *compat);

/* A u32 property (exactly 4 bytes), else -ENOENT or -EINVAL. */
int k_fdt_u32(const struct k_fdt *f, int node, const char *name, uint32_t *v);

/* #address-cells and #size-cells that apply to the children of `node`
 * (defaults 2 and 1). Values above 4 are rejected with -EINVAL. */
int k_fdt_cells(const struct k_fdt *f, int node, uint32_t *addr_cells, uint32_t *size_cells);

/* Read `ncells` (0..2) big-endian cells at `p` as one number. */
uint64_t k_fdt_read_cells(const void *p, uint32_t ncells);

/* Entry `idx` of the node's "reg", decoded with its parent's cells (each
 * at most 2). Returns 0, -ENOENT (no reg or idx beyond it) or -EINVAL. */
int k_fdt_reg(const struct k_fdt *f, int node, unsigned idx, uint64_t *addr, uint64_t *size);

/* The first /memory node's first region. Returns 0 or -ENOENT. */
int k_fdt_memory(const struct k_fdt *f, uint64_t *base, uint64_t *size);

/* /chosen/bootargs as a NUL-terminated string (its length in `*len`);
 * -ENOENT when absent, -EINVAL when not NUL-terminated. */
int k_fdt_bootargs(const struct k_fdt *f, const char **args, size_t *len);

#endif
