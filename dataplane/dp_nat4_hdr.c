/* The general rewrite of a header to another tuple, for the Service NAT:
 * for ICMP errors about translated connections (their outer header and
 * their quote) and for the quotes of errors podlaned sends itself. The common case, a packet of a known
 * flow, is dp_nat4.c's translate with the flow's own checksum sums. */
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "dp_nat.h"

#define fold dp_csum_fold
#define w32 dp_csum_w32
#define get16 dp_get16
#define put16 dp_put16

/* What a header becomes. */
struct tuple {
	uint32_t src, dst;
	uint16_t sport, dport;
};

/* RFC 1624, eqn. 3: checksum *c over words that summed to from and now
 * sum to to. (ICMP errors and their quotes are complete: no partial
 * checksums here.) */
static inline void csum_adjust(uint8_t *c, uint32_t from, uint32_t to)
{
	put16(c, (uint16_t)~fold((uint16_t)~get16(c) + (uint32_t)dp_csum_delta(from, to)));
}

static void rewrite(struct rte_ipv4_hdr *ip, const struct dp_l4 *l, const struct tuple *to)
{
	uint32_t from_a = w32(ip->src_addr) + w32(ip->dst_addr), to_a = w32(to->src) + w32(to->dst);
	uint32_t from_p = 0, to_p = 0;

	if (l->sport) {
		from_p += get16(l->sport);
		to_p += to->sport;
		put16(l->sport, to->sport);
	}
	if (l->dport) {
		from_p += get16(l->dport);
		to_p += to->dport;
		put16(l->dport, to->dport);
	}
	csum_adjust((uint8_t *)ip + offsetof(struct rte_ipv4_hdr, hdr_checksum), from_a, to_a);
	ip->src_addr = to->src;
	ip->dst_addr = to->dst;
	if (l->csum == NULL)
		return;
	if (l->pseudo)
		csum_adjust(l->csum, from_a + from_p, to_a + to_p);
	else
		csum_adjust(l->csum, from_p, to_p);
	if (l->pseudo && ip->next_proto_id == IPPROTO_UDP && get16(l->csum) == 0)
		put16(l->csum, 0xffff); /* 0 would mean "no checksum" */
}

static inline struct tuple as_is(const struct dp_ct_key *k)
{
	return (struct tuple){.src = k->src, .dst = k->dst, .sport = k->sport, .dport = k->dport};
}

/* The flow a quoted packet (an ICMP error's, q with len bytes) belongs
 * to, with *data its entry: the quote is one direction after translation,
 * so reversed it is the other's key. */
static struct dp_flow *quoted_flow(struct rte_ipv4_hdr *q, uint32_t len, struct dp_l4 *l,
				   int64_t *data)
{
	uint32_t hlen = (q->version_ihl & 0xf) * 4u;
	struct dp_ct_key k;

	if (len < sizeof(*q) || hlen < sizeof(*q) || hlen > len ||
	    (q->fragment_offset & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK)) ||
	    !dp_l4_parse(q, (uint8_t *)q + hlen, len - hlen, l, &k))
		return NULL;
	struct dp_ct_key rk = dp_ct_key_reversed(&k);
	*data = dp_ct_lookup(&rk);
	return *data < 0 ? NULL : dp_ct_live(*data);
}

/* The quote goes back to what its sender sent. Returns the sender's
 * address, or 0 when no flow matches. */
static uint32_t unquote(struct rte_ipv4_hdr *q, uint32_t len)
{
	struct dp_l4 l;
	int64_t data;
	struct dp_flow *f = quoted_flow(q, len, &l, &data);

	if (f == NULL)
		return 0;
	struct tuple orig = as_is(&f->key[!(data & 1)]);
	/* The quote's own checksums too: its L4 one if quoted that far. */
	rewrite(q, &l, &orig);
	return orig.src;
}

uint32_t dp_nat4_unquote(struct rte_ipv4_hdr *q, uint32_t len)
{
	if (!__atomic_load_n(&dp.nat->active, __ATOMIC_RELAXED))
		return 0;
	return unquote(q, len);
}

/* ip's ICMP header when it is an error quoting at least a header and 8
 * bytes, with *avail the bytes after it in the first segment; else NULL. */
static struct rte_icmp_hdr *icmp_error(const struct rte_mbuf *m, struct rte_ipv4_hdr *ip,
				       uint32_t *avail)
{
	uint32_t hlen = (ip->version_ihl & 0xf) * 4u;
	uint32_t len = rte_be_to_cpu_16(ip->total_length) - hlen;
	struct rte_icmp_hdr *ic = (struct rte_icmp_hdr *)((uint8_t *)ip + hlen);

	*avail = RTE_MIN(len, m->data_len - RTE_ETHER_HDR_LEN - hlen);
	if (*avail < sizeof(*ic) + sizeof(struct rte_ipv4_hdr) + 8 ||
	    (ic->icmp_type != DP_ICMP_DEST_UNREACH && ic->icmp_type != DP_ICMP_TIME_EXCEEDED &&
	     ic->icmp_type != DP_ICMP_PARAM_PROBLEM))
		return NULL;
	*avail -= sizeof(*ic);
	return ic;
}

bool dp_ct_icmp_related(struct rte_mbuf *m, struct rte_ipv4_hdr *ip)
{
	uint32_t avail;
	struct rte_icmp_hdr *ic = icmp_error(m, ip, &avail);
	struct dp_l4 l;
	int64_t data;

	return ic != NULL && quoted_flow((struct rte_ipv4_hdr *)(ic + 1), avail, &l, &data) != NULL;
}

/* An ICMP error about a translated connection: its quote as the sender
 * sent it, sent to that sender, from the address it talked to when the
 * error comes from the peer itself. */
bool dp_nat4_icmp_error(struct rte_mbuf *m, struct rte_ipv4_hdr *ip)
{
	uint32_t hlen = (ip->version_ihl & 0xf) * 4u;
	uint32_t len = rte_be_to_cpu_16(ip->total_length) - hlen;
	uint32_t avail;
	struct rte_icmp_hdr *ic = icmp_error(m, ip, &avail);

	if (ic == NULL)
		return false;
	struct rte_ipv4_hdr *q = (struct rte_ipv4_hdr *)(ic + 1);
	uint32_t peer = q->dst_addr; /* whom the quoted packet went to */
	uint32_t sender = unquote(q, avail);
	if (sender == 0)
		return false;
	struct tuple to = {.src = ip->src_addr == peer ? q->dst_addr : ip->src_addr, .dst = sender};
	struct dp_l4 none = {0};
	rewrite(ip, &none, &to);
	uint16_t sum = 0;
	ic->icmp_cksum = 0;
	if (rte_raw_cksum_mbuf(m, RTE_ETHER_HDR_LEN + hlen, len, &sum) != 0)
		sum = 0; /* cannot happen: ip_check vouched for the length */
	ic->icmp_cksum = (uint16_t)~sum;
	return true;
}

