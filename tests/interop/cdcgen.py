"""Debezium change streams for the ingest tests and benchmarks, and the
expected table state computed independently of deltacdc.

- `envelope` builds one Debezium MySQL record value, with or without the
  JsonConverter schema block, as the connector writes it.
- `Stream` makes a random but reproducible stream over a key space: snapshot
  reads, creates, updates, deletes followed by tombstones, primary-key
  changes (delete of the old key + create of the new), out-of-order ts_ms,
  delete -> re-create, heartbeats, schema-change records, transaction
  markers and truncates.
- `expected_state` is the judge: the seed's own SQL (the ROW_NUMBER ranking
  by ts_ms DESC, offset DESC over get_json_object extractions) run by DuckDB
  over every event of the stream, with the issue's three fixes: an event
  replaces a row only when newer (so ranking over the whole stream equals
  ranking batch by batch), a deleted key comes back when created again, `r`
  rows count and a truncate drops everything before it.
- `read_table` is delta-rs's reading of a table (deletion vectors honoured).
"""
import json
import random

import duckdb
import pyarrow as pa

# Columns of the sample source table (MySQL shop.customers).
FIELDS = [("id", "int64"), ("first_name", "string"), ("last_name", "string"),
          ("email", "string"), ("score", "int32"), ("note", "string")]


def _schema_block(db, table, fields, key_fields):
    def struct(name):
        return {"type": "struct", "optional": True, "name": f"mysql1.{db}.{table}.Value",
                "field": name,
                "fields": [{"type": t, "optional": n not in key_fields, "field": n}
                           for n, t in fields]}
    return {"type": "struct", "name": f"mysql1.{db}.{table}.Envelope", "optional": False,
            "fields": [struct("before"), struct("after"),
                       {"type": "struct", "field": "source", "optional": False,
                        "name": "io.debezium.connector.mysql.Source",
                        "fields": [{"type": "string", "field": "db", "optional": False},
                                   {"type": "string", "field": "table", "optional": True},
                                   {"type": "int64", "field": "ts_ms", "optional": False}]},
                       {"type": "string", "field": "op", "optional": False},
                       {"type": "int64", "field": "ts_ms", "optional": True}]}


def envelope(op, before, after, ts_ms, *, schema=True, db="shop", table="customers",
             fields=FIELDS, key_fields=("id",)):
    """One Debezium record value (JSON text)."""
    payload = {"before": before, "after": after,
               "source": {"version": "2.5.0.Final", "connector": "mysql", "name": "mysql1",
                          "ts_ms": ts_ms - 3, "db": db, "table": table, "server_id": 1,
                          "file": "mysql-bin.000003", "pos": 154 + ts_ms % 1000, "row": 0},
               "op": op, "ts_ms": ts_ms, "transaction": None}
    if schema:
        return json.dumps({"schema": _schema_block(db, table, fields, key_fields),
                           "payload": payload}, separators=(",", ":"))
    return json.dumps(payload, separators=(",", ":"))


def truncate(ts_ms, *, schema=True, db="shop", table="customers"):
    return envelope("t", None, None, ts_ms, schema=schema, db=db, table=table)


def heartbeat(ts_ms):
    return json.dumps({"ts_ms": ts_ms})


def schema_change(ts_ms, db="shop"):
    return json.dumps({"source": {"db": db}, "ts_ms": ts_ms, "databaseName": db,
                       "ddl": "ALTER TABLE customers ADD COLUMN note VARCHAR(64)",
                       "tableChanges": []})


