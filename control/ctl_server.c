/* The JSON-RPC server: non-blocking, one epoll loop on the control thread.
 * A slow or stuck client only ever costs its own buffers: reads and writes
 * never block, requests are bounded (max_request_mb), replies a client
 * does not read are bounded too. A connection may carry a stream after a
 * reply (ctl_server_stream: a capture's packets), pumped each round while
 * its client keeps up. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl_rpc.h"
#include "ctl_server.h"

#define MAX_CLIENTS 256
#define MAX_PENDING_OUT (64u << 20)
#define MAX_WATCH 4
#define TAG_LISTEN 0
#define TAG_WATCH 1 /* .. TAG_WATCH + MAX_WATCH - 1 */
#define TAG_CLIENT (TAG_WATCH + MAX_WATCH)
/* A stream's client with more output than this waiting is behind: its
 * stream is not pumped until it catches up (its packets wait, then are
 * lost in the dataplane, counted). */
#define STREAM_BACKLOG (1u << 20)

struct client {
	int fd;
	bool closing; /* close once the output is flushed */
	pid_t pid;
	uid_t uid;
	char *in;
	size_t in_len, in_cap;
	uint64_t partial_since_ms; /* first byte of a still incomplete request */
	uint64_t active_ms;        /* when it last sent something */
	char *out;
	size_t out_len, out_off;
	struct ctl_stream *stream; /* the connection carries one (ctl_server_stream) */
};

static struct {
	int epfd, lfd;
	unsigned n_watch;
	void (*watch_cb[MAX_WATCH])(void);
	char path[108];
	gid_t gid;
	size_t max_request;
	struct client *clients[MAX_CLIENTS];
	int current; /* the slot whose request is being answered, or -1 */
	unsigned n_streams;
} srv = {.epfd = -1, .lfd = -1, .current = -1};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void client_close(unsigned slot)
{
	struct client *c = srv.clients[slot];

	if (c->stream != NULL) {
		c->stream->end(c->stream);
		srv.n_streams--;
	}
	epoll_ctl(srv.epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
	srv.clients[slot] = NULL;
}

static void want_write(unsigned slot, bool on)
{
	/* A closing client is only written to; reading it would spin. */
	uint32_t in = srv.clients[slot]->closing ? 0 : EPOLLIN;
	struct epoll_event ev = {.events = in | (on ? EPOLLOUT : 0), .data.u32 = TAG_CLIENT + slot};
	epoll_ctl(srv.epfd, EPOLL_CTL_MOD, srv.clients[slot]->fd, &ev);
}

static bool queue_out(struct client *c, const char *s)
{
	size_t n = strlen(s);

	if (c->out_len - c->out_off + n > MAX_PENDING_OUT)
		return false; /* the client does not read its replies */
	if (c->out_off > 0) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	char *p = realloc(c->out, c->out_len + n);
	if (p == NULL)
		return false;
	c->out = p;
	memcpy(c->out + c->out_len, s, n);
	c->out_len += n;
	return true;
}

/* Returns false when the client is to be dropped now. */
static bool flush_out(unsigned slot)
{
	struct client *c = srv.clients[slot];

	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			want_write(slot, true);
			return true;
		}
		if (n <= 0)
			return false;
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	want_write(slot, false);
	return !c->closing;
}

static void send_error_and_close(unsigned slot, int code, const char *msg)
{
	char *r = ctl_rpc_error(code, msg);

	srv.clients[slot]->closing = true;
	srv.clients[slot]->in_len = 0;
	if (r == NULL || !queue_out(srv.clients[slot], r) || !flush_out(slot))
		client_close(slot);
	free(r);
}

static void too_large(unsigned slot)
{
	char msg[64];

	snprintf(msg, sizeof(msg), "request larger than %zu MiB", srv.max_request >> 20);
	send_error_and_close(slot, PL_E_TOO_LARGE, msg);
}

