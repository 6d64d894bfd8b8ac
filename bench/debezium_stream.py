"""Debezium MySQL change records WITH JsonConverter schema blocks, generated
fast (string templates, no json.dumps per record), for the ingest
benchmarks (bench/ingest_file, bench/ingest_spark, bench/freshness).

The stream: a snapshot of K = n/5 rows (op r), then changes over those keys —
60% updates, 25% inserts of new keys, 15% deletes each followed by a
tombstone (None) — ts_ms rising by 1 ms per record, 1% late by up to 1 s.
Records are ~3 KB (a 9-column table; the schema block is most of it).
"""
import json
import random
from pathlib import Path

FIELDS = [("id", "int64", False), ("first_name", "string", False), ("last_name", "string", False),
          ("email", "string", False),
          ("balance", "bytes", True, "org.apache.kafka.connect.data.Decimal",
           {"scale": "2", "connect.decimal.precision": "10"}),
          ("birth_date", "int32", True, "io.debezium.time.Date"),
          ("updated_at", "int64", False, "io.debezium.time.Timestamp"),
          ("created_at", "string", False, "io.debezium.time.ZonedTimestamp"),
          ("tags", "string", True, "io.debezium.data.Json")]


def schema_block():
    def field(f):
        d = {"type": f[1], "optional": f[2], "field": f[0]}
        if len(f) > 3:
            d["name"] = f[3]
            d["version"] = 1
        if len(f) > 4:
            d["parameters"] = f[4]
        return d

    def value(name):
        return {"type": "struct", "fields": [field(f) for f in FIELDS], "optional": True,
                "name": "mysql1.shop.customers.Value", "field": name}
    src = {"type": "struct", "fields": [
        {"type": "string", "optional": False, "field": n} for n in
        ("version", "connector", "name")] + [
        {"type": "int64", "optional": False, "field": "ts_ms"},
        {"type": "string", "optional": True, "name": "io.debezium.data.Enum", "version": 1,
         "parameters": {"allowed": "true,last,false,incremental"}, "default": "false",
         "field": "snapshot"},
        {"type": "string", "optional": False, "field": "db"},
        {"type": "string", "optional": True, "field": "table"},
        {"type": "int64", "optional": False, "field": "server_id"},
        {"type": "string", "optional": False, "field": "file"},
        {"type": "int64", "optional": False, "field": "pos"},
        {"type": "int32", "optional": False, "field": "row"}],
        "optional": False, "name": "io.debezium.connector.mysql.Source", "field": "source"}
    return json.dumps({"type": "struct", "fields": [
        value("before"), value("after"), src,
        {"type": "string", "optional": False, "field": "op"},
        {"type": "int64", "optional": True, "field": "ts_ms"}],
        "optional": False, "name": "mysql1.shop.customers.Envelope", "version": 1},
        separators=(",", ":"))


def row(i, n):
    return ('{"id":%d,"first_name":"First%d","last_name":"Last%d","email":"user%d@example.com",'
            '"balance":"AYag","birth_date":%d,"updated_at":%d,"created_at":"2024-05-01T10:00:00Z",'
            '"tags":"[\\"a\\",\\"b\\"]"}' % (i, n % 9973, n % 7919, i, 7000 + n % 9000,
                                              1714557600000 + n))


def generate(n: int, seed: int = 1, ts_text=None):
    """Yields record values (None for a tombstone after each delete), about n.
    ts_text: text put in place of payload.ts_ms (e.g. "@TS@" for a producer
    that stamps send times), else the generated ts."""
    rnd = random.Random(seed)
    sch = schema_block()
    head = '{"schema":' + sch + ',"payload":{"before":'
    src = (',"source":{"version":"2.5.0.Final","connector":"mysql","name":"mysql1","ts_ms":%d,'
           '"snapshot":"false","db":"shop","table":"customers","server_id":1,'
           '"file":"mysql-bin.000003","pos":%d,"row":0}')
    k = max(1, n // 5)
    live = list(range(k))
    next_key = k
    ts = 1714557600000
    for i in range(n):
        ts += 1
        t = ts - rnd.randrange(1000) if rnd.random() < 0.01 else ts
        if i < k:
            before, after, op = "null", row(i, i), "r"
        else:
            x = rnd.random()
            if x < 0.60:
                key = live[rnd.randrange(len(live))]
                before, after, op = row(key, i - 1), row(key, i), "u"
            elif x < 0.85 or len(live) < 10:
                key = next_key
                next_key += 1
                live.append(key)
                before, after, op = "null", row(key, i), "c"
            else:
                j = rnd.randrange(len(live))
                key = live[j]
                live[j] = live[-1]
                live.pop()
                before, after, op = row(key, i - 1), "null", "d"
        yield (head + before + ',"after":' + after + src % (t - 5, 154 + i) +
               ',"op":"%s","ts_ms":%s,"transaction":null}}' % (op, ts_text or str(t)))
        if op == "d":
            yield None  # Debezium's tombstone after a delete


def records(n: int, **kw):
    """Exactly n record values (tombstones are None)."""
    out = []
    for rec in generate(n, **kw):
        if len(out) == n:
            break
        out.append(rec)
    return out


def key_of(rec, last):
    """The Kafka record key ({"id":N}) of a value; a tombstone's is the delete's."""
    if rec is None:
        return last
    i = rec.index('"id":', rec.index('"payload"')) + 5
    return '{"id":%d}' % int(rec[i:rec.index(",", i)])


def write_stream(path: Path, n: int):
    """n lines (tombstones as null); returns the bytes written."""
    size = 0
    with open(path, "w") as f:
        for rec in records(n):
            line = "null" if rec is None else rec
            f.write(line)
            f.write("\n")
            size += len(line) + 1
    return size