class Stream:
    """A reproducible random stream of record values (None = tombstone) for one
    table keyed by `id` (long) or by (`tenant`, `id`) with composite=True, or
    by a string `code` with string_key=True."""

    def __init__(self, seed=1, n_keys=50, *, schema_ratio=0.5, composite=False,
                 string_key=False, db="shop", table="customers", ts0=1714557600000):
        self.rnd = random.Random(seed)
        self.n_keys = n_keys
        self.schema_ratio = schema_ratio
        self.db, self.table = db, table
        self.ts = ts0
        self.live = {}          # key tuple -> current row
        self.values = []        # record values in offset order (None: tombstone)
        self.composite = composite
        self.string_key = string_key
        if composite:
            self.key_fields = ("tenant", "id")
            self.fields = [("tenant", "string")] + FIELDS
        elif string_key:
            self.key_fields = ("code",)
            self.fields = [("code", "string")] + FIELDS[1:]
        else:
            self.key_fields = ("id",)
            self.fields = FIELDS

    # ------------------------------------------------------------ helpers
    def _key(self, i):
        if self.composite:
            return (f"t{i % 3}", i)
        if self.string_key:
            return (f"K-{i:05d} é\"\\",)
        return (i,)

    def _row(self, key):
        r = dict(zip(self.key_fields, key))
        n = self.rnd.randrange(1 << 30)
        r.update({"first_name": f"f{n % 997}", "last_name": "Ünïcødé \"q\" \\ {}",
                  "email": f"u{n}@example.com", "score": n % 1000 - 500,
                  "note": None if n % 5 == 0 else "x" * (n % 40)})
        if "id" not in r:
            r["id"] = n
        return {k: r[k] for k, _ in self.fields}

    def _emit(self, op, before, after, ts=None):
        self.ts += self.rnd.randrange(1, 50)
        schema = self.rnd.random() < self.schema_ratio
        self.values.append(envelope(op, before, after, self.ts if ts is None else ts,
                                    schema=schema, db=self.db, table=self.table,
                                    fields=self.fields, key_fields=self.key_fields))

    # ------------------------------------------------------------- events
    def snapshot(self, n):
        for i in range(n):
            key = self._key(i)
            row = self._row(key)
            self.live[key] = row
            self._emit("r", None, row)

    def step(self):
        """One random event (or a small group: delete + tombstone, PK change)."""
        x = self.rnd.random()
        key = self._key(self.rnd.randrange(self.n_keys))
        if x < 0.03:
            self.values.append(heartbeat(self.ts))
        elif x < 0.05:
            self.values.append(schema_change(self.ts, self.db))
        elif x < 0.10 and self.live:
            old = self.rnd.choice(sorted(self.live))
            new = self._key(self.n_keys + self.rnd.randrange(self.n_keys))
            row = self.live.pop(old)
            self._emit("d", row, None)
            self.values.append(None)
            nrow = self._row(new)
            self.live[new] = nrow
            self._emit("c", None, nrow)               # PK change: delete + create
        elif x < 0.16:
            # Out of order: an event whose ts_ms is older than what came before.
            row = self._row(key)
            self._emit("u" if key in self.live else "c", self.live.get(key), row,
                       ts=self.ts - self.rnd.randrange(1, 500))
            self.live[key] = row
        elif key in self.live and x < 0.30:
            row = self.live.pop(key)
            self._emit("d", row, None)
            if self.rnd.random() < 0.8:
                self.values.append(None)
        elif key in self.live:
            row = self._row(key)
            self._emit("u", self.live[key], row)
            self.live[key] = row
        else:
            row = self._row(key)
            self._emit("c", None, row)                # create (or re-create after delete)
            self.live[key] = row

    def run(self, n):
        for _ in range(n):
            self.step()

    def truncate(self):
        self.ts += 10
        self.values.append(truncate(self.ts, db=self.db, table=self.table))
        self.live.clear()

    def lines(self):
        return ["null" if v is None else v for v in self.values]

    def write(self, path):
        with open(path, "w", encoding="utf-8") as f:
            for line in self.lines():
                f.write(line + "\n")
        return path


# ---------------------------------------------------------------- the judge

