"""An independent decoder of Debezium MySQL/MariaDB record values (written
for the tests from Debezium's documented encodings, sharing nothing with
deltacdc), and MariaDB's rendered text (mariadb_workload.RENDERING) turned
into the same canonical Python values, so the two can be compared exactly.

Canonical values, by MariaDB type:
  integers, YEAR, BIT(n), BOOLEAN      int (BIGINT UNSIGNED: Decimal, scale 0)
  DECIMAL                              decimal.Decimal with the column's scale as exponent
  FLOAT                                float (the float32 value), DOUBLE float
  DATE                                 "YYYY-MM-DD" (MariaDB's zero date "0000-00-00")
  DATETIME                             int microseconds since 1970-01-01 (no zone)
  TIMESTAMP                            int microseconds since 1970-01-01T00:00Z
  TIME                                 int microseconds (negative, >= 24 h allowed)
  CHAR/VARCHAR/TEXT/ENUM/SET/JSON      str (SET as MariaDB prints it: "a,c")
  BINARY/VARBINARY/BLOB                bytes
  GEOMETRY and its kinds               (WKB bytes, SRID int; Debezium's null SRID is 0)
"""
import base64
import datetime
import decimal
import struct

from conftest import days_from_civil, format_date

_MICRO = 1_000_000
_INT_TYPES = {"tinyint", "smallint", "mediumint", "int", "bigint", "year", "bit"}
_STR_TYPES = {"char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set",
              "json"}
_BIN_TYPES = {"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"}
_GEOM_TYPES = {"geometry", "point", "linestring", "polygon", "multipoint", "multilinestring",
               "multipolygon", "geometrycollection"}


def float32(x):
    """The float32 value of a number (as a Python float)."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def decimal_from(unscaled, scale):
    """Decimal with exactly `scale` fraction digits (exponent -scale)."""
    sign = 1 if unscaled < 0 else 0
    digits = tuple(int(c) for c in str(abs(unscaled)))
    return decimal.Decimal((sign, digits, -scale))


def micros_of_datetime_text(s):
    """'YYYY-MM-DD HH:MM:SS[.f]' -> microseconds since the epoch (no zone)."""
    date, _, clock = s.partition(" ")
    y, m, d = (int(p) for p in date.split("-"))
    hms, _, frac = clock.partition(".")
    hh, mi, ss = (int(p) for p in hms.split(":"))
    us = int((frac + "000000")[:6]) if frac else 0
    return ((days_from_civil(y, m, d) * 86400 + hh * 3600 + mi * 60 + ss) * _MICRO) + us


def micros_of_time_text(s):
    """MariaDB TIME text '[-]HHH:MM:SS[.f]' -> signed microseconds."""
    neg = s.startswith("-")
    hms, _, frac = s.lstrip("-").partition(".")
    hh, mi, ss = (int(p) for p in hms.split(":"))
    us = (hh * 3600 + mi * 60 + ss) * _MICRO + (int((frac + "000000")[:6]) if frac else 0)
    return -us if neg else us


def micros_of_iso_zoned(s):
    """Debezium ZonedTimestamp '2038-01-19T03:14:07.999Z' (or with an offset)
    -> microseconds since the epoch."""
    dt = datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
    delta = dt - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    return (delta.days * 86400 + delta.seconds) * _MICRO + delta.microseconds


# ------------------------------------------------------------ MariaDB side

def canonical_mariadb(column_type, text):
    """MariaDB's rendered value (see mariadb_workload.RENDERING) as a canonical
    value, by the column's information_schema COLUMN_TYPE ("bigint(20) unsigned").
    BIGINT UNSIGNED is a Decimal of scale 0, as Debezium's precise mode sends it."""
    if text is None:
        return None
    t = column_type.lower().split("(")[0].split(" ")[0]
    if t == "bigint" and "unsigned" in column_type.lower():
        return decimal.Decimal(text)
    if t in _INT_TYPES:
        return int(text)
    if t == "decimal":
        return decimal.Decimal(text)
    if t in ("float", "double"):
        return float(text)
    if t == "date":
        return text
    if t == "datetime" or t == "timestamp":
        return micros_of_datetime_text(text)
    if t == "time":
        return micros_of_time_text(text)
    if t in _STR_TYPES:
        return text
    if t in _BIN_TYPES:
        return bytes.fromhex(text)
    if t in _GEOM_TYPES:
        return (bytes.fromhex(text["wkb"]), int(text["srid"] or 0))
    raise AssertionError(f"canonical_mariadb: no rule for MariaDB type {column_type}")


# ------------------------------------------------------------ Debezium side

def field_schemas(value_schema, part="after"):
    """{column: field schema} of the before/after struct of a record's schema."""
    for f in value_schema["fields"]:
        if f["field"] == part:
            return {c["field"]: c for c in f["fields"]}
    raise AssertionError(f"record schema has no '{part}' field")


def decode(schema, v):
    """One column value of a Debezium record as a canonical value, following
    the field's schema `type`, `name` and `parameters` only."""
    if v is None:
        return None
    name = schema.get("name")
    typ = schema["type"]
    params = schema.get("parameters") or {}
    if name == "org.apache.kafka.connect.data.Decimal":
        raw = base64.b64decode(v)
        return decimal_from(int.from_bytes(raw, "big", signed=True), int(params["scale"]))
    if name == "io.debezium.data.Bits":
        # java.util.BitSet.toByteArray(): little-endian
        return int.from_bytes(base64.b64decode(v), "little")
    if name == "io.debezium.time.Date":
        return format_date(v)
    if name == "io.debezium.time.Timestamp":
        return v * 1000
    if name == "io.debezium.time.MicroTimestamp":
        return v
    if name == "io.debezium.time.NanoTimestamp":
        return v // 1000
    if name == "io.debezium.time.ZonedTimestamp":
        return micros_of_iso_zoned(v)
    if name == "io.debezium.time.MicroTime":
        return v
    if name == "io.debezium.time.Time":
        return v * 1000
    if name == "io.debezium.time.NanoTime":
        return v // 1000
    if name in ("io.debezium.data.geometry.Geometry", "io.debezium.data.geometry.Point"):
        return (base64.b64decode(v["wkb"]), int(v.get("srid") or 0))
    if typ == "boolean":
        return int(v)
    if typ in ("int8", "int16", "int32", "int64"):
        return int(v)
    if typ == "float":
        return float32(v)
    if typ == "double":
        return float(v)
    if typ == "string":
        return v
    if typ == "bytes":
        return base64.b64decode(v)
    raise AssertionError(f"decode: no rule for Debezium schema {schema}")


def same(a, b):
    """Canonical equality: Decimals must also agree on the scale; floats
    compare by value (so -0.0 == 0.0, which MariaDB prints as 0)."""
    if isinstance(a, decimal.Decimal) or isinstance(b, decimal.Decimal):
        return (isinstance(a, decimal.Decimal) and isinstance(b, decimal.Decimal)
                and a == b and a.as_tuple().exponent == b.as_tuple().exponent)
    if type(a) is not type(b):
        return False
    return a == b
