/* The DTB reader and the PCI host description built on it: a tree shaped
 * like QEMU virt's is read back exactly, and every malformed-input rejection
 * of k_fdt_init() and of the accessors has a case here. Blobs are built by a
 * small writer below so each case changes exactly one thing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kern/fdt.h"
#include "kern/pci.h"

struct fdtw {
	uint8_t st[4096];
	uint32_t slen;
	char str[1024];
	uint32_t strlen_;
	uint8_t blob[8192];
	uint32_t size;
};

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void w_u32(struct fdtw *w, uint32_t v)
{
	put32(w->st + w->slen, v);
	w->slen += 4;
}

static void w_bytes(struct fdtw *w, const void *p, uint32_t n)
{
	memcpy(w->st + w->slen, p, n);
	w->slen += n;
	while (w->slen % 4)
		w->st[w->slen++] = 0;
}

static void w_begin(struct fdtw *w, const char *name)
{
	w_u32(w, K_FDT_BEGIN_NODE);
	w_bytes(w, name, (uint32_t)strlen(name) + 1);
}

static void w_end(struct fdtw *w)
{
	w_u32(w, K_FDT_END_NODE);
}

static uint32_t w_string(struct fdtw *w, const char *s)
{
	uint32_t off = w->strlen_;
	memcpy(w->str + off, s, strlen(s) + 1);
	w->strlen_ += (uint32_t)strlen(s) + 1;
	return off;
}

static void w_prop(struct fdtw *w, const char *name, const void *val, uint32_t len)
{
	w_u32(w, K_FDT_PROP);
	w_u32(w, len);
	w_u32(w, w_string(w, name));
	w_bytes(w, val, len);
}

static void w_prop_cells(struct fdtw *w, const char *name, const uint32_t *cells, unsigned n)
{
	uint8_t buf[128];
	for (unsigned i = 0; i < n; i++)
		put32(buf + 4 * i, cells[i]);
	w_prop(w, name, buf, 4 * n);
}

static void w_prop_u32(struct fdtw *w, const char *name, uint32_t v)
{
	w_prop_cells(w, name, &v, 1);
}

static void w_prop_str(struct fdtw *w, const char *name, const char *s)
{
	w_prop(w, name, s, (uint32_t)strlen(s) + 1);
}

/* Header (40) + empty reserve map (16) + structure + strings. */
static void w_finish(struct fdtw *w)
{
	uint32_t off_struct = 56, off_strings = off_struct + w->slen;

	w->size = off_strings + w->strlen_;
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

/* A tree shaped like QEMU virt's (trimmed). */
static void build_virt(struct fdtw *w, bool with_pci)
{
	static const uint32_t mem_reg[] = {0, 0x40000000, 0, 0x08000000};
	static const uint32_t uart_reg[] = {0, 0x09000000, 0, 0x1000};
	static const uint32_t ecam_reg[] = {0x40, 0x10000000, 0, 0x10000000};
	static const uint32_t bus_range[] = {0, 0xff};
	static const uint32_t ranges[] = {
		0x01000000, 0,	  0,	      0,    0x3eff0000, 0,    0x10000,
		0x02000000, 0,	  0x10000000, 0,    0x10000000, 0,    0x2eff0000,
		0x03000000, 0x80, 0,	      0x80, 0,		0x80, 0,
	};

	memset(w, 0, sizeof(*w));
	w_u32(w, K_FDT_NOP);
	w_begin(w, "");
	w_prop_u32(w, "#address-cells", 2);
	w_prop_u32(w, "#size-cells", 2);
	w_prop_str(w, "compatible", "linux,dummy-virt");
	w_begin(w, "chosen");
	w_prop_str(w, "bootargs", "log=debug ctl=77");
	w_end(w);
	w_begin(w, "memory@40000000");
	w_prop_cells(w, "reg", mem_reg, 4);
	w_prop_str(w, "device_type", "memory");
	w_end(w);
	w_begin(w, "pl011@9000000");
	w_prop(w, "compatible", "arm,pl011\0arm,primecell", 24);
	w_prop_cells(w, "reg", uart_reg, 4);
	w_end(w);
	if (with_pci) {
		w_begin(w, "pcie@10000000");
		w_prop_str(w, "compatible", "pci-host-ecam-generic");
		w_prop_u32(w, "#address-cells", 3);
		w_prop_u32(w, "#size-cells", 2);
		w_prop_cells(w, "reg", ecam_reg, 4);
		w_prop_cells(w, "bus-range", bus_range, 2);
		w_prop_cells(w, "ranges", ranges, 21);
		w_end(w);
	}
	w_end(w);
	w_u32(w, K_FDT_END);
	w_finish(w);
}

static struct fdtw W;

static void reads_a_virt_like_tree(void **state)
{
	struct k_fdt f;
	uint64_t a, s;
	const char *args;
	size_t alen;
	int n;
	(void)state;

	build_virt(&W, true);
	assert_int_equal(k_fdt_init(&f, W.blob, W.size), 0);
	assert_int_equal(f.nodes, 5);
	assert_int_equal(k_fdt_path(&f, "/"), 4); /* after the leading NOP */
	n = k_fdt_path(&f, "/pl011@9000000");
	assert_true(n > 0);
	assert_int_equal(k_fdt_path(&f, "/pl011"), n); /* unit address optional */
	assert_int_equal(k_fdt_path(&f, "/pl011@9"), -ENOENT);
	assert_int_equal(k_fdt_path(&f, "/nope"), -ENOENT);
	assert_int_equal(k_fdt_path(&f, "relative"), -EINVAL);
	assert_string_equal(k_fdt_name(&f, n), "pl011@9000000");
	assert_int_equal(k_fdt_parent(&f, n), 4);
	assert_int_equal(k_fdt_parent(&f, 4), -ENOENT);
	assert_true(k_fdt_compatible(&f, n, "arm,primecell"));
	assert_true(k_fdt_compatible(&f, n, "arm,pl011"));
	assert_false(k_fdt_compatible(&f, n, "arm,pl01"));
	assert_int_equal(k_fdt_find_compatible(&f, -1, "arm,pl011"), n);
	assert_int_equal(k_fdt_find_compatible(&f, n, "arm,pl011"), -ENOENT);
	assert_int_equal(k_fdt_reg(&f, n, 0, &a, &s), 0);
	assert_int_equal(a, 0x09000000);
	assert_int_equal(s, 0x1000);
	assert_int_equal(k_fdt_reg(&f, n, 1, &a, &s), -ENOENT);
	assert_int_equal(k_fdt_memory(&f, &a, &s), 0);
	assert_int_equal(a, 0x40000000);
	assert_int_equal(s, 0x08000000);
	assert_int_equal(k_fdt_bootargs(&f, &args, &alen), 0);
	assert_string_equal(args, "log=debug ctl=77");
	assert_int_equal(alen, 16);
}

static void reads_the_pci_host(void **state)
{
	struct k_fdt f;
	struct k_pci_host h;
	(void)state;

	build_virt(&W, true);
	assert_int_equal(k_fdt_init(&f, W.blob, W.size), 0);
	assert_int_equal(k_pci_host_from_fdt(&f, &h), 0);
	assert_int_equal(h.ecam_base, 0x4010000000ull);
	assert_int_equal(h.ecam_size, 0x10000000);
	assert_int_equal(h.bus_start, 0);
	assert_int_equal(h.bus_end, 255);
	assert_true(h.io.present && h.mem32.present && h.mem64.present);
	assert_int_equal(h.io.cpu_base, 0x3eff0000);
	assert_int_equal(h.mem32.pci_base, 0x10000000);
	assert_int_equal(h.mem32.size, 0x2eff0000);
	assert_int_equal(h.mem64.cpu_base, 0x8000000000ull);
	assert_int_equal(h.mem64.size, 0x8000000000ull);
	build_virt(&W, false);
	assert_int_equal(k_fdt_init(&f, W.blob, W.size), 0);
	assert_int_equal(k_pci_host_from_fdt(&f, &h), -ENOENT);
}

/* A pcie node with one property replaced. */
static int pci_with(const char *name, const uint32_t *cells, unsigned n, struct k_pci_host *h)
{
	static const uint32_t ecam_reg[] = {0x40, 0x10000000, 0, 0x00200000};
	static const uint32_t ranges[] = {0x02000000, 0, 0x10000000, 0, 0x10000000, 0, 0x1000};
	struct k_fdt f;

	memset(&W, 0, sizeof(W));
	w_begin(&W, "");
	w_prop_u32(&W, "#address-cells", 2);
	w_prop_u32(&W, "#size-cells", 2);
	w_begin(&W, "pcie");
	w_prop_str(&W, "compatible", "pci-host-ecam-generic");
	w_prop_u32(&W, "#address-cells", strcmp(name, "#address-cells") ? 3 : cells[0]);
	w_prop_u32(&W, "#size-cells", 2);
	w_prop_cells(&W, "reg", strcmp(name, "reg") ? ecam_reg : cells,
		     strcmp(name, "reg") ? 4 : n);
	if (!strcmp(name, "bus-range"))
		w_prop_cells(&W, "bus-range", cells, n);
	w_prop_cells(&W, "ranges", strcmp(name, "ranges") ? ranges : cells,
		     strcmp(name, "ranges") ? 7 : n);
	w_end(&W);
	w_end(&W);
	w_u32(&W, K_FDT_END);
	w_finish(&W);
	assert_int_equal(k_fdt_init(&f, W.blob, W.size), 0);
	return k_pci_host_from_fdt(&f, h);
}

static void rejects_bad_pci_hosts(void **state)
{
	struct k_pci_host h;
	static const uint32_t ok_bus[] = {0, 0xff};
	static const uint32_t rev_bus[] = {5, 1};
	static const uint32_t big_bus[] = {0, 256};
	static const uint32_t short_bus[] = {0};
	static const uint32_t ac2[] = {2};
	static const uint32_t small_ecam[] = {0x40, 0x10000000, 0, 0x1000};
	static const uint32_t odd_ecam[] = {0x40, 0x10000800, 0, 0x00200000};
	static const uint32_t wrap_ecam[] = {0xffffffff, 0xfff00000, 0, 0x00200000};
	static const uint32_t mem32_high[] = {0x02000000, 0, 0xfffff000, 0, 0x10000000, 0, 0x2000};
	static const uint32_t zero_size[] = {0x02000000, 0, 0x10000000, 0, 0x10000000, 0, 0};
	static const uint32_t partial[] = {0x02000000, 0, 0x10000000, 0, 0x10000000, 0};
	static const uint32_t wrap64[] = {0x03000000, 0xffffffff, 0xfffff000, 0x80, 0, 0, 0x2000};
	(void)state;

	/* 2 MiB of ECAM cover two buses: bus-range is clamped, not trusted. */
	assert_int_equal(pci_with("bus-range", ok_bus, 2, &h), 0);
	assert_int_equal(h.bus_end, 1);
	assert_int_equal(pci_with("bus-range", rev_bus, 2, &h), -EINVAL);
	assert_int_equal(pci_with("bus-range", big_bus, 2, &h), -EINVAL);
	assert_int_equal(pci_with("bus-range", short_bus, 1, &h), -EINVAL);
	assert_int_equal(pci_with("#address-cells", ac2, 1, &h), -EINVAL);
	assert_int_equal(pci_with("reg", small_ecam, 4, &h), -EINVAL);
	assert_int_equal(pci_with("reg", odd_ecam, 4, &h), -EINVAL);
	assert_int_equal(pci_with("reg", wrap_ecam, 4, &h), -EINVAL);
	assert_int_equal(pci_with("ranges", mem32_high, 7, &h), -EINVAL);
	assert_int_equal(pci_with("ranges", zero_size, 7, &h), -EINVAL);
	assert_int_equal(pci_with("ranges", partial, 6, &h), -EINVAL);
	assert_int_equal(pci_with("ranges", wrap64, 7, &h), -EINVAL);
}

/* Header field offsets, for corrupting one at a time. */
#define H_TOTAL 4
#define H_STRUCT 8
#define H_STRINGS 12
#define H_RSV 16
#define H_VERSION 20
#define H_LASTCOMP 24
#define H_SZSTRINGS 32
#define H_SZSTRUCT 36

static int init_with(uint32_t field, uint32_t value)
{
	struct k_fdt f;
	build_virt(&W, false);
	put32(W.blob + field, value);
	return k_fdt_init(&f, W.blob, W.size);
}

static void rejects_bad_headers(void **state)
{
	struct k_fdt f;
	(void)state;

	build_virt(&W, false);
	assert_int_equal(k_fdt_init(&f, W.blob, W.size), 0);
	assert_int_equal(k_fdt_init(&f, W.blob, 39), -EINVAL);
	assert_int_equal(k_fdt_init(&f, W.blob, W.size - 1), -EINVAL); /* totalsize > avail */
	assert_int_equal(k_fdt_init(NULL, W.blob, W.size), -EINVAL);
	assert_int_equal(k_fdt_init(&f, NULL, W.size), -EINVAL);
	assert_int_equal(init_with(0, 0xd00dfeee), -ENOEXEC);
	assert_int_equal(init_with(H_VERSION, 15), -ENOTSUP);
	assert_int_equal(init_with(H_LASTCOMP, 18), -ENOTSUP);
	assert_int_equal(init_with(H_TOTAL, 39), -EINVAL);
	assert_int_equal(init_with(H_TOTAL, K_FDT_MAX_SIZE + 4), -EINVAL);
	assert_int_equal(init_with(H_STRUCT, 58), -EINVAL);	    /* misaligned */
	assert_int_equal(init_with(H_STRUCT, 36), -EINVAL);	    /* inside the header */
	assert_int_equal(init_with(H_STRUCT, 0xfffffff0), -EINVAL); /* beyond the blob */
	assert_int_equal(init_with(H_SZSTRUCT, 0xfffffff0), -EINVAL);
	assert_int_equal(init_with(H_STRINGS, 0xfffffff0), -EINVAL);
	assert_int_equal(init_with(H_STRINGS, 8), -EINVAL);
	assert_int_equal(init_with(H_SZSTRINGS, 0xffffffff), -EINVAL);
	assert_int_equal(init_with(H_RSV, 44), -EINVAL); /* misaligned */
	assert_int_equal(init_with(H_RSV, 0x7ffffff8), -EINVAL);
	/* Version 16 has no size_dt_struct: the rest of the blob is used. */
	assert_int_equal(init_with(H_VERSION, 16), 0);
	/* A structure block cut short loses its FDT_END. */
	build_virt(&W, false);
	put32(W.blob + H_SZSTRUCT, W.slen - 4);
	assert_int_equal(k_fdt_init(&f, W.blob, W.size), -EINVAL);
}

/* Build a structure block from raw tokens (with a strings block holding
 * "p\0"), and return what k_fdt_init() says. */
static int init_tokens(const uint32_t *toks, unsigned n)
{
	struct k_fdt f;
	memset(&W, 0, sizeof(W));
	w_string(&W, "p");
	for (unsigned i = 0; i < n; i++)
		w_u32(&W, toks[i]);
	w_finish(&W);
	return k_fdt_init(&f, W.blob, W.size);
}

static void rejects_bad_structure(void **state)
{
	enum {
		B = K_FDT_BEGIN_NODE,
		E = K_FDT_END_NODE,
		P = K_FDT_PROP,
		N = K_FDT_NOP,
		X = K_FDT_END
	};
	static const uint32_t ok[] = {B, 0, P, 4, 0, 0x11223344, E, X};
	static const uint32_t no_end[] = {B, 0, E};
	static const uint32_t open_node[] = {B, 0, X};
	static const uint32_t prop_outside[] = {P, 0, 0, B, 0, E, X};
	static const uint32_t end_at_root[] = {E, X};
	static const uint32_t two_roots[] = {B, 0, E, B, 0, E, X};
	static const uint32_t bad_token[] = {B, 0, 7, E, X};
	static const uint32_t prop_too_long[] = {B, 0, P, 64, 0, E, X};
	static const uint32_t bad_nameoff[] = {B, 0, P, 0, 2, E, X};
	static const uint32_t huge_nameoff[] = {B, 0, P, 0, 0xffffffff, E, X};
	static const uint32_t name_unterminated[] = {B, 0x41414141};
	static const uint32_t empty[] = {X};
	uint32_t deep[2 * (K_FDT_MAX_DEPTH + 1) * 2 + 2];
	unsigned n = 0;
	(void)state;

	assert_int_equal(init_tokens(ok, 8), 0);
	assert_int_equal(init_tokens(no_end, 3), -EINVAL);
	assert_int_equal(init_tokens(open_node, 3), -EINVAL);
	assert_int_equal(init_tokens(prop_outside, 7), -EINVAL);
	assert_int_equal(init_tokens(end_at_root, 2), -EINVAL);
	assert_int_equal(init_tokens(two_roots, 7), -EINVAL);
	assert_int_equal(init_tokens(bad_token, 5), -EINVAL);
	assert_int_equal(init_tokens(prop_too_long, 7), -EINVAL);
	assert_int_equal(init_tokens(bad_nameoff, 7), -EINVAL);
	assert_int_equal(init_tokens(huge_nameoff, 7), -EINVAL);
	assert_int_equal(init_tokens(name_unterminated, 2), -EINVAL);
	assert_int_equal(init_tokens(empty, 1), -EINVAL);
	assert_int_equal(init_tokens(ok, 0), -EINVAL); /* no tokens at all */
	for (int i = 0; i < K_FDT_MAX_DEPTH + 1; i++) {
		deep[n++] = B;
		deep[n++] = 0;
	}
	for (int i = 0; i < K_FDT_MAX_DEPTH + 1; i++)
		deep[n++] = E;
	deep[n++] = X;
	assert_int_equal(init_tokens(deep, n), -EINVAL);
	/* Exactly the maximum depth is fine. */
	n = 0;
	for (int i = 0; i < K_FDT_MAX_DEPTH; i++) {
		deep[n++] = B;
		deep[n++] = 0;
	}
	for (int i = 0; i < K_FDT_MAX_DEPTH; i++)
		deep[n++] = E;
	deep[n++] = X;
	assert_int_equal(init_tokens(deep, n), 0);
}

static void rejects_bad_properties(void **state)
{
	struct k_fdt f;
	uint64_t a, s;
	uint32_t v;
	const char *args;
	size_t alen;
	int n, m;
	static const uint32_t reg3[] = {1, 2, 3};
	(void)state;

	memset(&W, 0, sizeof(W));
	w_begin(&W, "");
	w_prop_u32(&W, "#address-cells", 3); /* too many for a reg we decode */
	w_prop_u32(&W, "#size-cells", 9);
	w_begin(&W, "chosen");
	w_prop(&W, "bootargs", "abc", 3); /* not NUL-terminated */
	w_prop(&W, "compatible", "abc", 3);
	w_prop(&W, "u16", "ab", 2);
	w_prop_cells(&W, "reg", reg3, 3);
	w_end(&W);
	w_begin(&W, "n");
	w_prop_u32(&W, "#address-cells", 1);
	w_prop_u32(&W, "#size-cells", 1);
	w_begin(&W, "c");
	w_prop_cells(&W, "reg", reg3, 3); /* not a multiple of 2 cells */
	w_end(&W);
	w_end(&W);
	w_end(&W);
	w_u32(&W, K_FDT_END);
	w_finish(&W);
	assert_int_equal(k_fdt_init(&f, W.blob, W.size), 0);
	n = k_fdt_path(&f, "/chosen");
	assert_true(n > 0);
	assert_int_equal(k_fdt_bootargs(&f, &args, &alen), -EINVAL);
	assert_true(k_fdt_compatible(&f, n, "abc")); /* last string without NUL */
	assert_false(k_fdt_compatible(&f, n, "abcd"));
	assert_int_equal(k_fdt_u32(&f, n, "u16", &v), -EINVAL);
	assert_int_equal(k_fdt_u32(&f, n, "none", &v), -ENOENT);
	assert_int_equal(k_fdt_reg(&f, n, 0, &a, &s), -EINVAL); /* parent cells 3/9 */
	assert_int_equal(k_fdt_cells(&f, k_fdt_path(&f, "/"), &v, &v), -EINVAL);
	m = k_fdt_path(&f, "/n/c");
	assert_true(m > 0);
	assert_int_equal(k_fdt_reg(&f, m, 0, &a, &s), -EINVAL);
	assert_int_equal(k_fdt_reg(&f, k_fdt_path(&f, "/"), 0, &a, &s), -EINVAL); /* root */
	assert_int_equal(k_fdt_memory(&f, &a, &s), -ENOENT);
	/* Offsets that are not nodes are refused, not followed. */
	assert_null(k_fdt_name(&f, n + 4));
	assert_null(k_fdt_prop(&f, n + 4, "reg", NULL));
	assert_null(k_fdt_name(&f, 1 << 20));
	assert_int_equal(k_fdt_next_node(&f, n + 4, &m), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reads_a_virt_like_tree), cmocka_unit_test(reads_the_pci_host),
		cmocka_unit_test(rejects_bad_pci_hosts),  cmocka_unit_test(rejects_bad_headers),
		cmocka_unit_test(rejects_bad_structure),  cmocka_unit_test(rejects_bad_properties),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
