"""Seeded test data in deltacdc's JSON value conventions, for every Delta type
and nested shape, with the null patterns the interop tests cover; and the
same data as a pyarrow Table (for the direction pyarrow writes, deltacdc reads).

A column is (name, Delta type JSON, nullable, null pattern, value generator).
Values are what `deltacdc parquet write` takes and `parquet cat` prints;
`expected_value` turns an input value into the printed form (maps given as
objects print as [{"key","value"}] arrays).
"""
import base64
import decimal
import random
import re
import struct
import zlib
from dataclasses import dataclass
from typing import Callable, Optional

import pyarrow as pa

from conftest import days_from_civil, format_date, format_timestamp

DECIMAL_RE = re.compile(r"^decimal\((\d+),\s*(\d+)\)$")

# Delta primitive types, each with decimals of all three physical mappings.
PRIMITIVES = ["byte", "short", "integer", "long", "float", "double", "boolean", "string",
              "binary", "decimal(9,2)", "decimal(18,2)", "decimal(38,10)", "decimal(25,5)",
              "decimal(5,0)", "date", "timestamp", "timestamp_ntz"]

MIN_DAY = days_from_civil(1, 1, 1)
MAX_DAY = days_from_civil(9999, 12, 31)
US_PER_DAY = 86400 * 1000_000

CHARS = ("abcdefghijklmnopqrstuvwxyz ABCXYZ0123456789_-"
         "\"\\/\n\t\r\b\f\x01\x1f\x7f"          # JSON escapes and control characters
         "éüßñøÆ€£¥ÿ"                            # two- and three-byte UTF-8
         "漢字テスト한국어"                        # CJK
         "😀🚀𝄞\U0010ffff")                       # four-byte UTF-8 (surrogate pairs in JSON)


def f32(v: float) -> float:
    return struct.unpack("<f", struct.pack("<f", v))[0]


def json_float(v: float):
    if v != v:
        return "NaN"
    if v == float("inf"):
        return "Infinity"
    if v == float("-inf"):
        return "-Infinity"
    return v


def rand_string(rng, lo=0, hi=20):
    return "".join(rng.choices(CHARS, k=rng.randint(lo, hi)))


def rand_decimal(rng, p, s):
    hi = 10 ** p - 1
    r = rng.random()
    if r < 0.05:
        u = rng.choice([hi, -hi, 0, 1, -1])
    elif r < 0.5:
        u = rng.randint(-999, 999)
    else:
        u = rng.randint(-hi, hi)
    return format_unscaled(u, s)


def format_unscaled(u: int, s: int) -> str:
    sign = "-" if u < 0 else ""
    digits = str(abs(u))
    if s == 0:
        return sign + digits
    digits = digits.rjust(s + 1, "0")
    return f"{sign}{digits[:-s]}.{digits[-s:]}"


SPECIAL_DAYS = [0, -1, 1, days_from_civil(1582, 10, 4), days_from_civil(1582, 10, 15),
                days_from_civil(1900, 2, 28), days_from_civil(2000, 2, 29), MIN_DAY, MAX_DAY]
SPECIAL_US = [0, -1, 1, 999_999, -1000_000, days_from_civil(1582, 10, 15) * US_PER_DAY - 1,
              MIN_DAY * US_PER_DAY, (MAX_DAY + 1) * US_PER_DAY - 1, 1_700_000_000_123_456]


