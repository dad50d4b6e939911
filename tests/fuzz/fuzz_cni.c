/* The CNI plugin's request parsing (cni_request.c) on arbitrary input:
 * the CNI_* environment and the network config on stdin. Input format:
 * "NAME=value" lines, an empty line, then the config bytes. Every input
 * ends in a parsed request or the spec's error object, never a crash;
 * cni_fail's exit is turned into a jump back here. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static jmp_buf back;
static char env_buf[4096];
static const char *names[] = {"CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS",
			      "CNI_IFNAME",  "CNI_ARGS",        "CNI_PATH"};
static char *values[6];

__attribute__((noreturn)) static void jump_back(int status)
{
	longjmp(back, status ? status : 1);
}

static char *fake_getenv(const char *name)
{
	for (unsigned i = 0; i < 6; i++)
		if (strcmp(name, names[i]) == 0)
			return values[i];
	return NULL;
}

/* Split "NAME=value\n...\n\nconfig" into values[] and the config. */
static size_t split(const uint8_t *data, size_t size, const char **conf)
{
	const uint8_t *sep = memmem(data, size, "\n\n", 2);
	size_t head = sep ? (size_t)(sep - data) : 0;

	memset(values, 0, sizeof(values));
	if (sep == NULL || head >= sizeof(env_buf)) {
		*conf = (const char *)data;
		return size;
	}
	memcpy(env_buf, data, head);
	env_buf[head] = '\0';
	for (char *save = NULL, *line = strtok_r(env_buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		for (unsigned i = 0; i < 6; i++)
			if (strcmp(line, names[i]) == 0)
				values[i] = eq + 1;
	}
	*conf = (const char *)sep + 2;
	return size - head - 2;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	struct cni_req r = {0};
	const char *conf;

	if (!quiet) { /* error objects go to stdout: keep the fuzzer's log readable */
		quiet = freopen("/dev/null", "w", stdout) != NULL;
		cni_exit = jump_back;
	}
	size_t len = split(data, size, &conf);
	if (setjmp(back) == 0)
		cni_request_parse(&r, fake_getenv, conf, len);
	json_decref(r.conf);
	return 0;
}
