/* The one piece of kernel NAT podlane needs: connections the node's kernel
 * DNATs to a pod (kube-proxy's Services and NodePorts, portmap's
 * hostPorts) arrive through the host port, but podlaned routes the pod's
 * answers directly, past the kernel, whose NAT would then never be
 * undone. Masquerading them makes the answers go to the node IP, so they
 * pass the kernel again. Our own nftables table, replaced whole at start
 * and deleted at stop; nothing else in the ruleset is touched. */
#include <stdio.h>

#include <nftables/libnftables.h>

#include "ctl.h"

#define NAT_TABLE "ip podlane"

static bool installed;

/* Runs one nft script as one transaction; err gets nft's message. */
static int nft_run(const char *script, char *err, size_t errlen)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	int rc;

	if (ctx == NULL || nft_ctx_buffer_output(ctx) != 0 || nft_ctx_buffer_error(ctx) != 0) {
		snprintf(err, errlen, "out of memory");
		if (ctx != NULL)
			nft_ctx_free(ctx);
		return -1;
	}
	rc = nft_run_cmd_from_buffer(ctx, script);
	if (rc != 0) {
		const char *msg = nft_ctx_get_error_buffer(ctx);
		snprintf(err, errlen, "%.*s", (int)strcspn(msg ? msg : "", "\n"), msg ? msg : "");
	}
	nft_ctx_free(ctx);
	return rc == 0 ? 0 : -1;
}

int ctl_nat_start(const char *host_port, char *err, size_t errlen)
{
	char script[512], why[256];

	/* "add, delete, define" in one transaction: replaces a table left by
	 * a podlaned that did not stop cleanly, and never leaves none. */
	snprintf(script, sizeof(script),
		 "add table " NAT_TABLE "\n"
		 "delete table " NAT_TABLE "\n"
		 "table " NAT_TABLE " {\n"
		 "  chain kernel_nat {\n"
		 "    type nat hook postrouting priority srcnat; policy accept;\n"
		 "    oifname \"%s\" ct status dnat masquerade\n"
		 "  }\n"
		 "}\n",
		 host_port);
	if (nft_run(script, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "masquerade: cannot install nftables table %s: %s (\"masquerade\": "
			 "false runs without it)", NAT_TABLE, why);
		return -1;
	}
	installed = true;
	return 0;
}

void ctl_nat_stop(void)
{
	char why[256];

	if (installed && nft_run("delete table " NAT_TABLE "\n", why, sizeof(why)) != 0)
		ctl_warn("masquerade: cannot delete nftables table %s: %s", NAT_TABLE, why);
	installed = false;
}