def rand_primitive(rng, t: str):
    special = rng.random() < 0.08
    if t in ("byte", "short", "integer", "long"):
        bits = {"byte": 8, "short": 16, "integer": 32, "long": 64}[t]
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        if special:
            return rng.choice([lo, hi, 0, -1, 1])
        if rng.random() < 0.5:
            return rng.randint(max(lo, -1000), min(hi, 1000))
        return rng.randint(lo, hi)
    if t == "float":
        if special:
            return json_float(rng.choice([0.0, -0.0, float("nan"), float("inf"), float("-inf"),
                                          f32(3.4028234663852886e38), f32(1.401298464324817e-45),
                                          f32(1.1754943508222875e-38), f32(0.1)]))
        if rng.random() < 0.5:
            return json_float(f32(rng.uniform(-1e6, 1e6)))
        return json_float(struct.unpack("<f", struct.pack("<I", rng.getrandbits(32)))[0])
    if t == "double":
        if special:
            return json_float(rng.choice([0.0, -0.0, float("nan"), float("inf"), float("-inf"),
                                          1.7976931348623157e308, 5e-324, 2.2250738585072014e-308,
                                          0.1, 1e21, 1e-7, 123456789012345678.0]))
        if rng.random() < 0.5:
            return rng.uniform(-1e9, 1e9)
        return json_float(struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0])
    if t == "boolean":
        return rng.random() < 0.5
    if t == "string":
        return rng.choice(["", "a", "\u0000x", "é"]) if special else rand_string(rng)
    if t == "binary":
        n = 0 if special else rng.randint(0, 40)
        return base64.b64encode(bytes(rng.getrandbits(8) for _ in range(n))).decode()
    m = DECIMAL_RE.match(t)
    if m:
        return rand_decimal(rng, int(m.group(1)), int(m.group(2)))
    if t == "date":
        return format_date(rng.choice(SPECIAL_DAYS) if special else rng.randint(MIN_DAY, MAX_DAY))
    if t in ("timestamp", "timestamp_ntz"):
        if special:
            us = rng.choice(SPECIAL_US)
        elif rng.random() < 0.5:
            us = rng.randint(0, 2_000_000_000) * 1000_000 + rng.randint(0, 999_999)
        else:
            us = rng.randint(MIN_DAY * US_PER_DAY, (MAX_DAY + 1) * US_PER_DAY - 1)
        return format_timestamp(us, "us", t == "timestamp")
    raise ValueError(f"no generator for {t}")


def rand_value(rng, t, null_p=0.15):
    """A non-null value of Delta type t (nested members may be null)."""
    if isinstance(t, str):
        return rand_primitive(rng, t)
    kind = t["type"]
    if kind == "struct":
        return {f["name"]: (None if f["nullable"] and rng.random() < null_p
                            else rand_value(rng, f["type"], null_p)) for f in t["fields"]}
    if kind == "array":
        n = rng.choice([0, 0, 1, 1, 2, 3, 5, 8])
        return [None if t["containsNull"] and rng.random() < null_p
                else rand_value(rng, t["elementType"], null_p) for _ in range(n)]
    if kind == "map":
        n = rng.choice([0, 0, 1, 2, 3, 6])
        keys, seen = [], set()
        for _ in range(n * 3):
            if len(keys) == n:
                break
            k = rand_value(rng, t["keyType"], null_p)
            kk = repr(k)
            if kk not in seen:
                seen.add(kk)
                keys.append(k)
        entries = [{"key": k, "value": None if t["valueContainsNull"] and rng.random() < null_p
                    else rand_value(rng, t["valueType"], null_p)} for k in keys]
        if t["keyType"] == "string" and rng.random() < 0.5:
            return {e["key"]: e["value"] for e in entries}   # the object form the writer takes
        return entries
    raise ValueError(f"unknown type {t}")


def expected_value(v, t):
    """What `parquet cat` prints for input value v of Delta type t."""
    if v is None or isinstance(t, str):
        return v
    kind = t["type"]
    if kind == "struct":
        return {f["name"]: expected_value(v.get(f["name"]), f["type"]) for f in t["fields"]}
    if kind == "array":
        return [expected_value(x, t["elementType"]) for x in v]
    if kind == "map":
        entries = [{"key": k, "value": x} for k, x in v.items()] if isinstance(v, dict) else v
        return [{"key": expected_value(e["key"], t["keyType"]),
                 "value": expected_value(e["value"], t["valueType"])} for e in entries]
    raise ValueError(kind)


# ------------------------------------------------------------------ columns

def arr(elem, contains_null=True):
    return {"type": "array", "elementType": elem, "containsNull": contains_null}


def mp(k, v, value_contains_null=True):
    return {"type": "map", "keyType": k, "valueType": v, "valueContainsNull": value_contains_null}


def st(*fields):
    return {"type": "struct", "fields": [{"name": n, "type": t, "nullable": nl, "metadata": {}}
                                         for n, t, nl in fields]}


