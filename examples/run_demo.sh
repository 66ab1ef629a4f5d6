#!/usr/bin/env bash
# The saex demo: SAE features of a tiny Gemma-2 (examples/model) at layer 2
# with a demo SAE (examples/sae) for the questions in examples/input.json.
#   examples/run_demo.sh [extra saex extract options]
set -eu
cd "$(dirname "$0")/.."
SAEX=${SAEX:-build/saex}
[ -x "$SAEX" ] || make -j2 "$SAEX"
mkdir -p build/demo
out=build/demo/input_layer2.json
"$SAEX" extract --input examples/input.json --model examples/model --sae examples/sae \
    --target-layer 2 --top-k 10 --output "$out" "$@"
echo
echo "first variation, as written:"
python3 - "$out" <<'PY' 2>/dev/null || head -c 1200 "$out"
import json, sys
d = json.load(open(sys.argv[1]))
v = d["results"][0]["variations"][0]
print(json.dumps({"prompt": v["prompt"], "sae_activations": v["sae_activations"]}, indent=2)[:1500])
print(json.dumps(d["sae_extraction_metadata"], indent=2))
PY
