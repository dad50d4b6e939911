/* The uplink's neighbours across a planned restart: a stopping podlaned
 * writes the MACs it resolved to state_dir/neighbours; the next reads them
 * before its workers start and removes the file, so its first packets to
 * a peer node or the gateway leave at once instead of waiting in an ARP
 * queue (64 per neighbour: a fast sender would overflow it). Each is
 * asked again at the first tick, as the kernel does with a STALE entry:
 * a neighbour whose MAC changed meanwhile is corrected within a second. A
 * kill leaves no file; ARP resolves them again.
 *
 * The file: "podlane-neighbours 1", then one "IP MAC" line each. */
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

static void write_one(uint32_t ip, const struct rte_ether_addr *mac, void *arg)
{
	struct writer *w = arg;
	char a[INET_ADDRSTRLEN], m[RTE_ETHER_ADDR_FMT_SIZE];

	inet_ntop(AF_INET, &ip, a, sizeof(a));
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
		uint32_t ip;
		struct rte_ether_addr mac;
		lineno++;
		if (sscanf(line, "%63s %63s", a, m) != 2 || inet_pton(AF_INET, a, &ip) != 1 ||
		    rte_ether_unformat_addr(m, &mac) != 0 || dp_neigh_import(ip, &mac) != 0) {
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
