/* The kernel NAT podlane relies on, in an nftables table of our own
 * (replaced whole at start, deleted at stop; nothing else in the ruleset
 * is touched):
 * - masquerade: connections the node's kernel DNATs to a pod (kube-proxy's
 *   Services and NodePorts, portmap's hostPorts) arrive through the host
 *   port, but podlaned routes the pod's answers directly, past the kernel,
 *   whose NAT would then never be undone. Masqueraded, the answers go to
 *   the node IP and pass the kernel again.
 * - nat_outgoing: pods' packets leaving cluster_cidr reach the kernel by
 *   podlaned's default route and leave masqueraded to the node IP, for
 *   networks that do not route pod addresses. */
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

/* ip_forward off makes the kernel drop what it should pass back to us. */
static void check_forwarding(void)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_forward", "r");
	int on = 1;

	if (f != NULL) {
		if (fscanf(f, "%d", &on) != 1)
			on = 1;
		fclose(f);
	}
	if (!on)
		ctl_warn("net.ipv4.ip_forward is 0: the kernel will not forward Services, "
			 "hostPorts or outgoing NAT for pods (set it to 1)");
}

int ctl_nat_start(const struct ctl_config *c, char *err, size_t errlen)
{
	char script[1024], why[256], net[CTL_PREFIX_STRLEN];
	int n;

	if (!c->masquerade && !c->nat_outgoing)
		return 0;
	check_forwarding();
	/* "add, delete, define" in one transaction: replaces a table left by
	 * a podlaned that did not stop cleanly, and never leaves none. */
	n = snprintf(script, sizeof(script),
		     "add table " NAT_TABLE "\n"
		     "delete table " NAT_TABLE "\n"
		     "table " NAT_TABLE " {\n"
		     "  chain kernel_nat {\n"
		     "    type nat hook postrouting priority srcnat; policy accept;\n");
	if (c->masquerade)
		n += snprintf(script + n, sizeof(script) - (size_t)n,
			      "    oifname \"%s\" ct status dnat masquerade\n", c->host_port);
	if (c->nat_outgoing)
		n += snprintf(script + n, sizeof(script) - (size_t)n,
			      "    ip saddr %s ip daddr != %s masquerade\n",
			      ctl_prefix_str(c->cluster_net, c->cluster_plen, net), net);
	snprintf(script + n, sizeof(script) - (size_t)n, "  }\n}\n");
	if (nft_run(script, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "cannot install nftables table %s: %s (see \"masquerade\" "
			 "and \"nat_outgoing\" in the config)", NAT_TABLE, why);
		return -1;
	}
	installed = true;
	return 0;
}

void ctl_nat_stop(void)
{
	char why[256];

	if (installed && nft_run("delete table " NAT_TABLE "\n", why, sizeof(why)) != 0)
		ctl_warn("cannot delete nftables table %s: %s", NAT_TABLE, why);
	installed = false;
}
