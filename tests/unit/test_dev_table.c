/* test_dev_table.c - the device table (dev/table.h) as uvhostd and the
 * service VM use it: names, options, their refusals, capabilities JSON, and
 * make/fini of real instances.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dev/blk.h"
#include "dev/rng.h"
#include "dev/storage.h"
#include "dev/table.h"

static const struct dev_kind *kind(const char *name)
{
	const struct dev_kind *k = dev_table_find(name, strlen(name));

	assert_non_null(k);
	return k;
}

static void test_find_by_exact_name(void **state)
{
	(void)state;
	assert_string_equal(kind("blk")->name, "blk");
	assert_string_equal(kind("rng")->name, "rng");
	assert_string_equal(kind("vsock")->name, "vsock"); /* the hosted build has it */
	assert_null(dev_table_find("blkk", 4));
	assert_null(dev_table_find("bl", 2));
	assert_null(dev_table_find("net", 3));
	assert_null(dev_table_find("", 0));
	/* A length, not a C string: "blk" inside "blk:16M". */
	assert_ptr_equal(dev_table_find("blk:16M", 3), kind("blk"));
	assert_string_equal(dev_table_names(), "blk, rng or vsock");
}

static void test_every_row_is_complete(void **state)
{
	(void)state;
	for (const struct dev_kind *const *k = dev_table; *k; k++) {
		assert_non_null((*k)->caps_type);
		assert_non_null((*k)->features);
		assert_non_null((*k)->options);
		assert_non_null((*k)->set);
		assert_non_null((*k)->make);
		assert_true((*k)->instance_size > 0);
	}
}

static void expect_refused(const char *dev, const char *opt, const char *val, const char *why)
{
	struct dev_params p;
	const char *got;

	memset(&p, 0, sizeof(p));
	got = kind(dev)->set(&p, opt, val);
	assert_non_null(got);
	assert_non_null(strstr(got, why));
}

static void test_bad_values_are_refused_with_the_rule(void **state)
{
	(void)state;
	expect_refused("blk", "num-queues", "0", "must be a number in 1..16");
	expect_refused("blk", "num-queues", "17", "must be a number in 1..16");
	expect_refused("blk", "num-queues", "4x", "must be a number in 1..16");
	expect_refused("blk", "num-queues", "-1", "must be a number in 1..16");
	expect_refused("blk", "num-queues", "", "must be a number in 1..16");
	expect_refused("blk", "num-queues", "99999999999999999999", "must be a number");
	expect_refused("blk", "ram-size", "0", "multiple of 512");
	expect_refused("blk", "ram-size", "1000", "multiple of 512");
	expect_refused("blk", "ram-size", "2T", "multiple of 512");
	expect_refused("blk", "ram-size", "1025G", "at most 1 TiB");
	expect_refused("blk", "ram-size", "M", "multiple of 512");
	expect_refused("blk", "ram-size", "-1M", "multiple of 512");
	expect_refused("blk", "null-size", "18446744073709551615K", "multiple of 512");
	expect_refused("blk", "serial", "123456789012345678901", "at most 20 bytes");
	expect_refused("blk", "guest-cid", "3", "not a blk option");
	expect_refused("rng", "num-queues", "1", "not an rng option");
	expect_refused("vsock", "guest-cid", "2", "must be a number in 3..4294967294");
	expect_refused("vsock", "guest-cid", "4294967295", "must be a number in 3..4294967294");
	expect_refused("vsock", "uds-path", "", "1..96 bytes");
	{
		char longpath[120];

		memset(longpath, 'a', sizeof(longpath) - 1);
		longpath[sizeof(longpath) - 1] = '\0';
		expect_refused("vsock", "uds-path", longpath, "1..96 bytes");
	}
}

