"""Commands about hosting: models, endpoint configs, endpoints (create, update with guardrails,
weights), invocations and the control process (``mlops router``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from mlops.cli.arguments import add_command, add_runtime_argument, as_dict, key_value
from mlops.cli.table import Column, print_table
from mlops.core.errors import ValidationError

if TYPE_CHECKING:
    from mlops.core.hosting import Endpoint, Model
    from mlops.settings import Settings

EPILOG = """workflow:
  mlops router &                                  # the endpoint router and control process
  mlops models create churn-v1 --job JOB                # or --model-package churn/4 (an Approved version)
  mlops models create churn-byo --image my/model:1 --model-data s3://b/model.tar.gz \\
      --model-sha256 "$(sha256sum model.tar.gz | cut -d' ' -f1)"   # the sha256 you vouch for
  mlops endpoint-configs create churn-cfg-1 --variant name=blue,model=churn-v1,instances=2 \\
      --capture sampling=100
  mlops endpoints create churn --config churn-cfg-1
  mlops invoke churn --content-type text/csv --body "1,0,0,42,46,0,0,1,1,0,0,0,0,1,0,1,72.4,3332.2,2,5,28.2,22"
  mlops endpoints update churn --config churn-cfg-2 --strategy canary --canary-size 10% \\
      --wait-interval 60 --termination-wait 120 --alarm p99-latency --alarm error-rate
  mlops endpoints update-weights churn --variant blue=0.8 --variant green=0.2
  mlops endpoints describe churn
