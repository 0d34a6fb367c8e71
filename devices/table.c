/* The device table and what every row shares (see dev/table.h). */
#include "dev/table.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct dev_kind dev_kind_blk;
extern const struct dev_kind dev_kind_rng;
#ifdef UV_HAVE_VSOCK_DEVICE
extern const struct dev_kind dev_kind_vsock;
#endif

const struct dev_kind *const dev_table[] = {
	&dev_kind_blk,
	&dev_kind_rng,
#ifdef UV_HAVE_VSOCK_DEVICE
	&dev_kind_vsock,
#endif
	NULL,
};

const struct dev_kind *dev_table_find(const char *name, size_t len)
{
	for (const struct dev_kind *const *k = dev_table; *k; k++)
		if (strlen((*k)->name) == len && memcmp((*k)->name, name, len) == 0)
			return *k;
	return NULL;
}

const struct dev_option *dev_kind_option(const struct dev_kind *k, const char *opt)
{
	for (const struct dev_option *o = k->options; o->name; o++)
		if (strcmp(o->name, opt) == 0)
			return o;
	return NULL;
}

const char *dev_table_names(void)
{
	/* Built once: the table is constant. */
	static char names[128];
	size_t n = 0, count = 0;

	if (names[0])
		return names;
	while (dev_table[count])
		count++;
	for (size_t i = 0; i < count; i++) {
		const char *sep = i == 0 ? "" : i + 1 == count ? " or " : ", ";
		int w = snprintf(names + n, sizeof(names) - n, "%s%s", sep, dev_table[i]->name);

		if (w < 0 || (size_t)w >= sizeof(names) - n)
			break;
		n += (size_t)w;
	}
	return names;
}

int dev_caps_json(const struct dev_kind *k, char *buf, size_t len)
{
	size_t n = 0;
	int w = snprintf(buf, len, "{\n  \"type\": \"%s\",\n  \"features\": [", k->caps_type);

	for (const char *const *f = k->features; w >= 0 && (size_t)w < len - n; f++) {
		n += (size_t)w;
		if (!*f) {
			w = snprintf(buf + n, len - n, "%s]\n}\n", f == k->features ? "" : "\n  ");
			break;
		}
		w = snprintf(buf + n, len - n, "%s\n    \"%s\"", f == k->features ? "" : ",", *f);
	}
	if (w < 0 || (size_t)w >= len - n)
		return -1;
	return (int)(n + (size_t)w);
}

const char *dev_parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
	static char why[48];
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *s < '0' || *s > '9' || *end != '\0' || v < lo || v > hi) {
		snprintf(why, sizeof(why), "must be a number in %u..%u", (unsigned)lo,
			 (unsigned)hi);
		return why;
	}
	*out = (uint32_t)v;
	return NULL;
}

const char *dev_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mult = 1;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end == 'K' || *end == 'k')
		mult = 1024, end++;
	else if (*end == 'M' || *end == 'm')
		mult = 1024 * 1024, end++;
	else if (*end == 'G' || *end == 'g')
		mult = 1024ull * 1024 * 1024, end++;
	if (errno || *s < '0' || *s > '9' || *end || v == 0 || v > (1ull << 40) / mult ||
	    (v * mult) % 512)
		return "must be a multiple of 512 bytes, at most 1 TiB (suffix K, M or G)";
	*out = v * mult;
	return NULL;
}
