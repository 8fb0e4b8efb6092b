/*
 * results.c - timestamped result files in a results folder (see results.h).
 */
#include "results.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "tinyembed.h"

#ifndef TE_GIT_COMMIT
#define TE_GIT_COMMIT "" /* the Makefile passes it; other builds report null */
#endif

/* mkdir -p: every missing folder on the way to `path`. */
static int make_dirs(const char *who, const char *path) {
    char buf[4097];
    if ((size_t)snprintf(buf, sizeof buf, "%s", path) >= sizeof buf) {
        fprintf(stderr, "tinyembed %s: error: results path too long\n", who);
        return -1;
    }
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char c = *p;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "tinyembed %s: error: cannot create %s: %s\n", who, buf, strerror(errno));
            return -1;
        }
        *p = c;
        if (!c) break;
    }
    struct stat st;
    if (stat(buf, &st) == 0 && S_ISDIR(st.st_mode)) return 0;
    fprintf(stderr, "tinyembed %s: error: %s is not a directory\n", who, buf);
    return -1;
}

static void stamp_now(results_file *r) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(r->timestamp, sizeof r->timestamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    strftime(r->stamp, sizeof r->stamp, "%Y%m%d_%H%M%S", &tm);
}

int results_open(results_file *r, const char *who, const char *dir, const char *kind) {
    memset(r, 0, sizeof *r);
    stamp_now(r);
    char sub[4097];
    if ((size_t)snprintf(sub, sizeof sub, "%s/%s", dir, kind) >= sizeof sub) {
        fprintf(stderr, "tinyembed %s: error: results path too long\n", who);
        return -1;
    }
    if (make_dirs(who, sub) != 0) return -1;
    if ((size_t)snprintf(r->tmp, sizeof r->tmp, "%.4096s/.partial.%ld", sub, (long)getpid()) >= sizeof r->tmp) return -1;
    snprintf(r->path, sizeof r->path, "%s", sub);
    r->f = fopen(r->tmp, "w");
    if (!r->f) {
        fprintf(stderr, "tinyembed %s: error: cannot create %s: %s\n", who, r->tmp, strerror(errno));
        return -1;
    }
    return 0;
}

int results_open_path(results_file *r, const char *who, const char *path) {
    memset(r, 0, sizeof *r);
    stamp_now(r);
    r->named = 1;
    if ((size_t)snprintf(r->path, sizeof r->path, "%s", path) >= sizeof r->path ||
        (size_t)snprintf(r->tmp, sizeof r->tmp, "%.4096s.partial.%ld", path, (long)getpid()) >= sizeof r->tmp) {
        fprintf(stderr, "tinyembed %s: error: results path too long\n", who);
        return -1;
    }
    r->f = fopen(r->tmp, "w");
    if (!r->f) {
        fprintf(stderr, "tinyembed %s: error: cannot create %s: %s\n", who, r->tmp, strerror(errno));
        return -1;
    }
    return 0;
}

int results_commit(results_file *r, const char *who, const char *prefix) {
    int bad = fflush(r->f) != 0 || ferror(r->f) || fsync(fileno(r->f)) != 0;
    bad |= fclose(r->f) != 0;
    r->f = NULL;
    if (bad) {
        fprintf(stderr, "tinyembed %s: error: cannot write %s: %s\n", who, r->tmp, strerror(errno));
        unlink(r->tmp);
        return -1;
    }
    if (r->named) {
        if (rename(r->tmp, r->path) == 0) return 0;
        fprintf(stderr, "tinyembed %s: error: cannot write %s: %s\n", who, r->path, strerror(errno));
        unlink(r->tmp);
        return -1;
    }
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", r->path);
    /* link() refuses an existing name, so a run never replaces another. */
    for (int k = 1; k < 1000; k++) {
        char suffix[16] = "";
        if (k > 1) snprintf(suffix, sizeof suffix, "_%d", k);
        if ((size_t)snprintf(r->path, sizeof r->path, "%s/%s_%s%s.json", dir, prefix, r->stamp, suffix) >= sizeof r->path) break;
        if (link(r->tmp, r->path) == 0) {
            unlink(r->tmp);
            return 0;
        }
        int e = errno;
        /* A filesystem without hard links: check, then rename (racy only against a run in the same second). */
        if (e == EPERM || e == EOPNOTSUPP || e == ENOSYS) {
            if (access(r->path, F_OK) == 0) continue;
            if (rename(r->tmp, r->path) == 0) return 0;
            break;
        }
        if (e != EEXIST) break;
    }
    fprintf(stderr, "tinyembed %s: error: cannot name %s: %s\n", who, r->path, strerror(errno));
    unlink(r->tmp);
    return -1;
}

