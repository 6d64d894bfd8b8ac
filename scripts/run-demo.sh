#!/usr/bin/env bash
# The embedded default job: prepares the machine (scripts/setup.sh), writes
# the sample JSON lines that ship in examples/ to Parquet with deltacdc, then
# prints the file back (rows, schema, metadata). Output goes to build/demo/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

./scripts/setup.sh >/dev/null
mkdir -p build/demo
OUT=build/demo/sample.parquet
CODEC="${1:-zstd}"

echo "== deltacdc parquet write --schema examples/sample.schema.json examples/sample.jsonl $OUT --codec $CODEC"
build/deltacdc parquet write --schema examples/sample.schema.json examples/sample.jsonl "$OUT" --codec "$CODEC"
echo
echo "== deltacdc parquet cat $OUT"
build/deltacdc parquet cat "$OUT"
echo
echo "== deltacdc parquet schema $OUT"
build/deltacdc parquet schema "$OUT"
echo
echo "== deltacdc parquet meta $OUT"
build/deltacdc parquet meta "$OUT"
