"""Stopping a test fixture's server (Kafka broker, mariadbd, the Debezium
runner), each started in its own process group so that its children go with
it: one way to stop one, shared by the fixtures."""
import os
import signal
import subprocess


def stop_group(p, timeout):
    """SIGTERM to p's process group (a clean shutdown), SIGKILL if it is still
    there after `timeout` seconds. Returns p's exit status (None for no p)."""
    if not p:
        return None
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=timeout)
        except ProcessLookupError:
            pass
    return p.returncode


def kill_group(p, timeout):
    """SIGKILL to p's process group (a crash: no clean shutdown)."""
    if p and p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait(timeout=timeout)
