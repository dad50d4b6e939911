/* podlane CNI plugin entry: read the request (cni_request.c), then one
 * function per command. Errors are the spec's error object on stdout
 * (libcni reads it there) and exit status 1. */
#include <stdio.h>
#include <stdlib.h>

#include "cni.h"

static int version(struct cni_req *r)
{
	json_t *a = json_array();

	for (int i = 0; cni_versions[i]; i++)
		json_array_append_new(a, json_string(cni_versions[i]));
	json_t *o = json_pack("{s:s, s:o}", "cniVersion", r->version ? r->version : "1.1.0",
			      "supportedVersions", a);
	json_dumpf(o, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(o);
	return 0;
}

int main(void)
{
	static char buf[CNI_MAX_STDIN + 1];
	struct cni_req r = {0};
	size_t n = fread(buf, 1, sizeof(buf), stdin);

	cni_request_parse(&r, getenv, buf, n);
	switch (r.kind) {
	case CNI_VERSION:
		return version(&r);
	case CNI_ADD:
		return cni_add(&r);
	case CNI_DEL:
		return cni_del(&r);
	case CNI_CHECK:
		return cni_check(&r);
	case CNI_STATUS:
		return cni_status(&r);
	default:
		return cni_gc(&r);
	}
}
