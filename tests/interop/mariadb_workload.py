"""The scripted MariaDB workload of the end-to-end tests: every MySQL type of
issue 9's type table, with NULLs and extremes, then updates, deletes, a
primary-key change, a delete and re-insert, a TRUNCATE and mid-stream ALTER
TABLEs (add, widen INT->BIGINT and DECIMAL(10,2)->DECIMAL(12,2), rename, drop),
each followed by more DML; plus a second table with a composite primary key.

`SNAPSHOT` runs before Debezium starts (its rows arrive as snapshot reads, op
`r`); `STREAM` is a list of steps run one at a time while Debezium streams the
binlog; the last step inserts END_MARKER into `orderlines`, the record a test
waits for before it stops Debezium.

`final_state(db)` is MariaDB's `SELECT *` of each table, each value rendered
as text by the server itself (see RENDERING), so a test compares a decoded
Debezium value with what MariaDB says, not with what this file meant to write.
"""
import json

DB = "shop"
TABLES = {"alltypes": ["id"], "orderlines": ["order_id", "line_no"]}
# Columns the stream renames: {table: {new name: old name}}.
RENAMED = {"alltypes": {"remark": "note"}}
# Columns the stream drops (the records before the drop carry them).
DROPPED = {"alltypes": ["drop_me"]}
END_MARKER = {"order_id": 999, "line_no": 1}

CREATE = f"""
DROP DATABASE IF EXISTS {DB};
CREATE DATABASE {DB} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;
USE {DB};
CREATE TABLE alltypes (
  id INT NOT NULL PRIMARY KEY,
  c_bool BOOLEAN,
  c_bit1 BIT(1),
  c_tiny TINYINT,
  c_small SMALLINT,
  c_medium MEDIUMINT,
  c_int INT,
  c_year YEAR,
  c_big BIGINT,
  c_ubig BIGINT UNSIGNED,
  c_uint INT UNSIGNED,
  c_dec DECIMAL(10,2),
  c_dec65 DECIMAL(65,30),
  c_float FLOAT,
  c_double DOUBLE,
  c_date DATE,
  c_dt0 DATETIME,
  c_dt3 DATETIME(3),
  c_dt6 DATETIME(6),
  c_ts0 TIMESTAMP NULL DEFAULT NULL,
  c_ts3 TIMESTAMP(3) NULL DEFAULT NULL,
  c_ts6 TIMESTAMP(6) NULL DEFAULT NULL,
  c_time0 TIME,
  c_time6 TIME(6),
  c_char CHAR(10),
  c_varchar VARCHAR(100),
  c_text TEXT,
  c_enum ENUM('small','medium','large'),
  c_set SET('a','b','c'),
  c_json JSON,
  c_binary BINARY(4),
  c_varbinary VARBINARY(16),
  c_blob BLOB,
  c_bit12 BIT(12),
  c_geom GEOMETRY,
  c_point POINT,
  c_defaulted INT NULL DEFAULT 42,
  note VARCHAR(40),
  drop_me INT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE orderlines (
  order_id INT NOT NULL,
  line_no SMALLINT NOT NULL,
  sku VARCHAR(20) NOT NULL,
  qty INT NOT NULL,
  price DECIMAL(9,3),
  PRIMARY KEY (order_id, line_no)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
"""

_COLS = ("id, c_bool, c_bit1, c_tiny, c_small, c_medium, c_int, c_year, c_big, c_ubig, c_uint, "
         "c_dec, c_dec65, c_float, c_double, c_date, c_dt0, c_dt3, c_dt6, c_ts0, c_ts3, c_ts6, "
         "c_time0, c_time6, c_char, c_varchar, c_text, c_enum, c_set, c_json, c_binary, "
         "c_varbinary, c_blob, c_bit12, c_geom, c_point, c_defaulted, note, drop_me")


