/* service.add, service.del, service.list, service.replace_all */
#include <stdlib.h>
#include <string.h>

#include "ctl_node.h"
#include "ctl_rpc.h"

static json_t *m_service_add(json_t *params, struct ctl_err *e)
{
	const char *origin = ctl_param_origin(params, "static", e);
	char name[CTL_SVC_STRLEN];
	struct ctl_svc s;

	if (origin == NULL)
		return NULL;
	if (ctl_svc_parse(params, &s, e) != 0)
		goto fail;
	if (ctl_svc_find(&s) != NULL) {
		ctl_fail(e, PL_E_EXISTS, "service %s already exists", ctl_svc_str(&s, name));
		goto fail;
	}
	if (ctl_svc_route_conflict(&s, e) != 0 || ctl_svc_frontend_clash(&s, 1, NULL, e) != 0 ||
	    ctl_svc_set(&s, origin, e) != 0)
		goto fail;
	dp_commit();
	int rc = ctl_state_save_services();
	if (rc != 0) {
		ctl_svc_remove(ctl_svc_find(&s));
		dp_commit();
		ctl_state_refused(e, rc, true);
		goto fail;
	}
	ctl_log("service add %s (%u backends, %s)", ctl_svc_str(&s, name), s.n_backends, origin);
	return ctl_svc_json(ctl_svc_find(&s), false);
fail:
	ctl_svc_free(&s);
	return NULL;
}
CTL_METHOD(PL_M_SERVICE_ADD, m_service_add)

static json_t *m_service_del(json_t *params, struct ctl_err *e)
{
	struct ctl_svc k;
	char name[CTL_SVC_STRLEN];

	if (ctl_svc_key_parse(params, &k, e) != 0)
		return NULL;
	struct ctl_svc *s = ctl_svc_find(&k);
	if (s == NULL) {
		ctl_fail(e, PL_E_NOT_FOUND, "no service %s", ctl_svc_str(&k, name));
		return NULL;
	}
	ctl_svc_str(s, name);
	ctl_svc_remove(s);
	dp_commit();
	ctl_log("service del %s", name);
	return ctl_state_kept(ctl_state_save_services(), json_pack("{s:s}", "deleted", name), e);
}
CTL_METHOD(PL_M_SERVICE_DEL, m_service_del)

static json_t *m_service_list(json_t *params, struct ctl_err *e)
{
	const char *origin = ctl_param_str(params, "origin", false, e);
	json_t *a = json_array();

	if (origin == NULL && e->code) {
		json_decref(a);
		return NULL;
	}
	for (uint32_t i = 0; i < node.cfg.max_services; i++) {
		const struct ctl_svc *s = &node.svcs[i];
		if (s->used && (origin == NULL || strcmp(origin, s->origin) == 0))
			json_array_append_new(a, ctl_svc_json(s, true));
	}
	return a;
}
CTL_METHOD(PL_M_SERVICE_LIST, m_service_list)

/* IPv4 services first, each family by (ip, port, protocol). */
static int cmp_svc(const void *a, const void *b)
{
	const struct ctl_svc *x = a, *y = b;
	int c = x->v6 - y->v6;
	if (c == 0)
		c = memcmp(x->ip6, y->ip6, 16);
	if (c)
		return c;
	uint64_t kx = (uint64_t)rte_be_to_cpu_32(x->ip) << 24 | (uint64_t)rte_be_to_cpu_16(x->port) << 8 | x->proto;
	uint64_t ky = (uint64_t)rte_be_to_cpu_32(y->ip) << 24 | (uint64_t)rte_be_to_cpu_16(y->port) << 8 | y->proto;
	return kx < ky ? -1 : kx > ky;
}

static void free_all(struct ctl_svc *w, size_t n)
{
	for (size_t i = 0; w != NULL && i < n; i++)
		ctl_svc_free(&w[i]);
	free(w);
}

/* What a replace_all changed, to put back when it cannot finish. */
struct undo {
	struct ctl_svc was; /* a copy of the service before; only its key when added */
	uint32_t id;        /* its slot */
	bool added;
};

/* The changes in u (n of them) taken back, newest first: origin's
 * services as they were, in their slots (their counters restart). */
static void undo(struct undo *u, size_t n, const char *origin)
{
	char name[CTL_SVC_STRLEN];

	while (n-- > 0) {
		struct ctl_err ie = {0};
		struct ctl_svc *s;
		if (u[n].added) {
			if ((s = ctl_svc_find(&u[n].was)) != NULL)
				ctl_svc_remove(s);
		} else if (ctl_svc_put_back(&u[n].was, u[n].id, origin, &ie) != 0)
			ctl_warn("service replace_all origin %s: %s not put back as it was (%s)",
				 origin, ctl_svc_str(&u[n].was, name), ie.msg);
	}
}

static void free_undo(struct undo *u, size_t n)
{
	for (size_t i = 0; u != NULL && i < n; i++)
		ctl_svc_free(&u[i].was);
	free(u);
}

