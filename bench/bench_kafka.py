"""A Kafka broker for the benchmarks: the one given (--bootstrap), or a
single-node KRaft broker started for the run with the interop tests' fixture
(tests/interop/kafka_fixture.py)."""
import contextlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "interop"))


@contextlib.contextmanager
def broker(bootstrap, workdir: Path):
    if bootstrap:
        yield bootstrap
        return
    import kafka_fixture
    ok, why = kafka_fixture.jars_available()
    if not ok:
        sys.exit(f"no Kafka broker: {why}; or give --bootstrap HOST:PORT")
    workdir.mkdir(parents=True, exist_ok=True)
    with kafka_fixture.KafkaBroker(workdir, sasl=False) as b:
        yield b.bootstrap
