/* tensor_io.c — the public safetensors writer (atomic: temp file + rename)
 * and the CPU count that thread defaults come from. */
#include "backend/backend.h"
#include "error.h"
#include "safetensors.h"
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int parse_dtype(const char *s, st_dtype *out) {
    static const struct { const char *name; st_dtype dt; } names[] = {
        {"F32", ST_F32}, {"BF16", ST_BF16}, {"F16", ST_F16}, {"I32", ST_I32}, {"I64", ST_I64}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (s && strcmp(s, names[i].name) == 0) return *out = names[i].dt, 1;
    return 0;
}

saex_status saex_write_safetensors(const char *path, const saex_tensor_view *t, int n, const char *const *metadata) {
    st_write_tensor *w = calloc((size_t)(n > 0 ? n : 1), sizeof *w);
    if (!w) return saex_fail(SAEX_ERR_NOMEM, "%s: out of memory", path);
    for (int i = 0; i < n; i++) {
        if (!parse_dtype(t[i].dtype, &w[i].dtype) || t[i].ndim < 0 || t[i].ndim > 4) {
            free(w);
            return saex_fail(SAEX_ERR_ARG, "%s: tensor \"%s\": unsupported dtype or rank", path, t[i].name);
        }
        w[i].name = t[i].name, w[i].ndim = t[i].ndim, w[i].data = t[i].data;
        memcpy(w[i].shape, t[i].shape, sizeof t[i].shape);
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp-%d", path, (int)getpid());
    saex_status s = st_write(tmp, w, n, metadata);
    free(w);
    if (!s && rename(tmp, path) != 0) s = saex_fail(SAEX_ERR_IO, "%s: cannot rename %s into place", path, tmp);
    if (s) remove(tmp);
    return s;
}

/* cgroup v2 "max 100000" or "200000 100000": quota / period, rounded up. */
static int cgroup_cpus(void) {
    FILE *f = fopen("/sys/fs/cgroup/cpu.max", "r");
    char q[64] = "";
    long period = 0;
    if (f) {
        int got = fscanf(f, "%63s %ld", q, &period);
        fclose(f);
        if (got == 2 && strcmp(q, "max") != 0 && period > 0) return (int)((atol(q) + period - 1) / period);
        return 0;
    }
    long quota = 0;
    f = fopen("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "r"); /* cgroup v1 */
    if (!f) return 0;
    int ok = fscanf(f, "%ld", &quota) == 1;
    fclose(f);
    f = fopen("/sys/fs/cgroup/cpu/cpu.cfs_period_us", "r");
    if (!f) return 0;
    ok = ok && fscanf(f, "%ld", &period) == 1;
    fclose(f);
    return ok && quota > 0 && period > 0 ? (int)((quota + period - 1) / period) : 0;
}

int saex_cpu_count(void) {
    cpu_set_t set;
    int n = 0;
    if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
    if (n <= 0) n = (int)sysconf(_SC_NPROCESSORS_ONLN);
    int cg = cgroup_cpus();
    if (cg > 0 && cg < n) n = cg;
    return n > 0 ? n : 1;
}

int saex_cuda_available(void) { return backend_cuda_available(); }