static void client_read(unsigned slot)
{
	struct client *c = srv.clients[slot];

	/* A bounded number of reads per wake-up: a client that writes as fast
	 * as we answer gets its turn like the others (epoll is level-triggered,
	 * so the rest is read on the next round). */
	for (int rounds = 0; rounds < 16; rounds++) {
		if (c->in_cap - c->in_len < 4096) {
			size_t cap = c->in_cap ? c->in_cap * 2 : 8192;
			if (cap > srv.max_request + 8192)
				cap = srv.max_request + 8192;
			char *p = cap > c->in_cap ? realloc(c->in, cap) : NULL;
			if (p == NULL) {
				too_large(slot);
				return;
			}
			c->in = p;
			c->in_cap = cap;
		}
		ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			client_close(slot);
			return;
		}
		c->in_len += (size_t)n;
		c->active_ms = now_ms();
		char *start = c->in, *nl;
		while ((nl = memchr(start, '\n', c->in_len - (size_t)(start - c->in))) != NULL) {
			size_t len = (size_t)(nl - start);
			if (len > srv.max_request) {
				too_large(slot);
				return;
			}
			if (len > 0 && !(len == 1 && start[0] == '\r')) {
				srv.current = (int)slot;
				char *r = ctl_rpc_handle(start, len);
				srv.current = -1;
				if (r != NULL && !queue_out(c, r)) {
					free(r);
					client_close(slot);
					return;
				}
				free(r);
			}
			start = nl + 1;
		}
		size_t rest = c->in_len - (size_t)(start - c->in);
		if (rest > 0 && (rest != c->in_len || c->partial_since_ms == 0))
			c->partial_since_ms = now_ms(); /* a new request has begun */
		else if (rest == 0)
			c->partial_since_ms = 0;
		memmove(c->in, start, rest);
		c->in_len = rest;
		if (c->in_len > srv.max_request) {
			too_large(slot);
			return;
		}
	}
	if (c->out_len && !flush_out(slot))
		client_close(slot);
}

static bool peer_allowed(const struct ucred *cr)
{
	return cr->uid == 0 || cr->uid == geteuid() || cr->gid == srv.gid;
}

/* The slot of the client idle longest (at least PL_CLIENT_EVICT_MS,
 * nothing half-sent either way), freed for a new one; MAX_CLIENTS if
 * every client is busy. */
static unsigned evict_idlest(void)
{
	uint64_t now = now_ms(), oldest = now - PL_CLIENT_EVICT_MS;
	unsigned slot = MAX_CLIENTS;

	for (unsigned i = 0; i < MAX_CLIENTS; i++) {
		const struct client *c = srv.clients[i];
		if (c && !c->closing && !c->stream && !c->partial_since_ms &&
		    c->out_len == c->out_off && c->active_ms <= oldest) {
			oldest = c->active_ms;
			slot = i;
		}
	}
	if (slot < MAX_CLIENTS) {
		ctl_warn("every client slot taken: closing client pid %d, idle %" PRIu64 " s, for a "
			 "new one", srv.clients[slot]->pid, (now - oldest) / 1000);
		client_close(slot);
	}
	return slot;
}

static void accept_clients(void)
{
	for (;;) {
		int fd = accept4(srv.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct ucred cr = {0};
		socklen_t l = sizeof(cr);
		getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l);
		unsigned slot = 0;
		while (slot < MAX_CLIENTS && srv.clients[slot])
			slot++;
		if (slot == MAX_CLIENTS)
			slot = evict_idlest();
		if (slot == MAX_CLIENTS) {
			ctl_warn("refusing client pid %d uid %u: %d clients already", cr.pid, cr.uid,
				MAX_CLIENTS);
			close(fd);
			continue;
		}
		struct client *c = calloc(1, sizeof(*c));
		if (c == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->pid = cr.pid;
		c->uid = cr.uid;
		c->active_ms = now_ms();
		srv.clients[slot] = c;
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = TAG_CLIENT + slot};
		epoll_ctl(srv.epfd, EPOLL_CTL_ADD, fd, &ev);
		ctl_debug("client pid %d uid %u gid %u connected", cr.pid, cr.uid, cr.gid);
		if (!peer_allowed(&cr)) {
			ctl_warn("denied client pid %d uid %u gid %u", cr.pid, cr.uid, cr.gid);
			send_error_and_close(slot, PL_E_DENIED,
					     "permission denied: uid not root nor in the socket's group");
		}
	}
}

/* A client that starts a request and never finishes it is dropped, and
 * so is one silent for PL_CLIENT_IDLE_MS: neither holds a slot and a
 * buffer for ever. */
static void expire_clients(void)
{
	uint64_t now = now_ms();

	for (unsigned i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = srv.clients[i];
		if (c == NULL || c->closing)
			continue;
		if (c->stream == NULL && c->partial_since_ms && now - c->partial_since_ms > PL_REQUEST_DEADLINE_MS) {
			ctl_warn("client pid %d: request incomplete after %d ms, closing", c->pid,
				PL_REQUEST_DEADLINE_MS);
			send_error_and_close(i, PL_E_TIMEOUT, "request not completed within 5 s");
		} else if (c->stream == NULL && now - c->active_ms > PL_CLIENT_IDLE_MS &&
			   c->out_len == c->out_off) {
			ctl_debug("client pid %d: idle for %d s, closing", c->pid,
				  PL_CLIENT_IDLE_MS / 1000);
			client_close(i);
		}
	}
}

