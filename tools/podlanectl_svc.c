/* podlanectl's service and conntrack commands: their parameters from the
 * command line (IP:PORT/PROTOCOL as people write them), their results as
 * tables. */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "podlanectl.h"
#include "podlane_api.h"

#define IP_LEN INET6_ADDRSTRLEN

/* "IP:PORT" or "[IPv6]:PORT" into ip and port (1..65535); false when it
 * is not that. */
static bool ip_port(const char *s, char ip[IP_LEN], long *port)
{
	bool v6 = s[0] == '[';
	const char *colon = strrchr(s, ':');
	struct in6_addr a;
	char *end;

	if (v6)
		s++;
	if (colon == NULL || colon - s >= IP_LEN || (v6 && (colon - s < 1 || colon[-1] != ']')))
		return false;
	memcpy(ip, s, (size_t)(colon - s - v6));
	ip[colon - s - v6] = '\0';
	*port = strtol(colon + 1, &end, 10);
	return inet_pton(v6 ? AF_INET6 : AF_INET, ip, &a) == 1 && *end == '\0' && colon[1] != '\0' &&
	       *port >= 1 && *port <= 65535;
}

/* "ip:port", or "[ip]:port" for an IPv6 address, into buf. */
static const char *ep_str(const char *ip, const char *port, char *buf, size_t len)
{
	bool v6 = strchr(ip, ':') != NULL;
	snprintf(buf, len, "%s%s%s:%s", v6 ? "[" : "", ip, v6 ? "]" : "", port);
	return buf;
}

/* "IP:PORT[/tcp|udp]" as the ip, port and protocol members of o. */
static bool frontend(const char *s, json_t *o)
{
	char buf[IP_LEN + 16], ip[IP_LEN];
	const char *proto = "tcp";
	long port;

	if (strlen(s) >= sizeof(buf))
		return false;
	strcpy(buf, s);
	char *slash = strchr(buf, '/');
	if (slash != NULL) {
		*slash = '\0';
		proto = slash + 1;
		if (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0)
			return false;
	}
	if (!ip_port(buf, ip, &port))
		return false;
	json_object_set_new(o, "ip", json_string(ip));
	json_object_set_new(o, "port", json_integer(port));
	json_object_set_new(o, "protocol", json_string(proto));
	return true;
}

json_t *cli_trace_params(const char *to, const char *from)
{
	json_t *p = json_object();
	char ip[IP_LEN];
	long port;

	const char *colon = strchr(to, ':');
	if (colon == NULL || (to[0] != '[' && strchr(colon + 1, ':') != NULL)) {
		/* no port, or an IPv6 address without one */
		json_object_set_new(p, "address", json_string(to));
	} else {
		if (!frontend(to, p))
			goto bad;
		json_object_set(p, "address", json_object_get(p, "ip"));
		json_object_del(p, "ip");
	}
	/* With a port: IPv4:PORT (one colon) or [IPv6]:PORT. */
	const char *fc = from ? strchr(from, ':') : NULL;
	if (from != NULL && (from[0] == '[' || (fc != NULL && strchr(fc + 1, ':') == NULL))) {
		if (!ip_port(from, ip, &port))
			goto bad;
		json_object_set_new(p, "source", json_string(ip));
		json_object_set_new(p, "source_port", json_integer(port));
	} else if (from != NULL) {
		json_object_set_new(p, "source", json_string(from));
	}
	return p;
bad:
	json_decref(p);
	return NULL;
}

static char *join_backends(json_t *b)
{
	size_t i, len = 1, at = 0;
	json_t *o;

	char ep[IP_LEN + 16];

	json_array_foreach(b, i, o)
		len += strlen(cli_str(o, "ip")) + strlen(cli_str(o, "port")) + 4;
	char *s = malloc(len);
	if (s == NULL)
		return NULL;
	s[0] = '\0';
	json_array_foreach(b, i, o)
		at += (size_t)sprintf(s + at, "%s%s", i ? "," : "",
				      ep_str(cli_str(o, "ip"), cli_str(o, "port"), ep, sizeof(ep)));
	return s;
}

