/*
 * cmd_bundle.c - `tinyembed bundle -m MODEL.temb -o OUT`: one executable that
 * carries its model. OUT runs every command without --model (embed, serve,
 * similarity, info, ...), mapping the model straight out of itself.
 */
#include <stdio.h>
#include <sys/stat.h>

#include "cli.h"

static const cli_opt opts[] = {
    {"model", 'm', "MODEL", "the .temb model to bundle (f32, f16 or int8; a bundle's model works too)"},
    {"output", 'o', "OUT", "the executable to write (replaced atomically, mode 0755)"},
    {"exe", 0, "PATH", "bundle this tinyembed build instead of the running one (e.g. an ARM build)"},
    {"align", 0, "BYTES", "start the model at a multiple of BYTES (default 16384; the target's page size divides it)"},
    {NULL, 0, NULL, NULL},
};

static const cli_cmd cmd = {
    "bundle", "",
    "Write one executable with the model appended: OUT embed \"text\" needs no other file.",
    "Layout: the executable, zero padding to --align, the .temb file unchanged, a 40-byte trailer\n"
    "(docs/FORMAT.md, \"Bundles\"). The model is checked with every checksum first. Loading\n"
    "strategies, warmup and status work on a bundle as on a separate file; --model still overrides.",
    opts, 0, 0,
};

int cmd_bundle(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&cmd, argc, argv, &a);
    if (rc != CLI_OK) return rc == CLI_HELP ? 0 : rc;
    const char *model = cli_get(&cmd, &a, "model"), *out = cli_get(&cmd, &a, "output"), *exe = cli_get(&cmd, &a, "exe");
    if (!model || !out) {
        cli_error(&cmd, "give --model MODEL.temb and --output OUT");
        return CLI_USAGE;
    }
    long align;
    if ((rc = cli_get_int(&cmd, &a, "align", 4096, 1L << 24, 16384, &align)) != CLI_OK) return rc;
    char self[CLI_PATH_MAX];
    if (!exe && !(exe = cli_self_exe(self, sizeof self) ? self : NULL)) {
        cli_error(&cmd, "cannot find this executable (no /proc/self/exe, argv[0] not found): give --exe PATH");
        return CLI_FAIL;
    }
    te_error err;
    if (te_bundle_write(exe, model, out, (size_t)align, &err) != TE_OK) return cli_lib_error(&cmd, &err);
    uint64_t offset = 0, bytes = 0;
    if (te_bundle_locate(out, &offset, &bytes, &err) != TE_OK) return cli_lib_error(&cmd, &err);
    struct stat st;
    unsigned long long total = stat(out, &st) == 0 ? (unsigned long long)st.st_size : 0;
    fprintf(stderr, "wrote %s: %s with %s appended at byte %llu (%llu model bytes, %llu in all)\n", out, exe, model,
            (unsigned long long)offset, (unsigned long long)bytes, total);
    return 0;
}
