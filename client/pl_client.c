#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "pl_client.h"
#include "podlane_api.h"

int pl_client_open(struct pl_client *c, const char *path, int timeout_ms, char *msg, size_t msglen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};

	/* Not a memset: buf is 64 KiB of stack the plugin would fault in on
	 * every exec; only the bytes received are ever read. */
	c->len = 0;
	c->next_id = 1;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(msg, msglen, "socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;
		snprintf(msg, msglen, "cannot connect to podlaned at %s: %s", path, strerror(e));
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		return -e;
	}
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return 0;
}

void pl_client_close(struct pl_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int send_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One response line; big results (route.list) may exceed buf. */
static char *read_line(struct pl_client *c, size_t *len)
{
	char *line = NULL;
	size_t have = 0;

	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		size_t take = nl ? (size_t)(nl - c->buf) + 1 : c->len;
		char *p = realloc(line, have + take + 1);
		if (p == NULL) {
			free(line);
			return NULL;
		}
		line = p;
		memcpy(line + have, c->buf, take);
		have += take;
		memmove(c->buf, c->buf + take, c->len - take);
		c->len -= take;
		if (nl) {
			line[have] = '\0';
			*len = have;
			return line;
		}
		ssize_t r = recv(c->fd, c->buf, sizeof(c->buf), 0);
		if (r <= 0) {
			free(line);
			return NULL;
		}
		c->len = (size_t)r;
	}
}

json_t *pl_client_call(struct pl_client *c, const char *method, json_t *params, int *code,
		       char *msg, size_t msglen)
{
	int id = c->next_id++;
	json_t *req = json_pack("{s:s, s:i, s:s, s:o}", "jsonrpc", "2.0", "id", id, "method", method,
				"params", params ? params : json_object());
	char *s = json_dumps(req, JSON_COMPACT);
	size_t len;
	json_error_t je;

	json_decref(req);
	*code = 0;
	if (s == NULL) {
		snprintf(msg, msglen, "cannot encode the request");
		return NULL;
	}
	/* The request and its newline in one write: the daemon wakes once. */
	size_t n = strlen(s);
	char *line = realloc(s, n + 2);
	if (line == NULL) {
		free(s);
		snprintf(msg, msglen, "out of memory");
		return NULL;
	}
	memcpy(line + n, "\n", 2);
	int rc = send_all(c->fd, line, n + 1);
	free(line);
	if (rc != 0) {
		snprintf(msg, msglen, "podlaned closed the connection: %s", strerror(errno));
		return NULL;
	}
	line = read_line(c, &len);
	if (line == NULL) {
		snprintf(msg, msglen, "no reply from podlaned to %s: %s", method,
			 errno ? strerror(errno) : "connection closed");
		return NULL;
	}
	json_t *resp = json_loadb(line, len, 0, &je);
	free(line);
	if (resp == NULL) {
		snprintf(msg, msglen, "bad reply from podlaned: %s", je.text);
		return NULL;
	}
	json_t *result = json_incref(json_object_get(resp, "result"));
	if (result == NULL) {
		json_t *err = json_object_get(resp, "error");
		const char *m = json_string_value(json_object_get(err, "message"));
		*code = (int)json_integer_value(json_object_get(err, "code"));
		if (*code == 0)
			*code = PL_E_INTERNAL;
		snprintf(msg, msglen, "%s", m ? m : "podlaned returned an error without a message");
	}
	json_decref(resp);
	return result;
}

int pl_client_notify(struct pl_client *c, const char *method, json_t *params, char *msg,
		     size_t msglen)
{
	json_t *req = json_pack("{s:s, s:s, s:o}", "jsonrpc", "2.0", "method", method, "params",
				params ? params : json_object());
	char *s = json_dumps(req, JSON_COMPACT);
	size_t n = s ? strlen(s) : 0;
	char *line = s ? realloc(s, n + 2) : NULL;
	int rc = -1;

	json_decref(req);
	if (line == NULL) {
		free(s);
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	memcpy(line + n, "\n", 2);
	rc = send_all(c->fd, line, n + 1);
	if (rc != 0)
		snprintf(msg, msglen, "podlaned closed the connection: %s", strerror(errno));
	free(line);
	return rc;
}

json_t *pl_client_next(struct pl_client *c, char *msg, size_t msglen)
{
	struct timeval forever = {0};
	size_t len;
	json_error_t je;

	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &forever, sizeof(forever));
	errno = 0;
	char *line = read_line(c, &len);
	if (line == NULL) {
		int e = errno;
		snprintf(msg, msglen, "podlaned closed the connection%s%s", e ? ": " : "",
			 e ? strerror(e) : "");
		errno = e;
		return NULL;
	}
	json_t *n = json_loadb(line, len, 0, &je);
	free(line);
	if (n == NULL)
		snprintf(msg, msglen, "bad line from podlaned: %s", je.text);
	return n;
}
