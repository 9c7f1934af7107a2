"""What data capture costs per request: the request path's ``submit`` and the writer thread's work.

    python benchmarks/capture_cost.py [--records 200000] [--rounds 5]

Single-row CSV requests and answers, as the router captures them (input and output, CSV as text), to a
temporary folder. Three numbers, medians over the rounds; the first two are CPU time (process time), so
a busy neighbour on a shared machine disturbs them little:

- submit: nanoseconds per ``CaptureWriter.submit`` on the request path (the writer not running, so the
  loop measures only what a request pays);
- drain: microseconds per record for one ``flush()`` of the whole queue (serialise, write, count): the
  writer thread's CPU per captured request, which it takes from the event loop under the GIL;
- end to end: records per second from the first submit until every record is written, writer running.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from mlops.core.hosting import CaptureContentTypeHeader, DataCaptureConfig
from mlops.serving.capture import CaptureEvent, CaptureSettings
from mlops.serving.capture_writer import CaptureWriter

ROW = b"1,0,0,42,46,0,0,1,1,0,0,0,0,1,0,1,72.44,3332.24,2,5,28.2,22"


def events(dest: str, count: int) -> list[CaptureEvent]:
    config = DataCaptureConfig(
        InitialSamplingPercentage=100,
        DestinationS3Uri=dest,
        CaptureContentTypeHeader=CaptureContentTypeHeader(CsvContentTypes=("text/csv",)),
    )
    settings = CaptureSettings.from_config(config)
    assert settings is not None
    now = time.time()
    return [
        CaptureEvent(
            settings, "bench", "blue", "cfg", now, uuid.uuid4().hex, ROW, "text/csv", b"0.53\n", "text/csv", 200, 900, 40,
            f"req-{i}",
        )
        for i in range(count)
    ]


def one_round(folder: Path, count: int) -> tuple[float, float, float]:
    batch = events(str(folder / "capture"), count)
    writer = CaptureWriter(folder / "spool", max_queue=count + 1, max_queue_bytes=1 << 40)
    started = time.process_time()
    for event in batch:
        writer.submit(event)
    submit_ns = (time.process_time() - started) / count * 1e9
    started = time.process_time()
    writer.flush()
    drain_us = (time.process_time() - started) / count * 1e6
    assert writer.written == count, (writer.written, writer.failed)
    writer.close()

    batch = events(str(folder / "capture-2"), count)
    writer = CaptureWriter(folder / "spool-2", flush_seconds=0.05, max_queue=count + 1, max_queue_bytes=1 << 40)
    writer.start()
    started = time.perf_counter()
    for event in batch:
        writer.submit(event)
    while writer.written < count:
        time.sleep(0.005)
    rate = count / (time.perf_counter() - started)
    writer.close()
    return submit_ns, drain_us, rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    results = []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            results.append(one_round(Path(tmp), args.records))
    submit, drain, rate = (statistics.median(r[i] for r in results) for i in range(3))
    print(f"{args.records:,} single-row records x {args.rounds} rounds (medians)")
    print(f"submit (request path):   {submit:8.0f} ns CPU per record")
    print(f"drain (writer thread):   {drain:8.2f} us CPU per record")
    print(f"end to end:              {rate:8,.0f} records/s")


if __name__ == "__main__":
    main()
