/* Tracked connections across a planned restart: a stopping podlaned
 * (workers stopped, so the table is final) writes every flow to
 * state_dir/conntrack.bin; the next one reads it back before its workers
 * start, after the services and policies it restored, and removes it (a
 * later crash must not bring back connections long gone). So SNATed
 * connections keep their translation, UDP flows their backend, and a
 * connection a pod isolated for ingress opened itself keeps its answers
 * coming (docs/policy.md). A kill leaves no file (a stop writes one even
 * with no connection): its connections are lost, their answers picked up
 * for a while (dp_ct_pickup).
 *
 * The file: a header (magic, version, the wall clock when written, the
 * count), then one fixed record per flow. A service is named by its
 * frontend (ip, port, protocol), not its id: ids are slots, and the next
 * podlaned may give them out in another order. Version 2 has IPv6 flows
 * (and reads version 1's, IPv4 only); a newer version is ignored, with a
 * warning. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl_node.h"

#define MAGIC 0x54434c50u /* "PLCT" */
#define VERSION 2

struct header {
	uint32_t magic, version;
	uint64_t written_s; /* CLOCK_REALTIME */
	uint64_t count;
};

/* Addresses: IPv6, or IPv4 in the first 4 bytes. */
struct record {
	uint8_t src[2][16], dst[2][16];
	uint16_t sport[2], dport[2];
	uint64_t pkts[2], bytes[2];
	uint32_t idle_s;
	uint8_t svc_ip[16]; /* the service's frontend */
	uint16_t svc_port;
	uint8_t svc_proto; /* 0: no service */
	uint8_t proto, flags;
	uint8_t v6;
	uint8_t pad[2];
};

struct record_v1 {
	uint32_t src[2], dst[2];
	uint16_t sport[2], dport[2];
	uint64_t pkts[2], bytes[2];
	uint32_t idle_s;
	uint32_t svc_ip; /* the service's frontend, 0: none */
	uint16_t svc_port;
	uint8_t svc_proto;
	uint8_t proto, flags;
	uint8_t pad[3];
};

static void path_of(char *buf, size_t len, const char *suffix)
{
	snprintf(buf, len, "%s/conntrack.bin%s", node.cfg.state_dir, suffix);
}

struct writer {
	FILE *f;
	uint64_t n;
	int err;
};

static void write_one(const struct dp_flow_view *v, void *arg)
{
	struct writer *w = arg;
	struct record r = {.idle_s = v->idle_s, .proto = v->proto, .flags = v->flags, .v6 = v->v6};

	for (unsigned d = 0; d < 2; d++) {
		memcpy(r.src[d], v->v6 ? v->src6[d] : (const uint8_t *)&v->src[d], v->v6 ? 16 : 4);
		memcpy(r.dst[d], v->v6 ? v->dst6[d] : (const uint8_t *)&v->dst[d], v->v6 ? 16 : 4);
		r.sport[d] = v->sport[d];
		r.dport[d] = v->dport[d];
		r.pkts[d] = v->pkts[d];
		r.bytes[d] = v->bytes[d];
	}
	if (v->svc != 0 && v->svc <= node.cfg.max_services && node.svcs[v->svc - 1].used) {
		const struct ctl_svc *s = &node.svcs[v->svc - 1];
		memcpy(r.svc_ip, s->v6 ? s->ip6 : (const uint8_t *)&s->ip, s->v6 ? 16 : 4);
		r.svc_port = s->port;
		r.svc_proto = s->proto;
	}
	if (w->err == 0 && fwrite(&r, sizeof(r), 1, w->f) != 1)
		w->err = errno ? errno : EIO;
	w->n++;
}

void ctl_conntrack_save(void)
{
	char path[340], tmp[340];

	/* Written even empty: it tells the next podlaned that none were lost. */
	path_of(path, sizeof(path), "");
	path_of(tmp, sizeof(tmp), ".tmp");
	struct writer w = {.f = fopen(tmp, "w")};
	struct header h = {.magic = MAGIC, .version = VERSION, .written_s = (uint64_t)time(NULL)};
	if (w.f == NULL || fwrite(&h, sizeof(h), 1, w.f) != 1) {
		ctl_warn("conntrack: cannot write %s (%s): tracked connections are lost", tmp,
			 strerror(errno));
		if (w.f != NULL)
			fclose(w.f);
		return;
	}
	dp_ct_walk(write_one, &w);
	h.count = w.n;
	if (w.err == 0 && (fseek(w.f, 0, SEEK_SET) != 0 || fwrite(&h, sizeof(h), 1, w.f) != 1))
		w.err = errno ? errno : EIO;
	if (fclose(w.f) != 0 && w.err == 0)
		w.err = errno;
	if (w.err == 0 && rename(tmp, path) != 0)
		w.err = errno;
	if (w.err != 0) {
		unlink(tmp);
		ctl_warn("conntrack: cannot write %s (%s): tracked connections are lost", path,
			 strerror(w.err));
		return;
	}
	ctl_log("conntrack: %llu connections kept for the next podlaned in %s",
		(unsigned long long)w.n, path);
}

