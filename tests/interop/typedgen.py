"""Debezium streams WITH schema blocks and binlog positions for the typed-table
tests, and the expected typed state computed independently of deltacdc.

- `TypedStream` makes a reproducible stream over a key space of a MySQL table
  `shop.items` whose columns change over time (`add_column`, `drop_column`,
  `widen`): each record carries the JsonConverter schema block of the table
  as it is at that point, and payload.source a binlog position (file, pos,
  row) that grows event by event, as the MySQL/MariaDB connector writes them.
  `crash_repeat(n)` re-sends the last n events with new ts_ms, as Debezium
  does after a connector crash (same source positions).
- `expected(values, soft)` is the judge: per key, the event with the greatest
  source position wins (repeats change nothing), a delete removes the key (or
  keeps its before image flagged deleted with soft deletes), a truncate
  drops everything before it; values are decoded from the Debezium encodings
  here (decimal base64 → Decimal, Date days → date, MicroTimestamp →
  datetime) so a wrong decoder shows.
- `read_typed(table)` is delta-rs's reading of the table as {key: row}.
"""
import base64
import datetime as dt
import json
import random
from decimal import Decimal

import pyarrow as pa
from deltalake import DeltaTable, QueryBuilder

EPOCH = dt.datetime(1970, 1, 1)

# name -> (Debezium type, Debezium name, parameters)
COLS = {
    "id": ("int64", None, None),
    "name": ("string", None, None),
    "qty": ("int32", None, None),
    "price": ("bytes", "org.apache.kafka.connect.data.Decimal",
              {"scale": "2", "connect.decimal.precision": "10"}),
    "born": ("int32", "io.debezium.time.Date", None),
    "seen": ("int64", "io.debezium.time.MicroTimestamp", None),
    "ok": ("boolean", None, None),
    "note": ("string", None, None),
    "big": ("int32", None, None),
}