def _row(id_, kind):
    """VALUES (...) of one alltypes row: 'typical', 'max', 'min', 'nulls' or 'odd'."""
    if kind == "nulls":
        return f"({id_}" + ", NULL" * (len(_COLS.split(",")) - 1) + ")"
    if kind == "typical":
        v = ["TRUE", "b'1'", "7", "-300", "70000", "123456", "2024", "1234567890123",
             "42", "3000000000", "1234.56", "-3.141592653589793238462643383279",
             "3.14", "2.718281828459045", "'2024-02-29'", "'2024-03-01 12:34:56'",
             "'2024-03-01 12:34:56.789'", "'2024-03-01 12:34:56.789012'",
             "'2024-03-01 12:34:56'", "'2024-03-01 12:34:56.789'",
             "'2024-03-01 12:34:56.789012'", "'12:34:56'", "'-01:02:03.456789'",
             "'abc'", "'héllo wörld'", "'line1\\nline2\\ttab'", "'medium'", "'a,c'",
             "'{\"k\": [1, 2.5, \"x\"], \"n\": null}'", "x'00ff10ab'", "x'deadbeef00'",
             "x'000102fffe'", "b'101010101010'",
             "ST_GeomFromText('LINESTRING(0 0, 1 1, 2 0)')",
             "ST_GeomFromText('POINT(13.4 52.5)', 4326)", "7", "'typical'", "1"]
    elif kind == "max":
        v = ["1", "b'1'", "127", "32767", "8388607", "2147483647", "2155",
             "9223372036854775807", "18446744073709551615", "4294967295", "99999999.99",
             "99999999999999999999999999999999999.999999999999999999999999999999",
             "3.40282e38", "1.7976931348623157e308", "'9999-12-31'",
             "'9999-12-31 23:59:59'", "'9999-12-31 23:59:59.999'",
             "'9999-12-31 23:59:59.999999'", "'2038-01-19 03:14:07'",
             "'2038-01-19 03:14:07.999'", "'2038-01-19 03:14:07.999999'", "'838:59:59'",
             "'838:59:59.000000'", "'ZZZZZZZZZZ'", "REPEAT('\U0001F600', 100)",
             "REPEAT('\U0001F9EA\u00e9', 1000)", "'large'", "'a,b,c'",
             "'[\"\U0001F600\", {\"deep\": {\"x\": 1e300}}, true]'", "x'ffffffff'",
             "x'ffffffffffffffffffffffffffffffff'", "REPEAT(x'ff', 1000)", "b'111111111111'",
             "ST_GeomFromText('POLYGON((0 0, 10 0, 10 10, 0 10, 0 0))')",
             "ST_GeomFromText('POINT(180 90)')", "2147483647", "'max'", "2"]
    elif kind == "min":
        v = ["0", "b'0'", "-128", "-32768", "-8388608", "-2147483648", "1901",
             "-9223372036854775808", "9223372036854775808", "0", "-99999999.99",
             "-99999999999999999999999999999999999.999999999999999999999999999999",
             "-1.17549e-38", "-2.2250738585072014e-308", "'1000-01-01'",
             "'1000-01-01 00:00:00'", "'1000-01-01 00:00:00.000'",
             "'1000-01-01 00:00:00.000000'", "'1970-01-01 00:00:01'",
             "'1970-01-01 00:00:01.001'", "'1970-01-01 00:00:01.000001'", "'-838:59:59'",
             "'-838:59:59.000000'", "''", "''", "''", "'small'", "''", "'{}'",
             "x'00000000'", "x''", "x''", "b'000000000000'",
             "ST_GeomFromText('MULTIPOINT((1 1), (2 2))')",
             "ST_GeomFromText('POINT(-180 -90)')", "-2147483648", "''", "-3"]
    elif kind == "odd":
        # before 1970, the zero date (allowed: sql_mode lacks NO_ZERO_DATE), a
        # TIME of 25 h and one just below zero, negative zero, 2^63 - 1 + 1
        v = ["FALSE", "b'0'", "0", "0", "0", "0", "0", "-1", "9223372036854775807", "1",
             "0.01", "0.000000000000000000000000000001", "-0.0", "1e-300", "'1969-07-20'",
             "'1969-07-20 20:17:40'", "'1901-12-13 20:45:52.001'",
             "'1969-12-31 23:59:59.999999'", "'1999-12-31 23:59:59'", "NULL",
             "'2000-02-29 00:00:00.000001'", "'25:00:00'", "'-00:00:00.000001'",
             "'emoji \U0001F680'", "'tab\\there'", "'\U0001F469\u200d\U0001F4BB NUL\\0x'",
             "NULL", "'b'", "'\"just a string\"'", "x'0a0d0900'", "x'00'", "x'00'",
             "b'000000000001'", "ST_GeomFromText('GEOMETRYCOLLECTION(POINT(1 2))')",
             "ST_GeomFromText('POINT(0 0)')", "NULL", "'odd'", "4"]
    else:
        raise ValueError(kind)
    return f"({id_}, {', '.join(v)})"


