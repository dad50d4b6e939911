/* pcapng files (draft-ietf-opsawg-pcapng), as tcpdump -r and Wireshark
 * read them: one section, one Ethernet interface with nanosecond
 * timestamps, enhanced packet blocks with a direction and a comment.
 * Written little-endian, as this host is. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "podlanectl.h"

#define PAD4(n) (((n) + 3u) & ~3u)

static void put32(FILE *f, uint32_t v) { fwrite(&v, 4, 1, f); }
static void put16(FILE *f, uint16_t v) { fwrite(&v, 2, 1, f); }
static void pad(FILE *f, size_t n)
{
	static const uint8_t z[4];
	fwrite(z, 1, PAD4(n) - n, f);
}

/* An option: code, length, value padded to 4 bytes. */
static void option(FILE *f, uint16_t code, const void *v, uint16_t len)
{
	put16(f, code);
	put16(f, len);
	fwrite(v, 1, len, f);
	pad(f, len);
}

void cli_pcapng_header(FILE *f, const char *ifname)
{
	uint16_t nlen = (uint16_t)(ifname ? strnlen(ifname, 64) : 0);
	uint32_t idb = 16 + 8 + (nlen ? 4 + PAD4(nlen) : 0) + 4 + 4;

	put32(f, 0x0A0D0D0A); /* section header */
	put32(f, 28);
	put32(f, 0x1A2B3C4D);
	put16(f, 1);
	put16(f, 0);
	put32(f, 0xffffffff); /* section length unknown */
	put32(f, 0xffffffff);
	put32(f, 28);
	put32(f, 1); /* interface description */
	put32(f, idb);
	put16(f, 1); /* LINKTYPE_ETHERNET */
	put16(f, 0);
	put32(f, 0); /* no snap length limit */
	option(f, 9, (const uint8_t[]){9}, 1); /* if_tsresol: nanoseconds */
	if (nlen)
		option(f, 2, ifname, nlen); /* if_name */
	put32(f, 0); /* end of options */
	put32(f, idb);
}

void cli_pcapng_packet(FILE *f, uint64_t ts_ns, const uint8_t *data, uint32_t caplen, uint32_t len,
		       int dir, const char *comment)
{
	uint16_t clen = (uint16_t)(comment ? strnlen(comment, 1024) : 0);
	uint32_t flags = dir == CLI_DIR_IN ? 1 : dir == CLI_DIR_OUT ? 2 : 0;
	uint32_t total = 28 + PAD4(caplen) + (flags ? 8 : 0) + (clen ? 4 + PAD4(clen) : 0) + 4 + 4;

	put32(f, 6); /* enhanced packet */
	put32(f, total);
	put32(f, 0); /* interface 0 */
	put32(f, (uint32_t)(ts_ns >> 32));
	put32(f, (uint32_t)ts_ns);
	put32(f, caplen);
	put32(f, len);
	fwrite(data, 1, caplen, f);
	pad(f, caplen);
	if (flags)
		option(f, 2, &flags, 4); /* epb_flags: inbound 1, outbound 2 */
	if (clen)
		option(f, 1, comment, clen); /* opt_comment */
	put32(f, 0);
	put32(f, total);
}

static int nibble(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
		: c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

long cli_unhex(const char *hex, uint8_t *out, size_t max)
{
	size_t n = hex ? strlen(hex) : 0;

	if (n % 2 || n / 2 > max)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (long)(n / 2);
}
