/* Services, the control copy: what the API and the state file say, kept in
 * step with the dataplane's (dp_svc_set) and with the /32 and /128 routes
 * (origin "service", next hop DP_NH_SERVICE) that bring each service IP
 * and external IP to the NAT stage. A service is known by (ip, port,
 * protocol), ip of either family; its slot index is its dataplane id. */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <rte_jhash.h>

#include "ctl_node.h"

struct svc_key {
	uint8_t ip[16]; /* IPv6, or IPv4 in the first 4 bytes */
	uint16_t port;
	uint8_t proto;
	uint8_t v6;
};

/* The metrics thread reads names and counts while the control thread
 * changes services: both take this (the control thread only to write). */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void ctl_svc_lock(void)
{
	pthread_mutex_lock(&lock);
}

void ctl_svc_unlock(void)
{
	pthread_mutex_unlock(&lock);
}

int ctl_svc_tables(const struct ctl_config *c)
{
	struct rte_hash_parameters hp = {
		.name = "podlane_ctl_svcs",
		.entries = c->max_services,
		.key_len = sizeof(struct svc_key),
		.hash_func = rte_jhash,
		.socket_id = SOCKET_ID_ANY,
		/* Room for every entry: without extendable buckets an add can
		 * fail well before it (a full bucket). */
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	struct rte_hash_parameters vp = {
		.name = "podlane_ctl_vips",
		.entries = (uint32_t)c->max_services * 2,
		.key_len = sizeof(struct ctl_pfx),
		.hash_func = rte_jhash,
		.socket_id = SOCKET_ID_ANY,
		/* Room for every entry: without extendable buckets an add can
		 * fail well before it (a full bucket). */
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};

	node.svcs = calloc(c->max_services, sizeof(*node.svcs));
	node.svc_free = calloc(c->max_services, sizeof(*node.svc_free));
	node.svc_idx = rte_hash_create(&hp);
	node.vip_refs = rte_hash_create(&vp);
	if (node.svcs == NULL || node.svc_free == NULL || node.svc_idx == NULL ||
	    node.vip_refs == NULL)
		return -1;
	for (uint32_t i = 0; i < c->max_services; i++)
		node.svc_free[i] = i;
	node.n_svc_free = c->max_services;
	return 0;
}

const char *ctl_proto_name(uint8_t proto)
{
	return proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp"
		: proto == IPPROTO_ICMP ? "icmp" : "other";
}

static struct svc_key key_of(const struct ctl_svc *s)
{
	struct svc_key k = {.port = s->port, .proto = s->proto, .v6 = s->v6};

	if (s->v6)
		memcpy(k.ip, s->ip6, 16);
	else
		memcpy(k.ip, &s->ip, 4);
	return k;
}

struct ctl_svc *ctl_svc_find(const struct ctl_svc *s)
{
	struct svc_key k = key_of(s);
	void *data;

	if (rte_hash_lookup_data(node.svc_idx, &k, &data) < 0 || !node.svcs[(uintptr_t)data].used)
		return NULL;
	return &node.svcs[(uintptr_t)data];
}

/* ip4, or ip6 when v6, as a string in buf. */
static const char *ip_str(bool v6, uint32_t ip4, const uint8_t *ip6, char buf[CTL_IP6_STRLEN])
{
	return v6 ? ctl_ip6_str(ip6, buf) : ctl_ip_str(ip4, buf);
}

const char *ctl_svc_str(const struct ctl_svc *s, char buf[CTL_SVC_STRLEN])
{
	char ip[CTL_IP6_STRLEN];

	snprintf(buf, CTL_SVC_STRLEN, "%s%s%s:%u/%s", s->v6 ? "[" : "", ip_str(s->v6, s->ip, s->ip6, ip),
		 s->v6 ? "]" : "", rte_be_to_cpu_16(s->port), ctl_proto_name(s->proto));
	return buf;
}

/* Service IPs and external IPs are /32 (/128) routes of origin
 * "service", one per address however many services share it. */
static uint32_t vip_refs(const struct ctl_pfx *ip)
{
	void *data;
	return rte_hash_lookup_data(node.vip_refs, ip, &data) < 0 ? 0 : (uint32_t)(uintptr_t)data;
}

static int vip_get(const struct ctl_pfx *ip)
{
	uint32_t n = vip_refs(ip);
	struct dp_nh_spec nh = {.kind = DP_NH_SERVICE};
	int rc;

	if (n == 0 && (rc = ctl_route_set_pfx(ip, &nh, "service")) != 0)
		return rc;
	if (rte_hash_add_key_data(node.vip_refs, ip, (void *)(uintptr_t)(n + 1)) != 0) {
		if (n == 0)
			ctl_route_remove_pfx(ip);
		return -ENOSPC;
	}
	return 0;
}

static void vip_put(const struct ctl_pfx *ip)
{
	uint32_t n = vip_refs(ip);

	if (n > 1) {
		rte_hash_add_key_data(node.vip_refs, ip, (void *)(uintptr_t)(n - 1));
		return;
	}
	rte_hash_del_key(node.vip_refs, ip);
	ctl_route_remove_pfx(ip);
}

/* The addresses of s that need a host route: its ip and external IPs. */
static unsigned vips(const struct ctl_svc *s, struct ctl_pfx *out)
{
	unsigned n = 0;

	for (unsigned i = 0; s->v6 && i <= s->n_ext; i++) {
		out[n] = (struct ctl_pfx){.v6 = 1, .plen = 128};
		memcpy(out[n++].a, i ? s->ext6[i - 1] : s->ip6, 16);
	}
	if (s->v6)
		return n;
	out[n++] = ctl_pfx4(s->ip, 32);
	for (unsigned i = 0; i < s->n_ext; i++)
		out[n++] = ctl_pfx4(s->ext[i], 32);
	return n;
}

int ctl_svc_route_conflict(const struct ctl_svc *s, struct ctl_err *e)
{
	struct ctl_pfx v[DP_SVC_MAX_EXT + 1];
	unsigned n = vips(s, v);
	char p[CTL_PFX_STRLEN];

	for (unsigned i = 0; i < n; i++) {
		const struct ctl_route *r = ctl_route_find_pfx(&v[i]);
		if (r != NULL && strcmp(r->origin, "service") != 0)
			return ctl_fail(e, PL_E_EXISTS, "%s: %s is already a route of origin %s",
					i ? "external_ips" : "ip", ctl_pfx_str(&v[i], p), r->origin);
	}
	return 0;
}

static void to_spec(const struct ctl_svc *s, struct dp_svc_spec *d)
{
	*d = (struct dp_svc_spec){.v6 = s->v6, .ip = s->ip, .port = s->port, .proto = s->proto,
				  .node_port = s->node_port, .ext_local = s->ext_local,
				  .affinity_s = s->affinity_s, .n_ext = s->n_ext,
				  .n_backends = s->n_backends, .backends = s->backends};
	memcpy(d->ext, s->ext, s->n_ext * sizeof(s->ext[0]));
	memcpy(d->ip6, s->ip6, 16);
	memcpy(d->ext6, s->ext6, s->n_ext * sizeof(s->ext6[0]));
}

int ctl_svc_set(struct ctl_svc *s, const char *origin, struct ctl_err *e)
{
	struct ctl_svc *old = ctl_svc_find(s);
	struct ctl_pfx nv[DP_SVC_MAX_EXT + 1], ov[DP_SVC_MAX_EXT + 1];
	uint32_t id;
	struct dp_svc_spec spec;
	struct svc_key k = key_of(s);
	char name[CTL_SVC_STRLEN];
	unsigned n_new = vips(s, nv), n_old = old ? vips(old, ov) : 0, got = 0;
	int rc = 0;

	if (old == NULL && node.n_svc_free == 0)
		return ctl_fail(e, PL_E_RESOURCE, "%s: max_services (%u) reached",
				ctl_svc_str(s, name), node.cfg.max_services);
	id = old ? (uint32_t)(old - node.svcs) : node.svc_free[0];
	/* Indexed first: a service the index cannot find would be one no call
	 * could see or remove (the slot stays unused until the end). */
	if (old == NULL && rte_hash_add_key_data(node.svc_idx, &k, (void *)(uintptr_t)id) != 0)
		return ctl_fail(e, PL_E_RESOURCE, "%s: the service index is full",
				ctl_svc_str(s, name));
	for (; got < n_new && (rc = vip_get(&nv[got])) == 0; got++)
		;
	to_spec(s, &spec);
	if (rc == 0 && (rc = dp_svc_set(id, &spec)) != 0 && rc != -EEXIST)
		rc = -ENOMEM;
	if (rc != 0) {
		while (got > 0)
			vip_put(&nv[--got]);
		if (old == NULL)
			rte_hash_del_key(node.svc_idx, &k);
		if (rc == -EEXIST)
			return ctl_fail(e, PL_E_EXISTS, "%s: its node_port or an external IP is "
					"another service's", ctl_svc_str(s, name));
		return ctl_fail(e, PL_E_RESOURCE, "%s: %s", ctl_svc_str(s, name),
				rc == -ENOSPC ? "route table full" : "out of memory");
	}
	for (unsigned i = 0; i < n_old; i++)
		vip_put(&ov[i]);
	ctl_svc_lock();
	if (old == NULL) {
		memmove(node.svc_free, node.svc_free + 1, --node.n_svc_free * sizeof(uint32_t));
		node.n_svcs++;
	} else {
		ctl_svc_free(old);
	}
	node.svcs[id] = *s;
	node.svcs[id].used = true;
	snprintf(node.svcs[id].origin, sizeof(node.svcs[id].origin), "%s", origin);
	ctl_svc_unlock();
	s->backends = NULL; /* the table's now */
	return 0;
}

void ctl_svc_remove(struct ctl_svc *s)
{
	struct ctl_pfx v[DP_SVC_MAX_EXT + 1];
	uint32_t id = (uint32_t)(s - node.svcs);
	unsigned n = vips(s, v);
	struct svc_key k = key_of(s);

	dp_svc_del(id);
	for (unsigned i = 0; i < n; i++)
		vip_put(&v[i]);
	ctl_svc_lock();
	rte_hash_del_key(node.svc_idx, &k);
	ctl_svc_free(s);
	memset(s, 0, sizeof(*s));
	/* An id goes to the back of the queue: not given again at once. */
	node.svc_free[node.n_svc_free++] = id;
	node.n_svcs--;
	ctl_svc_unlock();
}

int ctl_svc_put_back(struct ctl_svc *s, uint32_t id, const char *origin, struct ctl_err *e)
{
	bool gone = ctl_svc_find(s) == NULL;

	ctl_svc_lock();
	for (uint32_t i = 0; gone && i < node.n_svc_free; i++)
		if (node.svc_free[i] == id) { /* to the front: ctl_svc_set takes that one */
			memmove(node.svc_free + 1, node.svc_free, i * sizeof(uint32_t));
			node.svc_free[0] = id;
			break;
		}
	ctl_svc_unlock();
	return ctl_svc_set(s, origin, e);
}

json_t *ctl_svc_json(const struct ctl_svc *s, bool stats)
{
	char ip[CTL_IP6_STRLEN];
	json_t *b = json_array(), *o;

	for (unsigned i = 0; i < s->n_backends; i++)
		json_array_append_new(b, json_pack("{s:s, s:i}", "ip",
						   ip_str(s->v6, s->backends[i].ip,
							  s->backends[i].ip6, ip),
						   "port", rte_be_to_cpu_16(s->backends[i].port)));
	o = json_pack("{s:s, s:i, s:s, s:o, s:s}", "ip", ip_str(s->v6, s->ip, s->ip6, ip), "port",
		      rte_be_to_cpu_16(s->port), "protocol", ctl_proto_name(s->proto), "backends", b,
		      "origin", s->origin);
	if (s->name[0])
		json_object_set_new(o, "name", json_string(s->name));
	if (s->node_port)
		json_object_set_new(o, "node_port", json_integer(rte_be_to_cpu_16(s->node_port)));
	if (s->n_ext) {
		json_t *x = json_array();
		for (unsigned i = 0; i < s->n_ext; i++)
			json_array_append_new(x, json_string(ip_str(s->v6, s->ext[i], s->ext6[i], ip)));
		json_object_set_new(o, "external_ips", x);
	}
	if (s->ext_local)
		json_object_set_new(o, "external_traffic_policy", json_string("Local"));
	if (s->affinity_s)
		json_object_set_new(o, "affinity_timeout", json_integer(s->affinity_s));
	if (stats) {
		struct dp_svc_stats st;
		dp_svc_stats_read((uint32_t)(s - node.svcs), &st);
		json_object_set_new(o, "stats", json_pack("{s:I, s:I, s:I, s:I}", "connections",
							  (json_int_t)st.flows, "packets",
							  (json_int_t)st.pkts, "bytes",
							  (json_int_t)st.bytes, "rejected",
							  (json_int_t)st.rejected));
	}
	return o;
}

/* A frontend, to find two services claiming one: (ip or the node IP,
 * port, protocol), either family. */
struct fe {
	uint8_t ip[16]; /* IPv6, or IPv4 in the first 4 bytes */
	uint16_t port;  /* host order */
	uint8_t proto;
	uint8_t v6;
};

static struct fe fe_of(bool v6, uint32_t ip4, const uint8_t *ip6, uint16_t port, uint8_t proto)
{
	struct fe f = {.port = rte_be_to_cpu_16(port), .proto = proto, .v6 = v6};

	memcpy(f.ip, v6 ? ip6 : (const uint8_t *)&ip4, v6 ? 16 : 4);
	return f;
}

static unsigned frontends(const struct ctl_svc *s, struct fe *out)
{
	unsigned n = 0;

	out[n++] = fe_of(s->v6, s->ip, s->ip6, s->port, s->proto);
	for (unsigned i = 0; i < s->n_ext; i++)
		out[n++] = fe_of(s->v6, s->ext[i], s->ext6[i], s->port, s->proto);
	if (s->node_port)
		out[n++] = fe_of(s->v6, node.cfg.node_ip, node.cfg.node6_ip, s->node_port, s->proto);
	return n;
}

static int cmp_fe(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct fe));
}

