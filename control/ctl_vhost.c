/* vhost-user pod ports: where their sockets and config files live. The
 * pod's application is the vhost-user server (virtio_user server=1) and
 * podlaned the client with reconnect, so either side can restart and the
 * link comes back by itself (the choice OVS-DPDK's dpdkvhostuserclient
 * made). Per pod, in vhost_dir: <container-id>-<ifname>.sock (created by
 * the application) and <container-id>-<ifname>.json (written here: what
 * the application needs to configure its port). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl_node.h"

int ctl_vhost_paths(const char *id, const char *ifname, char sock[108], char file[280])
{
	int n = snprintf(sock, 108, "%s/%s-%s.sock", node.cfg.vhost_dir, id, ifname);

	if (n < 0 || n >= 108)
		return -ENAMETOOLONG;
	snprintf(file, 280, "%s/%s-%s.json", node.cfg.vhost_dir, id, ifname);
	return 0;
}

static int prepare_dir(void)
{
	const char *d = node.cfg.vhost_dir;
	int rc = ctl_mkdir_p(d);

	if (rc != 0)
		return rc;
	/* With vhost_group, members (the pods' applications) may create
	 * their sockets there; the setgid bit keeps the group on them. */
	if (node.cfg.vhost_gid >= 0 &&
	    (chown(d, 0, (gid_t)node.cfg.vhost_gid) != 0 || chmod(d, 02770) != 0))
		return -errno;
	return 0;
}

int ctl_vhost_write(const struct ctl_pod *p, const struct rte_ether_addr *gwmac)
{
	char sock[108], file[280], tmp[290], ip[16], mac[18], gw[18];
	int rc = prepare_dir();

	if (rc != 0 || (rc = ctl_vhost_paths(p->container_id, p->ifname, sock, file)) != 0)
		return rc;
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "container_id", p->container_id, "ifname",
			      p->ifname, "socket", sock, "socket_mode", "server");
	if (p->ip) { /* none on an IPv6-only node */
		json_object_set_new(o, "ip", json_string(ctl_ip_str(p->ip, ip)));
		json_object_set_new(o, "prefix_length", json_integer(32));
	}
	json_object_set_new(o, "mac", json_string(ctl_mac_str(&p->mac, mac)));
	if (p->ip)
		json_object_set_new(o, "gateway", json_string(PL_POD_GATEWAY));
	json_object_set_new(o, "gateway_mac", json_string(ctl_mac_str(gwmac, gw)));
	json_object_set_new(o, "mtu", json_integer(p->mtu));
	if (node.cfg.has_pod6) { /* its /128 and gateway, as the TAP pod gets them */
		char ip6[CTL_IP6_STRLEN];
		json_object_set_new(o, "ip6", json_string(ctl_ip6_str(p->ip6, ip6)));
		json_object_set_new(o, "prefix_length6", json_integer(128));
		json_object_set_new(o, "gateway6", json_string(PL_POD_GATEWAY6));
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	rc = json_dump_file(o, tmp, JSON_INDENT(2)) == 0 ? 0 : -EIO;
	json_decref(o);
	if (rc == 0 && node.cfg.vhost_gid >= 0 && (chown(tmp, 0, (gid_t)node.cfg.vhost_gid) != 0 ||
						   chmod(tmp, 0640) != 0))
		rc = -errno;
	if (rc == 0 && rename(tmp, file) != 0)
		rc = -errno;
	if (rc != 0)
		unlink(tmp);
	return rc;
}

void ctl_vhost_remove(const struct ctl_pod *p)
{
	char sock[108], file[280];

	if (ctl_vhost_paths(p->container_id, p->ifname, sock, file) != 0)
		return;
	unlink(file);
	unlink(sock); /* the application's; DEL means it is gone */
}
