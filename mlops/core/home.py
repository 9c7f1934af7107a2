"""The layout of MLOPS_HOME, where the platform keeps its state, as ``contract.layout`` is /opt/ml's: every
place under the home is a property here, so no module assembles a path under the home by hand.

``Home(root)`` is pure: it names places and creates nothing (each store makes its own folder when it first
writes). What is kept inside a place is the business of the store that owns it (``JobStore`` inside
``jobs``, ``HostingStore`` inside ``hosting``, …); monitoring's places are ``MonitoringHome``'s."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlops.core.files import path_under
from mlops.core.ids import check_name


@dataclass(frozen=True)
class MonitoringHome:
    """HOME/monitoring: baselines, schedules, runs, ground truth, alerts and retraining state."""

    root: Path

    @property
    def baselines(self) -> Path:
        """A folder per baseline (statistics, constraints, manifest)."""
        return self.root / "baselines"

    @property
    def schedules(self) -> Path:
        """A ``<name>.yaml`` per monitoring schedule."""
        return self.root / "schedules"

    @property
    def runs(self) -> Path:
        """A folder per endpoint holding a folder per monitoring run (run.json, violations.json, report.html)."""
        return self.root / "runs"

    def runs_of(self, endpoint: str) -> Path:
        """The endpoint's runs folder: the EndpointName checked and kept inside ``runs``."""
        return path_under(self.runs, check_name("EndpointName", endpoint), field="EndpointName")

    @property
    def ground_truth(self) -> Path:
        """A folder per endpoint of uploaded ground truth, unless a schedule names its own location."""
        return self.root / "ground-truth"

    def ground_truth_of(self, endpoint: str) -> Path:
        """The endpoint's ground-truth folder: the EndpointName checked and kept inside ``ground_truth``."""
        return path_under(self.ground_truth, check_name("EndpointName", endpoint), field="EndpointName")

    @property
    def alerts(self) -> Path:
        """Open incidents and the notification outbox."""
        return self.root / "alerts"

    @property
    def retrain(self) -> Path:
        """Retraining decisions' cooldown state."""
        return self.root / "retrain"


@dataclass(frozen=True)
class Home:
    """MLOPS_HOME (``Settings.home``, default ./.mlops): one property per place the platform keeps state in."""

    root: Path

    @property
    def jobs(self) -> Path:
        """Training job records: a folder per job (request, record, log, metrics, its /opt/ml)."""
        return self.root / "jobs"

    @property
    def tuning_jobs(self) -> Path:
        """Tuning job records: a folder per tuning job (request, record, runner log, convergence plot)."""
        return self.root / "tuning-jobs"

    @property
    def datasets(self) -> Path:
        """The dataset store: versions of ingested tables and their splits."""
        return self.root / "datasets"

    @property
    def artifacts(self) -> Path:
        """Model artifacts (model.tar.gz) when no artifact root is configured."""
        return self.root / "artifacts"

    @property
    def mlflow_db(self) -> Path:
        """MLflow's SQLite tracking and registry store when no tracking URI is configured."""
        return self.root / "mlflow.db"

    @property
    def mlflow_artifacts(self) -> Path:
        """MLflow's artifact root (runs' logged files) for a local tracking store and the MLflow UI."""
        return self.root / "mlflow-artifacts"

    @property
    def hosting(self) -> Path:
        """Hosting records: models, endpoint configs, endpoints, the control process's instances and lock."""
        return self.root / "hosting"

    @property
    def servers(self) -> Path:
        """Model servers' folders: a folder per running model server instance (its unpacked model)."""
        return self.root / "servers"

    @property
    def credentials(self) -> Path:
        """The control API's credentials (AWS shared-credentials format, 0600)."""
        return self.root / "credentials"

    @property
    def capture(self) -> Path:
        """Data capture's default destination when an endpoint config names none."""
        return self.root / "capture"

    @property
    def capture_spool(self) -> Path:
        """The control process's spool of captured records not yet written to their destination."""
        return self.root / "capture-spool"

    @property
    def monitoring(self) -> MonitoringHome:
        """Model monitoring's state (see ``MonitoringHome``)."""
        return MonitoringHome(self.root / "monitoring")

    @property
    def alerting(self) -> Path:
        """``alerting.yaml``: where monitoring alerts go."""
        return self.root / "alerting.yaml"

    @property
    def logs(self) -> Path:
        """Logs of the services ``mlops up`` and the demos start (router, MLflow UI)."""
        return self.root / "logs"

    @property
    def airflow(self) -> Path:
        """AIRFLOW_HOME of the stack ``mlops up`` starts (its config, SQLite database and logs)."""
        return self.root / "airflow"

    @property
    def airflow_demo(self) -> Path:
        """AIRFLOW_HOME of the Airflow demo's own stack."""
        return self.root / "airflow-demo"

    @property
    def bundled(self) -> Path:
        """Bundled sample tables the pipeline writes once (identical bytes, so one dataset version)."""
        return self.root / "bundled"

    @property
    def demo_data(self) -> Path:
        """The files ``mlops demo`` generates and trains on."""
        return self.root / "demo" / "data"

    @property
    def build(self) -> Path:
        """Algorithm image build contexts."""
        return self.root / "build"

    @property
    def wheelhouse(self) -> Path:
        """Wheels built for algorithm images, when no other wheelhouse is given."""
        return self.root / "wheelhouse"