static void print_services(json_t *r)
{
	size_t i;
	json_t *s;
	char buf[IP_LEN + 16], ep[IP_LEN + 8];

	json_array_foreach(r, i, s) {
		json_t *st = json_object_get(s, "stats");
		snprintf(buf, sizeof(buf), "%s/%s",
			 ep_str(cli_str(s, "ip"), cli_str(s, "port"), ep, sizeof(ep)),
			 cli_str(s, "protocol"));
		json_object_set_new(s, "service", json_string(buf));
		char *b = join_backends(json_object_get(s, "backends"));
		json_object_set_new(s, "backend_list", json_string(b && b[0] ? b : "none"));
		free(b);
		json_object_set_new(s, "policy", json_string(json_object_get(s, "external_traffic_policy")
								 ? "Local" : "Cluster"));
		json_object_set(s, "conns", json_object_get(st, "connections"));
		json_object_set(s, "rejected", json_object_get(st, "rejected"));
	}
	cli_table(r, (const char *const[]){"service", "name", "backend_list", "node_port", "policy",
					   "affinity_timeout", "conns", "rejected", "origin", NULL},
		  (const char *const[]){"SERVICE", "NAME", "BACKENDS", "NODE_PORT", "EXTERNAL",
					"AFFINITY", "CONNS", "REJECTED", "ORIGIN"});
}

static const char *endpoints(json_t *dir, char buf[2 * IP_LEN + 32])
{
	json_t *s = json_object_get(dir, "source"), *d = json_object_get(dir, "destination");
	char a[IP_LEN + 16], b[IP_LEN + 16];
	snprintf(buf, 2 * IP_LEN + 32, "%s>%s", ep_str(cli_str(s, "ip"), cli_str(s, "port"), a, sizeof(a)),
		 ep_str(cli_str(d, "ip"), cli_str(d, "port"), b, sizeof(b)));
	return buf;
}

static void print_conntrack(json_t *r)
{
	json_t *flows = json_object_get(r, "flows"), *f;
	char b[2 * IP_LEN + 32];
	size_t i;

	json_array_foreach(flows, i, f) {
		json_t *p = json_object_get(f, "packets");
		json_object_set_new(f, "orig", json_string(endpoints(json_object_get(f, "original"), b)));
		json_object_set_new(f, "repl", json_string(endpoints(json_object_get(f, "reply"), b)));
		snprintf(b, sizeof(b), "%lld/%lld", (long long)json_integer_value(json_array_get(p, 0)),
			 (long long)json_integer_value(json_array_get(p, 1)));
		json_object_set_new(f, "pkts", json_string(b));
	}
	cli_table(flows, (const char *const[]){"protocol", "state", "orig", "repl", "pkts", "idle",
					       "service", NULL},
		  (const char *const[]){"PROTO", "STATE", "ORIGINAL", "REPLY", "PACKETS", "IDLE",
					"SERVICE"});
	printf("%zu shown of %s matching; %s of %s tracked\n", json_array_size(flows),
	       cli_str(r, "matched"), cli_str(r, "in_use"), cli_str(r, "max"));
}

static void print_flushed(json_t *r)
{
	printf("%s connection(s) forgotten\n", cli_str(r, "flushed"));
}

static void print_service(json_t *r)
{
	json_t *one = json_pack("[O]", r);
	json_object_set_new(json_array_get(one, 0), "stats", json_object());
	print_services(one);
	json_decref(one);
}

static void print_deleted(json_t *r)
{
	printf("service %s deleted\n", cli_str(r, "deleted"));
}

