#!/usr/bin/env bash
# Make sure a local Docker engine answers `docker info`. Idempotent. As root:
#   sudo infra/docker/ensure-engine.sh        (or: make engine)
#
# 1. installs Debian's docker.io, mmdebstrap (makes the base image) and docker-compose when one of
#    their commands is missing (apt-get update first);
# 2. when `docker info` fails, starts dockerd in the background, detached from this shell, with its
#    log in $MLOPS_DOCKERD_LOG (default /tmp/mlops-dockerd.log): on machines without a service
#    manager that would start it;
# 3. waits until `docker info` answers, at most $MLOPS_ENGINE_WAIT seconds (default 60).
# Exits non-zero with a message saying what failed.
set -euo pipefail

WAIT_SECONDS="${MLOPS_ENGINE_WAIT:-60}"
DOCKERD_LOG="${MLOPS_DOCKERD_LOG:-/tmp/mlops-dockerd.log}"

say() { echo "ensure-engine: $*" >&2; }
die() { say "$*"; exit 1; }
engine_answers() { docker info >/dev/null 2>&1; }
is_root() { [ "$(id -u)" = 0 ]; }

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v docker >/dev/null 2>&1 || missing+=(docker.io)
command -v mmdebstrap >/dev/null 2>&1 || missing+=(mmdebstrap)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
if [ "${#missing[@]}" -gt 0 ]; then
    # shellcheck disable=SC2207
    missing=($(printf '%s\n' "${missing[@]}" | sort -u))
    is_root || die "missing ${missing[*]}: run this as root (sudo $0) to install them from Debian's packages"
    say "installing ${missing[*]} from Debian's packages"
    apt-get update -qq || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
        || die "apt-get install ${missing[*]} failed"
fi

if engine_answers; then
    say "a Docker engine answers (server $(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
    exit 0
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
    is_root || die "no Docker engine answers and starting dockerd needs root: sudo $0"
    say "starting dockerd in the background (log: $DOCKERD_LOG)"
    # setsid + nohup: the engine must outlive the shell (and the CI step) that started it.
    setsid nohup dockerd >"$DOCKERD_LOG" 2>&1 </dev/null &
else
    say "dockerd runs but does not answer yet; waiting"
fi

for _ in $(seq 1 "$WAIT_SECONDS"); do
    if engine_answers; then
        say "Docker engine ready (server $(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
        exit 0
    fi
    sleep 1
done
say "no Docker engine answered within ${WAIT_SECONDS} s; last lines of $DOCKERD_LOG:"
tail -n 20 "$DOCKERD_LOG" >&2 2>/dev/null || true
if engine_answers_error="$(docker info 2>&1 >/dev/null)"; then :; else say "docker info: ${engine_answers_error##*$'\n'}"; fi
exit 1