int ctl_server_path_check(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[sizeof(sa.sun_path)];
	struct stat st;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket %s: longer than %zu bytes", path, sizeof(sa.sun_path) - 1);
		return -1;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		ctl_mkdir_p(dir);
	}
	/* What is there already: a stale socket of ours goes; a live one is
	 * another podlaned's, anything else is not ours to delete. */
	if (lstat(path, &st) != 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "socket %s: exists and is not a socket", path);
		return -1;
	}
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (probe >= 0)
		close(probe);
	if (live) {
		snprintf(err, errlen, "socket %s: another process serves it (another podlaned?)", path);
		return -1;
	}
	return 0;
}

int ctl_server_listen(const char *path, int gid, unsigned max_request_mb, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;

	if (ctl_server_path_check(path, err, errlen) != 0)
		return -1;
	srv.max_request = (size_t)max_request_mb << 20;
	snprintf(srv.path, sizeof(srv.path), "%s", path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	srv.epfd = epoll_create1(EPOLL_CLOEXEC);
	srv.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	unlink(path);
	if (srv.lfd < 0 || bind(srv.lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    chmod(path, 0660) != 0 || (gid >= 0 && chown(path, (uid_t)-1, (gid_t)gid) != 0) ||
	    listen(srv.lfd, 128) != 0) {
		snprintf(err, errlen, "socket %s: %s", path, strerror(errno));
		return -1;
	}
	srv.gid = stat(path, &st) == 0 ? st.st_gid : 0;
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = TAG_LISTEN};
	epoll_ctl(srv.epfd, EPOLL_CTL_ADD, srv.lfd, &ev);
	return 0;
}

int ctl_server_watch_fd(int fd, void (*cb)(void))
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = TAG_WATCH + srv.n_watch};

	if (srv.n_watch == MAX_WATCH || epoll_ctl(srv.epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
		return -1;
	srv.watch_cb[srv.n_watch++] = cb;
	return 0;
}

int ctl_server_stream(struct ctl_stream *s)
{
	if (srv.current < 0 || srv.clients[srv.current]->stream != NULL)
		return -1;
	s->slot = (unsigned)srv.current;
	srv.clients[srv.current]->stream = s;
	srv.n_streams++;
	return 0;
}

struct ctl_stream *ctl_server_current_stream(void)
{
	return srv.current < 0 ? NULL : srv.clients[srv.current]->stream;
}

bool ctl_stream_send(struct ctl_stream *s, const char *line)
{
	return queue_out(srv.clients[s->slot], line);
}

/* Each stream whose client keeps up gets its turn; one that is over
 * closes once its output is sent. */
static void pump_streams(void)
{
	for (unsigned i = 0; i < MAX_CLIENTS && srv.n_streams; i++) {
		struct client *c = srv.clients[i];
		if (c == NULL || c->stream == NULL || c->closing ||
		    c->out_len - c->out_off > STREAM_BACKLOG)
			continue;
		if (!c->stream->pump(c->stream))
			c->closing = true;
		if (c->out_len > c->out_off ? !flush_out(i) : c->closing)
			client_close(i);
	}
}

int ctl_server_poll(int timeout_ms)
{
	struct epoll_event evs[32];
	if (srv.n_streams && timeout_ms > CTL_STREAM_MS)
		timeout_ms = CTL_STREAM_MS;
	int n = epoll_wait(srv.epfd, evs, 32, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -1;
	expire_clients();
	for (int i = 0; i < n; i++) {
		uint32_t tag = evs[i].data.u32;
		if (tag == TAG_LISTEN) {
			accept_clients();
		} else if (tag < TAG_CLIENT) {
			srv.watch_cb[tag - TAG_WATCH]();
		} else {
			unsigned slot = tag - TAG_CLIENT;
			if (srv.clients[slot] == NULL)
				continue;
			if (evs[i].events & (EPOLLERR | EPOLLHUP) && !(evs[i].events & EPOLLIN)) {
				client_close(slot);
				continue;
			}
			if (evs[i].events & EPOLLOUT && !flush_out(slot)) {
				client_close(slot);
				continue;
			}
			if (evs[i].events & EPOLLIN && !srv.clients[slot]->closing)
				client_read(slot);
		}
	}
	pump_streams();
	return 0;
}

void ctl_server_close(void)
{
	for (unsigned i = 0; i < MAX_CLIENTS; i++)
		if (srv.clients[i])
			client_close(i);
	if (srv.lfd >= 0) {
		close(srv.lfd);
		unlink(srv.path);
	}
	if (srv.epfd >= 0)
		close(srv.epfd);
}
