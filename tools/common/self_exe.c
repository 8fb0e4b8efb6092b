/*
 * self_exe.c - which executable is running, and whether a model is bundled
 * in it (`tinyembed bundle`): then every command runs without --model.
 */
#include "cli.h"

#include <errno.h> /* program_invocation_name: argv[0] as glibc and musl keep it */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int is_exec_file(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

/* argv[0] resolved the way the shell found it: a path as given, else the
 * first executable of that name on $PATH. */
static int from_argv0(char *buf, size_t cap) {
    const char *a0 = program_invocation_name;
    if (!a0 || !*a0) return 0;
    if (strchr(a0, '/')) return snprintf(buf, cap, "%s", a0) < (int)cap && is_exec_file(buf);
    const char *path = getenv("PATH");
    while (path && *path) {
        const char *end = strchr(path, ':');
        size_t len = end ? (size_t)(end - path) : strlen(path);
        int n = snprintf(buf, cap, "%.*s/%s", (int)len, len ? path : ".", a0);
        if (n > 0 && (size_t)n < cap && is_exec_file(buf)) return 1;
        path = end ? end + 1 : NULL;
    }
    return 0;
}

int cli_self_exe(char *buf, size_t cap) {
    ssize_t n = readlink("/proc/self/exe", buf, cap - 1);
    if (n > 0 && (size_t)n < cap - 1) {
        buf[n] = '\0';
        return 1;
    }
    return from_argv0(buf, cap); /* no /proc (a chroot, some containers) */
}

te_status cli_bundled_model(char *buf, size_t cap, te_error *err) {
    if (!cli_self_exe(buf, cap)) return TE_ERR_NOT_FOUND;
    return te_bundle_locate(buf, NULL, NULL, err);
}

const char *cli_self_bundle(char *buf, size_t cap) {
    te_error err;
    return cli_bundled_model(buf, cap, &err) == TE_OK ? buf : NULL;
}
