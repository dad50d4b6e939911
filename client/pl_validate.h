/* Name checks shared by podlaned and its clients (CNI plugin), so a bad
 * name is refused the same way everywhere before it reaches a syscall. */
#ifndef PL_VALIDATE_H
#define PL_VALIDATE_H

#include <stdbool.h>

/* 1..15 characters, not . or .., no / : or whitespace (the kernel's rules). */
bool pl_valid_ifname(const char *s);
/* The CNI spec's: starts alphanumeric, then [A-Za-z0-9_.-], at most 255. */
bool pl_valid_container_id(const char *s);
/* Kubernetes object names: a pod's is a DNS-1123 subdomain (dots allowed,
 * at most 253), a namespace's a DNS-1123 label (no dots, at most 63):
 * lowercase letters, digits and '-', alphanumeric at both ends. */
#define PL_K8S_NAME_MAX 253
#define PL_K8S_NAMESPACE_MAX 63
bool pl_valid_k8s_name(const char *s, bool dots);

#endif
