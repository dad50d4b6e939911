/* route.add, route.del, route.list, route.replace_all */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_node.h"
#include "ctl_rpc.h"

static bool reserved_origin(const char *o)
{
	/* kernel: the mirror of import_table, which a restart makes again
	 * from the kernel's table, not from routes.json. */
	return strcmp(o, "system") == 0 || strcmp(o, "pod") == 0 || strcmp(o, "service") == 0 ||
	       strcmp(o, "kernel") == 0;
}

/* origin param: optional, a short name, never one of ours. */
static const char *origin_param(json_t *params, const char *def, struct ctl_err *e)
{
	const char *o = ctl_param_origin(params, def, e);

	if (o == NULL || o == def)
		return o;
	if (reserved_origin(o)) {
		ctl_fail(e, PL_E_INVALID_PARAMS, "origin: '%.32s' is not allowed (1-%d characters, "
			 "not system, pod, service or kernel)", o, CTL_ORIGIN_LEN - 1);
		return NULL;
	}
	return o;
}

static json_t *m_route_add(json_t *params, struct ctl_err *e)
{
	struct ctl_pfx pfx;
	struct dp_nh_spec nh;
	const char *origin = origin_param(params, "static", e);
	int rc;

	if (origin == NULL || ctl_route_parse(params, &pfx, &nh, e) != 0)
		return NULL;
	struct ctl_route *r = ctl_route_find_pfx(&pfx);
	if (r != NULL) {
		json_t *j = ctl_route_json(r);
		char *old = json_dumps(j, JSON_COMPACT);
		ctl_fail(e, PL_E_EXISTS, "route %s already exists: %s",
			 json_string_value(json_object_get(params, "prefix")), old ? old : "");
		free(old);
		json_decref(j);
		return NULL;
	}
	if ((rc = ctl_route_set_pfx(&pfx, &nh, origin)) != 0) {
		ctl_fail(e, PL_E_RESOURCE, "cannot add route: %s", rc == -ENOSPC ? "route table full" : strerror(-rc));
		return NULL;
	}
	if ((rc = ctl_state_save_routes()) != 0) {
		ctl_route_remove_pfx(&pfx);
		dp_commit();
		ctl_state_refused(e, rc, true);
		return NULL;
	}
	ctl_log("route add %s (%s)", json_string_value(json_object_get(params, "prefix")), origin);
	return ctl_route_json(ctl_route_find_pfx(&pfx));
}
CTL_METHOD(PL_M_ROUTE_ADD, m_route_add)

static json_t *m_route_del(json_t *params, struct ctl_err *e)
{
	const char *p = ctl_param_str(params, "prefix", true, e);
	struct ctl_pfx pfx;

	if (p == NULL || ctl_route_prefix(p, &pfx, e) != 0)
		return NULL;
	struct ctl_route *r = ctl_route_find_pfx(&pfx);
	if (r == NULL) {
		ctl_fail(e, PL_E_NOT_FOUND, "no route %s", p);
		return NULL;
	}
	if (reserved_origin(r->origin)) {
		ctl_fail(e, PL_E_INVALID_PARAMS, "route %s belongs to %s and cannot be deleted", p, r->origin);
		return NULL;
	}
	ctl_route_remove_pfx(&pfx);
	dp_commit();
	ctl_log("route del %s", p);
	return ctl_state_kept(ctl_state_save_routes(), json_pack("{s:s}", "deleted", p), e);
}
CTL_METHOD(PL_M_ROUTE_DEL, m_route_del)

/* IPv4 before IPv6, then by address, then by length. */
static int cmp_route(const void *a, const void *b)
{
	const struct ctl_pfx *x = &(*(const struct ctl_route *const *)a)->dst;
	const struct ctl_pfx *y = &(*(const struct ctl_route *const *)b)->dst;
	int c = x->v6 != y->v6 ? x->v6 - y->v6 : memcmp(x->a, y->a, sizeof(x->a));

	return c ? c : x->plen - y->plen;
}

/* The routes (of origin, if given) in prefix order, whatever their table
 * slots: the same set lists the same way. */
static json_t *m_route_list(json_t *params, struct ctl_err *e)
{
	const char *origin = ctl_param_str(params, "origin", false, e);
	const struct ctl_route **rs = calloc(node.n_routes + 1, sizeof(*rs));
	uint32_t n = 0;

	if ((origin == NULL && e->code) || rs == NULL) {
		if (rs == NULL)
			ctl_fail(e, PL_E_RESOURCE, "out of memory for %u routes", node.n_routes);
		free(rs);
		return NULL;
	}
	for (uint32_t i = 0; i < node.route_cap && n < node.n_routes; i++) {
		const struct ctl_route *r = &node.routes[i];
		if (r->used && (origin == NULL || strcmp(origin, r->origin) == 0))
			rs[n++] = r;
	}
	qsort(rs, n, sizeof(*rs), cmp_route);
	json_t *a = json_array();
	for (uint32_t i = 0; i < n; i++)
		json_array_append_new(a, ctl_route_json(rs[i]));
	free(rs);
	return a;
}
CTL_METHOD(PL_M_ROUTE_LIST, m_route_list)

struct want {
	struct ctl_pfx key;
	struct dp_nh_spec nh;
};

/* What a replace_all changed, to put back when it cannot finish. */
struct undo {
	struct ctl_pfx key;
	struct dp_nh_spec nh; /* the route before (none when added) */
	bool added;
};

