/* test_vhost_cmd_parse.c - the service VM's `vhost` control command syntax
 * (apps/uvhost-vm/vhost_cmd_parse.h). The parser is portable and has no
 * dependencies, so it is compiled into this test as is. Every line comes
 * from whoever reaches the control port: each refusal has a case here.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../apps/uvhost-vm/vhost_cmd_parse.c"

static int parse(const char *line, struct uvm_vcmd *c)
{
	memset(c, 0, sizeof(*c));
	return uvm_vcmd_parse(line, strlen(line), c);
}

static void accepted_forms(void **state)
{
	struct uvm_vcmd c;

	(void)state;
	assert_int_equal(parse("vhost 5000 config", &c), 0);
	assert_int_equal(c.port, 5000);
	assert_int_equal(c.op, UVM_VCMD_CONFIG);
	assert_int_equal(parse("vhost 5001 shmem map", &c), 0);
	assert_int_equal(c.port, 5001);
	assert_int_equal(c.op, UVM_VCMD_SHMEM_MAP);
	assert_int_equal(parse("vhost 7 shmem unmap", &c), 0);
	assert_int_equal(c.op, UVM_VCMD_SHMEM_UNMAP);
	assert_int_equal(parse("vhost 0000000042 shmem status", &c), 0);
	assert_int_equal(c.port, 42);
	assert_int_equal(c.op, UVM_VCMD_SHMEM_STATUS);
	/* Runs of spaces, leading and trailing, separate words. */
	assert_int_equal(parse("  vhost   4294967295  config  ", &c), 0);
	assert_int_equal(c.port, UINT32_MAX);
	assert_int_equal(parse("vhost 0 config", &c), 0);
	assert_int_equal(c.port, 0);
}

static void not_a_vhost_command(void **state)
{
	struct uvm_vcmd c;

	(void)state;
	assert_int_equal(parse("", &c), -ENOENT);
	assert_int_equal(parse("   ", &c), -ENOENT);
	assert_int_equal(parse("stats", &c), -ENOENT);
	assert_int_equal(parse("vhostx 5000 config", &c), -ENOENT);
	assert_int_equal(parse("vhos 5000 config", &c), -ENOENT);
	assert_int_equal(parse("VHOST 5000 config", &c), -ENOENT);
	assert_int_equal(parse("\tvhost 5000 config", &c), -ENOENT);
}

static void bad_ports(void **state)
{
	static const char *const bad[] = {
		"vhost 4294967296 config", /* one past UINT32_MAX */
		"vhost 99999999999 config", "vhost 00000000001 config",
		"vhost -1 config",	    "vhost +5 config",
		"vhost 0x10 config",	    "vhost 50a0 config",
		"vhost 5000\tconfig",	    "vhost 18446744073709551617 config",
	};
	struct uvm_vcmd c;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i], &c), -EINVAL);
		assert_non_null(strstr(c.why, "port"));
	}
}

static void bad_shapes(void **state)
{
	static const char *const bad[] = {
		"vhost",
		"vhost 5000",
		"vhost config",
		"vhost 5000 conf",
		"vhost 5000 config now",
		"vhost 5000 shmem",
		"vhost 5000 shmem maps",
		"vhost 5000 shmem map now",
		"vhost 5000 shmem map a b c",
		"vhost 5000 config\r",
		"vhost 5000 shmem MAP",
	};
	struct uvm_vcmd c;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i], &c), -EINVAL);
		assert_non_null(c.why);
		assert_true(strlen(c.why) > 0);
	}
	/* A word-less port ("vhost config") is a usage error, not a bad port. */
	assert_int_equal(parse("vhost config", &c), -EINVAL);
	assert_string_equal(c.why, UVM_VCMD_USAGE);
}

/* The parser reads only `len` bytes: what follows may be anything. */
static void reads_only_len(void **state)
{
	struct uvm_vcmd c;
	char line[] = "vhost 5000 configXYZ";

	(void)state;
	assert_int_equal(uvm_vcmd_parse(line, 17, &c), 0);
	assert_int_equal(c.op, UVM_VCMD_CONFIG);
	assert_int_equal(uvm_vcmd_parse(line, 16, &c), -EINVAL);
	assert_int_equal(uvm_vcmd_parse(line, 0, &c), -ENOENT);
	{
		/* An exact-size heap copy: ASan sees any read past it. */
		char *p = malloc(17);

		assert_non_null(p);
		memcpy(p, line, 17);
		assert_int_equal(uvm_vcmd_parse(p, 17, &c), 0);
		memcpy(p, "vhost 12345678901", 17);
		assert_int_equal(uvm_vcmd_parse(p, 17, &c), -EINVAL);
		free(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(accepted_forms), cmocka_unit_test(not_a_vhost_command),
		cmocka_unit_test(bad_ports),	  cmocka_unit_test(bad_shapes),
		cmocka_unit_test(reads_only_len),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
