/* The CNI request: environment and network config checked the way the
 * spec says, before anything is touched. Split from main so the fuzz
 * target runs exactly this code. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cni.h"
#include "pl_validate.h"
#include "podlane_api.h"

/* An error ends the plugin at once, with whatever the failing command
 * held: _exit, so leak checkers do not report that memory (the fuzz target
 * checks the parsing paths for real leaks). stdout is flushed before. */
void (*cni_exit)(int status) __attribute__((noreturn)) = _exit;

const char *const cni_versions[] = {"0.4.0", "1.0.0", "1.1.0", NULL};

_Noreturn void cni_fail(const struct cni_req *r, int code, const char *details, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_t *e = json_pack("{s:s, s:i, s:s}", "cniVersion", r && r->version ? r->version : "1.1.0",
			      "code", code, "msg", msg);
	if (details)
		json_object_set_new(e, "details", json_string(details));
	json_dumpf(e, stdout, JSON_COMPACT);
	json_decref(e);
	putchar('\n');
	fflush(stdout);
	cni_exit(1);
}

static bool supported(const char *v)
{
	for (int i = 0; cni_versions[i]; i++)
		if (strcmp(v, cni_versions[i]) == 0)
			return true;
	return false;
}

static const char *env(char *(*get)(const char *), const char *name)
{
	const char *v = get(name);
	return v && v[0] ? v : NULL;
}

static void need_env(const struct cni_req *r, const char *name, const char *value)
{
	if (value == NULL)
		cni_fail(r, CNI_E_ENV, NULL, "%s is not set", name);
}

static json_t *decode(const struct cni_req *r, const char *buf, size_t n)
{
	json_error_t je;

	if (n > CNI_MAX_STDIN)
		cni_fail(r, CNI_E_DECODE, NULL, "network config on stdin is larger than 1 MiB");
	json_t *conf = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &je);
	if (conf == NULL)
		cni_fail(r, CNI_E_DECODE, je.text, "cannot decode the network config on stdin: line %d column %d",
			 je.line, je.column);
	if (!json_is_object(conf)) {
		json_decref(conf);
		cni_fail(r, CNI_E_DECODE, NULL, "the network config on stdin is not a JSON object");
	}
	return conf;
}

static bool valid_interface(const char *v)
{
	return v != NULL && (strcmp(v, "tap") == 0 || strcmp(v, "vhost-user") == 0);
}

/* The value of key in CNI_ARGS ("K1=V1;K2=V2"), copied into buf; NULL if
 * absent. Other keys (K8S_POD_NAME, ...) are not ours to judge. */
static const char *cni_arg(const char *args, const char *key, char *buf, size_t len)
{
	size_t kl = strlen(key);

	for (const char *p = args; p && *p; p = strchr(p, ';') ? strchr(p, ';') + 1 : NULL) {
		if (strncmp(p, key, kl) != 0 || p[kl] != '=')
			continue;
		size_t vl = strcspn(p + kl + 1, ";");
		snprintf(buf, len, "%.*s", (int)(vl < len ? vl : len - 1), p + kl + 1);
		return buf;
	}
	return NULL;
}

