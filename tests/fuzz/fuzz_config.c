/* Arbitrary bytes as podlaned's config: a clear error or a config, never
 * a crash. */
#include <stdint.h>

#include "ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_config c;
	char err[CTL_ERR_LEN];

	if (ctl_config_parse((const char *)data, size, &c, err, sizeof(err)) == 0)
		ctl_config_free(&c);
	return 0;
}
