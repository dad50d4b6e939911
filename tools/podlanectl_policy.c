/* podlanectl's policy commands: a policy from a JSON file (as policy.add
 * takes it), the list as a table with each policy's connections. */
#include <stdio.h>
#include <string.h>

#include "podlanectl.h"
#include "podlane_api.h"

static const char *rules_of(json_t *p, const char *dir, char buf[16])
{
	json_t *r = json_object_get(p, dir);

	if (r == NULL)
		return "-"; /* not isolated by this one */
	snprintf(buf, 16, "%zu", json_array_size(r));
	return buf;
}

static void print_policies(json_t *r)
{
	json_t *p, *rule;
	size_t i, j;
	char in[16], out[16];

	json_array_foreach(r, i, p) {
		long long conns = 0;
		for (int d = 0; d < 2; d++)
			json_array_foreach(json_object_get(p, d ? "egress" : "ingress"), j, rule)
				conns += json_integer_value(json_object_get(rule, "connections"));
		json_object_set_new(p, "n_pods", json_integer((json_int_t)json_array_size(
							  json_object_get(p, "pods"))));
		json_object_set_new(p, "in", json_string(rules_of(p, "ingress", in)));
		json_object_set_new(p, "out", json_string(rules_of(p, "egress", out)));
		json_object_set_new(p, "conns", json_integer(conns));
	}
	cli_table(r, (const char *const[]){"name", "n_pods", "in", "out", "conns", "origin", NULL},
		  (const char *const[]){"NAME", "PODS", "INGRESS_RULES", "EGRESS_RULES", "CONNS",
					"ORIGIN"});
}

static void print_added(json_t *r)
{
	printf("policy %s added\n", cli_str(r, "name"));
}

static void print_deleted(json_t *r)
{
	printf("policy %s deleted\n", cli_str(r, "deleted"));
}

int cli_policy_command(int n, char **a, const char **method, json_t **params,
		       void (**print)(json_t *), const char **why)
{
	json_error_t je;

	if (n == 2 && strcmp(a[1], "list") == 0) {
		*method = PL_M_POLICY_LIST;
		*print = print_policies;
	} else if (n == 3 && strcmp(a[1], "add") == 0) {
		*params = strcmp(a[2], "-") == 0 ? json_loadf(stdin, 0, &je) : json_load_file(a[2], 0, &je);
		if (*params == NULL) {
			static char msg[256];
			snprintf(msg, sizeof(msg), "policy add: %s: %s (line %d)", a[2], je.text, je.line);
			*why = msg;
			return -1;
		}
		*method = PL_M_POLICY_ADD;
		*print = print_added;
	} else if (n == 3 && strcmp(a[1], "del") == 0) {
		*method = PL_M_POLICY_DEL;
		*params = json_pack("{s:s}", "name", a[2]);
		*print = print_deleted;
	} else {
		*why = "policy: list | add FILE | del NAME";
		return -1;
	}
	return 0;
}
