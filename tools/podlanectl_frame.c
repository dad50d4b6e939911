/* A frame as one line of text, as tcpdump prints it (a subset): ARP,
 * IPv4 with TCP flags, UDP lengths, ICMP echo ids; IPv6 and other types
 * by their headers' names. */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "podlanectl.h"

static unsigned be16(const uint8_t *p) { return (unsigned)p[0] << 8 | p[1]; }
static uint32_t be32(const uint8_t *p) { return (uint32_t)be16(p) << 16 | be16(p + 2); }

static const char *ip4(const uint8_t *p, char *s)
{
	return inet_ntop(AF_INET, p, s, INET_ADDRSTRLEN);
}

static void tcp_flags(uint8_t f, char *s)
{
	static const struct { uint8_t bit; char c; } names[] = {
		{0x02, 'S'}, {0x01, 'F'}, {0x08, 'P'}, {0x04, 'R'}, {0x20, 'U'},
		{0x40, 'E'}, {0x80, 'W'}, {0x10, '.'},
	};
	size_t n = 0;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (f & names[i].bit)
			s[n++] = names[i].c;
	s[n] = '\0';
	if (n == 0)
		strcpy(s, "none");
}

static void ipv4(char *out, size_t n, const uint8_t *p, uint32_t caplen)
{
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN], fl[16];
	unsigned hl = (p[0] & 15u) * 4, total = be16(p + 2), proto = p[9];
	bool first = (be16(p + 6) & 0x1fff) == 0;
	const uint8_t *l4 = p + hl;
	uint32_t l4cap = caplen > hl ? caplen - hl : 0;
	unsigned l4len = total > hl ? total - hl : 0;

	ip4(p + 12, a);
	ip4(p + 16, b);
	if (hl < 20 || !first) {
		snprintf(out, n, "IP %s > %s: %s, length %u", a, b, hl < 20 ? "bad header" : "fragment",
			 total);
	} else if (proto == 6 && l4cap >= 20) {
		unsigned doff = (l4[12] >> 4) * 4u;
		tcp_flags(l4[13], fl);
		snprintf(out, n, "IP %s.%u > %s.%u: Flags [%s], seq %u, ack %u, length %u", a, be16(l4),
			 b, be16(l4 + 2), fl, be32(l4 + 4), be32(l4 + 8),
			 l4len > doff ? l4len - doff : 0);
	} else if (proto == 17 && l4cap >= 8) {
		snprintf(out, n, "IP %s.%u > %s.%u: UDP, length %u", a, be16(l4), b, be16(l4 + 2),
			 be16(l4 + 4) >= 8 ? be16(l4 + 4) - 8 : 0);
	} else if (proto == 1 && l4cap >= 8 && (l4[0] == 0 || l4[0] == 8)) {
		snprintf(out, n, "IP %s > %s: ICMP echo %s, id %u, seq %u, length %u", a, b,
			 l4[0] == 8 ? "request" : "reply", be16(l4 + 4), be16(l4 + 6), l4len);
	} else if (proto == 1 && l4cap >= 2) {
		snprintf(out, n, "IP %s > %s: ICMP type %u code %u, length %u", a, b, l4[0], l4[1],
			 l4len);
	} else {
		snprintf(out, n, "IP %s > %s: ip-proto-%u, length %u", a, b, proto, l4len);
	}
}

void cli_frame_text(char *out, size_t n, const uint8_t *p, uint32_t caplen, uint32_t len)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	unsigned type = caplen >= 14 ? be16(p + 12) : 0;
	const uint8_t *l3 = p + 14;
	uint32_t cap = caplen >= 14 ? caplen - 14 : 0;

	if (type == 0x0800 && cap >= 20 && (l3[0] >> 4) == 4) {
		ipv4(out, n, l3, cap);
	} else if (type == 0x0806 && cap >= 28 && be16(l3 + 6) == 1) {
		snprintf(out, n, "ARP, Request who-has %s tell %s, length %u", ip4(l3 + 24, a),
			 ip4(l3 + 14, b), len);
	} else if (type == 0x0806 && cap >= 28 && be16(l3 + 6) == 2) {
		snprintf(out, n, "ARP, Reply %s is-at %02x:%02x:%02x:%02x:%02x:%02x, length %u",
			 ip4(l3 + 14, a), l3[8], l3[9], l3[10], l3[11], l3[12], l3[13], len);
	} else if (type == 0x86dd && cap >= 40) {
		snprintf(out, n, "IP6 %s > %s: next-header %u, payload length %u",
			 inet_ntop(AF_INET6, l3 + 8, a, sizeof(a)), inet_ntop(AF_INET6, l3 + 24, b, sizeof(b)),
			 l3[6], be16(l3 + 4));
	} else {
		snprintf(out, n, "ethertype 0x%04x, length %u", type, len);
	}
}