def expected_state(values, key_cols=("id",), first_offset=1, offsets=None):
    """Rows the table must hold after ingesting `values` (record values in
    offset order, None for tombstones; offsets from first_offset, or given),
    as {key tuple: {ts_ms, json_record (parsed), operation_type, offset}}.
    The seed's extraction and ranking SQL, in DuckDB. With several
    partitions, pass each record's offset: keys never span partitions
    (Debezium partitions by key), and no truncate may be in the stream."""
    con = duckdb.connect()
    try:
        if offsets is None:
            offsets = list(range(first_offset, first_offset + len(values)))
        con.register("raw", pa.table({"off": pa.array(offsets, pa.int64()),
                                      "value": pa.array(values, pa.string())}))
        def get(path):
            # get_json_object on the enveloped record, or on the bare payload.
            return (f"coalesce(json_extract(value, '$.payload.{path}'), "
                    f"json_extract(value, '$.{path}'))")
        op = f"json_extract_string({get('op')}, '$')"
        img = (f"CASE WHEN json_extract(value, '$.payload') IS NOT NULL "
               f"THEN value->'$.payload' ELSE value::JSON END")
        keys = ", ".join(
            f"json_extract_string(coalesce(nullif({img}->'$.after', 'null'::JSON), "
            f"{img}->'$.before'), '$.{k}') AS k_{k}" for k in key_cols)
        part = ", ".join(f"k_{k}" for k in key_cols)
        sql = f"""
        WITH binlog AS (
            SELECT off, {op} AS operation_type,
                   nullif({img}->'$.before', 'null'::JSON)::VARCHAR AS before_record,
                   nullif({img}->'$.after', 'null'::JSON)::VARCHAR AS after_record,
                   CAST(json_extract_string({get('ts_ms')}, '$') AS BIGINT) AS ts_ms,
                   value
            FROM raw WHERE value IS NOT NULL AND value <> 'null'),
        -- fix 3: a truncate drops everything before it; r counts like c
        after_truncate AS (
            SELECT * FROM binlog
            WHERE off > coalesce((SELECT max(off) FROM binlog
                                     WHERE operation_type = 't'), -1)
              AND operation_type IN ('c', 'u', 'd', 'r')),
        binlog_wo_init AS (SELECT *, {keys} FROM after_truncate),
        binlog_rank AS (
            SELECT ts_ms, off, operation_type, {part},
                   coalesce(after_record, before_record) AS after_record,
                   row_number() OVER (PARTITION BY {part}
                                      ORDER BY ts_ms DESC, off DESC) AS rank
            FROM binlog_wo_init)
        SELECT {part}, ts_ms, after_record, operation_type, off
        FROM binlog_rank WHERE rank = 1
        """
        rows = con.sql(sql).fetchall()
    finally:
        con.close()
    out = {}
    n = len(key_cols)
    for r in rows:
        out[tuple(r[:n])] = {"ts_ms": r[n], "json_record": json.loads(r[n + 1]),
                             "operation_type": r[n + 2], "offset": r[n + 3]}
    return out


def record_keys(values, key_cols):
    """The Kafka record key of each value, as Debezium sends it ({"id": 1}
    JSON, no schema), None for records without one (heartbeats, schema
    changes, truncates); a tombstone carries the key of the delete before it."""
    keys, last = [], None
    for v in values:
        if v is None:
            keys.append(last)
            continue
        d = json.loads(v)
        p = d.get("payload", d) if "schema" in d else d
        img = p.get("after") or p.get("before") if isinstance(p, dict) else None
        last = json.dumps({k: img[k] for k in key_cols}, separators=(",", ":")) if img else None
        keys.append(last)
    return keys


def read_table(path, key_cols=("id",), storage_options=None):
    """The table as delta-rs reads it, in expected_state's shape. Keys are
    compared as text (json_extract_string gives text). storage_options: for
    s3:// tables (endpoint, credentials)."""
    from deltalake import DeltaTable, QueryBuilder
    dt = DeltaTable(str(path), storage_options=storage_options)
    res = QueryBuilder().register("t", dt).execute("select * from t").read_all()
    out = {}
    for r in pa.table(res).to_pylist():
        key = tuple(str(r[k]) for k in key_cols)
        assert key not in out, f"key {key} twice in {path}"
        out[key] = {"ts_ms": r["ts_ms"], "json_record": json.loads(r["json_record"]),
                    "operation_type": r["operation_type"], "offset": r["offset"]}
    return out


def diff_states(actual, expected, limit=5):
    """'' when equal, else a short description of the differences."""
    msgs = []
    for k in sorted(set(actual) | set(expected), key=str):
        a, e = actual.get(k), expected.get(k)
        if a != e:
            msgs.append(f"key {k}: table {a!r:.300} expected {e!r:.300}")
    if not msgs:
        return ""
    return f"{len(msgs)} keys differ; first:\n  " + "\n  ".join(msgs[:limit])
