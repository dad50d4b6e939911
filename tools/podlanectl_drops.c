/* podlanectl drops: the drop recorder's packets (drops.list), one line
 * each, or written as pcapng (-w FILE) for tcpdump -r and Wireshark, each
 * packet's reason, port and pod in its comment. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "podlanectl.h"
#include "podlane_api.h"

static const char *out_path; /* -w FILE */

/* "2026-12-06T20:05:01.123456Z" -> nanoseconds since 1970 (0: malformed). */
static uint64_t time_ns(const char *s)
{
	struct tm tm = {0};
	unsigned us;

	if (s == NULL || sscanf(s, "%d-%d-%dT%d:%d:%d.%6uZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
				&tm.tm_hour, &tm.tm_min, &tm.tm_sec, &us) != 7)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (uint64_t)timegm(&tm) * 1000000000u + (uint64_t)us * 1000u;
}

/* pcapng blocks (draft-ietf-opsawg-pcapng), little-endian as this host. */
static void put32(FILE *f, uint32_t v) { fwrite(&v, 4, 1, f); }
static void put16(FILE *f, uint16_t v) { fwrite(&v, 2, 1, f); }
static void pad(FILE *f, size_t n) { static const uint8_t z[4]; fwrite(z, 1, (4 - n % 4) % 4, f); }
#define PAD4(n) (((n) + 3u) & ~3u)

static void header_blocks(FILE *f)
{
	put32(f, 0x0A0D0D0A); /* section header */
	put32(f, 28);
	put32(f, 0x1A2B3C4D);
	put16(f, 1);
	put16(f, 0);
	put32(f, 0xffffffff); /* section length unknown */
	put32(f, 0xffffffff);
	put32(f, 28);
	put32(f, 1); /* interface: Ethernet, timestamps in ns (if_tsresol 9) */
	put32(f, 32);
	put16(f, 1);
	put16(f, 0);
	put32(f, 0);
	put16(f, 9);
	put16(f, 1);
	put32(f, 9);
	put32(f, 0); /* end of options */
	put32(f, 32);
}

static int packet_block(FILE *f, json_t *d)
{
	const char *hex = json_string_value(json_object_get(d, "data"));
	uint8_t data[1024];
	size_t n = hex ? strlen(hex) / 2 : 0;
	char comment[256];

	if (n > sizeof(data))
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned b;
		if (sscanf(hex + 2 * i, "%2x", &b) != 1)
			return -1;
		data[i] = (uint8_t)b;
	}
	int cl = snprintf(comment, sizeof(comment), "podlane drop: reason %s, port %s, pod %s",
			  cli_str(d, "reason"), cli_str(d, "port"), cli_str(d, "pod"));
	size_t clen = (size_t)cl < sizeof(comment) ? (size_t)cl : sizeof(comment) - 1;
	uint32_t total = 32 + PAD4((uint32_t)n) + 4 + PAD4((uint32_t)clen) + 4;
	uint64_t ts = time_ns(json_string_value(json_object_get(d, "time")));
	put32(f, 6); /* enhanced packet */
	put32(f, total);
	put32(f, 0);
	put32(f, (uint32_t)(ts >> 32));
	put32(f, (uint32_t)ts);
	put32(f, (uint32_t)n);
	put32(f, (uint32_t)json_integer_value(json_object_get(d, "length")));
	fwrite(data, 1, n, f);
	pad(f, n);
	put16(f, 1); /* opt_comment */
	put16(f, (uint16_t)clen);
	fwrite(comment, 1, clen, f);
	pad(f, clen);
	put32(f, 0);
	put32(f, total);
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
	header_blocks(f);
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
