/* Name checks shared by podlaned and its clients (CNI plugin), so a bad
 * name is refused the same way everywhere before it reaches a syscall. */
#ifndef PL_VALIDATE_H
#define PL_VALIDATE_H

#include <stdbool.h>

/* 1..15 characters, not . or .., no / : or whitespace (the kernel's rules). */
bool pl_valid_ifname(const char *s);
/* The CNI spec's: starts alphanumeric, then [A-Za-z0-9_.-], at most 255. */
bool pl_valid_container_id(const char *s);

#endif
