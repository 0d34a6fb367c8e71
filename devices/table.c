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
