/* podlanectl drops: the drop recorder's packets (drops.list), one line
 * each, or written as pcapng (-w FILE) for tcpdump -r and Wireshark, each
 * packet's reason, port and pod in its comment. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "podlanectl.h"
#include "podlane_api.h"

#define DROP_SNAP_MAX 512 /* bytes podlaned keeps of a drop: DP_DROP_SNAP, with room */

static const char *out_path; /* -w FILE */

static int packet_block(FILE *f, json_t *d)
{
	uint8_t data[2 * DROP_SNAP_MAX];
	long n = cli_unhex(json_string_value(json_object_get(d, "data")), data, sizeof(data));
	char comment[256];

	if (n < 0)
		return -1;
	snprintf(comment, sizeof(comment), "podlane drop: reason %s, port %s, pod %s",
		 cli_str(d, "reason"), cli_str(d, "port"), cli_str(d, "pod"));
	cli_pcapng_packet(f, (uint64_t)json_integer_value(json_object_get(d, "time_ns")), data,
			  (uint32_t)n, (uint32_t)json_integer_value(json_object_get(d, "length")),
			  CLI_DIR_IN, comment);
	return 0;
}

static void write_pcapng(json_t *drops)
{
	FILE *f = fopen(out_path, "wb");
	size_t i;
	json_t *d;

	if (f == NULL) {
		perror(out_path);
		exit(1);
	}
	cli_pcapng_header(f, NULL);
	json_array_foreach(drops, i, d) {
		if (packet_block(f, d) != 0) {
			fprintf(stderr, "podlanectl: drop %zu: malformed data from podlaned\n", i);
			exit(1);
		}
	}
	if (fclose(f) != 0) {
		perror(out_path);
		exit(1);
	}
	printf("%zu dropped packet(s) written to %s\n", json_array_size(drops), out_path);
}

/* "100.96.241.1:40000 > 100.96.242.1:80 tcp ttl 63", or the ethertype. */
static void describe(json_t *d)
{
	char s[160];

	if (json_object_get(d, "src") == NULL)
		snprintf(s, sizeof(s), "ethertype 0x%04llx",
			 (unsigned long long)json_integer_value(json_object_get(d, "ethertype")));
	else if (json_object_get(d, "sport"))
		snprintf(s, sizeof(s), "%s:%s > %s:%s %s ttl %s", cli_str(d, "src"), cli_str(d, "sport"),
			 cli_str(d, "dst"), cli_str(d, "dport"), cli_str(d, "protocol"), cli_str(d, "ttl"));
	else if (json_object_get(d, "icmp_type"))
		snprintf(s, sizeof(s), "%s > %s icmp type %s code %s ttl %s", cli_str(d, "src"),
			 cli_str(d, "dst"), cli_str(d, "icmp_type"), cli_str(d, "icmp_code"),
			 cli_str(d, "ttl"));
	else
		snprintf(s, sizeof(s), "%s > %s %s ttl %s", cli_str(d, "src"), cli_str(d, "dst"),
			 cli_str(d, "protocol"), cli_str(d, "ttl"));
	json_object_set_new(d, "packet", json_string(s));
}

static void print_drops(json_t *r)
{
	json_t *drops = json_object_get(r, "drops"), *d;
	size_t i;

	if (out_path != NULL) {
		write_pcapng(drops);
		return;
	}
	if (json_integer_value(json_object_get(r, "recording")) == 0) {
		puts("the drop recorder is off (drop_records: 0 in podlaned's config)");
		return;
	}
	json_array_foreach(drops, i, d)
		describe(d);
	cli_table(drops, (const char *const[]){"time", "reason", "port", "pod", "length", "packet", NULL},
		  (const char *const[]){"TIME", "REASON", "PORT", "POD", "LENGTH", "PACKET"});
}

int cli_drops_command(int n, char **a, const char **method, json_t **params,
		      void (**print)(json_t *), const char **why)
{
	*method = PL_M_DROPS_LIST;
	*print = print_drops;
	*params = json_object();
	for (int i = 1; i < n; i++) {
		char *end;
		if (i + 1 == n)
			goto bad;
		if (strcmp(a[i], "--reason") == 0) {
			json_object_set_new(*params, "reason", json_string(a[++i]));
		} else if (strcmp(a[i], "--pod") == 0) {
			json_object_set_new(*params, "pod", json_string(a[++i]));
		} else if (strcmp(a[i], "--limit") == 0) {
			long v = strtol(a[++i], &end, 10);
			if (*end || v < 0)
				goto bad;
			json_object_set_new(*params, "limit", json_integer(v));
		} else if (strcmp(a[i], "-w") == 0) {
			out_path = a[++i];
		} else {
			goto bad;
		}
	}
	return 0;
bad:
	json_decref(*params);
	*params = NULL;
	*why = "drops: [--reason REASON] [--pod CONTAINER_ID] [--limit N] [-w FILE]";
	return 1;
}
