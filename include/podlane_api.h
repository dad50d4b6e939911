/* The contract shared by podlaned, podlanectl and the CNI plugin:
 * socket location, method names and JSON-RPC error codes. */
#ifndef PODLANE_API_H
#define PODLANE_API_H

#define PL_DEFAULT_SOCKET "/run/podlane/podlane.sock"
#define PL_DEFAULT_STATE_DIR "/var/lib/podlane"
#define PL_DEFAULT_HOST_PORT "podlane0"
#define PL_DEFAULT_CLUSTER_CIDR "100.96.0.0/11"
#define PL_DEFAULT_VHOST_DIR "/run/podlane/vhost"
/* Pods route everything through this link-local gateway; podlaned answers
 * ARP for it (proxy-ARP) on every pod port. */
#define PL_POD_GATEWAY "169.254.1.1"
/* ... and their IPv6 one, when they have IPv6 addresses (dp_ndp.c). */
#define PL_POD_GATEWAY6 "fe80::1"

/* A request line longer than this (config max_request_mb) is refused and
 * the connection closed. */
#define PL_DEFAULT_MAX_REQUEST_MB 1
/* A request must be complete (newline) this long after its first byte. */
#define PL_REQUEST_DEADLINE_MS 5000
/* A connection that sends nothing for this long is closed; and when every
 * client slot is taken, a new client takes the slot of the one idle
 * longest (at least PL_CLIENT_EVICT_MS). */
#define PL_CLIENT_IDLE_MS 600000
#define PL_CLIENT_EVICT_MS 1000

#define PL_M_NODE_INFO "node.info"
#define PL_M_POD_ADD "pod.add"
#define PL_M_POD_DEL "pod.del"
#define PL_M_POD_CHECK "pod.check"
#define PL_M_POD_LIST "pod.list"
#define PL_M_ROUTE_ADD "route.add"
#define PL_M_ROUTE_DEL "route.del"
#define PL_M_ROUTE_LIST "route.list"
#define PL_M_ROUTE_LOOKUP "route.lookup"
#define PL_M_ROUTE_REPLACE_ALL "route.replace_all"
#define PL_M_SERVICE_ADD "service.add"
#define PL_M_SERVICE_DEL "service.del"
#define PL_M_SERVICE_LIST "service.list"
#define PL_M_SERVICE_REPLACE_ALL "service.replace_all"
#define PL_M_POLICY_ADD "policy.add"
#define PL_M_POLICY_DEL "policy.del"
#define PL_M_POLICY_LIST "policy.list"
#define PL_M_POLICY_REPLACE_ALL "policy.replace_all"
#define PL_M_CONNTRACK_LIST "conntrack.list"
#define PL_M_CONNTRACK_FLUSH "conntrack.flush"
#define PL_M_PORT_LIST "port.list"
#define PL_M_STATS_GET "stats.get"
#define PL_M_DROPS_LIST "drops.list"
#define PL_M_CAPTURE_START "capture.start"
#define PL_M_CAPTURE_STOP "capture.stop"
/* Notifications podlaned sends on a capture's connection. */
#define PL_N_CAPTURE_PACKETS "capture.packets"
#define PL_N_CAPTURE_END "capture.end"
#define PL_M_VERSION "version"

/* JSON-RPC 2.0 standard codes, then ours (server error range). */
enum pl_rpc_error {
	PL_E_PARSE = -32700,
	PL_E_INVALID_REQUEST = -32600,
	PL_E_METHOD_NOT_FOUND = -32601,
	PL_E_INVALID_PARAMS = -32602,
	PL_E_INTERNAL = -32603,
	PL_E_NOT_FOUND = -32001,    /* pod, route, service or port does not exist */
	PL_E_EXISTS = -32002,       /* pod, route or service (or its address) already exists */
	PL_E_NO_ADDRESS = -32003,   /* the pod CIDR is exhausted */
	PL_E_RESOURCE = -32004,     /* out of ports, next hops or memory */
	PL_E_NETNS = -32005,        /* the pod netns cannot be entered or set up */
	PL_E_DENIED = -32006,       /* caller not allowed (SO_PEERCRED) */
	PL_E_TOO_LARGE = -32007,    /* request line over max_request_mb */
	PL_E_TIMEOUT = -32008,      /* request not completed within PL_REQUEST_DEADLINE_MS */
};

#endif