def dec_b64(unscaled):
    n = max(1, (unscaled.bit_length() + 8) // 8)
    return base64.b64encode(unscaled.to_bytes(n, "big", signed=True)).decode()


def _field(name, spec, key):
    t, n, params = spec
    f = {"type": t, "optional": name not in key, "field": name}
    if n:
        f["name"] = n
        f["version"] = 1
    if params:
        f["parameters"] = params
    return f


def schema_block(cols, key=("id",), db="shop", table="items"):
    def struct(which):
        return {"type": "struct", "optional": True, "name": f"mysql1.{db}.{table}.Value",
                "field": which, "fields": [_field(c, s, key) for c, s in cols]}
    return {"type": "struct", "name": f"mysql1.{db}.{table}.Envelope", "optional": False,
            "fields": [struct("before"), struct("after"),
                       {"type": "struct", "field": "source", "optional": False,
                        "name": "io.debezium.connector.mysql.Source",
                        "fields": [{"type": "string", "field": "file", "optional": False},
                                   {"type": "int64", "field": "pos", "optional": False},
                                   {"type": "int32", "field": "row", "optional": True}]},
                       {"type": "string", "field": "op", "optional": False},
                       {"type": "int64", "field": "ts_ms", "optional": True}]}


class TypedStream:
    def __init__(self, seed=1, n_keys=40, *, schema=True, ts0=1714557600000):
        self.rnd = random.Random(seed)
        self.n_keys = n_keys
        self.with_schema = schema
        self.cols = [(c, COLS[c]) for c in ("id", "name", "qty", "price", "born", "seen", "ok")]
        self.ts = ts0
        self.file_no = 3
        self.pos = 1000
        self.live = {}
        self.values = []        # record values (None: tombstone)
        self.events = []        # (offset index, record dict or None)

    # ----------------------------------------------------------- schema
    def add_column(self, name):
        self.cols.append((name, COLS[name]))

    def drop_column(self, name):
        self.cols = [(c, s) for c, s in self.cols if c != name]
        for r in self.live.values():
            r.pop(name, None)

    def widen(self, name, new_type):
        self.cols = [(c, (new_type, s[1], s[2]) if c == name else s) for c, s in self.cols]

    # ------------------------------------------------------------- rows
    def _row(self, key):
        n = self.rnd.randrange(1 << 30)
        r = {"id": key, "name": f"n{n % 997} é\"\\", "qty": n % 2000 - 1000,
             "price": dec_b64(n % 10_000_000 - 5_000_000), "born": n % 40000 - 20000,
             "seen": 1_600_000_000_000_000 + n * 7, "ok": n % 2 == 0,
             "note": None if n % 4 == 0 else f"note {n % 50}", "big": n % 100}
        if n % 11 == 0:
            r["qty"] = None
        names = {c for c, _ in self.cols}
        return {k: v for k, v in r.items() if k in names}

    def _emit(self, op, before, after, *, same_pos=False):
        self.ts += self.rnd.randrange(1, 30)
        if not same_pos:
            self.pos += self.rnd.randrange(50, 400)
        payload = {"before": before, "after": after,
                   "source": {"version": "3.5.0.Final", "connector": "mysql", "name": "mysql1",
                              "ts_ms": self.ts - 2, "snapshot": "false", "db": "shop",
                              "table": "items", "server_id": 1, "gtid": None,
                              "file": f"mysql-bin.{self.file_no:06d}", "pos": self.pos,
                              "row": 0, "thread": 7},
                   "op": op, "ts_ms": self.ts, "transaction": None}
        if self.with_schema:
            rec = {"schema": schema_block(self.cols), "payload": payload}
        else:
            rec = payload
        self.values.append(json.dumps(rec, separators=(",", ":")))

    def rotate(self):
        """The binlog moves to the next file (positions start again)."""
        self.file_no += 1
        self.pos = 4

    # ----------------------------------------------------------- events
    def step(self):
        key = self.rnd.randrange(self.n_keys)
        x = self.rnd.random()
        if key in self.live and x < 0.05:
            # A primary-key change: the delete of the old key and the create of
            # the new one share file, pos and row (as MariaDB's connector sends).
            new = self.n_keys + self.rnd.randrange(self.n_keys)
            if new not in self.live:
                row = self.live.pop(key)
                self._emit("d", row, None)
                self.values.append(None)
                nrow = dict(self._row(new))
                self._emit("c", None, nrow, same_pos=True)
                self.live[new] = nrow
                return
        if key in self.live and x < 0.25:
            row = self.live.pop(key)
            self._emit("d", row, None)
            self.values.append(None)
        elif key in self.live:
            row = self._row(key)
            self._emit("u", self.live[key], row)
            self.live[key] = row
        else:
            row = self._row(key)
            self._emit("c", None, row)
            self.live[key] = row

    def run(self, n):
        for _ in range(n):
            self.step()

    def snapshot(self, n):
        for key in range(n):
            row = self._row(key)
            self.live[key] = row
            self._emit("r", None, row)

    def truncate(self):
        self.ts += 5
        self.pos += 100
        payload = {"before": None, "after": None,
                   "source": {"file": f"mysql-bin.{self.file_no:06d}", "pos": self.pos,
                              "row": 0, "db": "shop", "table": "items"},
                   "op": "t", "ts_ms": self.ts}
        self.values.append(json.dumps(payload))
        self.live.clear()

    def crash_repeat(self, n):
        """Debezium after a connector crash: the last n records again, each with
        a new ts_ms (same payload.source)."""
        tail = [v for v in self.values[-n:]]
        for v in tail:
            if v is None:
                self.values.append(None)
                continue
            rec = json.loads(v)
            p = rec["payload"] if "payload" in rec else rec
            self.ts += 3
            p["ts_ms"] = self.ts
            self.values.append(json.dumps(rec, separators=(",", ":")))

    def write(self, path):
        with open(path, "w", encoding="utf-8") as f:
            for v in self.values:
                f.write(("null" if v is None else v) + "\n")
        return path


# ---------------------------------------------------------------- judge

def _decode(name, spec, v):
    if v is None:
        return None
    t, n, params = spec
    if n == "org.apache.kafka.connect.data.Decimal":
        unscaled = int.from_bytes(base64.b64decode(v), "big", signed=True)
        return Decimal(unscaled).scaleb(-int(params["scale"]))
    if n == "io.debezium.time.Date":
        return dt.date(1970, 1, 1) + dt.timedelta(days=v)
    if n == "io.debezium.time.MicroTimestamp":
        return EPOCH + dt.timedelta(microseconds=v)
    return v


def _pos(p):
    return (int(p["file"].rsplit(".", 1)[1]), p["pos"], p.get("row") or 0)


def expected(values, *, soft=False, first_offset=1):
    """{id: row} the typed table must hold: per key the greatest source
    position wins (ties and lower positions change nothing: repeats), deletes
    remove the key (soft: keep the before image with deleted=True), a
    truncate drops what came before. Rows: decoded source columns (the
    columns of the winning event's schema) plus op, offset, ts_ms, pos."""
    state = {}     # id -> (pos, row or None)
    for i, v in enumerate(values):
        if v is None:
            continue
        rec = json.loads(v)
        p = rec.get("payload", rec)
        op = p.get("op")
        if op == "t":
            state = {}
            continue
        if op not in ("c", "u", "d", "r"):
            continue
        pos = _pos(p["source"])
        img = p["after"] if op != "d" else p["before"]
        key = img["id"]
        old = state.get(key)
        if old is not None and pos <= old[0]:
            continue
        specs = {}
        if "schema" in rec:
            after = next(f for f in rec["schema"]["fields"] if f["field"] == "after")
            specs = {f["field"]: (f["type"], f.get("name"), f.get("parameters"))
                     for f in after["fields"]}
        row = {c: _decode(c, specs.get(c, COLS.get(c)), img.get(c)) for c in img}
        row.update({"__op": op, "__offset": first_offset + i, "__ts_ms": p["ts_ms"],
                    "__source_pos": pos})
        if op == "d":
            row = dict(row, __deleted=True) if soft else None
        elif soft:
            row["__deleted"] = False
        state[key] = (pos, row)
    return {k: r for k, (_, r) in state.items() if r is not None}


def read_table(table, storage_options=None):
    """delta-rs's reading (deletion vectors honoured) as a pyarrow table.
    storage_options: for s3:// tables."""
    dt = DeltaTable(str(table), storage_options=storage_options)
    res = QueryBuilder().register("t", dt).execute("select * from t").read_all()
    return pa.table(res)


def read_typed(table, storage_options=None):
    rows = read_table(table, storage_options).to_pylist()
    out = {}
    for r in rows:
        assert r["id"] not in out, f"key {r['id']} twice"
        out[r["id"]] = r
    return out


def parse_pos(s):
    """(file number, pos, row) of a __source_pos string "mysql-bin.000003:1234:0 ..."."""
    head = s.split(" ")[0].split(":")
    return (int(head[0].rsplit(".", 1)[1]), int(head[1]), int(head[2]))


def diff(got, want, columns=None):
    """Differences between the table's rows and the expected ones (source
    columns present in `want`, and the metadata columns)."""
    out = []
    if set(got) != set(want):
        out.append(f"keys: extra {sorted(set(got) - set(want))[:10]}, "
                   f"missing {sorted(set(want) - set(got))[:10]}")
    for k in sorted(set(got) & set(want)):
        g, w = got[k], want[k]
        for c, wv in w.items():
            if columns is not None and c not in columns and not c.startswith("__"):
                continue
            gv = g.get(c)
            if c == "__source_pos":
                gv = parse_pos(gv) if gv is not None else None
            if gv != wv:
                out.append(f"key {k} column {c}: table {gv!r}, expected {wv!r}")
        for c, gv in g.items():  # added after the row, or dropped before it: null
            if not c.startswith("__") and c not in w and gv is not None:
                out.append(f"key {k} column {c}: table {gv!r}, expected null")
    return out[:20]
