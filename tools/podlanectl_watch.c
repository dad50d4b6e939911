/* podlanectl stats --watch: rates per port, drops and worker load from
 * the difference of two stats.get, and the busiest tracked connections
 * from two conntrack.list, every interval. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pl_client.h"
#include "podlanectl.h"
#include "podlane_api.h"

static double num(json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

static json_t *port_by_id(json_t *ports, json_int_t id, const char *name)
{
	size_t i;
	json_t *p;

	json_array_foreach(ports, i, p)
		if (json_integer_value(json_object_get(p, "id")) == id &&
		    strcmp(cli_str(p, "name"), name) == 0)
			return p;
	return NULL;
}

static void set_rate(json_t *row, const char *k, double v)
{
	char b[32];
	snprintf(b, sizeof(b), "%.0f", v);
	json_object_set_new(row, k, json_string(b));
}

/* One block per interval: rates from the difference of two stats.get. */
static void print_rates(json_t *prev, json_t *cur, double dt)
{
	json_t *rows = json_array(), *p, *v;
	const char *key;
	char stamp[32];
	time_t now = time(NULL);
	size_t i;

	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	printf("%s  every %.1f s\n", stamp, dt);
	json_array_foreach(json_object_get(cur, "ports"), i, p) {
		json_t *o = port_by_id(json_object_get(prev, "ports"), json_integer_value(json_object_get(p, "id")), cli_str(p, "name"));
		json_t *row = json_pack("{s:s}", "name", cli_str(p, "name"));
		if (o == NULL)
			o = p; /* a port that just appeared: no rate yet */
		set_rate(row, "rx_pps", (num(p, "rx_packets") - num(o, "rx_packets")) / dt);
		set_rate(row, "rx_bps", (num(p, "rx_bytes") - num(o, "rx_bytes")) * 8 / dt);
		set_rate(row, "tx_pps", (num(p, "tx_packets") - num(o, "tx_packets")) / dt);
		set_rate(row, "tx_bps", (num(p, "tx_bytes") - num(o, "tx_bytes")) * 8 / dt);
		set_rate(row, "missed", (num(p, "rx_missed") - num(o, "rx_missed")) / dt);
		json_array_append_new(rows, row);
	}
	cli_table(rows, (const char *const[]){"name", "rx_pps", "rx_bps", "tx_pps", "tx_bps", "missed", NULL},
	      (const char *const[]){"PORT", "RX_PPS", "RX_BIT/S", "TX_PPS", "TX_BIT/S", "MISSED/S"});
	json_decref(rows);
	json_object_foreach(json_object_get(cur, "drops"), key, v) {
		double d = json_number_value(v) - num(json_object_get(prev, "drops"), key);
		if (d > 0)
			printf("drops %s: %.0f/s\n", key, d / dt);
	}
	json_array_foreach(json_object_get(cur, "workers"), i, p)
		printf("%sworker %s busy %.1f%%", i ? ", " : "", cli_str(p, "id"), num(p, "busy_ratio") * 100);
	printf("\n");
}

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* stats.get; once more on a new connection if this one was closed (podlaned
 * closes connections idle for PL_CLIENT_IDLE_MS, and restarts). */
/* method's result, the connection opened again once if podlaned closed
 * it (an idle client is dropped after a while). */
static json_t *call(struct pl_client *c, const char *sock, const char *method, json_t *params,
		    char *msg, size_t len)
{
	int code;
	json_t *r = pl_client_call(c, method, json_incref(params), &code, msg, len);

	if (r == NULL && code == 0) {
		pl_client_close(c);
		if (pl_client_open(c, sock, 30000, msg, len) == 0)
			r = pl_client_call(c, method, json_incref(params), &code, msg, len);
	}
	json_decref(params);
	return r;
}

/* stats.get, with the tracked connections under "flows" (at most
 * TOP_SCAN of them: the top flows are those of these; none asked for
 * while none are tracked). */