def _zero_date_row(id_):
    """A row holding the zero date and zero datetime (Debezium sends null)."""
    return (f"INSERT INTO alltypes (id, c_date, c_dt0, c_dt6, note) VALUES "
            f"({id_}, '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00.000000', 'zero');")


SNAPSHOT = CREATE + f"""
INSERT INTO alltypes ({_COLS}) VALUES {_row(1, 'typical')}, {_row(2, 'nulls')};
INSERT INTO orderlines VALUES (1, 1, 'apple', 3, 0.5), (1, 2, 'pear', 1, 1.25),
  (2, 1, 'plum', 10, NULL);
"""

STREAM = [
    # inserts of every extreme, then updates and deletes
    f"INSERT INTO alltypes ({_COLS}) VALUES {_row(3, 'max')}, {_row(4, 'min')}, "
    f"{_row(5, 'odd')}, {_row(6, 'typical')};" + _zero_date_row(7),
    "UPDATE alltypes SET c_int = c_int + 1, c_varchar = 'updated \U0001F4A1', "
    "c_dec = -0.01, c_time6 = '-100:00:00.5' WHERE id = 1;"
    "UPDATE alltypes SET c_bool = NULL, c_json = NULL, c_point = NULL WHERE id = 6;",
    "DELETE FROM alltypes WHERE id = 6;",
    "INSERT INTO orderlines VALUES (3, 1, 'fig', 2, 99.999), (3, 2, 'kiwi', 5, -0.001);"
    "UPDATE orderlines SET qty = qty + 1 WHERE order_id = 1;"
    "DELETE FROM orderlines WHERE order_id = 2;",
    # the truncate: every alltypes row so far goes; the extremes come back
    "TRUNCATE TABLE alltypes;",
    f"INSERT INTO alltypes ({_COLS}) VALUES {_row(10, 'typical')}, {_row(11, 'nulls')}, "
    f"{_row(12, 'max')}, {_row(13, 'min')}, {_row(14, 'odd')}, {_row(15, 'typical')}, "
    f"{_row(16, 'typical')};" + _zero_date_row(17),
    # NULL into a column with a default: must stay NULL (replace.null.with.default)
    "UPDATE alltypes SET c_defaulted = NULL, note = NULL WHERE id = 10;"
    "UPDATE alltypes SET c_ubig = 18446744073709551614, c_float = -0.0 WHERE id = 12;",
    # primary-key changes: a delete of the old key and a create of the new one
    "UPDATE alltypes SET id = 115 WHERE id = 15;"
    "UPDATE orderlines SET line_no = 20 WHERE order_id = 3 AND line_no = 2;",
    # delete and re-insert the same key with other values
    "DELETE FROM alltypes WHERE id = 16;",
    f"INSERT INTO alltypes ({_COLS}) VALUES {_row(16, 'min')};"
    "DELETE FROM orderlines WHERE order_id = 1 AND line_no = 1;"
    "INSERT INTO orderlines VALUES (1, 1, 'apple-2', 4, 0.75);",
    # ALTER: add a column (with a default), then DML writing NULL and values
    "ALTER TABLE alltypes ADD COLUMN added_col VARCHAR(20) DEFAULT 'dflt';",
    "INSERT INTO alltypes (id, note, added_col) VALUES (20, 'after add', NULL), "
    "(21, 'after add 2', 'given');"
    "INSERT INTO alltypes (id, note) VALUES (22, 'default applies');"
    "UPDATE alltypes SET added_col = 'set later' WHERE id = 10;",
    # ALTER: widen INT -> BIGINT and DECIMAL(10,2) -> DECIMAL(12,2)
    "ALTER TABLE alltypes MODIFY COLUMN c_int BIGINT, MODIFY COLUMN c_dec DECIMAL(12,2);",
    "INSERT INTO alltypes (id, c_int, c_dec, note) VALUES "
    "(30, 9223372036854775807, 9999999999.99, 'after widen'), "
    "(31, -9223372036854775808, -9999999999.99, 'after widen 2');"
    "UPDATE alltypes SET c_int = 4294967296, c_dec = 1234567890.12 WHERE id = 12;",
    # ALTER: rename a column, then DML on it
    "ALTER TABLE alltypes RENAME COLUMN note TO remark;",
    "INSERT INTO alltypes (id, remark) VALUES (40, 'after rename');"
    "UPDATE alltypes SET remark = 'renamed' WHERE id = 13;",
    # ALTER: drop a column, then DML
    "ALTER TABLE alltypes DROP COLUMN drop_me;",
    "INSERT INTO alltypes (id, remark, c_int) VALUES (50, 'after drop', 5);"
    "UPDATE alltypes SET c_varchar = 'last update' WHERE id = 11;"
    "DELETE FROM alltypes WHERE id = 13;",
    # composite-key table: its own column added, then the end marker
    "ALTER TABLE orderlines ADD COLUMN note VARCHAR(10);",
    f"INSERT INTO orderlines VALUES (5, 1, 'date', 1, 0.001, 'added');"
    f"INSERT INTO orderlines (order_id, line_no, sku, qty) VALUES "
    f"({END_MARKER['order_id']}, {END_MARKER['line_no']}, 'end', 0);",
]