"""


def _print_json(record: object) -> None:
    if isinstance(record, list):
        print(json.dumps([r.model_dump(mode="json") for r in record], indent=2))
    else:
        print(json.dumps(record.model_dump(mode="json"), indent=2))  # type: ignore[attr-defined]


# --- models -------------------------------------------------------------------------------------------


def cmd_models(args: argparse.Namespace, settings: Settings) -> int:
    from mlops.hosting.store import HostingStore
    from mlops.services.hosting_wiring import delete_model

    store = HostingStore(settings.home)
    if args.action == "create":
        model = _create_model(args, settings)
        print(f"model {model.ModelName}: {model.PrimaryContainer.server_name} on {model.PrimaryContainer.ModelDataUrl}")
        print(f"sha256: {model.ModelDataSha256} (checked before serving)")
        return 0
    if args.action == "describe":
        _print_json(store.model(args.name or ""))
        return 0
    if args.action == "delete":
        delete_model(settings, args.name or "")
        print(f"deleted model {args.name}")
        return 0
    models = store.models()
    if not models:
        print("no models yet; create one with `mlops models create --help`")
        return 0
    print_table(
        (Column("NAME", elide="never"), Column("SERVER"), Column("SHA256", max_width=12),
         Column("MODEL DATA", elide="start")),
        [(m.ModelName, m.PrimaryContainer.server_name, (m.ModelDataSha256 or "-")[:12],
          m.PrimaryContainer.ModelDataUrl) for m in models],
    )
    return 0


def _create_model(args: argparse.Namespace, settings: Settings) -> Model:
    from mlops.services.hosting_wiring import create_model, create_model_from_job

    sources = [flag for flag, value in (("--model-data", args.model_data), ("--job", args.job),
                                        ("--model-package", args.model_package)) if value]  # fmt: skip
    if not args.name or len(sources) != 1:
        raise ValidationError("models create", "give NAME and one of --model-data, --job or --model-package")
    if args.algorithm and args.image:
        raise ValidationError("models create", "give either --algorithm or --image, not both")
    env = as_dict(args.env, "--env")
    if args.job:
        return create_model_from_job(settings, args.name, args.job, args.algorithm, args.image, args.model_sha256, env)
    if args.model_package:
        if args.algorithm or args.image:
            raise ValidationError("models create", "--model-package names its own container: drop --algorithm/--image")
        from mlops.services.registry import create_model_from_package, open_registry, parse_package_name

        group, version = parse_package_name(args.model_package)
        registry = open_registry(settings)
        return create_model_from_package(settings, registry, args.name, group, version, args.model_sha256, env)
    if not (args.algorithm or args.image):
        raise ValidationError("models create", "with --model-data give --algorithm or --image")
    return create_model(settings, args.name, args.model_data, args.algorithm, args.image, args.model_sha256, env)


# --- endpoint configs ---------------------------------------------------------------------------------


def cmd_endpoint_configs(args: argparse.Namespace, settings: Settings) -> int:
    from mlops.cli.hosting_flags import parse_capture, parse_shadow, parse_variant
    from mlops.hosting.store import HostingStore
    from mlops.services.hosting_wiring import create_endpoint_config, delete_endpoint_config

    store = HostingStore(settings.home)
    if args.action == "create":
        if not args.name or not args.variant:
            raise ValidationError("endpoint-configs create", "give NAME and at least one --variant")
        config = create_endpoint_config(
            settings,
            args.name,
            [parse_variant(v) for v in args.variant],
            [parse_shadow(s) for s in args.shadow],
            parse_capture(args.capture, settings) if args.capture is not None else None,
        )
        for v in config.ProductionVariants:
            print(
                f"variant {v.VariantName}: model {v.ModelName}, weight {v.InitialVariantWeight:g}, "
                f"{v.InitialInstanceCount} instance(s)"
            )
        for s in config.ShadowProductionVariants:
            print(
                f"shadow  {s.VariantName}: model {s.ModelName}, {s.SamplingPercentage:g}% of requests, "
                f"{s.InitialInstanceCount} instance(s)"
            )
        capture = config.DataCaptureConfig
        if capture is not None:
            print(f"capture {capture.InitialSamplingPercentage:g}% to {capture.DestinationS3Uri}")
        print(f"endpoint config {config.EndpointConfigName} created")
        return 0
    if args.action == "describe":
        _print_json(store.endpoint_config(args.name or ""))
        return 0
    if args.action == "delete":
        delete_endpoint_config(settings, args.name or "")
        print(f"deleted endpoint config {args.name}")
        return 0
    configs = store.endpoint_configs()
    if not configs:
        print("no endpoint configs yet; create one with `mlops endpoint-configs create --help`")
        return 0
    rows = []
    for cfg in configs:
        variants = ", ".join(
            f"{v.VariantName}={v.ModelName} w{v.InitialVariantWeight:g} x{v.InitialInstanceCount}"
            for v in cfg.ProductionVariants
        )
        shadows = ", ".join(
            f"{s.VariantName}={s.ModelName} {s.SamplingPercentage:g}%" for s in cfg.ShadowProductionVariants
        )
        dc = cfg.DataCaptureConfig
        sampling = f"{dc.InitialSamplingPercentage:g}%" if dc is not None else "-"
        rows.append((cfg.EndpointConfigName, variants, shadows or "-", sampling))
    print_table((Column("NAME", elide="never"), Column("VARIANTS (model, weight, instances)"),
                 Column("SHADOWS"), Column("CAPTURE")), rows)
    return 0


# --- endpoints ----------------------------------------------------------------------------------------


def _progress(endpoint: Endpoint) -> None:
    step = f"  {endpoint.CurrentDeploymentStep}" if endpoint.CurrentDeploymentStep else ""
    print(
        f"[{endpoint.LastModifiedTime:%H:%M:%S}] {endpoint.EndpointName} {endpoint.EndpointStatus.value:<11} "
        f"{endpoint.EndpointConfigName}{step}",
        flush=True,
    )


def _capture_statistics(endpoint: Endpoint) -> list[str]:
    """The capture writer's counts for the endpoint (DataCaptureConfig.CaptureStatistics, ours)."""
    s = endpoint.DataCaptureConfig.CaptureStatistics if endpoint.DataCaptureConfig else None
    if s is None:
        return []
    lines = [
        f"  records:     {s.WrittenRecords} written, {s.FailedRecords} failed, {s.DroppedRecords} dropped, "
        f"{s.QueuedRecords} queued ({s.QueuedBytes} bytes)"
    ]
    if s.PendingUploads or s.FailedUploads:
        lines.append(f"  uploads:     {s.PendingUploads} file(s) waiting in the spool, {s.FailedUploads} failed tries")
    if s.LastError:
        when = f"{s.LastErrorTime:%Y-%m-%d %H:%M:%S}Z " if s.LastErrorTime else ""
        lines.append(f"  last error:  {when}{s.LastError}")
    return lines


