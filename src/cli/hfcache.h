/* hfcache.h — finds Hugging Face repositories in the local hub cache
 * (no network): HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub,
 * then <cache>/models--ORG--NAME/snapshots/<rev>/ where rev is the content of
 * refs/main, else the only snapshot there is. */
#ifndef SAEX_CLI_HFCACHE_H
#define SAEX_CLI_HFCACHE_H

/* The cache folder in use (caller frees). */
char *hf_cache_dir(void);

/* The snapshot folder of repo ("google/gemma-2-9b-it"), or NULL. Every path
 * that was looked at is appended to *tried ("\n"-separated; caller frees). */
char *hf_snapshot(const char *repo, char **tried);

/* 1 if the string looks like an HF id ("org/name": one slash, no leading '/' or '.'). */
int hf_is_repo_id(const char *s);

#endif