/* The changes in u (n of them) taken back, newest first: origin's routes
 * as they were. Before dp_commit(), so workers never saw them. */
static void undo(const struct undo *u, size_t n, const char *origin)
{
	char pfx[CTL_PFX_STRLEN];

	while (n-- > 0) {
		int rc = u[n].added ? ctl_route_remove_pfx(&u[n].key)
				    : ctl_route_set_pfx(&u[n].key, &u[n].nh, origin);
		if (rc != 0)
			ctl_warn("route replace_all origin %s: %s not put back as it was (%s)", origin,
				 ctl_pfx_str(&u[n].key, pfx), strerror(rc < 0 ? -rc : rc));
	}
}

static int cmp_key(const void *a, const void *b)
{
	return memcmp(&((const struct want *)a)->key, &((const struct want *)b)->key,
		      sizeof(struct ctl_pfx));
}

/* The whole set of one origin in one call: validated in full first, so a
 * bad entry changes nothing; then only the difference is applied, and
 * taken back whole if the table cannot hold it (all or nothing). */
static json_t *m_route_replace_all(json_t *params, struct ctl_err *e)
{
	const char *origin = origin_param(params, "agent", e);
	json_t *routes = json_object_get(params, "routes"), *o;
	unsigned added = 0, changed = 0, removed = 0, unchanged = 0;
	size_t i, n;

	if (origin == NULL)
		return NULL;
	if (!json_is_array(routes)) {
		ctl_fail(e, PL_E_INVALID_PARAMS, "routes: missing or not an array");
		return NULL;
	}
	n = json_array_size(routes);
	if (n > node.cfg.max_routes) {
		ctl_fail(e, PL_E_RESOURCE, "routes: %zu routes exceed max_routes %u", n, node.cfg.max_routes);
		return NULL;
	}
	struct want *w = calloc(n ? n : 1, sizeof(*w));
	/* Each route of the set, and each of origin's the set drops. */
	struct undo *u = calloc(n + node.n_routes + 1, sizeof(*u));
	size_t nu = 0;
	if (w == NULL || u == NULL) {
		ctl_fail(e, PL_E_RESOURCE, "out of memory for %zu routes", n);
		goto fail;
	}
	json_array_foreach(routes, i, o) {
		struct ctl_err ie = {0};
		if (ctl_route_parse(o, &w[i].key, &w[i].nh, &ie) != 0) {
			ctl_fail(e, ie.code, "routes[%zu]: %s", i, ie.msg);
			goto fail;
		}
		struct ctl_route *r = ctl_route_find_pfx(&w[i].key);
		if (r != NULL && strcmp(r->origin, origin) != 0) {
			ctl_fail(e, PL_E_EXISTS, "routes[%zu]: %s is already a route of origin %s", i,
				 json_string_value(json_object_get(o, "prefix")), r->origin);
			goto fail;
		}
	}
	qsort(w, n, sizeof(*w), cmp_key);
	for (i = 1; i < n; i++)
		if (cmp_key(&w[i], &w[i - 1]) == 0) {
			char pfx[CTL_PFX_STRLEN];
			ctl_fail(e, PL_E_INVALID_PARAMS, "routes: %s appears twice",
				 ctl_pfx_str(&w[i].key, pfx));
			goto fail;
		}
	/* Workers see the old set until dp_commit(), then the new one whole. */
	dp_route_batch();
	for (uint32_t k = 0; k < node.route_cap; k++) {
		struct ctl_route *r = &node.routes[k];
		struct want key = {.key = r->dst};
		if (r->used && strcmp(r->origin, origin) == 0 &&
		    bsearch(&key, w, n, sizeof(*w), cmp_key) == NULL) {
			u[nu++] = (struct undo){.key = r->dst, .nh = r->nh};
			ctl_route_remove_pfx(&u[nu - 1].key);
			removed++;
		}
	}
	for (i = 0; i < n; i++) {
		struct ctl_route *r = ctl_route_find_pfx(&w[i].key);
		bool existed = r != NULL;
		struct dp_nh_spec old = existed ? r->nh : w[i].nh;
		if (ctl_route_set_pfx(&w[i].key, &w[i].nh, origin) != 0) {
			char pfx[CTL_PFX_STRLEN];
			ctl_fail(e, PL_E_RESOURCE, "route table full at %s (max_routes %u): nothing "
				 "changed", ctl_pfx_str(&w[i].key, pfx), node.cfg.max_routes);
			undo(u, nu, origin);
			dp_commit();
			goto fail;
		}
		u[nu++] = (struct undo){.key = w[i].key, .nh = old, .added = !existed};
		if (!existed)
			added++;
		else if (!ctl_nh_same(&old, &w[i].nh))
			changed++;
		else
			unchanged++;
	}
	free(w);
	free(u);
	dp_commit();
	ctl_log("route replace_all origin %s: %u added, %u changed, %u removed, %u unchanged",
		origin, added, changed, removed, unchanged);
	return ctl_state_kept(ctl_state_save_routes(),
			      json_pack("{s:s, s:i, s:i, s:i, s:i}", "origin", origin, "added", added,
					"changed", changed, "removed", removed, "unchanged", unchanged),
			      e);
fail:
	free(w);
	free(u);
	return NULL;
}
CTL_METHOD(PL_M_ROUTE_REPLACE_ALL, m_route_replace_all)
