/* run_dir.h — the command line's side of run stores: which shard this
 * process runs (--shard, or a Slurm job array / srun task), and --fresh. */
#ifndef SAEX_CLI_RUN_DIR_H
#define SAEX_CLI_RUN_DIR_H

/* text: --shard ("I/N", "none") or NULL for the environment. In a Slurm job
 * array the shard is SLURM_ARRAY_TASK_ID relative to SLURM_ARRAY_TASK_MIN
 * (and _STEP) of SLURM_ARRAY_TASK_COUNT; a resubmitted task (sbatch
 * --array=1 after a 0-2 array) keeps its place through RUN/slurm-array.json.
 * Under srun: SLURM_PROCID of SLURM_NTASKS. Otherwise 0 of 1.
 * Returns 0, or -1 after an error message. */
int shard_choose(const char *text, const char *run_dir, int *shard, int *n_shards);

/* Removes a run store (its known files only; -1 after a message when the
 * folder holds anything else, which is then left alone). */
int run_dir_remove(const char *dir);

#endif
