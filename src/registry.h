/*
 * registry.h - what the registry's tests need beyond the public API: a hook
 * called at the start of every load, so a test can hold a load open and
 * make concurrent first uses really overlap it.
 */
#ifndef TE_REGISTRY_H
#define TE_REGISTRY_H

#include "tinyembed.h"

typedef void (*te_reg_load_hook)(void *user, const char *name);

/* Set before te_registry_start; `hook` runs in the loading thread, before te_open. */
void te_registry_set_load_hook(te_registry *r, te_reg_load_hook hook, void *user);

#endif