/* Before s is removed or replaced: a copy into the undo log. */
static int keep(struct undo *u, size_t *nu, const struct ctl_svc *s, struct ctl_err *e)
{
	if (ctl_svc_dup(s, &u[*nu].was) != 0)
		return ctl_fail(e, PL_E_RESOURCE, "out of memory: nothing changed");
	u[(*nu)++].id = (uint32_t)(s - node.svcs);
	return 0;
}

/* The whole set of one origin in one call: validated in full first (each
 * service, no frontend claimed twice, no address that is another
 * origin's route or service), so a bad entry changes nothing; then only
 * the difference is applied, and taken back whole if the tables cannot
 * hold it (all or nothing). */
static json_t *m_service_replace_all(json_t *params, struct ctl_err *e)
{
	const char *origin = ctl_param_origin(params, "agent", e);
	json_t *svcs = json_object_get(params, "services"), *o;
	unsigned added = 0, changed = 0, removed = 0, unchanged = 0;
	char name[CTL_SVC_STRLEN];
	size_t i, n;

	if (origin == NULL)
		return NULL;
	if (!json_is_array(svcs)) {
		ctl_fail(e, PL_E_INVALID_PARAMS, "services: missing or not an array");
		return NULL;
	}
	n = json_array_size(svcs);
	if (n > node.cfg.max_services) {
		ctl_fail(e, PL_E_RESOURCE, "services: %zu services exceed max_services %u", n,
			 node.cfg.max_services);
		return NULL;
	}
	struct ctl_svc *w = calloc(n ? n : 1, sizeof(*w));
	/* Each service of the set, and each of origin's the set drops. */
	struct undo *u = calloc(n + node.n_svcs + 1, sizeof(*u));
	size_t nu = 0;
	if (w == NULL || u == NULL) {
		ctl_fail(e, PL_E_RESOURCE, "out of memory for %zu services", n);
		goto fail;
	}
	json_array_foreach(svcs, i, o) {
		struct ctl_err ie = {0};
		if (ctl_svc_parse(o, &w[i], &ie) != 0 || ctl_svc_route_conflict(&w[i], &ie) != 0) {
			ctl_fail(e, ie.code, "services[%zu]: %s", i, ie.msg);
			goto fail;
		}
		const struct ctl_svc *s = ctl_svc_find(&w[i]);
		if (s != NULL && strcmp(s->origin, origin) != 0) {
			ctl_fail(e, PL_E_EXISTS, "services[%zu]: %s is already a service of origin %s",
				 i, ctl_svc_str(&w[i], name), s->origin);
			goto fail;
		}
	}
	qsort(w, n, sizeof(*w), cmp_svc);
	for (i = 1; i < n; i++)
		if (cmp_svc(&w[i], &w[i - 1]) == 0) {
			ctl_fail(e, PL_E_INVALID_PARAMS, "services: %s appears twice",
				 ctl_svc_str(&w[i], name));
			goto fail;
		}
	if (ctl_svc_frontend_clash(w, n, origin, e) != 0)
		goto fail;
	for (uint32_t k = 0; k < node.cfg.max_services; k++) {
		struct ctl_svc *s = &node.svcs[k];
		if (s->used && strcmp(s->origin, origin) == 0 &&
		    bsearch(s, w, n, sizeof(*w), cmp_svc) == NULL) {
			if (keep(u, &nu, s, e) != 0)
				goto take_back;
			ctl_svc_remove(s);
			removed++;
		}
	}
	for (i = 0; i < n; i++) {
		struct ctl_svc *s = ctl_svc_find(&w[i]);
		if (s != NULL && ctl_svc_same(s, &w[i])) {
			unchanged++;
			continue;
		}
		bool existed = s != NULL;
		if (existed && keep(u, &nu, s, e) != 0)
			goto take_back;
		struct undo a = {.was = w[i], .added = true};
		a.was.backends = NULL; /* the key is what undo needs */
		struct ctl_err ie = {0};
		if (ctl_svc_set(&w[i], origin, &ie) != 0) {
			ctl_fail(e, ie.code, "%s: nothing changed", ie.msg);
			goto take_back;
		}
		if (!existed)
			u[nu++] = a;
		existed ? changed++ : added++;
	}
	free_all(w, n);
	free_undo(u, nu);
	dp_commit();
	ctl_log("service replace_all origin %s: %u added, %u changed, %u removed, %u unchanged",
		origin, added, changed, removed, unchanged);
	return ctl_state_kept(ctl_state_save_services(),
			      json_pack("{s:s, s:i, s:i, s:i, s:i}", "origin", origin, "added", added,
					"changed", changed, "removed", removed, "unchanged", unchanged),
			      e);
take_back:
	undo(u, nu, origin);
	dp_commit();
fail:
	free_all(w, n);
	free_undo(u, nu);
	return NULL;
}
CTL_METHOD(PL_M_SERVICE_REPLACE_ALL, m_service_replace_all)
