"""`mlops images build|list`: algorithm images on the local Docker engine, built with no registry."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mlops.cli.table import Column, print_table

if TYPE_CHECKING:
    from mlops.settings import Settings


def add_images_parser(sub: Any) -> None:
    p = sub.add_parser(
        "images",
        help="build algorithm images on the local Docker engine, or list them",
        description="Build each algorithm folder that has a Dockerfile into mlops/<algorithm>:<version>-<digest> "
        "and :latest, offline: the base image is made from Debian's packages and the wheels come from a "
        "host-side wheelhouse pinned by requirements.lock. Unchanged algorithms are not rebuilt.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  mlops images build            # every algorithm with a Dockerfile\n"
        "  mlops images build xgboost\n  mlops images list\n\n"
        "No engine? Start one with `sudo infra/docker/ensure-engine.sh` (or `make engine`).",
    )
    p.add_argument("action", choices=["build", "list"])
    p.add_argument("names", nargs="*", metavar="NAME", help="algorithms to build (default: all with a Dockerfile)")
    p.add_argument("--force", action="store_true", help="rebuild even when the image is up to date")
    p.set_defaults(func=cmd_images)


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f}{unit}" if unit in ("B", "KB") else f"{value:.1f}{unit}"
        value /= 1000
    return f"{n}B"  # pragma: no cover


def _ago(moment: datetime) -> str:
    seconds = (datetime.now(UTC) - moment).total_seconds()
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'' if count == 1 else 's'} ago"
    return "just now"


def cmd_images(args: argparse.Namespace, settings: Settings) -> int:
    from mlops.images.builder import ImageBuilder
    from mlops.services.catalog import algorithm_catalog

    builder = ImageBuilder(algorithm_catalog(settings), settings.home)
    if args.action == "list":
        images = builder.list_images()
        if not images:
            print("no algorithm images yet; build them with `mlops images build`")
            return 0
        print_table(
            (
                Column("NAME", elide="never"),
                Column("TAG", elide="never"),
                Column("DIGEST"),
                Column("IMAGE ID"),
                Column("SIZE", align=">"),
                Column("CREATED"),
            ),
            [[i.repository, i.tag, i.digest, i.image_id, _size(i.size), _ago(i.created)] for i in images],
        )
        return 0
    names = list(args.names) or builder.buildable()
    if not names:
        print(f"no algorithm under {settings.algorithms_dir} has a Dockerfile")
        return 0
    for name in names:  # one at a time, so each result shows as soon as it is known
        for result in builder.build([name], force=args.force):
            if result.built:
                print(f"{result.algorithm}: built {result.image} (and :latest) in {result.seconds:.0f} s", flush=True)
            else:
                print(f"{result.algorithm}: up to date ({result.image})", flush=True)
    return 0
