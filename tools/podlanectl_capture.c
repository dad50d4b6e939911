/* podlanectl capture: the frames a pod's port (or any port) receives and
 * sends, through a pcap filter, printed one line each as tcpdump does or
 * written as pcapng (-w FILE, "-" for standard output) with each frame's
 * direction. It runs until COUNT frames, an interrupt, or podlaned ends
 * it; podlaned ends the capture when this process goes. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pl_client.h"
#include "podlanectl.h"
#include "podlane_api.h"

#define SNAP_MAX 262144

const char cli_capture_usage[] =
	"capture TARGET [-c COUNT] [-s SNAPLEN] [-w FILE] [-Q in|out|inout] [FILTER]";

/* Interrupts (SIGINT, SIGTERM) so far; SIGALRM: the stop took too long. */
static volatile sig_atomic_t interrupted, gave_up;

static void on_signal(int sig)
{
	if (sig == SIGALRM)
		gave_up = 1;
	else
		interrupted++;
}

struct out {
	FILE *f;       /* -w: pcapng; NULL: text on stdout */
	uint8_t *buf;  /* a frame's bytes */
	long captured;
	long long lost;
};

/* "20:05:01.123456 in  IP ..." */
static void print_frame(json_t *p, const uint8_t *data, uint32_t caplen, uint32_t len)
{
	uint64_t ns = (uint64_t)json_integer_value(json_object_get(p, "time_ns"));
	time_t s = (time_t)(ns / 1000000000u);
	struct tm tm;
	char when[32], what[256];

	localtime_r(&s, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	cli_frame_text(what, sizeof(what), data, caplen, len);
	printf("%s.%06u %-3s %s\n", when, (unsigned)(ns % 1000000000u / 1000), cli_str(p, "dir"), what);
}

static int packets(struct out *o, json_t *params)
{
	json_t *p;
	size_t i;

	json_array_foreach(json_object_get(params, "packets"), i, p) {
		long n = cli_unhex(json_string_value(json_object_get(p, "data")), o->buf, SNAP_MAX);
		uint32_t len = (uint32_t)json_integer_value(json_object_get(p, "length"));
		if (n < 0)
			return -1;
		if (o->f)
			cli_pcapng_packet(o->f, (uint64_t)json_integer_value(json_object_get(p, "time_ns")),
					  o->buf, (uint32_t)n, len,
					  strcmp(cli_str(p, "dir"), "in") == 0 ? CLI_DIR_IN : CLI_DIR_OUT,
					  NULL);
		else
			print_frame(p, o->buf, (uint32_t)n, len);
		o->captured++;
	}
	o->lost = json_integer_value(json_object_get(params, "lost"));
	/* Each line's frames reach the file or terminal at once: a capture
	 * killed mid-run leaves a file that reads to its last frame. */
	fflush(o->f ? o->f : stdout);
	return 0;
}

/* The frames podlaned streams, until the capture's end. An interrupt
 * asks podlaned to stop the capture once it has sent what it holds, and
 * the wait for those frames goes on for at most STOP_WAIT_S; a second
 * interrupt ends it at once. */
#define STOP_WAIT_S 3
static int stream(struct pl_client *c, struct out *o)
{
	char msg[512];
	bool stopping = false;

	while (interrupted < 2 && !gave_up) {
		if (interrupted && !stopping) {
			stopping = true;
			alarm(STOP_WAIT_S);
			if (pl_client_notify(c, PL_M_CAPTURE_STOP, NULL, msg, sizeof(msg)) != 0)
				break;
		}
		json_t *m = pl_client_next(c, msg, sizeof(msg));
		if (m == NULL) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "podlanectl: capture: %s\n", msg);
			return 1;
		}
		const char *method = json_string_value(json_object_get(m, "method"));
		json_t *params = json_object_get(m, "params");
		if (method && strcmp(method, PL_N_CAPTURE_PACKETS) == 0 && packets(o, params) != 0) {
			fprintf(stderr, "podlanectl: capture: malformed frame from podlaned\n");
			json_decref(m);
			return 1;
		}
		if (method && strcmp(method, PL_N_CAPTURE_END) == 0) {
			const char *why = cli_str(params, "reason");
			bool done = strcmp(why, "count") == 0 || strcmp(why, "stopped") == 0;
			bool gone = strcmp(why, "port_removed") == 0;
			o->lost = json_integer_value(json_object_get(params, "lost"));
			if (!done)
				fprintf(stderr, "podlanectl: capture ended: %s\n",
					gone ? "the port was removed"
					: strcmp(why, "client_behind") == 0 ? "this client fell too far behind"
					: why);
			json_decref(m);
			return done || gone ? 0 : 1;
		}
		json_decref(m);
	}
	return 0;
}

