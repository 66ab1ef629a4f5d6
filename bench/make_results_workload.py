#!/usr/bin/env python3
"""make_results_workload.py DIR N... — DIR/inN.json for bench/results_side.sh:
N variations in the results form, the demo's questions with a numbered prompt
and a response of ~60 tokens, so that a variation is ~86 tokens with the
demo tokenizer. Deterministic."""

import json
import sys
from pathlib import Path

FILLER = ("The answer depends on the evidence, and the evidence here is mixed: some studies point one way, "
          "others the other, so a careful reader weighs both before deciding what to believe.")


def workload(n: int, response_filler: str = FILLER) -> dict:
    """n variations of the demo's questions, each prompt numbered so that none repeats."""
    demo = json.loads((Path(__file__).resolve().parents[1] / "examples" / "input.json").read_text())
    results, k = [], 0
    while k < n:
        for r in demo["results"]:
            vs = []
            for v in r["variations"]:
                if k < n:
                    vs.append(dict(v, prompt=f"{v['prompt']} ({k})",
                                   response=f"{v['response']} {response_filler}".rstrip()))
                    k += 1
            if vs:
                results.append(dict(r, question_id=f"q{k}", variations=vs))
    return {"results": results}


def main() -> None:
    out, sizes = Path(sys.argv[1]), [int(a) for a in sys.argv[2:]]
    for n in sizes:
        (out / f"in{n}.json").write_text(json.dumps(workload(n), ensure_ascii=False))


if __name__ == "__main__":
    main()
