/* The uplink's neighbours across a planned restart: a stopping podlaned
 * writes the MACs it resolved to state_dir/neighbours; the next reads them
 * before its workers start and removes the file, so its first packets to
 * a peer node or the gateway leave at once instead of waiting in an ARP
 * or NDP queue (64 per neighbour: a fast sender would overflow it). Each
 * is asked again at the first tick, as the kernel does with a STALE
 * entry: a neighbour whose MAC changed meanwhile is corrected within a
 * second. A kill leaves no file; ARP and NDP resolve them again.
 *
 * The file: "podlane-neighbours 1", then one "IP MAC" line each, IPv4 or
 * IPv6 (a podlaned before IPv6's lines skips them with a warning). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl_node.h"

#define HEADER "podlane-neighbours 1"

static void path_of(char *buf, size_t len, const char *suffix)
{
	snprintf(buf, len, "%s/neighbours%s", node.cfg.state_dir, suffix);
}

struct writer {
	FILE *f;
	unsigned n;
};

static void write_one(const struct dp_neigh_addr *n, const struct rte_ether_addr *mac, void *arg)
{
	struct writer *w = arg;
	char a[INET6_ADDRSTRLEN], m[RTE_ETHER_ADDR_FMT_SIZE];

	if (n->v6)
		inet_ntop(AF_INET6, n->ip6, a, sizeof(a));
	else
		inet_ntop(AF_INET, &n->ip, a, sizeof(a));
	rte_ether_format_addr(m, sizeof(m), mac);
	fprintf(w->f, "%s %s\n", a, m);
	w->n++;
}

void ctl_neigh_save(void)
{
	char path[340], tmp[340];

	path_of(path, sizeof(path), "");
	path_of(tmp, sizeof(tmp), ".tmp");
	struct writer w = {.f = fopen(tmp, "w")};
	if (w.f == NULL) {
		ctl_warn("neighbours: cannot write %s (%s)", tmp, strerror(errno));
		return;
	}
	fprintf(w.f, HEADER "\n");
	dp_neigh_walk(write_one, &w);
	bool bad = ferror(w.f) != 0;
	if (fclose(w.f) != 0 || bad || rename(tmp, path) != 0) {
		ctl_warn("neighbours: cannot write %s (%s)", path, strerror(errno ? errno : EIO));
		unlink(tmp);
		return;
	}
	ctl_log("neighbours: %u kept for the next podlaned in %s", w.n, path);
}

void ctl_neigh_restore(void)
{
	char path[340], line[128], a[64], m[64];
	unsigned done = 0, bad = 0, lineno = 1;

	path_of(path, sizeof(path), "");
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return;
	if (fgets(line, sizeof(line), f) == NULL || strcmp(line, HEADER "\n") != 0) {
		ctl_warn("neighbours: %s is not a neighbour file of this podlaned: ignored", path);
		goto out;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		struct dp_neigh_addr n = {0};
		struct rte_ether_addr mac;
		lineno++;
		bool ok = sscanf(line, "%63s %63s", a, m) == 2;
		n.v6 = ok && strchr(a, ':') != NULL;
		if (!ok || (n.v6 ? inet_pton(AF_INET6, a, n.ip6) : inet_pton(AF_INET, a, &n.ip)) != 1 ||
		    rte_ether_unformat_addr(m, &mac) != 0 || dp_neigh_import(&n, &mac) != 0) {
			if (bad++ == 0)
				ctl_warn("neighbours: %s line %u: not taken: %.60s", path, lineno, line);
			continue;
		}
		done++;
	}
	ctl_log("neighbours: %u taken over from the podlaned before%s", done,
		bad ? " (some lines not taken)" : "");
out:
	fclose(f);
	unlink(path);
}
