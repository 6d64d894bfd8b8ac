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
    try:
        import kafka_fixture
    except ImportError:
        sys.exit("no Kafka: give --bootstrap HOST:PORT (tests/interop/kafka_fixture.py is missing)")
    raise NotImplementedError("kafka_fixture broker start")