def describe_text(endpoint: Endpoint) -> str:
    lines = [
        f"endpoint:      {endpoint.EndpointName} ({endpoint.EndpointArn})",
        f"status:        {endpoint.EndpointStatus.value}",
        f"config:        {endpoint.EndpointConfigName}",
    ]
    if endpoint.FailureReason:
        lines.append(f"failure:       {endpoint.FailureReason}")
    lines.append("variants:      NAME             MODEL            WEIGHT (now/desired)  INSTANCES (now/desired)")
    for v in endpoint.ProductionVariants:
        weight = f"{v.CurrentWeight:g} / {v.DesiredWeight:g}"
        lines.append(
            f"               {v.VariantName:<16} {v.ModelName:<16} {weight:<21} "
            f"{v.CurrentInstanceCount} / {v.DesiredInstanceCount}"
        )
    for s in endpoint.ShadowProductionVariants:
        lines.append(
            f"shadow:        {s.VariantName:<16} {s.ModelName:<16} {s.SamplingPercentage or 0:>5g}% of "
            f"requests  {s.CurrentInstanceCount}/{s.DesiredInstanceCount}"
        )
    if endpoint.DataCaptureConfig:
        c = endpoint.DataCaptureConfig
        lines.append(f"capture:       {c.CaptureStatus}, {c.CurrentSamplingPercentage:g}% to {c.DestinationS3Uri}")
        lines.extend(_capture_statistics(endpoint))
    d = endpoint.Deployment
    if d is not None:
        lines.append(
            f"deployment:    {d.SourceEndpointConfigName} -> {d.TargetEndpointConfigName}: {d.Status.value}, "
            f"new fleet traffic {d.NewFleetTrafficPercent:g}%"
        )
        plan = ", ".join(f"{s.NewFleetTrafficPercent:g}%/{s.BakeSeconds}s" for s in d.Steps)
        lines.append(f"  steps:       {plan}")
        if d.Reason:
            lines.append(f"  reason:      {d.Reason}")
    if endpoint.CurrentDeploymentStep:
        lines.append(f"current step:  {endpoint.CurrentDeploymentStep}")
    if endpoint.LastRollbackReason:
        lines.append(f"last rollback: {endpoint.LastRollbackReason}")
    return "\n".join(lines)


def cmd_endpoints(args: argparse.Namespace, settings: Settings) -> int:
    from mlops.cli.hosting_flags import parse_weights
    from mlops.services.control_client import ControlProcessUnavailable
    from mlops.services.hosting import deployment_config
    from mlops.services.hosting_wiring import control_client_for, endpoint_from_store, endpoints_from_store

    client = control_client_for(settings)
    action = args.action
    if action != "list" and not args.name:
        raise ValidationError(f"endpoints {action}", "name the endpoint")
    if action == "create":
        if not args.config:
            raise ValidationError("endpoints create", "give --config")
        endpoint = client.create_endpoint(args.name, args.config)
        _progress(endpoint)
        if args.no_wait:
            return 0
        endpoint = client.wait(args.name, on_change=_progress)
        return _outcome(endpoint)
    if action == "update":
        if not args.config:
            raise ValidationError("endpoints update", "give --config")
        deployment = deployment_config(
            args.strategy,
            args.canary_size,
            args.linear_step,
            args.wait_interval,
            args.termination_wait,
            args.max_timeout,
            args.alarm,
        )
        endpoint = client.update_endpoint(
            args.name,
            args.config,
            deployment,
            Path(args.alarms_file) if args.alarms_file else None,
            args.retain_variant_properties,
        )
        plan = ", ".join(
            f"{s.NewFleetTrafficPercent:g}% then bake {s.BakeSeconds}s"
            for s in (endpoint.Deployment.Steps if endpoint.Deployment else ())
        )
        print(f"deploying {args.config} to {args.name}: {plan}")
        _progress(endpoint)
        if args.no_wait:
            return 0
        endpoint = client.wait(
            args.name,
            until=lambda e: (
                e.EndpointStatus.value in ("InService", "Failed")
                and (e.Deployment is None or e.Deployment.Status.value != "InProgress")
            ),
            on_change=_progress,
        )
        return _outcome(endpoint)
    if action == "update-weights":
        weights, counts = parse_weights(args.variant)
        if not weights and not counts:
            raise ValidationError("endpoints update-weights", "give --variant NAME=WEIGHT[:INSTANCES]")
        endpoint = client.update_weights(args.name, weights, counts)
        if not args.no_wait:
            endpoint = client.wait(args.name)
        print(describe_text(endpoint))
        return 0
    if action == "delete":
        client.delete(args.name)
        print(f"deleted endpoint {args.name}")
        return 0
    if action == "describe":
        note = ""
        try:
            endpoint = client.describe(args.name)
        except ControlProcessUnavailable as e:
            endpoint, note = endpoint_from_store(settings, args.name), f"(last recorded state: {e})"
        if args.json:
            _print_json(endpoint)
        else:
            print(describe_text(endpoint))
            if note:
                print(note, file=sys.stderr)
        return 0
    try:
        endpoints = client.list()
    except ControlProcessUnavailable as e:
        endpoints = endpoints_from_store(settings)
        print(f"(last recorded state: {e})", file=sys.stderr)
    if not endpoints:
        print("no endpoints yet; create one with `mlops endpoints create --help`")
        return 0
    print_table(
        (Column("NAME", elide="never"), Column("STATUS"), Column("CONFIG"),
         Column("VARIANTS (weight now, instances now)")),
        [(ep.EndpointName, ep.EndpointStatus.value, ep.EndpointConfigName,
          ", ".join(f"{v.VariantName} {v.CurrentWeight:g} x{v.CurrentInstanceCount}" for v in ep.ProductionVariants))
         for ep in endpoints],
    )
    return 0


