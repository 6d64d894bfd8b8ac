#!/usr/bin/env bash
# The embedded default job: prepares the machine (scripts/setup.sh), ingests
# the Debezium change stream that ships in examples/debezium/sample.jsonl (a
# MySQL shop.customers table: snapshot, inserts, updates, deletes with
# tombstones, a primary-key change, late events, a truncate) into the Delta
# table ./lake/shop.db/customers, exactly once, then prints the table and its
# commits. Running it again commits nothing: the table already holds every
# line of the file. Pass another table path as $1 to write elsewhere.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

./scripts/setup.sh >/dev/null
TABLE="${1:-./lake/shop.db/customers}"
SRC=examples/debezium/sample.jsonl

echo "== deltacdc ingest --source file:$SRC --table $TABLE --key id --max-batch 10 --once"
build/deltacdc ingest --source "file:$SRC" --table "$TABLE" --key id --max-batch 10 --once
echo
echo "== deltacdc cat $TABLE"
build/deltacdc cat "$TABLE"
echo
echo "== deltacdc history $TABLE"
build/deltacdc history "$TABLE"