void results_abort(results_file *r) {
    if (r->f) {
        fclose(r->f);
        r->f = NULL;
        unlink(r->tmp);
    }
}

/* The CPU's marketing name from /proc/cpuinfo ("model name" on x86), else the architecture. */
static void cpu_model(char *out, size_t cap) {
    struct utsname u;
    snprintf(out, cap, "%s", uname(&u) == 0 ? u.machine : "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0) continue;
        char *v = strchr(line, ':');
        if (!v) continue;
        v++;
        while (*v == ' ' || *v == '\t') v++;
        v[strcspn(v, "\n")] = '\0';
        snprintf(out, cap, "%s", v);
        break;
    }
    fclose(f);
}

/* The facts both the header and the caption give: the CPU, the kernel set
 * (the one given, else the best this CPU runs), the threads (0: one per
 * core) and the cores and memory. */
typedef struct machine {
    char cpu[256];
    const char *simd;
    int threads, cores;
    unsigned long long memory;
} machine;

static machine machine_now(const char *simd, int threads) {
    machine m = {.simd = simd ? simd : "unknown"};
    cpu_model(m.cpu, sizeof m.cpu);
    te_sysinfo si;
    te_error err;
    if (te_sysinfo_get(NULL, &si, &err) == TE_OK) {
        if (!simd) m.simd = si.simd;
        m.cores = si.online_cores;
        m.memory = (unsigned long long)si.mem_total;
    }
    m.threads = threads > 0 ? threads : m.cores > 0 ? m.cores : 1;
    return m;
}

void results_caption(char *out, size_t cap, const char *simd, int threads) {
    machine m = machine_now(simd, threads);
    char when[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
    snprintf(out, cap, "%s, %s, %d threads, tinyembed %s%s%s%s, %s", m.cpu, m.simd, m.threads, TE_VERSION_STRING,
             TE_GIT_COMMIT[0] ? " (" : "", TE_GIT_COMMIT, TE_GIT_COMMIT[0] ? ")" : "", when);
}

void results_header(results_file *r, const char *schema, const char *simd, int threads) {
    FILE *f = r->f;
    machine m = machine_now(simd, threads);
    struct utsname u;
    int have_u = uname(&u) == 0;
    fprintf(f, "\"schema\":");
    cli_json_str(f, schema);
    fprintf(f, ",\"timestamp\":\"%s\",\"tinyembed_version\":\"%s\",\"tinyembed_commit\":", r->timestamp, TE_VERSION_STRING);
    if (TE_GIT_COMMIT[0]) cli_json_str(f, TE_GIT_COMMIT);
    else fputs("null", f);
    fputs(",\"machine\":{\"cpu\":", f);
    cli_json_str(f, m.cpu);
    fprintf(f, ",\"cores\":%d,\"memory_bytes\":%llu,\"kernel_set\":", m.cores, m.memory);
    cli_json_str(f, m.simd);
    fprintf(f, ",\"threads\":%d,\"os\":", m.threads);
    char os[600];
    snprintf(os, sizeof os, "%s %s %s", have_u ? u.sysname : "unknown", have_u ? u.release : "", have_u ? u.machine : "");
    cli_json_str(f, os);
    fputc('}', f);
}