def _outcome(endpoint: Endpoint) -> int:
    print(describe_text(endpoint))
    d = endpoint.Deployment
    if endpoint.EndpointStatus.value == "Failed":
        return 1
    if d is not None and d.Status.value in ("RolledBack", "Failed"):
        return 1
    return 0


# --- invoke and router ----------------------------------------------------------------------------------


def cmd_invoke(args: argparse.Namespace, settings: Settings) -> int:
    from mlops.services.hosting_wiring import invoke

    if (args.body is None) == (args.body_file is None):
        raise ValidationError("invoke", "give --body TEXT or --body-file PATH")
    body = args.body.encode() if args.body is not None else Path(args.body_file).read_bytes()
    result = invoke(
        settings,
        args.name,
        body,
        args.content_type,
        args.accept,
        args.target_variant,
        args.custom_attributes,
        args.inference_id,
    )
    if result.error:
        print(f"error: {result.error}", file=sys.stderr)
        return 1
    sys.stdout.write(result.body.decode(errors="replace"))
    if not result.body.endswith(b"\n"):
        sys.stdout.write("\n")
    if args.show_variant:
        print(f"variant: {result.variant}", file=sys.stderr)
    return 0


def cmd_router(args: argparse.Namespace, settings: Settings) -> int:
    from mlops.api.wiring import sagemaker_api
    from mlops.services.hosting_wiring import run_router

    if args.host:
        settings = settings.model_copy(update={"router_host": args.host})
    if args.port:
        settings = settings.model_copy(update={"router_port": args.port})
    return run_router(
        settings,
        args.runtime,
        args.workers,
        args.model_timeout,
        args.health_interval,
        args.ping_timeout,
        log=lambda line: print(line, flush=True),
        sagemaker_api=sagemaker_api(settings),
    )


