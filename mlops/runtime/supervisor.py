"""The per-job supervisor: ``python -m mlops.runtime.supervisor JOB_FOLDER``.

A runtime starts one detached supervisor per training job, so the job and its record live on
whatever happens to the process that launched it. The supervisor stages the channels (File mode
copies, Pipe mode FIFOs), writes the contract's config files, starts the algorithm through the
runtime's executor, streams the log while matching MetricDefinitions, honours StopTrainingJob
(SIGTERM, then SIGKILL after the grace period) and MaxRuntimeInSeconds, packs /opt/ml/model into
model.tar.gz in the artifact store and records every transition.

What to start comes from the job's launch record (launch.py): the executor it names is imported by
path (table.py: why that is safe), so a runtime registered by the launcher is found here too. A
missing, broken or hostile record ends the job Failed with a reason naming the file and the field.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path
from typing import cast

from mlops.contract.failure import FailureFileError, read_failure
from mlops.contract.layout import Layout
from mlops.contract.metrics import step_of
from mlops.core.clock import utcnow
from mlops.core.files import PRIVATE_UMASK, private_opener, sha256_file
from mlops.core.training import (
    MetricData,
    ModelArtifacts,
    SecondaryStatus,
    SecondaryStatusTransition,
    TrainingInputMode,
    TrainingJobRequest,
    TrainingJobStatus,
)
from mlops.jobs.detached import DetachedProcess
from mlops.runtime.executor import Executor, TrainingProcess
from mlops.runtime.job_store import JobStore
from mlops.runtime.launch import LAUNCH_FILE, LaunchRecordError, TrainingLaunch
from mlops.runtime.packing import pack_folder
from mlops.runtime.pipes import PipeChannel
from mlops.runtime.table import load_object
from mlops.store.interface import open_store, relative_key

__all__ = ["LAUNCH_FILE", "Supervisor", "main", "spawn_supervisor"]


class Supervisor:
    def __init__(self, job_folder: Path) -> None:
        self.store = JobStore(job_folder.parent)
        self.name = job_folder.name
        self.folder = job_folder
        self.request: TrainingJobRequest = self.store.request(self.name)
        self.launch: TrainingLaunch | None = None  # read and checked first thing in run()
        self.layout = Layout(self.store.contract_root(self.name))
        self.job = self.store.load(self.name)
        self.stop_requested = threading.Event()
        self.process: TrainingProcess | None = None
        self.grace = 120.0

    def read_launch(self) -> tuple[TrainingLaunch, Executor]:
        """The launch record and the executor it names (table.py says why importing it is safe)."""
        launch = TrainingLaunch.read(self.folder / LAUNCH_FILE)
        try:
            executor = load_object(launch.executor)
            if not callable(executor):
                raise TypeError("it is not callable")
        except Exception as e:  # a broken plug-in module fails its job, it does not kill the supervisor
            raise LaunchRecordError(
                f"the launch record {self.folder / LAUNCH_FILE} is not valid: field 'executor': "
                f"could not load {launch.executor}: {type(e).__name__}: {e}"
            ) from None
        return launch, cast("Executor", executor)

    # -- records -----------------------------------------------------------------------------
    def transition(
        self, status: TrainingJobStatus, secondary: SecondaryStatus, message: str = "", **fields: object
    ) -> None:
        now = utcnow()
        transitions = list(self.job.SecondaryStatusTransitions)
        if transitions and transitions[-1].EndTime is None:
            transitions[-1] = transitions[-1].model_copy(update={"EndTime": now})
        if not transitions or transitions[-1].Status != secondary:
            transitions.append(SecondaryStatusTransition(Status=secondary, StartTime=now, StatusMessage=message))
        if status.terminal and transitions[-1].EndTime is None:
            transitions[-1] = transitions[-1].model_copy(update={"EndTime": now})
        update: dict[str, object] = {
            "TrainingJobStatus": status,
            "SecondaryStatus": secondary,
            "SecondaryStatusTransitions": tuple(transitions),
            "LastModifiedTime": now,
            **fields,
        }
        self.job = self.store.save(self.job.model_copy(update=update))

    # -- staging -----------------------------------------------------------------------------
    def stage_channels(self) -> list[threading.Thread]:
        # every channel's keys are checked before anything is fetched: none may lead outside its folder
        plans = []
        for channel in self.request.InputDataConfig:
            uri = channel.DataSource.S3DataSource.S3Uri
            store = open_store(uri)
            mode = channel.InputMode or self.request.AlgorithmSpecification.TrainingInputMode
            staging = (
                self.layout.channel_dir(channel.ChannelName)
                if mode is TrainingInputMode.File
                else (self.folder / "staging" / channel.ChannelName)
            )
            targets = [(obj, staging.joinpath(*relative_key(obj, uri).parts)) for obj in store.list(uri)]
            plans.append((channel.ChannelName, mode, store, staging, targets))
        pipes: list[threading.Thread] = []
        for name, mode, store, staging, targets in plans:
            staging.mkdir(parents=True, exist_ok=True)
            files = [store.get_file(obj, target) for obj, target in targets]
            if mode is TrainingInputMode.Pipe:
                pipes.append(self._start_pipe(name, files))
        return pipes

    def _start_pipe(self, channel: str, files: list[Path]) -> threading.Thread:
        """Feed ``<channel>_<epoch>`` FIFOs, never writing through what the algorithm put in their place."""
        return PipeChannel(self.layout, channel, files, self.stop_requested, self.note).start()

    def note(self, text: str) -> None:
        """A line of the platform's own in the job's log."""
        with open(self.store.log_path(self.name), "a", buffering=1, opener=private_opener) as log:
            log.write(f"[mlops] {text}\n")

    def write_config(self) -> None:
        self.layout.create()
        self.layout.hyperparameters_file.write_text(json.dumps(self.request.HyperParameters, indent=2))
        data_config = {}
        for c in self.request.InputDataConfig:
            data_config[c.ChannelName] = {
                "ContentType": c.ContentType,
                "TrainingInputMode": (c.InputMode or self.request.AlgorithmSpecification.TrainingInputMode).value,
                "S3DistributionType": c.DataSource.S3DataSource.S3DataDistributionType,
                "RecordWrapperType": "None",
                "CompressionType": c.CompressionType,
            }
        self.layout.input_data_config_file.write_text(json.dumps(data_config, indent=2))
        self.layout.resource_config_file.write_text(
            json.dumps(
                {
                    "current_host": "algo-1",
                    "hosts": ["algo-1"],
                    "network_interface_name": "eth0",
                    "current_instance_type": self.request.ResourceConfig.InstanceType,
                },
                indent=2,
            )
        )

    # -- running -----------------------------------------------------------------------------
    def pump_log(self, process: TrainingProcess) -> threading.Thread:
        patterns = [(m.Name, re.compile(m.Regex)) for m in self.request.AlgorithmSpecification.MetricDefinitions]
        final: dict[str, MetricData] = {}
        self._final = final

        def pump() -> None:
            with open(self.store.log_path(self.name), "a", buffering=1, opener=private_opener) as log:
                for line in process.lines():
                    log.write(line if line.endswith("\n") else line + "\n")
                    for name, pattern in patterns:
                        match = pattern.search(line)
                        if not match:
                            continue
                        try:
                            value = float(match.group(1))
                        except (ValueError, IndexError):
                            continue
                        point = MetricData(MetricName=name, Value=value, Timestamp=utcnow(), Step=step_of(line))
                        final[name] = point
                        self.store.append_metric(self.name, point)

        thread = threading.Thread(target=pump, name="log-pump", daemon=True)
        thread.start()
        return thread

    def run(self) -> int:
        signal.signal(signal.SIGTERM, lambda *_: self.stop_requested.set())
        signal.signal(signal.SIGINT, lambda *_: self.stop_requested.set())
        try:
            launch, executor = self.read_launch()
        except LaunchRecordError as e:
            return self.finish_failed(f"InternalServerError: {e}", None)
        self.launch, self.grace = launch, launch.stop_grace_seconds
        started = utcnow()
        try:
            self.transition(
                TrainingJobStatus.InProgress,
                SecondaryStatus.Downloading,
                "Downloading input data",
                TrainingStartTime=started,
            )
            self.write_config()
            self.stage_channels()
        except Exception as e:
            return self.finish_failed(f"ClientError: could not stage the input data: {e}", None)
        if self.stop_requested.is_set():
            return self.finish_stopped(SecondaryStatus.Stopped, "Stopped before training started")
        self.transition(
            TrainingJobStatus.InProgress,
            SecondaryStatus.Training,
            "Training image download completed. Training in progress.",
        )
        try:
            self.process = executor(launch, self.layout, self.request, self.store.log_path(self.name))
        except Exception as e:
            return self.finish_failed(f"ClientError: could not start the training process: {e}", None)
        pump = self.pump_log(self.process)
        deadline = time.monotonic() + self.request.StoppingCondition.MaxRuntimeInSeconds
        timed_out = False
        stop_sent_at: float | None = None
        while (code := self.process.poll()) is None:
            if stop_sent_at is None and (self.stop_requested.is_set() or time.monotonic() > deadline):
                timed_out = not self.stop_requested.is_set()
                self.transition(
                    TrainingJobStatus.Stopping,
                    SecondaryStatus.Stopping,
                    "MaxRuntimeInSeconds exceeded" if timed_out else "Stopping the training job",
                )
                self.process.terminate()
                stop_sent_at = time.monotonic()
            elif stop_sent_at is not None and time.monotonic() - stop_sent_at > self.grace:
                self.process.kill()
            time.sleep(0.05)
        pump.join(timeout=10)
        self.process.cleanup()
        if stop_sent_at is not None:
            try:
                self.upload_model(allow_empty=True)
            except Exception as e:  # a stopped job ends Stopped; what could not be kept is said in the log
                self.note(f"the model saved before the stop was not uploaded: {e}")
            return self.finish_stopped(
                SecondaryStatus.MaxRuntimeExceeded if timed_out else SecondaryStatus.Stopped,
                "Training job stopped" if not timed_out else "MaxRuntimeInSeconds exceeded",
                code,
            )
        if code != 0:
            return self.finish_failed(self.failure_reason(code), code)
        try:
            self.transition(
                TrainingJobStatus.InProgress, SecondaryStatus.Uploading, "Uploading generated training model"
            )
            self.upload_model(allow_empty=False)
        except Exception as e:
            return self.finish_failed(f"ClientError: could not upload the model artifact: {e}", code)
        end = utcnow()
        self.transition(
            TrainingJobStatus.Completed,
            SecondaryStatus.Completed,
            "Training job completed",
            TrainingEndTime=end,
            ExitCode=code,
            FinalMetricDataList=self.final_metrics(),
            TrainingTimeInSeconds=max(1, round((end - started).total_seconds())),
        )
        return 0

    def final_metrics(self) -> tuple[MetricData, ...]:
        final = getattr(self, "_final", {})
        return tuple(final[n] for n in sorted(final))

    def failure_reason(self, code: int) -> str:
        try:
            text = read_failure(self.layout)
        except (FailureFileError, OSError) as e:
            return f"AlgorithmError: {e}. The training process exited with status {code}; see the log"
        if text:
            return text
        if code < 0:
            try:
                signame = signal.Signals(-code).name
            except ValueError:
                signame = str(-code)
            return f"AlgorithmError: the training process was killed by {signame}; see the log"
        if code == 137:
            return "AlgorithmError: the training process was killed (exit 137: out of memory?); see the log"
        return (
            f"AlgorithmError: the training process exited with status {code} and wrote no failure reason; see the log"
        )

    def upload_model(self, allow_empty: bool) -> None:
        model_dir = self.layout.model_dir
        if allow_empty and not model_dir.is_symlink() and not any(model_dir.glob("*")):
            return
        # both packed before either is stored: pack_folder refuses a link where a folder should be
        archive = pack_folder(model_dir, self.folder / "model.tar.gz", inside=self.layout.root)
        output_data, extra = self.layout.output_data_dir, None
        if output_data.is_symlink() or output_data.parent.is_symlink() or any(output_data.glob("*")):
            try:
                extra = pack_folder(output_data, self.folder / "output.tar.gz", inside=self.layout.root)
            except BaseException:
                archive.unlink()
                raise
        digest = sha256_file(archive)
        output = self.request.OutputDataConfig.S3OutputPath
        store = open_store(output)
        uri = store.join(output, self.name, "output", "model.tar.gz")
        store.put_file(archive, uri)
        archive.unlink()
        if extra is not None:
            store.put_file(extra, store.join(output, self.name, "output", "output.tar.gz"))
            extra.unlink()
        self.job = self.store.save(
            self.job.model_copy(
                update={"ModelArtifacts": ModelArtifacts(S3ModelArtifacts=uri), "ModelArtifactSha256": digest}
            )
        )

    def finish_failed(self, reason: str, code: int | None) -> int:
        self.transition(
            TrainingJobStatus.Failed,
            SecondaryStatus.Failed,
            reason[:200],
            FailureReason=reason,
            ExitCode=code,
            TrainingEndTime=utcnow(),
            FinalMetricDataList=self.final_metrics(),
        )
        return 1

    def finish_stopped(self, secondary: SecondaryStatus, message: str, code: int | None = None) -> int:
        self.transition(
            TrainingJobStatus.Stopped,
            secondary,
            message,
            ExitCode=code,
            TrainingEndTime=utcnow(),
            FinalMetricDataList=self.final_metrics(),
        )
        return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m mlops.runtime.supervisor JOB_FOLDER", file=sys.stderr)
        return 2
    os.umask(PRIVATE_UMASK)  # the job's logs, records, staged data and archives are its owner's alone
    return Supervisor(Path(args[0])).run()


SUPERVISOR = DetachedProcess("mlops.runtime.supervisor", log_file="supervisor.log", pid_file="supervisor.json")


def spawn_supervisor(job_folder: Path, extra_env: dict[str, str] | None = None) -> int:
    """Start the supervisor detached (its own session), so it outlives the caller; its pid is kept in the
    job's folder. Returns the pid."""
    return SUPERVISOR.spawn(job_folder, extra_env)


if __name__ == "__main__":
    sys.exit(main())
