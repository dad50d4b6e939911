/* Address parsing and printing, errors and directories, shared by control. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctl.h"

uint32_t ctl_mask(uint8_t plen)
{
	return plen == 0 ? 0 : htonl(~0u << (32 - plen));
}

int ctl_parse_ip(const char *s, uint32_t *ip)
{
	struct in_addr a;

	if (s == NULL || inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*ip = a.s_addr;
	return 0;
}

int ctl_parse_prefix(const char *s, uint32_t *ip, uint8_t *plen, bool host_bits_ok)
{
	char buf[32], *slash;

	if (s == NULL || strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	/* Digits only after the slash: strtol would take " 24" and "+24". */
	if (slash == NULL || strlen(slash + 1) < 1 || strlen(slash + 1) > 2 ||
	    strspn(slash + 1, "0123456789") != strlen(slash + 1))
		return -1;
	*slash = '\0';
	long l = strtol(slash + 1, NULL, 10);
	if (l > 32 || ctl_parse_ip(buf, ip) != 0)
		return -1;
	*plen = (uint8_t)l;
	if (!host_bits_ok && (*ip & ~ctl_mask(*plen)) != 0)
		return -2;
	return 0;
}

int ctl_parse_prefix6(const char *s, uint8_t ip[16], uint8_t *plen, bool host_bits_ok)
{
	char buf[64], *slash;

	if (s == NULL || strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	/* Digits only, no leading zero: strtol would take " 64", "+64", "064". */
	if (slash == NULL || strlen(slash + 1) < 1 || strlen(slash + 1) > 3 ||
	    strspn(slash + 1, "0123456789") != strlen(slash + 1) ||
	    (slash[1] == '0' && slash[2] != '\0'))
		return -1;
	*slash = '\0';
	long l = strtol(slash + 1, NULL, 10);
	if (l > 128 || inet_pton(AF_INET6, buf, ip) != 1)
		return -1;
	*plen = (uint8_t)l;
	for (unsigned bit = *plen; bit < 128; bit++)
		if (!host_bits_ok && (ip[bit / 8] & (0x80 >> (bit % 8))))
			return -2;
	return 0;
}

void ctl_net6(const uint8_t ip[16], uint8_t plen, uint8_t net[16])
{
	memset(net, 0, 16);
	for (unsigned bit = 0; bit < plen; bit++)
		net[bit / 8] |= ip[bit / 8] & (0x80 >> (bit % 8));
}

bool ctl_in_prefix6(const uint8_t ip[16], const uint8_t net[16], uint8_t plen)
{
	for (unsigned bit = 0; bit < plen; bit++)
		if ((ip[bit / 8] ^ net[bit / 8]) & (0x80 >> (bit % 8)))
			return false;
	return true;
}

const char *ctl_ip6_str(const uint8_t ip[16], char buf[CTL_IP6_STRLEN])
{
	return inet_ntop(AF_INET6, ip, buf, CTL_IP6_STRLEN);
}

const char *ctl_ip_str(uint32_t ip, char buf[16])
{
	struct in_addr a = {.s_addr = ip};
	return inet_ntop(AF_INET, &a, buf, 16);
}

const char *ctl_prefix_str(uint32_t ip, uint8_t plen, char buf[CTL_PREFIX_STRLEN])
{
	char a[16];

	snprintf(buf, CTL_PREFIX_STRLEN, "%s/%u", ctl_ip_str(ip, a), plen);
	return buf;
}

const char *ctl_mac_str(const struct rte_ether_addr *m, char buf[18])
{
	const uint8_t *b = m->addr_bytes;
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
	return buf;
}

void ctl_hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

int ctl_fail(struct ctl_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int ctl_mkdir_p(const char *dir)
{
	char buf[300];

	snprintf(buf, sizeof(buf), "%s", dir);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(buf, 0755) != 0 && errno != EEXIST ? -errno : 0;
}
