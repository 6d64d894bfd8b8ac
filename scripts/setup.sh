#!/usr/bin/env bash
# Prepares a machine to build and test deltacdc: Debian packages (only the
# missing ones), the Python venv for interop tests (.venv, only when missing
# or when tests/requirements.txt changed), then builds build/deltacdc.
# Idempotent and quick when everything is already there.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DEB_PKGS=(build-essential pkg-config libzstd-dev libsnappy-dev zlib1g-dev liblz4-dev
          libbrotli-dev libroaring-dev librdkafka-dev clang libclang-rt-14-dev llvm python3 python3-venv
          libyaml-dev mariadb-server mariadb-client libmariadb-dev libcurl4-openssl-dev
          libssl-dev libmicrohttpd-dev prometheus chromium)

log() { echo "setup: $*"; }

missing_debs() {
    local p status
    for p in "${DEB_PKGS[@]}"; do
        status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
        [[ "$status" == "install ok installed" ]] || echo "$p"
    done
}

install_debs() {
    local missing
    mapfile -t missing < <(missing_debs)
    if [[ ${#missing[@]} -eq 0 ]]; then
        log "Debian packages present"
        return 0
    fi
    local sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            echo "setup: missing Debian packages (${missing[*]}) and not root, no sudo" >&2
            return 1
        fi
    fi
    log "installing ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        "${missing[@]}"
}

setup_venv() {
    local req="tests/requirements.txt" stamp=".venv/.requirements.sha256" want have=""
    want="$(sha256sum "$req" | cut -d' ' -f1)"
    [[ -f "$stamp" ]] && have="$(cat "$stamp")"
    if [[ -x .venv/bin/python && "$want" == "$have" ]] \
        && .venv/bin/python -c "import pyarrow, duckdb, deltalake, pytest, pytest_timeout" 2>/dev/null; then
        log "Python venv up to date"
        return 0
    fi
    if ! .venv/bin/python -c "" 2>/dev/null; then
        log "creating .venv"
        rm -rf .venv
        python3 -m venv .venv
    fi
    log "installing $req into .venv"
    .venv/bin/python -m pip install -q -r "$req"
    echo "$want" > "$stamp"
}

# delta-spark jars for the slow Spark interop test, from Maven Central with
# Maven's own client, into .cache/spark-jars (skipped when present).
SPARK_JARS=(io.delta:delta-spark_2.12:3.2.1 io.delta:delta-storage:3.2.1)
fetch_spark_jars() {
    local dir=".cache/spark-jars" a
    if ls "$dir"/delta-spark_2.12-*.jar >/dev/null 2>&1; then
        log "delta-spark jars present"
        return 0
    fi
    if ! command -v mvn >/dev/null 2>&1 || ! command -v java >/dev/null 2>&1; then
        log "installing maven and a JDK for the Spark jars"
        env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            maven openjdk-17-jdk-headless || { log "no maven: Spark test will skip"; return 0; }
    fi
    mkdir -p "$dir"
    for a in "${SPARK_JARS[@]}"; do
        mvn -q -B dependency:copy -Dartifact="$a" -DoutputDirectory="$dir" \
            || { log "could not fetch $a: Spark test will skip"; return 0; }
    done
}

# Spark's Kafka source, for bench/ingest_spark only (the seed's own job reads
# Kafka with it), into .cache/spark-kafka-jars (skipped when present).
SPARK_KAFKA_JARS=(org.apache.spark:spark-sql-kafka-0-10_2.12:3.5.3
                  org.apache.spark:spark-token-provider-kafka-0-10_2.12:3.5.3
                  org.apache.kafka:kafka-clients:3.4.1 org.apache.commons:commons-pool2:2.11.1)
fetch_spark_kafka_jars() {
    local dir=".cache/spark-kafka-jars" a
    if ls "$dir"/spark-sql-kafka-*.jar >/dev/null 2>&1; then
        log "spark-sql-kafka jars present"
        return 0
    fi
    command -v mvn >/dev/null 2>&1 || { log "no maven: bench/ingest_spark will not run"; return 0; }
    mkdir -p "$dir"
    for a in "${SPARK_KAFKA_JARS[@]}"; do
        mvn -q -B dependency:copy -Dartifact="$a" -DoutputDirectory="$dir" \
            || { log "could not fetch $a: bench/ingest_spark will not run"; return 0; }
    done
}

# The runtime jars a test pom lists (tests/<x>/pom.xml), from Maven Central
# with Maven's own client, copied into DIR; refetched when the pom changes
# (its hash is kept beside the jars). Args: WHAT POM DIR MARKER WHEN_MISSING,
# MARKER a file glob that says the jars are there, WHEN_MISSING what the tests
# do without them (for the log).
fetch_pom_jars() {
    local what="$1" pom="$2" dir="$3" marker="$4" missing="$5" stamp want
    stamp="$dir/.pom.sha256"
    want="$(sha256sum "$pom" | cut -d' ' -f1)"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && compgen -G "$dir/$marker" >/dev/null; then
        log "$what jars present"
        return 0
    fi
    if ! command -v mvn >/dev/null 2>&1 || ! command -v javac >/dev/null 2>&1; then
        log "installing maven and a JDK for $what"
        env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            maven openjdk-17-jdk-headless || { log "no maven: $missing"; return 0; }
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    mvn -q -B -f "$pom" dependency:copy-dependencies -DincludeScope=runtime \
        -DoutputDirectory="$ROOT/$dir" \
        || { log "could not fetch the $what jars: $missing"; return 0; }
    echo "$want" > "$stamp"
}

# Apache Kafka broker jars for the interop tests' real broker
# (tests/interop/kafka_fixture.py).
fetch_kafka_jars() {
    fetch_pom_jars Kafka tests/kafka/pom.xml .cache/kafka-jars 'kafka_2.13-*.jar' \
        "Kafka tests will skip"
}

# Debezium's embedded engine and MariaDB connector for the end-to-end tests
# (tests/interop/debezium_fixture.py, which compiles its runner with javac).
fetch_debezium_jars() {
    fetch_pom_jars Debezium tests/debezium/pom.xml .cache/debezium-jars \
        'debezium-connector-mariadb-*.jar' "e2e tests will fail"
}

# Trino with its Delta Lake connector for tests/interop/test_trino.py: the
# trino-server tarball from Maven Central (Maven's own client), unpacked into
# .cache/trino keeping only the delta-lake plugin (the tarball is 820 MB, the
# kept part about 400 MB). Trino 476 runs on Java 24 or newer; Debian 12 has
# only OpenJDK 17, so the JDK is not a Debian package: these machines carry a
# Temurin 25 JDK (TRINO_JAVA_HOME), and setup fails when it is missing.
TRINO_VERSION=476
TRINO_JAVA_HOME="${DC_TRINO_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
fetch_trino() {
    local dir=".cache/trino" home tgz major
    home="$dir/trino-server-$TRINO_VERSION"
    major="$("$TRINO_JAVA_HOME/bin/java" -XshowSettings:properties -version 2>&1 \
             | sed -n 's/^ *java.specification.version = //p')" || true
    if [[ -z "$major" || "$major" -lt 24 ]]; then
        echo "setup: Trino $TRINO_VERSION needs a Java 24 or newer at $TRINO_JAVA_HOME" \
             "(found: ${major:-none}); Debian 12 ships only openjdk-17: install a JDK 24+" \
             "(e.g. Eclipse Temurin 25, package temurin-25-jdk from Adoptium's apt" \
             "repository) or set DC_TRINO_JAVA_HOME to one" >&2
        return 1
    fi
    if [[ -d "$home/lib" && -d "$home/plugin/delta-lake" ]]; then
        log "trino-server $TRINO_VERSION present"
        return 0
    fi
    command -v mvn >/dev/null 2>&1 || { echo "setup: no mvn to fetch trino-server" >&2; return 1; }
    mkdir -p "$dir"
    tgz="$dir/trino-server-$TRINO_VERSION.tar.gz"
    mvn -q -B dependency:copy -Dartifact="io.trino:trino-server:$TRINO_VERSION:tar.gz" \
        -DoutputDirectory="$ROOT/$dir" || { echo "setup: could not fetch trino-server" >&2; return 1; }
    rm -rf "$home"
    # whole tarball: the plugins share files through hard links
    tar -xzf "$tgz" -C "$dir"
    find "$home/plugin" -mindepth 1 -maxdepth 1 ! -name delta-lake -exec rm -rf {} +
    rm -f "$tgz"
}

install_debs
setup_venv
fetch_spark_jars
fetch_spark_kafka_jars
fetch_kafka_jars
fetch_debezium_jars
# Only test_trino.py needs Trino: without it the build and the demo still go
# on, and that test fails saying what is missing (it never skips silently).
fetch_trino || echo "setup: WARNING: Trino not set up (above); tests/interop/test_trino.py will fail" >&2
log "building"
make -j2
