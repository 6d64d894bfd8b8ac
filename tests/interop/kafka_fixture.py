"""A real Apache Kafka broker for the interop tests.

A single-node Kafka (KRaft: broker and controller in one JVM) from the Maven
Central jars that scripts/setup.sh copies into .cache/kafka-jars
(tests/kafka/pom.xml), started on 127.0.0.1 with free ports and a temporary
log directory, and stopped — its whole process group — at the end.

Two listeners: PLAINTEXT (``bootstrap``) and SASL_PLAINTEXT with the PLAIN
mechanism (``sasl_bootstrap``; users from ``SASL_USERS``, declared by a JAAS
line in the broker's properties), so tests can consume through librdkafka
pass-through properties as the seed's pipeline does.

Use it from a test module::

    from kafka_fixture import kafka_broker  # noqa: F401  (the fixture)

    def test_x(kafka_broker):
        kafka_broker.create_topic("cdc-shop-orders", partitions=2)
        kafka_broker.produce("cdc-shop-orders", [("k1", '{"a":1}'), ("k1", None)])
        kafka_broker.restart()          # same ports, same data
        ...

``kafka_broker`` is session-scoped (one JVM for the whole run; tests use their
own topic names). ``KafkaBroker`` can be used directly (``with KafkaBroker(dir)
as b:``) by benchmarks or tests that need a private broker.

Set DC_KAFKA_JARS to use jars from elsewhere; the tests skip (with the reason)
when no jars or no ``java`` are found.
"""
import atexit
import base64
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from procgroup import free_port, die_with_parent, kill_group, stop_group

import pytest

REPO = Path(__file__).resolve().parents[2]
JARS = Path(os.environ.get("DC_KAFKA_JARS", REPO / ".cache" / "kafka-jars"))

# PLAIN users of the SASL listener: name -> password.
SASL_USERS = {"admin": "admin-secret", "ingest": "ingest-secret"}

START_TIMEOUT_S = 60      # a loaded CI machine; normally ~5 s
STOP_TIMEOUT_S = 20       # SIGTERM first (clean shutdown keeps the log tidy), then SIGKILL

# The JVM starts faster with the client compiler only and a small serial heap;
# a test broker handles kilobytes to a few hundred megabytes.
JVM_OPTS = ["-Xms128m", "-Xmx768m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-Djava.awt.headless=true",
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
            "-Dorg.slf4j.simpleLogger.showDateTime=true"]


def jars_available():
    """(True, "") when the broker can start here, else (False, why)."""
    if not shutil.which("java"):
        return False, "no java on PATH (scripts/setup.sh installs openjdk-17)"
    if not list(JARS.glob("kafka_2.13-*.jar")):
        return False, f"no Kafka jars in {JARS} (run scripts/setup.sh)"
    return True, ""


