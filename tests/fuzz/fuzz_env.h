/* Shared set-up of the fuzz targets: EAL without hugepages or PCI, inside
 * a private network namespace so nothing a target does can touch the
 * host's interfaces. */
#ifndef FUZZ_ENV_H
#define FUZZ_ENV_H

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <rte_eal.h>

static inline void fuzz_eal_init(void)
{
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "--file-prefix=plfuzz%d", (int)getpid());
	char *argv[] = {"fuzz", "--no-huge", "-m", "512", "--no-pci", "--no-shconf", "-l", "0",
			"--log-level", "*:error", prefix, NULL};
	if (unshare(CLONE_NEWNET) != 0) {
		perror("unshare(CLONE_NEWNET) (run as root)");
		exit(1);
	}
	if (rte_eal_init(11, argv) < 0)
		exit(1);
}

#endif