/* service add's options after the backends; false on a bad one. */
static bool add_options(int n, char **a, int i, json_t *p)
{
	json_t *ext = json_array();
	char *end;

	for (; i < n; i++) {
		bool more = i + 1 < n;
		long v;
		if (strcmp(a[i], "--local") == 0) {
			json_object_set_new(p, "external_traffic_policy", json_string("Local"));
		} else if (strcmp(a[i], "--node-port") == 0 && more) {
			v = strtol(a[++i], &end, 10);
			if (*end || v < 1 || v > 65535)
				goto bad;
			json_object_set_new(p, "node_port", json_integer(v));
		} else if (strcmp(a[i], "--affinity") == 0 && more) {
			v = strtol(a[++i], &end, 10);
			if (*end || v < 0 || v > 86400)
				goto bad;
			json_object_set_new(p, "affinity_timeout", json_integer(v));
		} else if (strcmp(a[i], "--name") == 0 && more) {
			json_object_set_new(p, "name", json_string(a[++i]));
		} else if (strcmp(a[i], "--external-ip") == 0 && more) {
			json_array_append_new(ext, json_string(a[++i]));
		} else {
			goto bad;
		}
	}
	if (json_array_size(ext))
		json_object_set_new(p, "external_ips", ext);
	else
		json_decref(ext);
	return true;
bad:
	json_decref(ext);
	return false;
}

static int service_add(int n, char **a, json_t **params, const char **why)
{
	json_t *p = json_object(), *b = json_array();
	int i = 3;
	char ip[IP_LEN];
	long port;

	*params = p;
	json_object_set_new(p, "backends", b);
	*why = "service add: IP:PORT[/tcp|udp] [BACKEND_IP:PORT...] [--node-port N] "
	       "[--external-ip IP]... [--local] [--affinity SECONDS] [--name NAME]";
	if (n < 3 || !frontend(a[2], p))
		return 1;
	for (; i < n && strncmp(a[i], "--", 2) != 0; i++) {
		if (!ip_port(a[i], ip, &port))
			return 1;
		json_array_append_new(b, json_pack("{s:s, s:i}", "ip", ip, "port", (int)port));
	}
	return add_options(n, a, i, p) ? 0 : 1;
}

int cli_svc_command(int n, char **a, const char **method, json_t **params,
		    void (**print)(json_t *), const char **why)
{
	bool svc = strcmp(a[0], "service") == 0;
	const char *verb = n > 1 ? a[1] : "";

	*params = json_object();
	if (svc && strcmp(verb, "list") == 0 && n == 2) {
		*method = PL_M_SERVICE_LIST;
		*print = print_services;
	} else if (svc && strcmp(verb, "add") == 0) {
		json_decref(*params);
		*method = PL_M_SERVICE_ADD;
		*print = print_service;
		if (service_add(n, a, params, why) == 0)
			return 0;
		json_decref(*params);
		*params = NULL;
		return 1;
	} else if (svc && strcmp(verb, "del") == 0 && n == 3 && frontend(a[2], *params)) {
		*method = PL_M_SERVICE_DEL;
		*print = print_deleted;
	} else if (!svc && strcmp(verb, "list") == 0 && n <= 8) {
		*method = PL_M_CONNTRACK_LIST;
		*print = print_conntrack;
		for (int i = 2; i < n; i++) {
			char *end;
			if (strcmp(a[i], "--limit") == 0 && i + 1 < n) {
				long v = strtol(a[++i], &end, 10);
				if (*end || v < 0)
					goto bad;
				json_object_set_new(*params, "limit", json_integer(v));
			} else if (strcmp(a[i], "--pod") == 0 && i + 1 < n) {
				json_object_set_new(*params, "pod", json_string(a[++i]));
			} else if (strcmp(a[i], "--service") != 0 || i + 1 == n ||
				   !frontend(a[++i], *params)) {
				goto bad;
			}
		}
	} else if (!svc && strcmp(verb, "flush") == 0 &&
		   (n == 2 || (n == 4 && strcmp(a[2], "--service") == 0 && frontend(a[3], *params)))) {
		*method = PL_M_CONNTRACK_FLUSH;
		*print = print_flushed;
	} else {
		goto bad;
	}
	return 0;
bad:
	json_decref(*params);
	*params = NULL;
	*why = svc ? "service: list | add IP:PORT[/tcp|udp] ... | del IP:PORT[/tcp|udp]"
		   : "conntrack: list [--service IP:PORT[/tcp|udp]] [--pod CONTAINER_ID] [--limit N] | "
		     "flush [--service IP:PORT[/tcp|udp]]";
	return 1;
}
