/* The socket podlaned serves JSON-RPC on (ctl_rpc.c answers the lines),
 * and the control thread's event loop around it. */
#ifndef CTL_SERVER_H
#define CTL_SERVER_H

#include <stdbool.h>
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

/* A stream: a method may make the connection its request came on carry
 * more lines after its reply (capture.start: the packets, as JSON-RPC
 * notifications), until the stream ends or the client goes away. Its
 * client is never idle-closed nor evicted. */
struct ctl_stream {
	/* Each round (at least every CTL_STREAM_MS) while the client keeps up
	 * with its output: queue lines with ctl_stream_send. false: the stream
	 * is over; the connection closes once its output is sent. */
	bool (*pump)(struct ctl_stream *s);
	/* The connection is closing: free s. */
	void (*end)(struct ctl_stream *s);
	unsigned slot; /* the server's */
};
#define CTL_STREAM_MS 10
/* From within a method: s takes over the requesting connection after the
 * reply. -1 when there is none (not called from a client's request) or it
 * carries a stream already. */
int ctl_server_stream(struct ctl_stream *s);
/* From within a method: the stream the requesting connection carries, or
 * NULL. */
struct ctl_stream *ctl_server_current_stream(void);
/* Queue one line (ending in its newline, as ctl_rpc_notification makes
 * it); false if the client is too far behind (the line is dropped). */
bool ctl_stream_send(struct ctl_stream *s, const char *line);

#endif
