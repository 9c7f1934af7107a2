"""Throughput and latency of the endpoint router, side by side with its peers, same model, same run.

    python benchmarks/router_throughput.py [--seconds 8] [--connections 16] [--rounds 3]

One xgboost model (trained here on the bundled churn data) served four ways, each driven by the same
closed-loop load generator (a separate process: asyncio + uvloop, keep-alive connections, one
single-row request in flight per connection, TCP_NODELAY, ACKs at once) for a bounded time:

- in-process: the xgboost handler's input_fn + predict_fn + output_fn in a loop, one thread: the
  physical limit of one model-server worker (no HTTP at all);
- mlflow: ``mlflow models serve --env-manager local`` of the same booster logged with
  ``mlflow.xgboost.log_model`` to a temporary SQLite-backed MLflow (JSON ``{"inputs": [[...]]}``);
- direct: the variant's model server (the contract's server, one worker) called on its own port;
- router: ``mlops router`` with an endpoint of one variant of one instance (that same server),
  called as InvokeEndpoint (``POST /endpoints/NAME/invocations``, CSV);
- router alone: the router's code and HTTP layer in a process of its own, in front of a model server
  that answers at once: the router's own ceiling and CPU cost per request.

Rounds are interleaved (direct, router, mlflow, …) so a busy neighbour hurts every contestant alike;
the table shows medians. Goals: router ≥ 5x mlflow's requests/s with a lower p99; router ≤ 15% below
direct; router p99 overhead (router p99 - direct p99) ≤ 2 ms. The router's own view of its overhead
(OverheadLatency p99 from /metrics) is printed too, and each contestant's server-side CPU time per
request (all its processes): on a shared machine, requests per CPU-second compare more fairly than
requests per second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROW = "1,0,0,42,46,0,0,1,1,0,0,0,0,1,0,1,72.44,3332.24,2,5,28.2,22"


# --- the load generator (runs as its own process) -------------------------------------------------


async def _connection(host: str, port: int, request: bytes, deadline: float, latencies: list[float],
                      errors: list[int], warmup_until: float, warm: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    quickack = getattr(socket, "TCP_QUICKACK", None)
    while True:
        start = time.perf_counter()
        if start >= deadline:
            break
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        if quickack is not None:  # a server that sends head and body apart must not wait for our delayed ACK
            sock.setsockopt(socket.IPPROTO_TCP, quickack, 1)
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await reader.readexactly(length)
        end = time.perf_counter()
        if start >= warmup_until:
            latencies.append(end - start)
            if head[9:12] != b"200":
                errors.append(int(head[9:12]))
        else:
            warm.append(1)
    writer.close()


async def _load(url: str, body: bytes, content_type: str, connections: int, seconds: float, warmup: float) -> dict:
    rest = url.split("://", 1)[1]
    hostport, _, path = rest.partition("/")
    host, _, port = hostport.rpartition(":")
    request = (f"POST /{path} HTTP/1.1\r\nHost: {hostport}\r\nContent-Type: {content_type}\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    latencies: list[float] = []
    errors: list[int] = []
    warm: list[int] = []
    now = time.perf_counter()
    await asyncio.gather(*(_connection(host, int(port), request, now + warmup + seconds, latencies, errors,
                                       now + warmup, warm) for _ in range(connections)))
    latencies.sort()
    n = len(latencies)
    return {
        "requests": n,
        "rps": n / seconds,
        "p50_ms": latencies[n // 2] * 1e3 if n else float("nan"),
        "p99_ms": latencies[min(n - 1, int(n * 0.99))] * 1e3 if n else float("nan"),
        "errors": len(errors),
        "warmup_requests": len(warm),
    }


def loadgen_main(argv: list[str]) -> None:
    url, content_type, body, connections, seconds, warmup = argv
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    result = runner(_load(url, body.encode(), content_type, int(connections), float(seconds), float(warmup)))
    print(json.dumps(result))


def cpu_seconds(pids: list[int], descendants: bool = True) -> float:
    """CPU time (user + system) of these processes (and all their descendants)."""
    import psutil

    total = 0.0
    seen: set[int] = set()
    for pid in pids:
        try:
            root = psutil.Process(pid)
            for p in [root, *(root.children(recursive=True) if descendants else [])]:
                if p.pid not in seen:
                    seen.add(p.pid)
                    t = p.cpu_times()
                    total += t.user + t.system
        except psutil.Error:
            continue
    return total


def load(url: str, body: str, content_type: str, connections: int, seconds: float, pids: list[int],
         warmup: float = 1.0) -> dict:
    """Run the load generator; also the servers' CPU time per request (over warm-up and measurement)."""
    before, own_before = cpu_seconds(pids), cpu_seconds(pids, descendants=False)
    out = subprocess.run([sys.executable, __file__, "--loadgen", url, content_type, body, str(connections),
                          str(seconds), str(warmup)], capture_output=True, text=True, timeout=seconds + warmup + 60)
    if out.returncode != 0:
        raise RuntimeError(f"load generator failed on {url}:\n{out.stderr}")
    result = json.loads(out.stdout)
    warm = result.pop("warmup_requests", 0)
    served = max(1, result["requests"] + warm)
    result["cpu_us_per_request"] = (cpu_seconds(pids) - before) / served * 1e6
    result["own_cpu_us_per_request"] = (cpu_seconds(pids, descendants=False) - own_before) / served * 1e6
    return result  # type: ignore[no-any-return]


