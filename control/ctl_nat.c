/* The kernel NAT podlane relies on, in an nftables table of our own
 * (replaced whole at start, deleted at stop; nothing else in the ruleset
 * is touched):
 * - masquerade: connections the node's kernel DNATs to a pod (kube-proxy's
 *   Services and NodePorts, portmap's hostPorts) arrive through the host
 *   port, but podlaned routes the pod's answers directly, past the kernel,
 *   whose NAT would then never be undone. Masqueraded, the answers go to
 *   the node IP and pass the kernel again.
 *   With nat_outgoing, only clients podlaned routes elsewhere than to the
 *   kernel need it (set "routed", kept in step with the route table):
 *   answers to any other client reach the kernel by the default route,
 *   so those keep their address (externalTrafficPolicy: Local works).
 * - nat_outgoing: pods' packets leaving cluster_cidr reach the kernel by
 *   podlaned's default route and leave masqueraded to the node IP, for
 *   networks that do not route pod addresses. */
#include <stdio.h>
#include <stdlib.h>

#include <nftables/libnftables.h>

#include "ctl_node.h"

#define NAT_TABLE "ip podlane"

static bool installed;
static bool keep_clients;   /* the masquerade rule looks at set "routed" */
static uint64_t synced_gen; /* node.routes_gen the set was made from */
static bool failing;        /* the last update of the set failed */

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

/* A forwarding sysctl of the node kernel: 1 when unreadable. */
static int sysctl_on(const char *path)
{
	FILE *f = fopen(path, "r");
	int on = 1;

	if (f != NULL) {
		if (fscanf(f, "%d", &on) != 1)
			on = 1;
		fclose(f);
	}
	return on;
}

/* ip_forward off makes the kernel drop what it should pass back to us. */
static void check_forwarding(void)
{
	if (!sysctl_on("/proc/sys/net/ipv4/ip_forward"))
		ctl_warn("net.ipv4.ip_forward is 0: the kernel will not forward Services, "
			 "hostPorts or outgoing NAT for pods (set it to 1)");
}

void ctl_nat_check_ipv6_forwarding(void)
{
	if (!sysctl_on("/proc/sys/net/ipv6/conf/all/forwarding"))
		ctl_warn("net.ipv6.conf.all.forwarding is 0: the kernel will not route pods' IPv6 "
			 "to other nodes and beyond (set it to 1, and accept_ra to 2 where the node "
			 "takes its own routes from router advertisements)");
}

int ctl_nat_start(const struct ctl_config *c, char *err, size_t errlen)
{
	char script[1024], why[256], net[CTL_PREFIX_STRLEN];
	int n;

	if ((!c->masquerade && !c->nat_outgoing) || !c->has_ipv4) /* IPv4's NAT only */
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
	keep_clients = c->masquerade && c->nat_outgoing;
	if (keep_clients)
		n += snprintf(script + n, sizeof(script) - (size_t)n,
			      "    oifname \"%s\" ct status dnat ip saddr @routed masquerade\n",
			      c->host_port);
	else if (c->masquerade)
		n += snprintf(script + n, sizeof(script) - (size_t)n,
			      "    oifname \"%s\" ct status dnat masquerade\n", c->host_port);
	if (c->nat_outgoing)
		n += snprintf(script + n, sizeof(script) - (size_t)n,
			      "    ip saddr %s ip daddr != %s masquerade\n",
			      ctl_prefix_str(c->cluster_net, c->cluster_plen, net), net);
	n += snprintf(script + n, sizeof(script) - (size_t)n, "  }\n");
	if (keep_clients)
		n += snprintf(script + n, sizeof(script) - (size_t)n,
			      "  set routed { type ipv4_addr; flags interval; auto-merge; }\n");
	snprintf(script + n, sizeof(script) - (size_t)n, "}\n");
	if (nft_run(script, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "cannot install nftables table %s: %s (see \"masquerade\" "
			 "and \"nat_outgoing\" in the config)", NAT_TABLE, why);
		return -1;
	}
	installed = true;
	synced_gen = node.routes_gen - 1; /* filled by the first ctl_nat_sync */
	return 0;
}

/* Does podlaned route this IPv4 prefix elsewhere than to the kernel (a
 * local route, or dev host)? Prefixes inside cluster_cidr are its own (the
 * set holds cluster_cidr whole). */
static bool routed_elsewhere(const struct ctl_route *r)
{
	const struct ctl_config *c = &node.cfg;

	return r->used && !r->dst.v6 && r->nh.kind != DP_NH_LOCAL &&
	       !(r->nh.kind == DP_NH_PORT && r->nh.port == dp_host_port()) &&
	       !(r->plen >= c->cluster_plen &&
		 ((r->prefix ^ c->cluster_net) & ctl_mask(c->cluster_plen)) == 0);
}

void ctl_nat_sync(void)
{
	char net[CTL_PREFIX_STRLEN], why[256];
	size_t cap = 4096, n = 0;
	char *script;

	if (!installed || !keep_clients || synced_gen == node.routes_gen)
		return;
	if ((script = malloc(cap)) == NULL)
		return; /* tried again in a second */
	/* The set is replaced whole in one transaction: no instant without it. */
	n += (size_t)snprintf(script, cap, "flush set " NAT_TABLE " routed\n"
				   "add element " NAT_TABLE " routed { %s",
			      ctl_prefix_str(node.cfg.cluster_net, node.cfg.cluster_plen, net));
	for (uint32_t i = 0; i < node.route_cap; i++) {
		if (!routed_elsewhere(&node.routes[i]))
			continue;
		if (cap - n < CTL_PREFIX_STRLEN + 8) {
			char *more = realloc(script, cap *= 2);
			if (more == NULL) {
				free(script);
				return;
			}
			script = more;
		}
		n += (size_t)snprintf(script + n, cap - n, ", %s",
				      ctl_prefix_str(node.routes[i].prefix, node.routes[i].plen, net));
	}
	snprintf(script + n, cap - n, " }\n");
	if (nft_run(script, why, sizeof(why)) == 0) {
		synced_gen = node.routes_gen;
		failing = false;
	} else if (!failing) { /* retried each second, said once */
		ctl_warn("nftables set %s routed: cannot update it: %s (clients of Services and "
			 "hostPorts in new routes are not masqueraded)", NAT_TABLE, why);
		failing = true;
	}
	free(script);
}

void ctl_nat_stop(void)
{
	char why[256];

	if (installed && nft_run("delete table " NAT_TABLE "\n", why, sizeof(why)) != 0)
		ctl_warn("cannot delete nftables table %s: %s", NAT_TABLE, why);
	installed = false;
}
