#!/bin/sh
# Makes Tests/SeedModelTests/Resources/quant-fixtures.json: llama.cpp's logits on the random-weight
# models QuantizedFixtureTests writes (see Tests/SeedModelTests/Resources/FIXTURES.md).
# Usage: scripts/make-quant-fixtures.sh DIR LLAMA_REFERENCE
#   DIR          the folder the test wrote its models into (SEEDFLOW_FIXTURE_MODEL_DIR)
#   LLAMA_REFERENCE scripts/llama-reference.cpp built against the vendored llama.cpp
# The logits are computed with llama.cpp's default f16 KV cache.
set -eu
dir=$1
tool=$2
tokens=1,270,5,281,260,77,290,3,297,259,120,265,30,288,7,262
out=Tests/SeedModelTests/Resources/quant-fixtures.json
for type in Q4_1 Q2_K Q3_K IQ4_NL IQ4_XS; do
  "$tool" --kv f16 "$dir/quant-fixture-$type.gguf" logits "$tokens" > "$dir/$type.rows.json" 2> "$dir/$type.log"
done
python3 - "$dir" "$out" "$tokens" <<'PY'
import json, sys
folder, out, tokens = sys.argv[1], sys.argv[2], [int(t) for t in sys.argv[3].split(',')]
def fnv1a(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return '%016x' % h
fixtures = {}
for t in ['Q4_1', 'Q2_K', 'Q3_K', 'IQ4_NL', 'IQ4_XS']:
    rows = json.load(open(f'{folder}/{t}.rows.json'))
    entry = {'tokens': tokens, 'logits': [[round(x, 4) for x in row] for row in rows]}
    entry['file_fnv1a'] = fnv1a(open(f'{folder}/quant-fixture-{t}.gguf', 'rb').read())
    fixtures[t] = entry
with open(out, 'w') as f:
    f.write('{\n')
    f.write(',\n'.join(f'"{t}": ' + json.dumps(e, separators=(',', ':')) for t, e in fixtures.items()))
    f.write('\n}\n')
PY
echo "wrote $out"
