"""The private MariaDB of the end-to-end tests (mariadb_fixture.py) is what
Debezium and the later bootstrap/monitor tests assume: ROW binlog with FULL
images, UTC, utf8mb4, the Debezium user's grants, TCP users with MYSQL_PWD,
and the sequence engine for bulk rows."""
import pytest

from mariadb_fixture import DEBEZIUM_PASSWORD, DEBEZIUM_USER, mariadb  # noqa: F401

pytestmark = pytest.mark.e2e


def test_server_settings(mariadb):  # noqa: F811
    rows = mariadb.query("SELECT @@log_bin, @@binlog_format, @@binlog_row_image, @@server_id, "
                         "@@time_zone, @@character_set_server, @@bind_address, @@port")
    assert rows == [["1", "ROW", "FULL", "4201", "+00:00", "utf8mb4", "127.0.0.1",
                     str(mariadb.port)]]
    assert mariadb.version.startswith("10.11.") or mariadb.version.split(".")[0] >= "10"


def test_debezium_user_can_read_the_binlog(mariadb):  # noqa: F811
    st = mariadb.tcp_query("SHOW BINLOG STATUS", DEBEZIUM_USER, DEBEZIUM_PASSWORD)
    assert st and st[0][0].startswith("binlog.")
    grants = " ".join(r[0] for r in mariadb.tcp_query("SHOW GRANTS", DEBEZIUM_USER,
                                                      DEBEZIUM_PASSWORD))
    for g in ("REPLICATION SLAVE", "BINLOG MONITOR", "SELECT", "RELOAD"):
        assert g in grants, grants


def test_tcp_user_and_bulk_rows(mariadb):  # noqa: F811
    mariadb.execute("DROP DATABASE IF EXISTS fixt; CREATE DATABASE fixt;"
                    "CREATE TABLE fixt.big (id INT PRIMARY KEY, v VARCHAR(20));"
                    "INSERT INTO fixt.big SELECT seq, CONCAT('v', seq) FROM fixt.seq_1_to_50000;")
    mariadb.create_user("reader", "reader-pw", grants="SELECT", on="fixt.*")
    assert mariadb.url("reader", "fixt") == f"mysql://reader@127.0.0.1:{mariadb.port}/fixt"
    assert mariadb.tcp_query("SELECT COUNT(*), MAX(id) FROM big", "reader", "reader-pw",
                             database="fixt") == [["50000", "50000"]]
    with pytest.raises(RuntimeError, match="denied"):
        mariadb.tcp_query("SELECT 1", "reader", "wrong")