class KafkaBroker:
    """One single-node KRaft broker in its own process group."""

    def __init__(self, workdir, sasl=True, extra_properties=()):
        """extra_properties: more server.properties lines ("key=value")."""
        self.workdir = Path(workdir)
        self.extra_properties = list(extra_properties)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_dir = self.workdir / "data"
        self.port = free_port()
        self.controller_port = free_port()
        self.sasl_port = free_port() if sasl else None
        self.proc = None
        self.broker_log = self.workdir / "broker.log"
        self.cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        self.properties_file = self.workdir / "server.properties"
        self._write_properties()
        self._formatted = False
        self._admin = None

    # ------------------------------------------------------------ addresses

    @property
    def bootstrap(self):
        """HOST:PORT of the PLAINTEXT listener."""
        return f"127.0.0.1:{self.port}"

    @property
    def sasl_bootstrap(self):
        """HOST:PORT of the SASL_PLAINTEXT (PLAIN) listener."""
        return f"127.0.0.1:{self.sasl_port}"

    def sasl_properties(self, user="ingest"):
        """librdkafka properties for the SASL listener as `user`."""
        return {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN",
                "sasl.username": user, "sasl.password": SASL_USERS[user]}

    # ------------------------------------------------------------ lifecycle

    def _write_properties(self):
        listeners = [f"PLAINTEXT://127.0.0.1:{self.port}",
                     f"CONTROLLER://127.0.0.1:{self.controller_port}"]
        advertised = [f"PLAINTEXT://127.0.0.1:{self.port}"]
        protocols = ["PLAINTEXT:PLAINTEXT", "CONTROLLER:PLAINTEXT"]
        extra = []
        if self.sasl_port:
            listeners.append(f"SASL_PLAINTEXT://127.0.0.1:{self.sasl_port}")
            advertised.append(f"SASL_PLAINTEXT://127.0.0.1:{self.sasl_port}")
            protocols.append("SASL_PLAINTEXT:SASL_PLAINTEXT")
            users = " ".join(f'user_{u}="{p}"' for u, p in SASL_USERS.items())
            extra = [
                "sasl.enabled.mechanisms=PLAIN",
                "listener.name.sasl_plaintext.plain.sasl.jaas.config="
                "org.apache.kafka.common.security.plain.PlainLoginModule required "
                f'username="admin" password="{SASL_USERS["admin"]}" {users};',
            ]
        props = [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
            "listeners=" + ",".join(listeners),
            "advertised.listeners=" + ",".join(advertised),
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=" + ",".join(protocols),
            f"log.dirs={self.log_dir}",
            "num.partitions=1",
            "auto.create.topics.enable=false",
            # one node: every internal topic has one replica
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            # consumers join at once instead of waiting 3 s for others
            "group.initial.rebalance.delay.ms=0",
        ] + extra + self.extra_properties
        self.properties_file.write_text("\n".join(props) + "\n")

    def _java(self, main_class, *args):
        return ["java"] + JVM_OPTS + ["-cp", str(JARS / "*"), main_class] + list(args)

    def _format(self):
        cmd = self._java("kafka.tools.StorageTool", "format", "-t", self.cluster_id,
                         "-c", str(self.properties_file), "--ignore-formatted")
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError(f"kafka-storage format failed ({r.returncode}):\n"
                               f"{r.stdout}\n{r.stderr}")
        self._formatted = True

    def start(self):
        """Starts the broker (formatting its storage the first time) and waits
        until it serves metadata; returns self."""
        ok, why = jars_available()
        if not ok:
            raise RuntimeError(why)
        if self.proc and self.proc.poll() is None:
            return self
        if not self._formatted:
            self._format()
        log = open(self.broker_log, "ab")
        try:
            self.proc = subprocess.Popen(
                self._java("kafka.Kafka", str(self.properties_file)),
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, preexec_fn=die_with_parent, cwd=self.workdir)
        finally:
            log.close()
        _LIVE.add(self)
        self._wait_ready()
        return self

    def _wait_ready(self):
        from confluent_kafka.admin import AdminClient
        admin = AdminClient({"bootstrap.servers": self.bootstrap, "log_level": 0,
                             "socket.connection.setup.timeout.ms": 1000})
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Kafka broker exited with {self.proc.returncode}:\n"
                                   + self.log_tail())
            try:
                md = admin.list_topics(timeout=1)
                if md.brokers and md.controller_id != -1:
                    return
            except Exception:  # noqa: BLE001 - not up yet: KafkaException, timeouts
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"Kafka broker not ready after {START_TIMEOUT_S} s:\n" + self.log_tail())

    def stop(self):
        """Stops the broker's process group (SIGTERM, then SIGKILL); keeps the data."""
        p, self.proc = self.proc, None
        _LIVE.discard(self)
        stop_group(p, STOP_TIMEOUT_S)

    def kill(self):
        """Kills the broker at once (SIGKILL: a crash, no clean shutdown)."""
        p, self.proc = self.proc, None
        _LIVE.discard(self)
        kill_group(p, STOP_TIMEOUT_S)

    def restart(self, down_s=0.0, hard=False):
        """Stops (or kills) the broker, waits down_s seconds, starts it again on
        the same ports with the same data."""
        self.kill() if hard else self.stop()
        if down_s:
            time.sleep(down_s)
        return self.start()

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n=40):
        try:
            return "\n".join(self.broker_log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no broker log)"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ------------------------------------------------------------ data

    def admin(self):
        """An AdminClient, kept: its futures fail if it is destroyed first."""
        if self._admin is None:
            from confluent_kafka.admin import AdminClient
            self._admin = AdminClient({"bootstrap.servers": self.bootstrap, "log_level": 0})
        return self._admin

    def create_topic(self, name, partitions=1, config=None, timeout=30):
        """Creates a topic and waits until its partitions have leaders."""
        from confluent_kafka.admin import NewTopic
        fs = self.admin().create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=1,
                      config=config or {})], operation_timeout=timeout)
        fs[name].result(timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            t = self.admin().list_topics(name, timeout=5).topics.get(name)
            if t and not t.error and len(t.partitions) == partitions and \
                    all(p.leader >= 0 for p in t.partitions.values()):
                return
            time.sleep(0.1)
        raise RuntimeError(f"topic {name} has no leaders after {timeout} s")

    def delete_topic(self, name, timeout=30):
        self.admin().delete_topics([name], operation_timeout=timeout)[name].result(timeout)

    def producer(self, **conf):
        from confluent_kafka import Producer
        base = {"bootstrap.servers": self.bootstrap, "linger.ms": 5, "log_level": 0,
                "enable.idempotence": True}
        base.update(conf)
        return Producer(base)

    def produce(self, topic, records, partition=None, timeout=30):
        """Produces records and waits until every one is acknowledged.

        `records`: values, or (key, value) pairs; a value of None is a
        tombstone; str is encoded as UTF-8. Returns [(partition, offset)] in
        order."""
        p = self.producer()
        acks = [None] * len(records)
        errors = []

        def report(i):
            def cb(err, msg):
                if err is not None:
                    errors.append(f"record {i}: {err}")
                else:
                    acks[i] = (msg.partition(), msg.offset())
            return cb

        for i, r in enumerate(records):
            key, value = r if isinstance(r, tuple) else (None, r)
            kw = {"key": key, "value": value, "on_delivery": report(i)}
            if partition is not None:
                kw["partition"] = partition
            while True:
                try:
                    p.produce(topic, **kw)
                    break
                except BufferError:
                    p.poll(0.1)
            p.poll(0)
        left = p.flush(timeout)
        if left or errors:
            raise RuntimeError(f"produce to {topic}: {left} unacknowledged, errors: {errors[:5]}")
        return acks

    def end_offsets(self, topic, timeout=10):
        """{partition: high watermark} of a topic."""
        from confluent_kafka import Consumer, TopicPartition
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": "kafka-fixture-probe",
                      "log_level": 0})
        try:
            md = c.list_topics(topic, timeout=timeout).topics[topic]
            return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)[1]
                    for p in md.partitions}
        finally:
            c.close()

    def committed(self, group, topic, partition, timeout=10):
        """The offset a consumer group committed for a partition (-1001: none)."""
        from confluent_kafka import Consumer, TopicPartition
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": group, "log_level": 0})
        try:
            return c.committed([TopicPartition(topic, partition)], timeout=timeout)[0].offset
        finally:
            c.close()


# Brokers still running when the interpreter exits (a test run interrupted):
# their process groups are killed so no JVM outlives pytest.
_LIVE = set()


@atexit.register
def _kill_leftovers():
    for b in list(_LIVE):
        b.kill()


@pytest.fixture(scope="session")
def kafka_broker():
    """A running single-node Kafka broker shared by the session (see module doc)."""
    ok, why = jars_available()
    if not ok:
        pytest.skip(why)
    work = Path(tempfile.mkdtemp(prefix="dc-kafka-"))
    broker = KafkaBroker(work)
    try:
        broker.start()
        yield broker
    finally:
        broker.stop()
        shutil.rmtree(work, ignore_errors=True)
