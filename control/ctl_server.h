/* The socket podlaned serves JSON-RPC on (ctl_rpc.c answers the lines),
 * and the control thread's event loop around it. */
#ifndef CTL_SERVER_H
#define CTL_SERVER_H

#include <stddef.h>

/* Fails, with the reason, if path cannot be podlaned's socket: too long,
 * something that is not a socket, or a socket another process serves. */
int ctl_server_path_check(const char *path, char *err, size_t errlen);
/* gid: group owning the socket (mode 0660), or -1 to keep the daemon's;
 * a request line longer than max_request_mb is refused. */
int ctl_server_listen(const char *path, int gid, unsigned max_request_mb, char *err, size_t errlen);
/* Run one epoll round of at most timeout_ms. Returns -1 on a fatal error. */
int ctl_server_poll(int timeout_ms);
/* Call cb when fd is readable (the dataplane's slow path, netlink). */
int ctl_server_watch_fd(int fd, void (*cb)(void));
void ctl_server_close(void);

#endif
