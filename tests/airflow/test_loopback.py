"""SECURITY.md promises that everything the stack starts listens on loopback only. On the session's
stack (conftest ``stack``: Airflow's components, the endpoint router and whatever they started), every
listening TCP socket and every receiving UDP socket of the whole process tree is on 127.0.0.0/8 or ::1,
sampled a few times while the end-to-end runs execute; the task logs the UI shows still come through
the REST API."""

from __future__ import annotations

import time

import pytest

from mlops.airflow.stack import router_pid
from tests.airflow.conftest import E2E_DAG as DAG
from tests.airflow.conftest import Stack
from tests.processes import Listener, listeners, process_tree

pytestmark = pytest.mark.integration


def _stack_listeners(stack: Stack) -> list[Listener]:
    roots = [s.process.pid for s in stack.airflow.services if s.process is not None]
    router = router_pid(stack.settings)
    assert roots and router is not None, "the stack's processes are not running"
    return listeners(process_tree([*roots, router]))


def test_every_socket_of_the_stack_listens_on_loopback_only(stack: Stack) -> None:
    seen: dict[tuple[int, str, str, int], Listener] = {}
    for _ in range(6):  # task processes come and go: look more than once
        seen.update({(x.pid, x.protocol, x.address, x.port): x for x in _stack_listeners(stack)})
        time.sleep(0.5)
    ports = {x.port for x in seen.values()}
    assert stack.airflow.port in ports, f"the api-server's port is not among {sorted(map(str, seen.values()))}"
    assert stack.settings.router_port in ports, f"the router's port is not among {sorted(map(str, seen.values()))}"
    exposed = sorted(str(x) for x in seen.values() if not x.loopback)
    assert not exposed, "listening beyond loopback:\n" + "\n".join(exposed)


def test_a_task_s_log_reads_over_the_rest_api(stack: Stack) -> None:
    client, run_id = stack.client, stack.runs["bad"]
    client.wait_run(DAG, run_id, timeout=600)
    log = client.task_log(DAG, run_id, "check_inputs")
    assert "is not an algorithm of the catalog" in log, log[-3000:]
    assert str(stack.airflow.airflow_home / "logs") in log, f"not read from the local log folder:\n{log[-3000:]}"
