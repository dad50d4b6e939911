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
	int rc;
	switch (r.kind) {
	case CNI_VERSION:
		rc = version(&r);
		break;
	case CNI_ADD:
		rc = cni_add(&r);
		break;
	case CNI_DEL:
		rc = cni_del(&r);
		break;
	case CNI_CHECK:
		rc = cni_check(&r);
		break;
	case CNI_STATUS:
		rc = cni_status(&r);
		break;
	default:
		rc = cni_gc(&r);
	}
	json_decref(r.conf);
	return rc;
}