json_t *cli_capture_params(int n, char **a, const char **path)
{
	json_t *params = n >= 2 ? json_pack("{s:s}", "target", a[1]) : NULL;
	char filter[4096] = "";
	size_t used = 0;
	int i = 2;

	if (params == NULL)
		return NULL;
	for (; i < n && a[i][0] == '-' && a[i][1] != '\0'; i += 2) {
		char *end;
		if (i + 1 == n || a[i][2] != '\0')
			goto bad;
		long long v = strtoll(a[i + 1], &end, 10);
		if (a[i][1] == 'w') {
			*path = a[i + 1];
		} else if (a[i][1] == 'Q') {
			json_object_set_new(params, "direction", json_string(a[i + 1]));
		} else if ((a[i][1] == 'c' || a[i][1] == 's') && *end == '\0' && end != a[i + 1] && v >= 0) {
			json_object_set_new(params, a[i][1] == 'c' ? "count" : "snaplen", json_integer(v));
		} else {
			goto bad;
		}
	}
	/* The rest is the filter, its words joined as tcpdump joins them. */
	for (; i < n; i++) {
		int w = snprintf(filter + used, sizeof(filter) - used, "%s%s", used ? " " : "", a[i]);
		if (w < 0 || (size_t)w >= sizeof(filter) - used)
			goto bad;
		used += (size_t)w;
	}
	if (used)
		json_object_set_new(params, "filter", json_string(filter));
	return params;
bad:
	json_decref(params);
	return NULL;
}

int cli_capture(struct pl_client *c, json_t *params, const char *path)
{
	struct out o = {0};
	char msg[1024];
	int code;
	json_t *r = pl_client_call(c, PL_M_CAPTURE_START, params, &code, msg, sizeof(msg));
	if (r == NULL) {
		fprintf(stderr, "podlanectl: capture: %s\n", msg);
		return 1;
	}
	o.buf = malloc(SNAP_MAX);
	if (path != NULL)
		o.f = strcmp(path, "-") == 0 ? stdout : fopen(path, "wb");
	if (o.buf == NULL || (path != NULL && o.f == NULL)) {
		perror(path ? path : "podlanectl");
		json_decref(r);
		free(o.buf);
		return 1;
	}
	if (o.f)
		cli_pcapng_header(o.f, cli_str(r, "port"));
	fprintf(stderr, "podlanectl: capturing on %s%s%s, %s, snaplen %s%s%s%s\n", cli_str(r, "port"),
		json_is_string(json_object_get(r, "pod")) ? ", pod " : "",
		json_is_string(json_object_get(r, "pod")) ? cli_str(r, "pod") : "",
		cli_str(r, "direction"), cli_str(r, "snaplen"),
		*cli_str(r, "filter") ? ", filter '" : "", cli_str(r, "filter"),
		*cli_str(r, "filter") ? "'" : "");
	json_decref(r);

	/* No SA_RESTART: an interrupt ends the wait for podlaned's next line. */
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	int rc = stream(c, &o);
	if (o.f && o.f != stdout && fclose(o.f) != 0) {
		perror(path);
		rc = 1;
	}
	fprintf(stderr, "%ld packet%s captured, %lld lost%s%s\n", o.captured, o.captured == 1 ? "" : "s",
		o.lost, path && strcmp(path, "-") ? ", written to " : "", path && strcmp(path, "-") ? path : "");
	free(o.buf);
	return rc;
}
