#!/usr/bin/env python3
"""Generate src/hub/registry_table.inc: the Gemma Scope residual-stream SAEs
that `saex extract --sae-release R --sae-id I` can resolve without a network.

Sources (facts, not code):
  /work/shared/data/sae-registry/gemma_scope_all_res.tsv   every res entry
  /work/shared/data/sae-registry/gemma_scope_canonical.tsv the canonical subset
  sae_lens/pretrained_saes.yaml (from the reference venv)  cross-check

Every disagreement between the TSVs and sae-lens is reported on stderr; the
table is generated from the TSVs regardless (they are the project's pinned
copy), and the exit status is 1 when there were disagreements and --strict
was given.

Usage: tools/gen_registry.py [--tsv-dir DIR] [--yaml FILE] [--out FILE] [--strict]
"""
import argparse
import csv
import glob
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
COLUMNS = ["release", "repo_id", "model", "sae_id", "path", "neuronpedia", "l0", "l0_from_path"]


def read_tsv(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    if rows and list(rows[0].keys()) != COLUMNS:
        sys.exit(f"{path}: expected columns {COLUMNS}, found {list(rows[0].keys())}")
    return rows


def find_yaml():
    pats = [os.path.join(ROOT, ".venv-ref/lib/python*/site-packages/sae_lens/pretrained_saes.yaml")]
    for p in pats:
        hits = sorted(glob.glob(p))
        if hits:
            return hits[0]
    return None


def layer_of(sae_id):
    m = re.match(r"layer_(\d+)/", sae_id)
    return int(m.group(1)) if m else -1


def c_str(s):
    if s is None or s == "":
        return "NULL"
    out = s.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + out + '"'


def cross_check(rows, yaml_path):
    """Returns a list of disagreement strings."""
    try:
        import yaml
    except ImportError:
        return [f"PyYAML not available: cross-check against {yaml_path} skipped"]
    with open(yaml_path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    problems = []
    releases = sorted({r["release"] for r in rows})
    for rel in releases:
        if rel not in doc:
            problems.append(f"release {rel}: in the TSV, not in sae-lens")
            continue
        y = doc[rel]
        ysaes = {s["id"]: s for s in y.get("saes", [])}
        trows = [r for r in rows if r["release"] == rel]
        for r in trows:
            if r["repo_id"] != y.get("repo_id"):
                problems.append(f"{rel}: repo_id TSV={r['repo_id']} sae-lens={y.get('repo_id')}")
                break
        for r in trows:
            if r["model"] != y.get("model"):
                problems.append(f"{rel}: model TSV={r['model']} sae-lens={y.get('model')}")
                break
        for r in trows:
            s = ysaes.get(r["sae_id"])
            if s is None:
                problems.append(f"{rel} {r['sae_id']}: in the TSV, not in sae-lens")
                continue
            if s.get("path") != r["path"]:
                problems.append(f"{rel} {r['sae_id']}: path TSV={r['path']} sae-lens={s.get('path')}")
            if (s.get("neuronpedia") or "") != r["neuronpedia"]:
                problems.append(f"{rel} {r['sae_id']}: neuronpedia TSV={r['neuronpedia']!r} "
                                f"sae-lens={s.get('neuronpedia')!r}")
        # residual-stream layer SAEs sae-lens knows that the TSV lacks
        tids = {r["sae_id"] for r in trows}
        for sid in ysaes:
            if sid.startswith("layer_") and sid not in tids:
                problems.append(f"{rel} {sid}: in sae-lens, not in the TSV")
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tsv-dir", default="/work/shared/data/sae-registry")
    ap.add_argument("--yaml", default=None)
    ap.add_argument("--out", default=os.path.join(ROOT, "src/hub/registry_table.inc"))
    ap.add_argument("--strict", action="store_true")
    a = ap.parse_args()

    all_rows = read_tsv(os.path.join(a.tsv_dir, "gemma_scope_all_res.tsv"))
    canon = read_tsv(os.path.join(a.tsv_dir, "gemma_scope_canonical.tsv"))
    problems = []
    keyed = {(r["release"], r["sae_id"]): r for r in all_rows}
    if len(keyed) != len(all_rows):
        problems.append("gemma_scope_all_res.tsv: duplicate (release, sae_id) rows")
    for r in canon:
        k = (r["release"], r["sae_id"])
        if k not in keyed:
            problems.append(f"canonical {k}: missing from gemma_scope_all_res.tsv")
        elif keyed[k] != r:
            problems.append(f"canonical {k}: differs between the two TSVs")

    yaml_path = a.yaml or find_yaml()
    if yaml_path:
        problems += cross_check(all_rows, yaml_path)
    else:
        problems.append("sae_lens/pretrained_saes.yaml not found: cross-check skipped")

    for p in problems:
        print("gen_registry: " + p, file=sys.stderr)

    rows = sorted(all_rows, key=lambda r: (r["release"], layer_of(r["sae_id"]), r["sae_id"]))
    lines = [
        "/* registry_table.inc — GENERATED by tools/gen_registry.py; do not edit.",
        f" * Source: {os.path.basename(a.tsv_dir)}/gemma_scope_all_res.tsv ({len(rows)} entries),",
        f" * cross-checked against sae-lens pretrained_saes.yaml: {len(problems)} disagreement(s).",
        " * Columns: release, repo, model, sae_id, folder, neuronpedia (or NULL), layer. */",
    ]
    for r in rows:
        lines.append("{%s, %s, %s, %s, %s, %s, %d}," % (
            c_str(r["release"]), c_str(r["repo_id"]), c_str(r["model"]), c_str(r["sae_id"]),
            c_str(r["path"]), c_str(r["neuronpedia"]), layer_of(r["sae_id"])))
    with open(a.out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print(f"gen_registry: wrote {a.out}: {len(rows)} entries, {len(problems)} disagreement(s)",
          file=sys.stderr)
    return 1 if (a.strict and problems) else 0


if __name__ == "__main__":
    sys.exit(main())