static void test_good_values_land_in_params(void **state)
{
	struct dev_params p;

	(void)state;
	memset(&p, 0, sizeof(p));
	assert_null(kind("blk")->set(&p, "ram-size", "2g"));
	assert_int_equal(p.ram_size, 2ull << 30);
	assert_null(kind("blk")->set(&p, "num-queues", "16"));
	assert_int_equal(p.num_queues, 16);
	assert_null(kind("blk")->set(&p, "blk-file", "/x")); /* the older name of disk */
	assert_string_equal(p.disk, "/x");
	assert_null(kind("blk")->set(&p, "read-only", ""));
	assert_true(p.read_only);
	assert_null(kind("blk")->set(&p, "serial", "12345678901234567890"));
	memset(&p, 0, sizeof(p));
	assert_null(kind("vsock")->set(&p, "guest-cid", "4294967294"));
	assert_int_equal(p.guest_cid, 4294967294u);
}

static void test_check_says_what_is_missing(void **state)
{
	struct dev_params p;

	(void)state;
	memset(&p, 0, sizeof(p));
	assert_non_null(strstr(kind("blk")->check(&p), "exactly one of"));
	p.disk = "/x";
	p.ram_size = 4096;
	assert_non_null(strstr(kind("blk")->check(&p), "exactly one of"));
	p.ram_size = 0;
	assert_null(kind("blk")->check(&p));
	memset(&p, 0, sizeof(p));
	p.guest_cid = 3;
	assert_non_null(strstr(kind("vsock")->check(&p), "--uds-path"));
	assert_null(kind("rng")->check);
}

static void test_capabilities_json(void **state)
{
	char buf[512];
	int n;

	(void)state;
	n = dev_caps_json(kind("rng"), buf, sizeof(buf));
	assert_string_equal(buf, "{\n  \"type\": \"rng\",\n  \"features\": []\n}\n");
	assert_int_equal(n, (int)strlen(buf));
	n = dev_caps_json(kind("blk"), buf, sizeof(buf));
	assert_int_equal(n, (int)strlen(buf));
	assert_non_null(strstr(buf, "\"type\": \"block\""));
	assert_non_null(strstr(buf, "\"features\": [\n    \"read-only\",\n    \"blk-file\""));
	assert_non_null(strstr(buf, "\n  ]\n}\n"));
	/* Never a truncated document. */
	assert_int_equal(dev_caps_json(kind("blk"), buf, 20), -1);
	assert_int_equal(dev_caps_json(kind("rng"), buf, 10), -1);
}

static size_t four_bytes(void *buf, size_t len)
{
	memset(buf, 4, len);
	return len;
}

static void test_make_builds_real_instances(void **state)
{
	_Alignas(16) static uint8_t mem[sizeof(struct dev_blk)];
	static uint8_t disk[8192];
	struct dev_storage store;
	struct dev_params p;
	const struct dev_env env = {.rng_source = four_bytes};
	const struct dev_env none = {0};
	const struct vu_device *dev = NULL;

	(void)state;
	assert_true(kind("blk")->instance_size <= sizeof(mem));
	memset(&p, 0, sizeof(p));
	/* blk without the storage its platform must open: refused. */
	assert_int_equal(kind("blk")->make(mem, &p, &env, &dev), -EINVAL);
	dev_storage_ram(&store, disk, sizeof(disk), false);
	p.store = &store;
	p.num_queues = 4;
	assert_int_equal(kind("blk")->make(mem, &p, &env, &dev), 0);
	assert_ptr_equal(dev, &((struct dev_blk *)mem)->dev);
	assert_int_equal(dev->num_queues, 4);
	/* rng without an entropy source: no device, never a made-up stream. */
	assert_int_equal(kind("rng")->make(mem, &p, &none, &dev), -ENODEV);
	assert_int_equal(kind("rng")->make(mem, &p, &env, &dev), 0);
	assert_ptr_equal(dev, &((struct dev_rng *)mem)->dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_by_exact_name),
		cmocka_unit_test(test_every_row_is_complete),
		cmocka_unit_test(test_bad_values_are_refused_with_the_rule),
		cmocka_unit_test(test_good_values_land_in_params),
		cmocka_unit_test(test_check_says_what_is_missing),
		cmocka_unit_test(test_capabilities_json),
		cmocka_unit_test(test_make_builds_real_instances),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