def run_snapshot_part(db):
    db.execute(SNAPSHOT)


def run_stream_part(db):
    for step in STREAM:
        db.execute(step, database=DB)


# ------------------------------------------------------------ final state

RENDERING = {
    "_doc": "MariaDB's SELECT * of each table after the workload, ordered by key; every value "
            "rendered by the server as text (CAST(col AS CHAR)) or null, except: binary, "
            "varbinary and blob as lowercase hex (HEX()); BIT(n) as "
            "its unsigned integer (col + 0) in decimal; FLOAT as CAST(col AS DOUBLE) (the exact "
            "double value of the stored float); geometry as {\"wkb\": hex of ST_AsWKB, \"srid\": "
            "ST_SRID} (null when NULL); JSON as stored (MariaDB keeps the text verbatim); "
            "TIMESTAMP in the session time zone +00:00. columns: [name, COLUMN_TYPE, "
            "COLUMN_DEFAULT (an SQL literal, 'NULL', or null for none)].",
}

_BINARY = {"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"}
_GEOM = {"geometry", "point", "linestring", "polygon", "multipoint", "multilinestring",
         "multipolygon", "geometrycollection"}


def _render_expr(col, data_type):
    q = f"`{col}`"
    if data_type in _BINARY:
        return f"LOWER(HEX({q}))"
    if data_type == "bit":
        return f"CAST({q} + 0 AS CHAR)"
    if data_type == "float":
        return f"CAST(CAST({q} AS DOUBLE) AS CHAR)"
    if data_type in _GEOM:
        return (f"IF({q} IS NULL, NULL, JSON_OBJECT('wkb', LOWER(HEX(ST_AsWKB({q}))), "
                f"'srid', ST_SRID({q})))")
    return f"CAST({q} AS CHAR)"


def columns(db, table):
    """[(name, data_type, column_type, default)] of a table in order; default
    is information_schema's COLUMN_DEFAULT (an SQL literal such as 'dflt' with
    its quotes, NULL, or None when the column has none)."""
    return [(r[0], r[1], r[2], r[3]) for r in db.query(
        "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, COLUMN_DEFAULT FROM information_schema.COLUMNS "
        f"WHERE TABLE_SCHEMA = '{DB}' AND TABLE_NAME = '{table}' ORDER BY ORDINAL_POSITION")]


def final_state(db):
    """{"_doc": ..., table: {"columns": [[name, column_type, default]...], "key": [...],
    "rows": [{col: rendered value}]}} of every workload table."""
    out = dict(RENDERING)
    db.execute("SET time_zone = '+00:00'")
    for table, key in TABLES.items():
        cols = columns(db, table)
        pairs = ", ".join(f"'{c}', {_render_expr(c, t)}" for c, t, _, _ in cols)
        order = ", ".join(f"`{k}`" for k in key)
        raw = db.query(f"SET time_zone = '+00:00'; SELECT JSON_OBJECT({pairs}) "
                       f"FROM {DB}.{table} ORDER BY {order}")
        rows = []
        for (text,) in raw:
            row = json.loads(text)
            for c, t, _, _ in cols:
                if t in _GEOM and isinstance(row[c], str):
                    row[c] = json.loads(row[c])
            rows.append({c: row[c] for c, _, _, _ in cols})
        out[table] = {"columns": [[c, ct, d] for c, _, ct, d in cols], "key": key,
                      "rows": rows}
    return out
