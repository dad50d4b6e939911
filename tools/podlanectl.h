/* podlanectl's parts: printing helpers (podlanectl.c), the service and
 * conntrack commands (podlanectl_svc.c), the policy commands
 * (podlanectl_policy.c), the drops command
 * (podlanectl_drops.c), stats --watch (podlanectl_watch.c), capture
 * (podlanectl_capture.c), pcapng files (podlanectl_pcapng.c) and frames
 * as one line of text (podlanectl_frame.c). */
#ifndef PODLANECTL_H
#define PODLANECTL_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

struct pl_client;

/* A member as text: strings as they are, numbers, yes/no, "-" if absent. */
const char *cli_str(json_t *o, const char *k);
/* A table of the given columns from an array of objects, widths fitted. */
void cli_table(json_t *rows, const char *const cols[], const char *const heads[]);

/* "service ..." and "conntrack ..." (a[0]): the method, its params and
 * the printer of its result; non-zero with *why on bad usage. */
int cli_svc_command(int n, char **a, const char **method, json_t **params,
		    void (**print)(json_t *), const char **why);
/* "policy ...": list, add FILE (JSON, "-": stdin), del NAME. */
int cli_policy_command(int n, char **a, const char **method, json_t **params,
		       void (**print)(json_t *), const char **why);
/* "drops ...": drops.list's params and its printer (-w FILE: pcapng). */
int cli_drops_command(int n, char **a, const char **method, json_t **params,
		      void (**print)(json_t *), const char **why);
/* stats --watch: every interval seconds, count times (0: until stopped). */
int cli_watch_stats(struct pl_client *c, const char *sock, double interval, long count);
/* route.lookup's params for ADDRESS[:PORT[/tcp|udp]] and SOURCE[:PORT]
 * (may be NULL); NULL when either is malformed. */
json_t *cli_trace_params(const char *to, const char *from);

/* "capture TARGET ...": capture.start's params and the -w path (NULL:
 * print), or NULL on bad usage (cli_capture_usage says what is right);
 * cli_capture then streams until COUNT frames, an interrupt or the end. */
json_t *cli_capture_params(int n, char **a, const char **path);
int cli_capture(struct pl_client *c, json_t *params, const char *path);
extern const char cli_capture_usage[];

/* pcapng: a section with one Ethernet interface (if_name ifname, may be
 * NULL), then packets, received (CLI_DIR_IN) or sent (CLI_DIR_OUT). */
enum { CLI_DIR_NONE, CLI_DIR_IN, CLI_DIR_OUT };
void cli_pcapng_header(FILE *f, const char *ifname);
void cli_pcapng_packet(FILE *f, uint64_t ts_ns, const uint8_t *data, uint32_t caplen, uint32_t len,
		       int dir, const char *comment);
/* hex text -> bytes; how many, or -1 if malformed or longer than max. */
long cli_unhex(const char *hex, uint8_t *out, size_t max);
/* A frame as tcpdump prints it, roughly: "IP 10.0.0.1.80 > ...". */
void cli_frame_text(char *out, size_t n, const uint8_t *p, uint32_t caplen, uint32_t len);

#endif
