#!/usr/bin/env bash
# A private Docker engine for tests and laptops without Docker Hub:
#   .ci/docker.sh start   install Debian's docker.io (+ debootstrap, docker-registry), start dockerd on
#                         a private socket, build the local base image, start a registry on 127.0.0.1:5000
#   .ci/docker.sh stop    stop the registry and the daemon cleanly
#   .ci/docker.sh env     print the exports that point a shell at this engine
# On GitHub runners none of this is needed: Docker is there and BASE_IMAGE=python:3.11-slim.
set -euo pipefail

RUN_DIR=${MLGATE_DOCKER_RUN:-/run/mlgate-docker}
DATA_DIR=${MLGATE_DOCKER_DATA:-/var/lib/mlgate-docker}
SOCK="$RUN_DIR/docker.sock"
BASE_IMAGE=${MLGATE_BASE_IMAGE:-mlgate-base:bookworm}
REGISTRY_DIR=${MLGATE_REGISTRY_DIR:-/var/lib/mlgate-registry}
DOCKER=/usr/bin/docker  # Debian's 20.10 client: BuildKit secrets without buildx
export DOCKER_HOST="unix://$SOCK" DOCKER_BUILDKIT=1

# Daemons must not inherit the caller's file descriptors: a lock held by whoever ran `start`
# (e.g. `flock FILE .ci/docker.sh start`) would otherwise be held by dockerd for its lifetime.
detached() {
  (
    for fd in /proc/$BASHPID/fd/*; do
      fd=${fd##*/}
      [ "$fd" -gt 2 ] && eval "exec $fd>&-"
    done
    exec "$@"
  ) &
}

install() {
  local missing=()
  for p in docker.io debootstrap docker-registry; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

start_daemon() {
  mkdir -p "$RUN_DIR" "$DATA_DIR"
  if $DOCKER version >/dev/null 2>&1; then return; fi
  detached /usr/sbin/dockerd --host "unix://$SOCK" --data-root "$DATA_DIR" --exec-root "$RUN_DIR/exec" \
    --pidfile "$RUN_DIR/dockerd.pid" --storage-driver overlay2 >"$RUN_DIR/dockerd.log" 2>&1
  for _ in $(seq 60); do $DOCKER version >/dev/null 2>&1 && return; sleep 0.5; done
  echo "dockerd did not start; see $RUN_DIR/dockerd.log" >&2
  tail -20 "$RUN_DIR/dockerd.log" >&2
  exit 1
}

base_image() {
  if $DOCKER image inspect "$BASE_IMAGE" >/dev/null 2>&1; then return; fi
  local root
  root=$(mktemp -d)
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$root" >/dev/null
  # what a server never reads: package caches, docs, man pages, translations
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
    "$root"/usr/share/doc "$root"/usr/share/man "$root"/usr/share/info "$root"/usr/share/locale
  tar -C "$root" -c . | $DOCKER import - "$BASE_IMAGE" >/dev/null
  rm -rf "$root"
}

start_registry() {
  if curl -fsS http://127.0.0.1:5000/v2/ >/dev/null 2>&1; then return; fi
  mkdir -p "$REGISTRY_DIR"
  cat >"$RUN_DIR/registry.yml" <<YAML
version: 0.1
storage:
  filesystem:
    rootdirectory: $REGISTRY_DIR
  delete:
    enabled: true
http:
  addr: 127.0.0.1:5000
YAML
  detached docker-registry serve "$RUN_DIR/registry.yml" >"$RUN_DIR/registry.log" 2>&1
  echo $! >"$RUN_DIR/registry.pid"
  for _ in $(seq 40); do curl -fsS http://127.0.0.1:5000/v2/ >/dev/null 2>&1 && return; sleep 0.25; done
  echo "registry did not start; see $RUN_DIR/registry.log" >&2
  exit 1
}

stop() {
  for pidfile in "$RUN_DIR/registry.pid" "$RUN_DIR/dockerd.pid"; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    rm -f "$pidfile"
  done
}

case "${1:-}" in
  start) install; start_daemon; base_image; start_registry
         echo "docker engine: $DOCKER_HOST  base image: $BASE_IMAGE  registry: 127.0.0.1:5000" ;;
  stop) stop ;;
  env) echo "export DOCKER_HOST=$DOCKER_HOST DOCKER_BUILDKIT=1 MLGATE_DOCKER=$DOCKER BASE_IMAGE=$BASE_IMAGE" ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