NESTED = {
    "struct": st(("a", "integer", True), ("b", "string", True), ("c", "decimal(18,2)", True),
                 ("d", "timestamp", True)),
    "struct_req_members": st(("x", "long", False), ("y", "double", True)),
    "array_int": arr("integer"),
    "array_string_nonull": arr("string", False),
    "array_decimal38": arr("decimal(38,10)"),
    "map_string_long": mp("string", "long"),
    "map_int_string": mp("integer", "string"),
    "map_date_binary_nonull": mp("date", "binary", False),
    "array_of_struct": arr(st(("x", "long", True), ("y", "string", True))),
    "map_of_array": mp("string", arr("integer")),
    "struct_array_struct": st(("id", "integer", True),
                              ("inner", arr(st(("z", "integer", True), ("w", arr("string"), True))),
                               True)),
    "array_of_array": arr(arr("long")),
    "map_of_struct": mp("string", st(("p", "date", True), ("q", "timestamp_ntz", True))),
    "struct_of_map": st(("m", mp("string", "boolean"), True), ("f", "float", True)),
}

PATTERNS = ("nonull", "some", "all", "req")


@dataclass
class Col:
    name: str
    dtype: object          # Delta type JSON (str or dict)
    nullable: bool
    pattern: str           # nonull | some | all | req
    gen: Optional[Callable] = None   # rng -> value; default rand_value(dtype)
    null_p: float = 0.15   # nulls inside nested values
    special: str = ""      # "empty" arrays only, "nullelems" all elements null

    def field(self):
        return {"name": self.name, "type": self.dtype, "nullable": self.nullable, "metadata": {}}


def long_string(rng):
    """Strings longer than the 64-byte statistics truncation, high cardinality,
    so the dictionary overflows and pages fill up."""
    n = rng.randint(65, 1500)
    head = rng.choice(["", "zzz", "\u00ff\u00ff", "😀"])
    return head + "".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=n))


def low_card_string(rng):
    return rng.choice(["red", "green", "blue", "cyan", "magenta", "yellow", "black", "white"])


