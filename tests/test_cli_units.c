/* test_cli_units.c — unit tests of src/cli modules that need no model:
 * option helpers and tables, "did you mean", the shard a Slurm task runs.
 * (The chat template, encoding and documents are the library's:
 * tests/test_pipeline.c; the registry and HF ids: tests/test_hub.c.) */
#include "../src/cli/args.c"
#include "../src/cli/run_dir.c"
#include "test.h"

static void test_layers_list(void) {
    int l[8];
    CHECK(arg_layers("--layers", "20,12,20", l, 8) == 2 && l[0] == 12 && l[1] == 20, "sorted, deduplicated");
    CHECK(arg_layers("--layers", "12,,20", l, 8) == -1, "empty item refused");
    CHECK(arg_layers("--layers", "x", l, 8) == -1, "non-number refused");
}

static void test_int_and_subst(void) {
    int64_t v;
    CHECK(arg_int("--k", "10", 1, 100, &v) == 0 && v == 10, "10");
    CHECK(arg_int("--k", "0", 1, 100, &v) == -1, "below range");
    CHECK(arg_int("--k", "5x", 1, 100, &v) == -1, "trailing junk");
    char *s = subst_layer("layer_{L}/width_16k/{L}", 20);
    CHECK(strcmp(s, "layer_20/width_16k/20") == 0, "%s", s);
    free(s);
}

static void test_table_parse(void) {
    const char *out = NULL;
    int64_t k = 50;
    int flag = 0, choice = 0, seen = 0;
    static const char *const CH[] = {"none", "gemma", NULL};
    const arg_spec spec[] = {{"--output", ARG_STR, &out, 0, 0, NULL, NULL},
                             {"--top-k", ARG_INT, &k, 1, 100, NULL, &seen},
                             {"--save-all-tokens", ARG_FLAG, &flag, 0, 0, NULL, NULL},
                             {"--chat-template", ARG_CHOICE, &choice, 0, 0, CH, NULL}};
    char *argv1[] = {"x", "--output", "-", "--top-k=7", "--save-all-tokens", "--chat-template", "gemma", "pos"};
    const char *pos[2];
    int n_pos;
    CHECK(arg_parse(8, argv1, spec, 4, "", pos, 2, &n_pos) == 0, "parses");
    CHECK(out && !strcmp(out, "-") && k == 7 && seen && flag && choice == 1 && n_pos == 1 && !strcmp(pos[0], "pos"),
          "values: out %s k %lld flag %d choice %d", out, (long long)k, flag, choice);
    char *argv2[] = {"x", "--chat-template", "llama"};
    CHECK(arg_parse(3, argv2, spec, 4, "", pos, 2, &n_pos) == -1, "an unknown choice is refused");
    char *argv3[] = {"x", "--top-k"};
    CHECK(arg_parse(2, argv3, spec, 4, "", pos, 2, &n_pos) == -1, "a missing value is refused");
}

static void test_did_you_mean(void) {
    const char *out = NULL;
    int flag = 0;
    const arg_spec spec[] = {{"--output", ARG_STR, &out, 0, 0, NULL, NULL},
                             {"--save-all-tokens", ARG_FLAG, &flag, 0, 0, NULL, NULL}};
    CHECK(distance("--ouptut", "--output") == 2, "transposition = 2 edits");
    char *argv[] = {"x", "--save-all-token"};
    const char *pos[1];
    int n_pos;
    fflush(stderr);
    int saved = dup(2);
    FILE *tmp = tmpfile();
    dup2(fileno(tmp), 2);
    int rc = arg_parse(2, argv, spec, 2, "", pos, 0, &n_pos);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char buf[256] = "";
    rewind(tmp);
    size_t got = fread(buf, 1, sizeof buf - 1, tmp);
    buf[got] = '\0';
    fclose(tmp);
    CHECK(rc == -1 && strstr(buf, "did you mean --save-all-tokens?"), "message: %s", buf);
}

static void test_shard_from_slurm(void) {
    char dir[] = "/tmp/saex_shard_XXXXXX";
    REQUIRE(mkdtemp(dir), "temp dir");
    int s, n;
    unsetenv("SLURM_ARRAY_TASK_ID"), unsetenv("SLURM_PROCID"), unsetenv("SLURM_NTASKS"), unsetenv("SLURM_STEP_ID");
    CHECK(shard_choose(NULL, dir, &s, &n) == 0 && s == 0 && n == 1, "no Slurm: 0 of 1");
    CHECK(shard_choose("2/5", dir, &s, &n) == 0 && s == 2 && n == 5, "--shard 2/5");
    CHECK(shard_choose("5/5", dir, &s, &n) == -1, "--shard 5/5 refused");
    setenv("SLURM_ARRAY_TASK_ID", "12", 1), setenv("SLURM_ARRAY_TASK_MIN", "10", 1);
    setenv("SLURM_ARRAY_TASK_COUNT", "3", 1), setenv("SLURM_ARRAY_TASK_STEP", "1", 1);
    CHECK(shard_choose(NULL, dir, &s, &n) == 0 && s == 2 && n == 3, "array 10-12, task 12: 2 of 3 (%d of %d)", s, n);
    CHECK(shard_choose("none", dir, &s, &n) == 0 && s == 0 && n == 1, "--shard none wins over the array");
    /* resubmitted alone: --array=11 is an array of one, MIN = 11, COUNT = 1 */
    setenv("SLURM_ARRAY_TASK_ID", "11", 1), setenv("SLURM_ARRAY_TASK_MIN", "11", 1), setenv("SLURM_ARRAY_TASK_COUNT", "1", 1);
    CHECK(shard_choose(NULL, dir, &s, &n) == 0 && s == 1 && n == 3, "resubmitted task 11: 1 of 3 (%d of %d)", s, n);
    unsetenv("SLURM_ARRAY_TASK_ID"), unsetenv("SLURM_ARRAY_TASK_MIN"), unsetenv("SLURM_ARRAY_TASK_COUNT");
    setenv("SLURM_PROCID", "1", 1), setenv("SLURM_NTASKS", "4", 1);
    CHECK(shard_choose(NULL, NULL, &s, &n) == 0 && s == 0 && n == 1, "a batch script (no job step) is not a shard");
    setenv("SLURM_STEP_ID", "0", 1);
    CHECK(shard_choose(NULL, NULL, &s, &n) == 0 && s == 1 && n == 4, "srun task 1 of 4");
    unsetenv("SLURM_PROCID"), unsetenv("SLURM_NTASKS"), unsetenv("SLURM_STEP_ID");
    char p[64];
    snprintf(p, sizeof p, "%s/slurm-array.json", dir);
    unlink(p);
    rmdir(dir);
}

int main(void) {
    RUN(test_layers_list);
    RUN(test_int_and_subst);
    RUN(test_table_parse);
    RUN(test_did_you_mean);
    RUN(test_shard_from_slurm);
    TEST_MAIN_END();
}
