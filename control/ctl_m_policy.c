/* policy.add, policy.del, policy.list, policy.replace_all: NetworkPolicy
 * for plain DPDK users and for the Kubernetes agent (ctl_policy.c keeps
 * them). Every change compiles the whole rule set first: one that cannot
 * be compiled changes nothing. */
#include <stdlib.h>
#include <string.h>

#include "ctl_node.h"
#include "ctl_rpc.h"

/* o as stored: without the caller's origin. */
static json_t *stored(json_t *o)
{
	json_t *c = json_deep_copy(o);

	json_object_del(c, "origin");
	return c;
}

static json_t *m_policy_add(json_t *params, struct ctl_err *e)
{
	const char *origin = ctl_param_origin(params, "static", e);

	if (origin == NULL || ctl_policy_check(params, e) != 0)
		return NULL;
	const char *name = json_string_value(json_object_get(params, "name"));
	if (ctl_policy_find(name) != NULL) {
		ctl_fail(e, PL_E_EXISTS, "policy %s already exists", name);
		return NULL;
	}
	int slot = ctl_policy_free_slot(NULL);
	if (slot < 0) {
		ctl_fail(e, PL_E_RESOURCE, "%d policies already (the most there can be)",
			 CTL_MAX_POLICIES);
		return NULL;
	}
	/* In its slot first, then the whole set compiled: refused, it goes. */
	json_t *p = stored(params);
	ctl_policy_put((uint32_t)slot, p, origin);
	json_decref(p);
	if (ctl_policy_apply_all(e) != 0) {
		ctl_policy_drop(&node.policies[slot]);
		return NULL;
	}
	int rc = ctl_state_save_policies();
	if (rc != 0) {
		struct ctl_err ignored = {0};
		ctl_policy_drop(&node.policies[slot]);
		ctl_policy_apply_all(&ignored);
		ctl_state_refused(e, rc, true);
		return NULL;
	}
	ctl_log("policy add %s (%s)", name, origin);
	return ctl_policy_json(&node.policies[slot], false);
}
CTL_METHOD(PL_M_POLICY_ADD, m_policy_add)

static json_t *m_policy_del(json_t *params, struct ctl_err *e)
{
	const char *name = ctl_param_str(params, "name", true, e);

	if (name == NULL)
		return NULL;
	struct ctl_policy *p = ctl_policy_find(name);
	if (p == NULL) {
		ctl_fail(e, PL_E_NOT_FOUND, "no policy %.320s", name);
		return NULL;
	}
	json_t *kept = json_incref(p->obj), *result = json_pack("{s:s}", "deleted", name);
	char origin[CTL_ORIGIN_LEN];
	snprintf(origin, sizeof(origin), "%s", p->origin);
	ctl_policy_drop(p);
	if (ctl_policy_apply_all(e) != 0) {
		ctl_policy_put((uint32_t)(p - node.policies), kept, origin);
		json_decref(kept);
		json_decref(result);
		return NULL;
	}
	json_decref(kept);
	ctl_log("policy del %s", json_string_value(json_object_get(result, "deleted")));
	return ctl_state_kept(ctl_state_save_policies(), result, e);
}
CTL_METHOD(PL_M_POLICY_DEL, m_policy_del)

static json_t *m_policy_list(json_t *params, struct ctl_err *e)
{
	const char *origin = ctl_param_str(params, "origin", false, e);
	json_t *a = json_array();

	if (origin == NULL && e->code) {
		json_decref(a);
		return NULL;
	}
	for (uint32_t i = 0; i < CTL_MAX_POLICIES; i++) {
		const struct ctl_policy *p = &node.policies[i];
		if (p->used && (origin == NULL || strcmp(origin, p->origin) == 0))
			json_array_append_new(a, ctl_policy_json(p, true));
	}
	return a;
}
CTL_METHOD(PL_M_POLICY_LIST, m_policy_list)

/* The whole set of one origin in one call: each policy checked and the
 * set that results compiled before anything changes, then applied as a
 * difference by name. */
