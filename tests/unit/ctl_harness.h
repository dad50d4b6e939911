/* The control side in one process for unit tests: EAL without hugepages,
 * PCI or shared files, in a private network namespace; the dataplane's
 * tables without ports or workers; the node's tables from a config; a
 * state directory of its own. Requests go through the JSON-RPC handler as
 * a client's would. */
#ifndef CTL_HARNESS_H
#define CTL_HARNESS_H

#include <jansson.h>

/* config: JSON as podlaned.json holds it (state_dir is the harness's). */
void ctl_harness_init(const char *config);
/* The state directory, and one of its files. */
const char *ctl_harness_state_dir(void);
void ctl_harness_path(char *buf, size_t len, const char *file);
/* One request: its result (new reference), or NULL with the error's
 * message in *msg and code in *code (either may be NULL). */
json_t *ctl_call(const char *method, json_t *params, int *code, char *msg, size_t msglen);
/* A request that must succeed (the test fails otherwise). */
json_t *ctl_call_ok(const char *method, json_t *params);

#endif
