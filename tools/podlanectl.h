/* podlanectl's parts: printing helpers (podlanectl.c), the service and
 * conntrack commands (podlanectl_svc.c), the drops command
 * (podlanectl_drops.c) and stats --watch (podlanectl_watch.c). */
#ifndef PODLANECTL_H
#define PODLANECTL_H

#include <jansson.h>

/* A member as text: strings as they are, numbers, yes/no, "-" if absent. */
const char *cli_str(json_t *o, const char *k);
/* A table of the given columns from an array of objects, widths fitted. */
void cli_table(json_t *rows, const char *const cols[], const char *const heads[]);

/* "service ..." and "conntrack ..." (a[0]): the method, its params and
 * the printer of its result; non-zero with *why on bad usage. */
int cli_svc_command(int n, char **a, const char **method, json_t **params,
		    void (**print)(json_t *), const char **why);
/* "drops ...": drops.list's params and its printer (-w FILE: pcapng). */
int cli_drops_command(int n, char **a, const char **method, json_t **params,
		      void (**print)(json_t *), const char **why);
/* stats --watch: every interval seconds, count times (0: until stopped). */
struct pl_client;
int cli_watch_stats(struct pl_client *c, const char *sock, double interval, long count);
/* route.lookup's params for ADDRESS[:PORT[/tcp|udp]] and SOURCE[:PORT]
 * (may be NULL); NULL when either is malformed. */
json_t *cli_trace_params(const char *to, const char *from);

#endif