static void check_conf(struct cni_req *r, bool version_only)
{
	json_t *c = r->conf, *v;

	v = json_object_get(c, "cniVersion");
	if (!json_is_string(v))
		cni_fail(r, CNI_E_CONFIG, NULL, "network config: cniVersion is missing or not a string");
	r->version = json_string_value(v);
	if (!supported(r->version)) {
		const char *asked = r->version;
		r->version = "1.1.0";
		cni_fail(r, CNI_E_VERSION, "supported: 0.4.0 1.0.0 1.1.0",
			 "incompatible CNI version %s", asked);
	}
	if (version_only)
		return;
	if (!json_is_string(json_object_get(c, "name")))
		cni_fail(r, CNI_E_CONFIG, NULL, "network config: name is missing or not a string");
	v = json_object_get(c, "type");
	if (!json_is_string(v) || strcmp(json_string_value(v), "podlane") != 0)
		cni_fail(r, CNI_E_CONFIG, NULL, "network config: type must be \"podlane\"");
	v = json_object_get(c, "socket");
	if (v && !json_is_string(v))
		cni_fail(r, CNI_E_CONFIG, NULL, "network config: socket must be a string");
	r->socket = v ? json_string_value(v) : PL_DEFAULT_SOCKET;
	v = json_object_get(c, "mtu");
	if (v && (!json_is_integer(v) || json_integer_value(v) < 68 || json_integer_value(v) > 65535))
		cni_fail(r, CNI_E_CONFIG, NULL, "network config: mtu must be an integer from 68 to 65535");
	/* The pod's port: the config's "interface", overridden per pod by
	 * runtimeConfig.interface or CNI_ARGS PODLANE_INTERFACE. */
	r->interface = "tap";
	v = json_object_get(c, "interface");
	if (v && !valid_interface(json_string_value(v)))
		cni_fail(r, CNI_E_CONFIG, NULL, "network config: interface must be \"tap\" or "
			 "\"vhost-user\"");
	if (v)
		r->interface = json_string_value(v);
	v = json_object_get(json_object_get(c, "runtimeConfig"), "interface");
	if (v && !valid_interface(json_string_value(v)))
		cni_fail(r, CNI_E_CONFIG, NULL, "network config: runtimeConfig.interface must be "
			 "\"tap\" or \"vhost-user\"");
	if (v)
		r->interface = json_string_value(v);
	const char *arg = cni_arg(r->args, "PODLANE_INTERFACE", r->arg_buf, sizeof(r->arg_buf));
	if (arg && !valid_interface(arg))
		cni_fail(r, CNI_E_ENV, NULL, "CNI_ARGS: PODLANE_INTERFACE must be tap or vhost-user, "
			 "not '%.32s'", arg);
	if (arg)
		r->interface = arg;
	r->ipam = json_object_get(c, "ipam");
	if (r->ipam && json_object_size(r->ipam) == 0)
		r->ipam = NULL; /* "ipam": {} means the daemon's own */
	if (r->ipam && !json_is_string(json_object_get(r->ipam, "type")))
		cni_fail(r, CNI_E_CONFIG, NULL, "network config: ipam.type is missing or not a string");
	r->prev = json_object_get(c, "prevResult");
	if (r->prev && !json_is_object(r->prev))
		cni_fail(r, CNI_E_CONFIG, NULL, "network config: prevResult must be an object");
	const char *ns = cni_arg(r->args, "K8S_POD_NAMESPACE", r->k8s_namespace, sizeof(r->k8s_namespace));
	const char *name = cni_arg(r->args, "K8S_POD_NAME", r->k8s_name, sizeof(r->k8s_name));
	if (ns && !pl_valid_k8s_name(ns, false))
		cni_fail(r, CNI_E_ENV, NULL, "CNI_ARGS: K8S_POD_NAMESPACE '%.64s' is not a Kubernetes "
			 "namespace", ns);
	if (name && !pl_valid_k8s_name(name, true))
		cni_fail(r, CNI_E_ENV, NULL, "CNI_ARGS: K8S_POD_NAME '%.64s' is not a Kubernetes pod name",
			 name);
	if (!ns || !name) /* labels need both */
		r->k8s_namespace[0] = r->k8s_name[0] = '\0';
}

void cni_request_parse(struct cni_req *r, char *(*get)(const char *), const char *conf,
		       size_t len)
{
	r->command = env(get, "CNI_COMMAND");
	r->container_id = env(get, "CNI_CONTAINERID");
	r->netns = env(get, "CNI_NETNS");
	r->ifname = env(get, "CNI_IFNAME");
	r->args = env(get, "CNI_ARGS");
	r->path = env(get, "CNI_PATH");
	need_env(r, "CNI_COMMAND", r->command);
	bool is_add = !strcmp(r->command, "ADD"), is_del = !strcmp(r->command, "DEL"),
	     is_check = !strcmp(r->command, "CHECK"), is_version = !strcmp(r->command, "VERSION"),
	     is_status = !strcmp(r->command, "STATUS"), is_gc = !strcmp(r->command, "GC");
	if (!(is_add || is_del || is_check || is_version || is_status || is_gc))
		cni_fail(r, CNI_E_ENV, NULL, "CNI_COMMAND: unknown command '%.32s'", r->command);

	r->conf = decode(r, conf, len);
	check_conf(r, is_version);
	if (is_version) {
		r->kind = CNI_VERSION;
		return;
	}
	if ((is_status || is_gc) && strcmp(r->version, "1.1.0") != 0)
		cni_fail(r, CNI_E_VERSION, NULL, "%s needs cniVersion 1.1.0, config has %s", r->command,
			 r->version);
	if (is_add || is_del || is_check) {
		need_env(r, "CNI_CONTAINERID", r->container_id);
		if (!pl_valid_container_id(r->container_id))
			cni_fail(r, CNI_E_ENV, NULL, "CNI_CONTAINERID: '%.64s' is not a valid container ID",
				 r->container_id);
		need_env(r, "CNI_IFNAME", r->ifname);
		if (!pl_valid_ifname(r->ifname))
			cni_fail(r, CNI_E_ENV, NULL, "CNI_IFNAME: '%.32s' is not a valid interface name",
				 r->ifname);
		if (!is_del)
			need_env(r, "CNI_NETNS", r->netns);
		if (r->ipam)
			need_env(r, "CNI_PATH", r->path);
	}
	r->kind = is_add ? CNI_ADD : is_del ? CNI_DEL : is_check ? CNI_CHECK : is_status ? CNI_STATUS : CNI_GC;
}