def add_hosting_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    raw = argparse.RawDescriptionHelpFormatter

    p = sub.add_parser(
        "models",
        help="create, list, describe or delete models (a model artifact + its server)",
        formatter_class=raw,
        epilog=EPILOG,
    )
    p.add_argument("action", nargs="?", choices=["list", "create", "describe", "delete"], default="list")
    p.add_argument("name", nargs="?")
    p.add_argument("--algorithm", help="a catalog algorithm that serves the model (see `mlops algorithms`)")
    p.add_argument("--image", help="or a container image that follows the SageMaker contract (--runtime docker)")
    p.add_argument("--model-data", help="model.tar.gz: a path, file:// or s3:// URI")
    p.add_argument("--job", help="or the artifact of a Completed training job (its algorithm, its recorded sha256)")
    p.add_argument(
        "--model-package", metavar="GROUP/VERSION", help="or an Approved registry version (its lineage's sha256)"
    )
    p.add_argument(
        "--model-sha256",
        help="the sha256 you vouch for (required with --model-data unless a training job of this home made it); "
        "checked before serving, and against the job's or the version's record when there is one",
    )
    p.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                   type=key_value("--env", "OMP_NUM_THREADS=1"), help="the server's environment (repeat)")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser(
        "endpoint-configs", help="create, list, describe or delete endpoint configs", formatter_class=raw, epilog=EPILOG
    )
    p.add_argument("action", nargs="?", choices=["list", "create", "describe", "delete"], default="list")
    p.add_argument("name", nargs="?")
    p.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="name=N,model=M[,weight=W][,instances=I]",
        help="a production variant (repeat)",
    )
    p.add_argument(
        "--shadow",
        action="append",
        default=[],
        metavar="name=N,model=M[,sampling=PCT][,instances=I]",
        help="a shadow variant: gets a sampled copy of the traffic; its answers are captured, never returned",
    )
    p.add_argument(
        "--capture",
        metavar="sampling=PCT[,dest=DIR|s3://…][,mode=input+output]",
        help="data capture (default dest HOME/capture)",
    )
    p.set_defaults(func=cmd_endpoint_configs)

    p = sub.add_parser(
        "endpoints",
        help="create, update (blue/green with guardrails), re-weight, describe endpoints",
        formatter_class=raw,
        epilog=EPILOG,
    )
    p.add_argument(
        "action",
        nargs="?",
        choices=["list", "create", "update", "update-weights", "describe", "delete"],
        default="list",
    )
    p.add_argument("name", nargs="?")
    p.add_argument("--config", help="endpoint config (create, update)")
    p.add_argument("--strategy", default="all-at-once", help="update: all-at-once (default), canary or linear")
    p.add_argument(
        "--canary-size", help="canary: 10%% of the new fleet's capacity, or an instance count (default 10%%)"
    )
    p.add_argument("--linear-step", help="linear: each step's size, 10-50%% or an instance count (default 20%%)")
    p.add_argument("--wait-interval", type=int, default=0, help="seconds each step bakes while alarms watch")
    p.add_argument("--termination-wait", type=int, default=0, help="seconds the old fleet is kept after the shift")
    p.add_argument("--max-timeout", type=int, help="MaximumExecutionTimeoutInSeconds: roll back past this")
    p.add_argument("--alarm", action="append", default=[], help="an alarm of the alarms file that rolls back (repeat)")
    p.add_argument("--alarms-file", help="default: policies/alarms.yaml")
    p.add_argument(
        "--retain-variant-properties",
        action="store_true",
        help="keep the current weights and instance counts of variants with the same names",
    )
    p.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=WEIGHT[:INSTANCES]",
        help="update-weights: a variant's new weight and/or instance count (repeat)",
    )
    p.add_argument("--json", action="store_true", help="describe: the whole record as JSON")
    p.add_argument("--no-wait", action="store_true", help="return once the control process accepted the request")
    p.set_defaults(func=cmd_endpoints)

    p = add_command(
        sub, "invoke", "send one request to an endpoint (as InvokeEndpoint)",
        "Send one request to an endpoint through the router, as SageMaker Runtime's InvokeEndpoint does, and print "
        "the answer. The router must be running (`mlops router`).",
        "examples:\n  mlops invoke churn --content-type text/csv --body \"1,0,0,42,…\"\n"
        "  mlops invoke churn --accept application/json --body-file rows.csv --show-variant",
    )
    p.add_argument("name")
    p.add_argument("--body", help="the request body")
    p.add_argument("--body-file", help="or a file holding it")
    p.add_argument("--content-type", default="text/csv", help="the body's type (default text/csv: rows, no label)")
    p.add_argument("--accept", metavar="TYPE",
                   help="the answer's type (Accept header): text/csv, application/json, application/jsonlines …; "
                   "default: the algorithm's own. `mlops algorithms describe NAME` says what each holds "
                   "(linear-learner's text/csv is predicted_label, not the score)")
    p.add_argument("--target-variant", help="send to this production variant (TargetVariant)")
    p.add_argument("--custom-attributes", help="passed to the model (CustomAttributes)")
    p.add_argument("--inference-id", help="kept with the captured record, to join ground truth later (InferenceId)")
    p.add_argument("--show-variant", action="store_true", help="print the variant that answered (stderr)")
    p.set_defaults(func=cmd_invoke)

    p = add_command(
        sub, "router", "run the endpoint router and control process in the foreground",
        "Run the endpoint router (InvokeEndpoint) and the control process that owns every model server, on "
        "127.0.0.1:8085 by default. Ctrl-C stops it and every model server it started.",
        "examples:\n  mlops router\n  mlops router --runtime docker --workers 2",
    )
    add_runtime_argument(p, "where model servers run", servers=True)
    p.add_argument("--workers", type=int, default=1, help="worker processes per model-server instance")
    p.add_argument("--model-timeout", type=float, default=60.0, help="seconds a model has to answer (default 60)")
    p.add_argument("--health-interval", type=float, default=1.0, help="seconds between health pings (default 1)")
    p.add_argument("--ping-timeout", type=float, default=2.0, help="seconds a /ping may take (default 2)")
    p.add_argument("--host", help="default MLOPS_ROUTER_HOST (127.0.0.1)")
    p.add_argument("--port", type=int, help="default MLOPS_ROUTER_PORT (8085)")
    p.set_defaults(func=cmd_router)