def type_slug(t: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", t).strip("_")


def all_columns():
    cols = []
    for t in PRIMITIVES:
        for p in PATTERNS:
            cols.append(Col(f"{type_slug(t)}_{p}", t, p != "req", p))
    for p in PATTERNS:
        cols.append(Col(f"long_string_{p}", "string", p != "req", p, gen=long_string))
    cols.append(Col("low_card_string_some", "string", True, "some", gen=low_card_string))
    for name, t in NESTED.items():
        for p in ("some", "nonull", "all"):
            cols.append(Col(f"{name}_{p}", t, True, p))
        cols.append(Col(f"{name}_req", t, False, "req"))
    cols.append(Col("array_int_empty", arr("integer"), True, "nonull", special="empty"))
    cols.append(Col("array_int_nullelems", arr("integer"), True, "nonull", special="nullelems"))
    cols.append(Col("struct_nested_nulls_dense", NESTED["struct_array_struct"], True, "some",
                    null_p=0.5))
    return cols


def column_values(col: Col, n: int, seed: int = 1):
    rng = random.Random(zlib.crc32(f"{seed}:{col.name}".encode()))
    out = []
    for _ in range(n):
        if col.pattern == "all" or (col.pattern == "some" and rng.random() < 0.2):
            out.append(None)
        elif col.special == "empty":
            out.append([])
        elif col.special == "nullelems":
            out.append([None] * rng.randint(1, 4))
        elif col.gen:
            out.append(col.gen(rng))
        else:
            out.append(rand_value(rng, col.dtype, col.null_p))
    return out


def make_rows(cols, n, seed=1):
    """(input rows, expected rows) for columns `cols`."""
    values = [column_values(c, n, seed) for c in cols]
    rows = [dict(zip([c.name for c in cols], vs)) for vs in zip(*values)]
    expected = [{c.name: expected_value(r[c.name], c.dtype) for c in cols} for r in rows]
    return rows, expected


def delta_schema(cols):
    return {"type": "struct", "fields": [c.field() for c in cols]}


# ------------------------------------------------- the same data for pyarrow

def arrow_type(t):
    if isinstance(t, str):
        simple = {"byte": pa.int8(), "short": pa.int16(), "integer": pa.int32(),
                  "long": pa.int64(), "float": pa.float32(), "double": pa.float64(),
                  "boolean": pa.bool_(), "string": pa.string(), "binary": pa.binary(),
                  "date": pa.date32(), "timestamp": pa.timestamp("us", tz="UTC"),
                  "timestamp_ntz": pa.timestamp("us")}
        if t in simple:
            return simple[t]
        m = DECIMAL_RE.match(t)
        return pa.decimal128(int(m.group(1)), int(m.group(2)))
    kind = t["type"]
    if kind == "struct":
        return pa.struct([pa.field(f["name"], arrow_type(f["type"]), f["nullable"])
                          for f in t["fields"]])
    if kind == "array":
        return pa.list_(pa.field("element", arrow_type(t["elementType"]), t["containsNull"]))
    if kind == "map":
        return pa.map_(pa.field("key", arrow_type(t["keyType"]), False),
                       pa.field("value", arrow_type(t["valueType"]), t["valueContainsNull"]))
    raise ValueError(kind)


def parse_timestamp_us(s: str) -> int:
    m = re.match(r"^(-?\d{4,})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{6})Z?$", s)
    y, mo, d, h, mi, se, us = (int(x) for x in m.groups())
    return days_from_civil(y, mo, d) * US_PER_DAY + ((h * 60 + mi) * 60 + se) * 1000_000 + us


def parse_date_days(s: str) -> int:
    y, m, d = (int(x) for x in s.rsplit("-", 2))
    return days_from_civil(y, m, d)


def py_value(v, t):
    """JSON-convention value -> what pa.array takes for arrow_type(t)."""
    if v is None:
        return None
    if isinstance(t, str):
        if t in ("float", "double"):
            return {"NaN": float("nan"), "Infinity": float("inf"),
                    "-Infinity": float("-inf")}.get(v, v) if isinstance(v, str) else float(v)
        if t == "binary":
            return base64.b64decode(v)
        if t == "date":
            return parse_date_days(v)
        if t in ("timestamp", "timestamp_ntz"):
            return parse_timestamp_us(v)
        if DECIMAL_RE.match(t):
            return decimal.Decimal(v)
        return v
    kind = t["type"]
    if kind == "struct":
        return {f["name"]: py_value(v.get(f["name"]), f["type"]) for f in t["fields"]}
    if kind == "array":
        return [py_value(x, t["elementType"]) for x in v]
    if kind == "map":
        entries = [{"key": k, "value": x} for k, x in v.items()] if isinstance(v, dict) else v
        return [(py_value(e["key"], t["keyType"]), py_value(e["value"], t["valueType"]))
                for e in entries]
    raise ValueError(kind)


def _array(values, t):
    at = arrow_type(t)
    if isinstance(t, str) and t in ("date", "timestamp", "timestamp_ntz"):
        ints = pa.array(values, pa.int32() if t == "date" else pa.int64())
        return ints.cast(at)
    return pa.array(values, at)


def _contains_temporal(t):
    if isinstance(t, str):
        return t in ("date", "timestamp", "timestamp_ntz")
    kind = t["type"]
    if kind == "struct":
        return any(_contains_temporal(f["type"]) for f in t["fields"])
    if kind == "array":
        return _contains_temporal(t["elementType"])
    return _contains_temporal(t["keyType"]) or _contains_temporal(t["valueType"])


def _int_type(t):
    """The arrow type with temporal leaves as their integer storage."""
    if isinstance(t, str):
        if t == "date":
            return pa.int32()
        if t in ("timestamp", "timestamp_ntz"):
            return pa.int64()
        return arrow_type(t)
    kind = t["type"]
    if kind == "struct":
        return pa.struct([pa.field(f["name"], _int_type(f["type"]), f["nullable"])
                          for f in t["fields"]])
    if kind == "array":
        return pa.list_(pa.field("element", _int_type(t["elementType"]), t["containsNull"]))
    return pa.map_(pa.field("key", _int_type(t["keyType"]), False),
                   pa.field("value", _int_type(t["valueType"]), t["valueContainsNull"]))


def arrow_table(cols, rows) -> pa.Table:
    arrays, fields = [], []
    for c in cols:
        vals = [py_value(r[c.name], c.dtype) for r in rows]
        if _contains_temporal(c.dtype) and not isinstance(c.dtype, str):
            a = pa.array(vals, _int_type(c.dtype)).cast(arrow_type(c.dtype))
        else:
            a = _array(vals, c.dtype)
        arrays.append(a)
        fields.append(pa.field(c.name, arrow_type(c.dtype), c.nullable))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))