static json_t *m_policy_replace_all(json_t *params, struct ctl_err *e)
{
	const char *origin = ctl_param_origin(params, "agent", e);
	json_t *pols = json_object_get(params, "policies"), *o;
	unsigned added = 0, changed = 0, removed = 0, unchanged = 0;
	static json_t *objs[CTL_MAX_POLICIES];
	static uint32_t slots[CTL_MAX_POLICIES];
	bool taken[CTL_MAX_POLICIES] = {0};
	json_t *given = NULL;
	size_t i, n = 0;

	if (origin == NULL)
		return NULL;
	if (!json_is_array(pols)) {
		ctl_fail(e, PL_E_INVALID_PARAMS, "policies: missing or not an array");
		return NULL;
	}
	given = json_object();
	json_array_foreach(pols, i, o) {
		struct ctl_err ie = {0};
		if (ctl_policy_check(o, &ie) != 0) {
			ctl_fail(e, ie.code, "policies[%zu]: %s", i, ie.msg);
			goto fail;
		}
		const char *name = json_string_value(json_object_get(o, "name"));
		const struct ctl_policy *p = ctl_policy_find(name);
		if (p != NULL && strcmp(p->origin, origin) != 0) {
			ctl_fail(e, PL_E_EXISTS, "policies[%zu]: %s is already a policy of origin %s", i,
				 name, p->origin);
			goto fail;
		}
		if (json_object_get(given, name) != NULL) {
			ctl_fail(e, PL_E_INVALID_PARAMS, "policies: %s appears twice", name);
			goto fail;
		}
		json_object_set_new(given, name, stored(o));
	}
	/* The set that results: other origins' policies, then the given
	 * ones, each in its own slot or a free one. */
	for (uint32_t k = 0; k < CTL_MAX_POLICIES; k++) {
		const struct ctl_policy *p = &node.policies[k];
		if (p->used && strcmp(p->origin, origin) != 0) {
			objs[n] = p->obj;
			slots[n++] = k;
		}
		taken[k] = p->used;
	}
	const char *name;
	json_object_foreach(given, name, o) {
		const struct ctl_policy *p = ctl_policy_find(name);
		int slot = p != NULL ? (int)(p - node.policies) : ctl_policy_free_slot(taken);
		if (slot < 0) {
			ctl_fail(e, PL_E_RESOURCE, "policies: more than %d in all", CTL_MAX_POLICIES);
			goto fail;
		}
		taken[slot] = true;
		objs[n] = o;
		slots[n++] = (uint32_t)slot;
	}
	if (ctl_policy_apply(objs, slots, n, e) != 0)
		goto fail;
	for (uint32_t k = 0; k < CTL_MAX_POLICIES; k++) {
		struct ctl_policy *p = &node.policies[k];
		if (p->used && strcmp(p->origin, origin) == 0 && json_object_get(given, p->name) == NULL) {
			ctl_policy_drop(p);
			removed++;
		}
	}
	for (i = 0; i < n; i++) {
		const struct ctl_policy *p = &node.policies[slots[i]];
		if (p->used && p->obj == objs[i])
			continue; /* another origin's */
		if (p->used && json_equal(p->obj, objs[i])) {
			unchanged++;
			continue;
		}
		p->used ? changed++ : added++;
		ctl_policy_put(slots[i], objs[i], origin);
	}
	json_decref(given);
	ctl_log("policy replace_all origin %s: %u added, %u changed, %u removed, %u unchanged",
		origin, added, changed, removed, unchanged);
	return ctl_state_kept(ctl_state_save_policies(),
			       json_pack("{s:s, s:i, s:i, s:i, s:i}", "origin", origin, "added", added,
					 "changed", changed, "removed", removed, "unchanged",
					 unchanged),
			       e);
fail:
	json_decref(given);
	return NULL;
}
CTL_METHOD(PL_M_POLICY_REPLACE_ALL, m_policy_replace_all)
