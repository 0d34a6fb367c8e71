/* uvhost-gw - joins an unmodified VMM (vhost-user over AF_UNIX, with fds)
 * to a device served by the uvhost service VM (vhost-user over vsock,
 * without fds). It plays the part a hypervisor plays on a real platform:
 * guest RAM is shared with the service VM as windows, and only the control
 * plane and the notifications pass through here (docs/gateway.md).
 * Follows the vhost-user back-end program conventions: --socket-path,
 * --fd, --print-capabilities, no daemonizing, a clean exit on SIGTERM. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "gw_opts.h"
#include "gw_serve.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	static struct gw_opts o;
	struct sigaction sa;
	int rc = gw_opts_parse(&o, argc, argv, stderr);

	if (rc) {
		fprintf(stderr, "uvhost-gw: try --help\n");
		return rc;
	}
	if (o.help) {
		gw_usage(stdout);
		return 0;
	}
	if (o.print_caps)
		return gw_print_capabilities(&o);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: poll(2) returns, the loop sees stop */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return gw_serve(&o, &stop);
}