# --- the router alone: its own process against a model server that does nothing -----------------


class _NoopModel(asyncio.Protocol):
    """Answers every request at once with a one-line CSV, head and body in one send."""

    def __init__(self) -> None:
        import httptools

        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_message_complete(self) -> None:
        assert self.transport is not None
        self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/csv\r\ncontent-length: 4\r\n\r\n0.5\n")


def noop_model_main(port: str) -> None:
    import uvloop

    async def serve() -> None:
        server = await asyncio.get_running_loop().create_server(_NoopModel, "127.0.0.1", int(port))
        await server.serve_forever()

    uvloop.run(serve())


def router_core_main(port: str, upstream: str) -> None:
    """The control process's router and HTTP layer, as `mlops router` runs them, with one endpoint whose
    one variant is the no-op model."""
    import uvicorn

    from mlops.serving.api import RouterHttp
    from mlops.serving.router import EndpointRouter, FleetRoutes, Instance, VariantPool

    router = EndpointRouter(None)
    pool = VariantPool("noop", "AllTraffic", "noop", "noop-cfg")
    pool.instances = [Instance("noop-1", upstream)]
    router.set_routes("noop", [(FleetRoutes("noop-cfg", [(pool, 1.0)]), 1.0)])
    http = RouterHttp(router)

    async def app(scope: dict, receive: object, send: object) -> None:
        if scope["type"] == "http":
            await http.handle(scope, receive, send)  # type: ignore[arg-type]

    uvicorn.run(app, host="127.0.0.1", port=int(port), loop="uvloop", http="httptools", lifespan="off",
                access_log=False, log_level="warning", server_header=False, proxy_headers=False)


# --- contestants ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 120.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:g}s")


