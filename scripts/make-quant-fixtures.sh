#!/bin/sh
# Makes Tests/SeedModelTests/Resources/quant-fixtures.json: llama.cpp's logits on the random-weight
# models QuantizedFixtureTests writes (see Tests/SeedModelTests/Resources/FIXTURES.md).
# Usage: scripts/make-quant-fixtures.sh DIR LLAMA_LOGITS
#   DIR          the folder the test wrote its models into (SEEDFLOW_FIXTURE_MODEL_DIR)
#   LLAMA_LOGITS scripts/llama-logits.cpp built against the vendored llama.cpp
set -eu
dir=$1
tool=$2
tokens=1,270,5,281,260,77,290,3,297,259,120,265,30,288,7,262
out=Tests/SeedModelTests/Resources/quant-fixtures.json
for type in Q4_1 Q2_K Q3_K IQ4_NL IQ4_XS; do
  "$tool" "$dir/quant-fixture-$type.gguf" "$tokens" > "$dir/$type.json" 2> "$dir/$type.log"
done
python3 - "$dir" "$out" <<'PY'
import json, sys
folder, out = sys.argv[1], sys.argv[2]
def fnv1a(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return '%016x' % h
fixtures = {}
for t in ['Q4_1', 'Q2_K', 'Q3_K', 'IQ4_NL', 'IQ4_XS']:
    entry = json.load(open(f'{folder}/{t}.json'))
    entry['file_fnv1a'] = fnv1a(open(f'{folder}/quant-fixture-{t}.gguf', 'rb').read())
    fixtures[t] = entry
with open(out, 'w') as f:
    f.write('{\n')
    f.write(',\n'.join(f'"{t}": ' + json.dumps(e, separators=(',', ':')) for t, e in fixtures.items()))
    f.write('\n}\n')
PY
echo "wrote $out"
