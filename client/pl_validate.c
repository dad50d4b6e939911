#include <ctype.h>
#include <net/if.h>
#include <string.h>

#include "pl_validate.h"

bool pl_valid_ifname(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= IF_NAMESIZE || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || isspace((unsigned char)*s))
			return false;
	return true;
}

bool pl_valid_container_id(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 255 || !isalnum((unsigned char)s[0]))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.' && *s != '-')
			return false;
	return true;
}

bool pl_valid_k8s_name(const char *s, bool dots)
{
	size_t n = strlen(s);

	if (n == 0 || n > (dots ? PL_K8S_NAME_MAX : PL_K8S_NAMESPACE_MAX))
		return false;
	for (size_t i = 0; i < n; i++) {
		bool alnum = islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]);
		if (!alnum && (i == 0 || i == n - 1 || (s[i] != '-' && !(dots && s[i] == '.'))))
			return false;
	}
	return true;
}