def in_process_rate(model_dir: Path, seconds: float) -> dict:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "algorithms" / "xgboost"))
    from xgboost_algorithm import XGBoostHandler  # type: ignore[import-not-found]

    handler = XGBoostHandler()
    model = handler.model_fn(model_dir)
    body = ROW.encode()
    latencies = []
    deadline = time.perf_counter() + seconds
    cpu_start = time.process_time()
    while (start := time.perf_counter()) < deadline:
        handler.output_fn(handler.predict_fn(handler.input_fn(body, "text/csv"), model), "text/csv")
        latencies.append(time.perf_counter() - start)
    cpu = time.process_time() - cpu_start
    latencies.sort()
    n = len(latencies)
    return {"requests": n, "rps": n / seconds, "p50_ms": latencies[n // 2] * 1e3,
            "p99_ms": latencies[int(n * 0.99)] * 1e3, "errors": 0, "cpu_us_per_request": cpu / n * 1e6}


def start_mlflow(model_dir: Path, work: Path) -> tuple[subprocess.Popen[bytes], str]:
    import mlflow
    import xgboost as xgb

    booster = xgb.Booster()
    booster.load_model(bytearray((model_dir / "xgboost-model").read_bytes()))
    tracking = f"sqlite:///{work / 'mlflow.db'}"
    mlflow.set_tracking_uri(tracking)
    # artifacts in the scratch folder too (by default they would go to ./mlruns of the caller)
    experiment = mlflow.create_experiment("router-benchmark", artifact_location=(work / "artifacts").as_uri())
    with mlflow.start_run(experiment_id=experiment) as run:
        mlflow.xgboost.log_model(booster, name="model")
    port = free_port()
    bin_dir = str(Path(sys.executable).parent)  # mlflow starts `uvicorn` from PATH
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    log = open(work / "mlflow-serve.log", "wb")  # noqa: SIM115 - kept for the server's life
    proc = subprocess.Popen(["mlflow", "models", "serve", "-m", f"runs:/{run.info.run_id}/model", "--env-manager",
                             "local", "-h", "127.0.0.1", "-p", str(port)], env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True,
                            executable=str(Path(sys.executable).parent / "mlflow"))
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/ping", 180, proc)
    return proc, url


def start_router(work: Path, model_data: str, model_sha256: str) -> tuple[subprocess.Popen[bytes], str, str, int]:
    home = work / "home"
    port = free_port()
    env = {**os.environ, "MLOPS_HOME": str(home), "MLOPS_ROUTER_PORT": str(port)}
    cli = [sys.executable, "-m", "mlops.cli"]
    log = open(work / "router.log", "wb")  # noqa: SIM115 - kept for the server's life
    proc = subprocess.Popen([*cli, "router"], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/ping", 60, proc)
    for args in (["models", "create", "churn", "--algorithm", "xgboost", "--model-data", model_data,
                  "--model-sha256", model_sha256],
                 ["endpoint-configs", "create", "churn-cfg", "--variant", "name=AllTraffic,model=churn"],
                 ["endpoints", "create", "churn", "--config", "churn-cfg"]):
        subprocess.run([*cli, *args], env=env, check=True, capture_output=True, timeout=300)
    instances = json.loads((home / "hosting" / "instances.json").read_text())["Instances"]
    return proc, url, instances[0]["Url"], instances[0]["Pid"]


def router_overhead_p99(url: str) -> float:
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as r:
        text = r.read().decode()
    match = re.search(r'mlops_overhead_latency_seconds\{[^}]*quantile="0.99"\} ([0-9.e-]+)', text)
    return float(match.group(1)) * 1e3 if match else float("nan")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per round and contestant")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model-data", help="an xgboost model.tar.gz (default: train one here)")
    parser.add_argument("--model-sha256", help="with --model-data: the sha256 you vouch for (sha256sum)")
    args = parser.parse_args()
    if bool(args.model_data) != bool(args.model_sha256):
        parser.error("give --model-data and --model-sha256 together")

    from benchmarks._common import median, save, table
    from mlops.runtime.packing import unpack_archive

    work = Path(tempfile.mkdtemp(prefix="mlops-router-bench-"))
    model_data, model_sha256 = (args.model_data, args.model_sha256) if args.model_data else train_model(work)
    model_dir = work / "model"
    unpack_archive(Path(model_data), model_dir)

    print(f"in-process handler for {args.seconds:g}s …", flush=True)
    limit = in_process_rate(model_dir, args.seconds)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        print("starting mlflow models serve and mlops router …", flush=True)
        mlflow_proc, mlflow_url = start_mlflow(model_dir, work)
        procs.append(mlflow_proc)
        router_proc, router_url, variant_url, variant_pid = start_router(work, model_data, model_sha256)
        procs.append(router_proc)
        noop_port, core_port = free_port(), free_port()
        noop = subprocess.Popen([sys.executable, __file__, "--noop-model", str(noop_port)])
        procs.append(noop)
        core = subprocess.Popen([sys.executable, __file__, "--router-core", str(core_port),
                                 f"http://127.0.0.1:{noop_port}"])
        procs.append(core)
        wait_http(f"http://127.0.0.1:{core_port}/ping", 60, core)
        mlflow_body = json.dumps({"inputs": [[float(v) for v in ROW.split(",")]]})
        contestants = {
            "direct": (f"{variant_url}/invocations", ROW, "text/csv", [variant_pid]),
            "router": (f"{router_url}/endpoints/churn/invocations", ROW, "text/csv", [router_proc.pid]),
            "mlflow": (f"{mlflow_url}/invocations", mlflow_body, "application/json", [mlflow_proc.pid]),
            "noop": (f"http://127.0.0.1:{core_port}/endpoints/noop/invocations", ROW, "text/csv", [core.pid]),
        }
        for name, (url, body, ctype, _) in contestants.items():  # each answers correctly before it is timed
            request = urllib.request.Request(url, data=body.encode(), method="POST", headers={"Content-Type": ctype})
            with urllib.request.urlopen(request, timeout=30) as r:
                print(f"  {name}: {r.read()[:80]!r}", flush=True)
        results: dict[str, list[dict]] = {name: [] for name in contestants}
        for round_number in range(1, args.rounds + 1):
            for name, (url, body, ctype, pids) in contestants.items():
                results[name].append(load(url, body, ctype, args.connections, args.seconds, pids))
                r = results[name][-1]
                print(f"round {round_number} {name:<7} {r['rps']:8.0f} req/s  p50 {r['p50_ms']:6.2f} ms  "
                      f"p99 {r['p99_ms']:7.2f} ms  errors {r['errors']}  cpu {r['cpu_us_per_request']:6.0f} us/req",
                      flush=True)
        overhead = router_overhead_p99(router_url)
    finally:
        for proc in procs:
            stop(proc)

    def med(name: str, key: str) -> float:
        return median([r[key] for r in results[name]])

    rows = [["in-process handler, 1 thread (limit)", f"{limit['rps']:.0f}", f"{limit['p50_ms']:.3f}",
             f"{limit['p99_ms']:.3f}", "0", f"{limit['cpu_us_per_request']:.0f}"]]
    labels = {"mlflow": "mlflow models serve (peer)", "direct": "variant's model server, direct",
              "router": "mlops router + 1 variant", "noop": "router alone (a no-op model behind it)"}
    for name in ("mlflow", "direct", "router", "noop"):
        rows.append([labels[name], f"{med(name, 'rps'):.0f}", f"{med(name, 'p50_ms'):.2f}",
                     f"{med(name, 'p99_ms'):.2f}", str(sum(r["errors"] for r in results[name])),
                     f"{med(name, 'cpu_us_per_request'):.0f}"])
    router_rps, direct_rps, mlflow_rps = med("router", "rps"), med("direct", "rps"), med("mlflow", "rps")
    loss = 1 - router_rps / direct_rps
    p99_overhead = med("router", "p99_ms") - med("direct", "p99_ms")
    print(f"\n{args.connections} connections, closed loop, single-row requests, {args.seconds:g}s x {args.rounds} "
          f"rounds (medians), {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print(table(["server", "req/s", "p50 ms", "p99 ms", "errors", "server CPU us/req"], rows))
    cpu_router, cpu_mlflow = med("router", "cpu_us_per_request"), med("mlflow", "cpu_us_per_request")
    ratios = [
        ["router / mlflow req/s", f"{router_rps / mlflow_rps:.1f}x", ">= 5x"],
        ["router / mlflow requests per CPU-second", f"{cpu_mlflow / cpu_router:.1f}x", "(load-proof view)"],
        ["router p99 vs mlflow p99", f"{med('router', 'p99_ms'):.2f} vs {med('mlflow', 'p99_ms'):.2f} ms", "lower"],
        ["router throughput loss vs direct", f"{loss * 100:.1f}%", "<= 15%"],
        ["router p99 - direct p99", f"{p99_overhead:+.2f} ms", "<= 2 ms"],
        ["router OverheadLatency p99 (/metrics)", f"{overhead:.3f} ms", "<= 2 ms"],
        ["router process's own CPU per request", f"{med('router', 'own_cpu_us_per_request'):.0f} us",
         "(its model server excluded)"],
        ["direct / in-process limit", f"{direct_rps / limit['rps'] * 100:.0f}%", "(HTTP cost)"],
    ]
    print()
    print(table(["ratio", "measured", "goal"], ratios))
    save("router_throughput", {"args": vars(args), "limit": limit, "results": results, "overhead_p99_ms": overhead})


def train_model(work: Path) -> tuple[str, str]:
    """A trained model.tar.gz and the sha256 its training job recorded."""
    from mlops.algorithms.catalog import AlgorithmCatalog
    from mlops.data.churn_sample import write_demo_files
    from mlops.runtime.local_process import LocalProcessRuntime
    from mlops.services.training import TrainingInput, train
    from mlops.settings import Settings

    print("training the xgboost model …", flush=True)
    settings = Settings(home=work / "train-home")
    files = write_demo_files(work / "data", rows=3000)
    catalog = AlgorithmCatalog(settings.algorithms_dir)
    job = train(LocalProcessRuntime(settings.jobs_dir, catalog, 5), catalog,
                TrainingInput("xgboost", {"train": str(files.train), "validation": str(files.validation)},
                              {"objective": "binary:logistic", "num_round": "50", "max_depth": "4", "nthread": "1"}),
                settings.artifacts)
    assert job.ModelArtifacts is not None and job.ModelArtifactSha256 is not None, job.FailureReason
    return job.ModelArtifacts.S3ModelArtifacts, job.ModelArtifactSha256


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--loadgen":
        loadgen_main(sys.argv[2:])
    elif len(sys.argv) > 1 and sys.argv[1] == "--noop-model":
        noop_model_main(sys.argv[2])
    elif len(sys.argv) > 1 and sys.argv[1] == "--router-core":
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        router_core_main(sys.argv[2], sys.argv[3])
    else:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        main()