/* A version 1 record as version 2 has it. */
static struct record from_v1(const struct record_v1 *o)
{
	struct record r = {.idle_s = o->idle_s, .svc_port = o->svc_port,
			   .svc_proto = o->svc_ip ? o->svc_proto : 0, .proto = o->proto,
			   .flags = o->flags};

	memcpy(r.svc_ip, &o->svc_ip, 4);
	for (unsigned d = 0; d < 2; d++) {
		memcpy(r.src[d], &o->src[d], 4);
		memcpy(r.dst[d], &o->dst[d], 4);
		r.sport[d] = o->sport[d];
		r.dport[d] = o->dport[d];
		r.pkts[d] = o->pkts[d];
		r.bytes[d] = o->bytes[d];
	}
	return r;
}

static bool read_record(FILE *f, uint32_t version, struct record *r)
{
	struct record_v1 o;

	if (version != 1)
		return fread(r, sizeof(*r), 1, f) == 1;
	if (fread(&o, sizeof(o), 1, f) != 1)
		return false;
	*r = from_v1(&o);
	return true;
}

/* A record as dp_ct_import takes it: the service by its frontend. */
static struct dp_flow_view view_of(const struct record *r, uint32_t gap)
{
	struct dp_flow_view v = {.v6 = r->v6, .proto = r->proto, .flags = r->flags,
				 .idle_s = r->idle_s + gap};

	for (unsigned d = 0; d < 2; d++) {
		memcpy(r->v6 ? v.src6[d] : (uint8_t *)&v.src[d], r->src[d], r->v6 ? 16 : 4);
		memcpy(r->v6 ? v.dst6[d] : (uint8_t *)&v.dst[d], r->dst[d], r->v6 ? 16 : 4);
		v.sport[d] = r->sport[d];
		v.dport[d] = r->dport[d];
		v.pkts[d] = r->pkts[d];
		v.bytes[d] = r->bytes[d];
	}
	if (r->svc_proto != 0) {
		struct ctl_svc k = {.v6 = r->v6, .port = r->svc_port, .proto = r->svc_proto};
		memcpy(r->v6 ? k.ip6 : (uint8_t *)&k.ip, r->svc_ip, r->v6 ? 16 : 4);
		const struct ctl_svc *s = ctl_svc_find(&k);
		v.svc = s != NULL ? (uint32_t)(s - node.svcs) + 1 : 0;
	}
	return v;
}

bool ctl_conntrack_restore(void)
{
	char path[340];
	struct header h;
	struct record r;
	uint64_t done = 0, lost = 0;
	bool taken = false;

	path_of(path, sizeof(path), "");
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return false;
	if (fread(&h, sizeof(h), 1, f) != 1 || h.magic != MAGIC || h.version < 1 ||
	    h.version > VERSION) {
		ctl_warn("conntrack: %s is not a connection file of this podlaned (versions 1-%d): "
			 "ignored", path, VERSION);
		goto out;
	}
	taken = true;
	/* Idle since: as the file says, plus the time no podlaned ran. */
	uint64_t now = (uint64_t)time(NULL);
	uint32_t gap = now > h.written_s ? (uint32_t)RTE_MIN(now - h.written_s, (uint64_t)UINT32_MAX / 2) : 0;
	for (uint64_t i = 0; i < h.count && read_record(f, h.version, &r); i++) {
		struct dp_flow_view v = view_of(&r, gap);
		if (dp_ct_import(&v) == 0)
			done++;
		else
			lost++;
	}
	if (done + lost < h.count)
		ctl_warn("conntrack: %s ends after %llu of %llu connections", path,
			 (unsigned long long)(done + lost), (unsigned long long)h.count);
	ctl_log("conntrack: %llu connections taken over from the podlaned before%s", (unsigned long long)done,
		lost ? " (some did not fit max_flows or clashed)" : "");
out:
	fclose(f);
	unlink(path);
	return taken;
}