int ctl_svc_frontend_clash(const struct ctl_svc *set, size_t n, const char *keep_origin,
			   struct ctl_err *e)
{
	size_t cap = (n + node.n_svcs) * (DP_SVC_MAX_EXT + 2), m = 0;
	struct fe *f = malloc(cap ? cap * sizeof(*f) : 1);
	int rc = 0;

	if (f == NULL)
		return ctl_fail(e, PL_E_RESOURCE, "out of memory");
	for (size_t i = 0; i < n; i++)
		m += frontends(&set[i], f + m);
	/* Services that stay: another origin's (replace_all), or all of them
	 * but the one being replaced (keep_origin NULL: set is one service). */
	for (uint32_t i = 0; i < node.cfg.max_services; i++) {
		const struct ctl_svc *s = &node.svcs[i];
		if (!s->used || (keep_origin ? strcmp(s->origin, keep_origin) == 0
					     : ctl_svc_key_eq(s, set)))
			continue;
		m += frontends(s, f + m);
	}
	qsort(f, m, sizeof(*f), cmp_fe);
	for (size_t i = 1; i < m && rc == 0; i++)
		if (cmp_fe(&f[i], &f[i - 1]) == 0) {
			char ip[CTL_IP6_STRLEN];
			uint32_t ip4;
			memcpy(&ip4, f[i].ip, 4);
			rc = ctl_fail(e, PL_E_EXISTS, "%s%s%s:%u/%s is a frontend of two services (ip, "
				      "external_ips and node_port must be unique)", f[i].v6 ? "[" : "",
				      ip_str(f[i].v6, ip4, f[i].ip, ip), f[i].v6 ? "]" : "", f[i].port,
				      ctl_proto_name(f[i].proto));
		}
	free(f);
	return rc;
}
