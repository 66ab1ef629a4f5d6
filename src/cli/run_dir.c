/* run_dir.c — shards from the command line or Slurm, and --fresh (run_dir.h). */
#include "run_dir.h"
#include "args.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int env_int(const char *name, long long *v) {
    const char *s = getenv(name);
    if (!s || !*s) return 0;
    char *end;
    *v = strtoll(s, &end, 10);
    return *end == '\0';
}

/* The array a run was first started from: {"min": M, "step": S, "count": N}. */
static int saved_array(const char *run_dir, long long *min, long long *step, long long *count) {
    char *p = strfmt("%s/slurm-array.json", run_dir);
    json_t *j = json_load_file(p, 0, NULL);
    free(p);
    int ok = json_is_integer(json_object_get(j, "min")) && json_is_integer(json_object_get(j, "count"));
    if (ok) {
        *min = json_integer_value(json_object_get(j, "min"));
        *step = json_integer_value(json_object_get(j, "step"));
        *count = json_integer_value(json_object_get(j, "count"));
        if (*step < 1) *step = 1;
    }
    json_decref(j);
    return ok;
}

static void save_array(const char *run_dir, long long min, long long step, long long count) {
    mkdir(run_dir, 0755);
    char *p = strfmt("%s/slurm-array.json", run_dir), *tmp = strfmt("%s.tmp-%ld", p, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (f) {
        fprintf(f, "{\"min\": %lld, \"step\": %lld, \"count\": %lld}\n", min, step, count);
        /* link: the first task of the array to get here decides; the others keep it */
        if (fclose(f) == 0 && link(tmp, p) != 0 && errno != EEXIST) cli_warn("cannot write %s: %s", p, strerror(errno));
        unlink(tmp);
    }
    free(p), free(tmp);
}

static int from_array(const char *run_dir, int *shard, int *n) {
    long long id, min = 0, step = 1, count;
    if (!env_int("SLURM_ARRAY_TASK_ID", &id) || !env_int("SLURM_ARRAY_TASK_COUNT", &count)) return 0;
    env_int("SLURM_ARRAY_TASK_MIN", &min);
    if (!env_int("SLURM_ARRAY_TASK_STEP", &step) || step < 1) step = 1;
    long long smin, sstep, scount;
    if (run_dir && saved_array(run_dir, &smin, &sstep, &scount) && scount != count) {
        /* A task resubmitted on its own: its place in the first array. */
        long long i = (id - smin) / sstep;
        if (i >= 0 && i < scount) {
            *shard = (int)i, *n = (int)scount;
            cli_info("Slurm task %lld, resubmitted: shard %d of %d (array of %s/slurm-array.json)", id, *shard, *n, run_dir);
            return 1;
        }
    }
    *shard = (int)((id - min) / step), *n = (int)count;
    if (run_dir && count > 1) save_array(run_dir, min, step, count);
    if (count > 1) cli_info("Slurm array task %lld: shard %d of %d", id, *shard, *n);
    return 1;
}

int shard_choose(const char *text, const char *run_dir, int *shard, int *n) {
    *shard = 0, *n = 1;
    if (text && !strcmp(text, "none")) return 0;
    if (text) {
        long long i, k;
        char tail;
        if (sscanf(text, "%lld/%lld%c", &i, &k, &tail) != 2 || k < 1 || i < 0 || i >= k || k > 100000) {
            cli_error("--shard %s: expected I/N with 0 <= I < N (or none)", text);
            return -1;
        }
        *shard = (int)i, *n = (int)k;
        return 0;
    }
    if (from_array(run_dir, shard, n)) return 0;
    long long procid, ntasks, step;
    /* Only tasks started by srun (a job step) are shards: a batch script
     * also sees SLURM_PROCID=0 and SLURM_NTASKS, but runs once. */
    if (env_int("SLURM_PROCID", &procid) && env_int("SLURM_NTASKS", &ntasks) && ntasks > 1 &&
        (env_int("SLURM_STEP_ID", &step) || env_int("SLURM_STEPID", &step))) {
        *shard = (int)procid, *n = (int)ntasks;
        cli_info("srun task %lld: shard %d of %d", procid, *shard, *n);
    }
    return 0;
}

static int remove_folder_files(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? 0 : -1;
    struct dirent *e;
    int bad = 0;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *p = strfmt("%s/%s", dir, e->d_name);
        if (unlink(p) != 0) bad = -1;
        free(p);
    }
    closedir(d);
    return bad || rmdir(dir) != 0 ? -1 : 0;
}

int run_dir_remove(const char *dir) {
    struct stat sb;
    if (stat(dir, &sb) != 0) return 0;
    const char *files[] = {"manifest.json", "plan.safetensors", "vocab.safetensors", "slurm-array.json"};
    const char *folders[] = {"chunks", "shards"};
    for (int i = 0; i < 2; i++) {
        char *p = strfmt("%s/%s", dir, folders[i]);
        int bad = remove_folder_files(p);
        free(p);
        if (bad) {
            cli_error("--fresh: cannot empty %s/%s: %s", dir, folders[i], strerror(errno));
            return -1;
        }
    }
    for (int i = 0; i < 4; i++) {
        char *p = strfmt("%s/%s", dir, files[i]);
        unlink(p);
        free(p);
    }
    if (rmdir(dir) != 0) {
        cli_error("--fresh: %s holds files that are not saex's; not removing it (%s)", dir, strerror(errno));
        return -1;
    }
    cli_info("--fresh: removed the previous run in %s", dir);
    return 0;
}