#define TOP_SCAN 10000
#define TOP_N 5
static json_t *stats(struct pl_client *c, const char *sock, char *msg, size_t len)
{
	json_t *r = call(c, sock, PL_M_STATS_GET, NULL, msg, len);
	bool tracked = json_integer_value(json_object_get(r, "flows_in_use")) > 0;
	json_t *ct = tracked ? call(c, sock, PL_M_CONNTRACK_LIST, json_pack("{s:i}", "limit", TOP_SCAN),
				    msg, len)
			     : NULL;

	if (ct != NULL) {
		json_object_set(r, "flows", json_object_get(ct, "flows"));
		json_object_set(r, "flows_matched", json_object_get(ct, "matched"));
	}
	json_decref(ct);
	return r;
}

/* A connection's name in both snapshots: its original direction. */
static void flow_key(json_t *f, char *b, size_t n)
{
	json_t *o = json_object_get(f, "original");
	json_t *s = json_object_get(o, "source"), *d = json_object_get(o, "destination");
	snprintf(b, n, "%s %s:%s > %s:%s", cli_str(f, "protocol"), cli_str(s, "ip"), cli_str(s, "port"),
		 cli_str(d, "ip"), cli_str(d, "port"));
}

static double flow_bytes(json_t *f)
{
	json_t *b = json_object_get(f, "bytes");
	return json_number_value(json_array_get(b, 0)) + json_number_value(json_array_get(b, 1));
}

static int by_rate(const void *a, const void *b)
{
	double x = json_number_value(json_object_get(*(json_t *const *)a, "bps"));
	double y = json_number_value(json_object_get(*(json_t *const *)b, "bps"));
	return x < y ? 1 : x > y ? -1 : 0;
}

/* The TOP_N tracked connections by bit rate (both directions) over the interval. */
static void print_top_flows(json_t *prev, json_t *cur, double dt)
{
	json_t *old = json_object(), *f, *rows = json_array();
	size_t i, n = 0;
	char k[160];

	json_array_foreach(json_object_get(prev, "flows"), i, f) {
		flow_key(f, k, sizeof(k));
		json_object_set(old, k, f);
	}
	json_t **top = calloc(json_array_size(json_object_get(cur, "flows")) + 1, sizeof(*top));
	json_array_foreach(json_object_get(cur, "flows"), i, f) {
		flow_key(f, k, sizeof(k));
		json_t *o = json_object_get(old, k);
		double d = flow_bytes(f) - (o ? flow_bytes(o) : 0);
		if (d > 0 && top != NULL)
			top[n++] = json_pack("{s:s, s:f, s:s}", "flow", k, "bps", d * 8 / dt, "service",
					     cli_str(f, "service"));
	}
	if (top != NULL)
		qsort(top, n, sizeof(*top), by_rate);
	for (i = 0; i < n; i++) {
		if (i < TOP_N) {
			set_rate(top[i], "rate", json_number_value(json_object_get(top[i], "bps")));
			json_array_append(rows, top[i]);
		}
		json_decref(top[i]);
	}
	if (json_array_size(rows)) {
		printf("top connections%s:\n", num(cur, "flows_matched") > TOP_SCAN ? " (of the first 10000)" : "");
		cli_table(rows, (const char *const[]){"flow", "rate", "service", NULL},
			  (const char *const[]){"CONNECTION", "BIT/S", "SERVICE"});
	}
	free(top);
	json_decref(rows);
	json_decref(old);
}

int cli_watch_stats(struct pl_client *c, const char *sock, double interval, long count)
{
	char msg[1024];
	json_t *prev = stats(c, sock, msg, sizeof(msg));
	double t0 = mono_s();

	for (long n = 0; prev != NULL && (count == 0 || n < count); n++) {
		usleep((useconds_t)(interval * 1e6));
		json_t *cur = stats(c, sock, msg, sizeof(msg));
		double t1 = mono_s();
		if (cur == NULL) {
			json_decref(prev);
			prev = NULL;
			break;
		}
		print_rates(prev, cur, t1 - t0);
		print_top_flows(prev, cur, t1 - t0);
		printf("\n");
		fflush(stdout);
		json_decref(prev);
		prev = cur;
		t0 = t1;
	}
	if (prev == NULL) {
		fprintf(stderr, "podlanectl: %s\n", msg);
		return 1;
	}
	json_decref(prev);
	return 0;
}

