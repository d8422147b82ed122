#!/usr/bin/env bash
# A private Docker engine for CI and for developers' machines without one (shared TOOLCHAIN.md,
# "Docker"): Debian's dockerd on its own socket and data root, compose v1 behind a
# `docker compose` CLI plugin (what testcontainers runs), and stand-ins for the two base
# images when no registry serves them. Everything it starts, it tears down again.
#
#   .ci/docker-engine.sh install       apt packages: docker.io, docker-compose, mmdebstrap
#   .ci/docker-engine.sh start         start dockerd; writes $ENGINE_DIR/env (source it)
#   .ci/docker-engine.sh base-images   pull the official bases, or build stand-ins; appends
#                                      NODE_IMAGE / POSTGRES_IMAGE to $ENGINE_DIR/env
#   .ci/docker-engine.sh stop          containers, volumes, networks, the daemon, its
#                                      iptables chains and bridges, the scratch folder;
#                                      exits 1 when any of it is still there
#   .ci/docker-engine.sh run CMD...    install, start, base-images, CMD with the engine's
#                                      variables, stop (also when CMD fails); CMD's status
#
# ENGINE_DIR (default /run/zt-docker; root's alone, mode 0700) holds the socket, the data root
# and the env file. It is kept short: containerd's socket path lives below it and unix socket
# paths are limited. The stand-ins are cached in the data root, which `stop` removes unless
# KEEP_IMAGES=1. It refuses to start beside another Docker engine: the teardown removes every
# docker0/br-* bridge and DOCKER* chain, which are then all its own.
set -euo pipefail

ENGINE_DIR="${ENGINE_DIR:-/run/zt-docker}"
case "$ENGINE_DIR" in
/?*/?*) ;;
*)
  echo "[docker-engine] ENGINE_DIR must be an absolute path two levels deep, not '$ENGINE_DIR'" >&2
  exit 2
  ;;
esac
# Written by `start`; `stop` removes nothing from a folder without it.
MARKER="$ENGINE_DIR/.zt-docker-engine"
SOCKET="$ENGINE_DIR/docker.sock"
export DOCKER_HOST="unix://$SOCKET"
export DOCKER_CONFIG="$ENGINE_DIR/config"

# The official images the compose file names by default, and the tags of their stand-ins.
OFFICIAL_NODE_IMAGE="node:20-bookworm-slim"
OFFICIAL_POSTGRES_IMAGE="postgres:16-alpine"
STANDIN_NODE_IMAGE="zt-standin/node:20-bookworm"
STANDIN_POSTGRES_IMAGE="zt-standin/postgres:15-bookworm"

log() { printf '[docker-engine] %s\n' "$*" >&2; }

install_packages() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v docker-compose >/dev/null || missing+=(docker-compose)
  command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
  if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

start_engine() {
  if [ -S "$SOCKET" ] && docker version >/dev/null 2>&1; then
    log "already running at $DOCKER_HOST"
  else
    if pgrep -x dockerd >/dev/null; then
      log "another Docker engine runs on this machine: use it (DOCKER_HOST), or stop it first"
      exit 1
    fi
    if [ -e "$ENGINE_DIR" ] && { [ ! -O "$ENGINE_DIR" ] || [ -n "$(find "$ENGINE_DIR" -maxdepth 0 -perm /022)" ]; }; then
      log "$ENGINE_DIR is not this user's alone: refusing to use it"
      exit 1
    fi
    [ -d "$ENGINE_DIR" ] || mkdir -m 700 "$ENGINE_DIR"
    touch "$MARKER"
    mkdir -p "$ENGINE_DIR"/{data,exec,config/cli-plugins}
    # What dockerd changes on the host and `stop` puts back.
    { iptables -S FORWARD 2>/dev/null || true; } | awk '$1 == "-P" {print $3}' >"$ENGINE_DIR/forward-policy"
    cat /proc/sys/net/ipv4/ip_forward >"$ENGINE_DIR/ip-forward"
    cat >"$ENGINE_DIR/daemon.json" <<JSON
{
  "data-root": "$ENGINE_DIR/data",
  "exec-root": "$ENGINE_DIR/exec",
  "pidfile": "$ENGINE_DIR/dockerd.pid",
  "hosts": ["unix://$SOCKET"],
  "storage-driver": "overlay2",
  "log-driver": "json-file",
  "log-opts": { "max-size": "10m" }
}
JSON
    # testcontainers runs `docker compose`; Debian bookworm has compose v1 only.
    cat >"$ENGINE_DIR/config/cli-plugins/docker-compose" <<'SH'
#!/bin/sh
if [ "$1" = docker-cli-plugin-metadata ]; then
  echo '{"SchemaVersion":"0.1.0","Vendor":"Debian","Version":"1.29","ShortDescription":"compose v1"}'
  exit 0
fi
shift # the plugin's own name
exec docker-compose "$@"
SH
    chmod +x "$ENGINE_DIR/config/cli-plugins/docker-compose"
    log "starting dockerd at $DOCKER_HOST"
    setsid dockerd --config-file "$ENGINE_DIR/daemon.json" >"$ENGINE_DIR/dockerd.log" 2>&1 </dev/null &
    for _ in $(seq 1 60); do
      docker version >/dev/null 2>&1 && break
      sleep 0.5
    done
    if ! docker version >/dev/null 2>&1; then
      tail -20 "$ENGINE_DIR/dockerd.log" >&2
      log "dockerd did not come up"
      exit 1
    fi
  fi
  cat >"$ENGINE_DIR/env" <<ENV
export DOCKER_HOST=$DOCKER_HOST
export DOCKER_CONFIG=$DOCKER_CONFIG
export TESTCONTAINERS_RYUK_DISABLED=true
ENV
  log "ready; source $ENGINE_DIR/env"
}

# Pulls an official image, or says it could not.
pulled() {
  docker image inspect "$1" >/dev/null 2>&1 && return 0
  timeout 60 docker pull -q "$1" >/dev/null 2>&1
}

# The hooks' "$1" is the new root, expanded by mmdebstrap, not here.
# shellcheck disable=SC2016
build_node_standin() {
  docker image inspect "$STANDIN_NODE_IMAGE" >/dev/null 2>&1 && return 0
  log "building $STANDIN_NODE_IMAGE: a minimal Debian with this host's Node and CA bundle"
  local rootfs="$ENGINE_DIR/rootfs-node.tar" node_prefix
  node_prefix="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
  # --include: what the official slim image has and our images use (useradd for the node user).
  mmdebstrap --quiet --variant=minbase --include=ca-certificates,passwd \
    --customize-hook="copy-in $(readlink -f "$(command -v node)") /usr/local/bin" \
    --customize-hook="mkdir -p \"\$1/usr/local/lib/node_modules\"" \
    --customize-hook="copy-in $node_prefix/lib/node_modules/npm /usr/local/lib/node_modules" \
    --customize-hook='ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm"' \
    --customize-hook='ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"' \
    --customize-hook='chroot "$1" useradd --uid 1000 --create-home --shell /bin/bash node' \
    --customize-hook='mkdir -p "$1/usr/local/share/host-ca"' \
    --customize-hook="copy-in /etc/ssl/certs/ca-certificates.crt /usr/local/share/host-ca" \
    bookworm "$rootfs"
  # The host reaches the npm registry through a proxy whose CA only the host trusts.
  docker import \
    --change 'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/host-ca/ca-certificates.crt' \
    --change 'ENV NPM_CONFIG_CAFILE=/usr/local/share/host-ca/ca-certificates.crt' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["node"]' \
    "$rootfs" "$STANDIN_NODE_IMAGE" >/dev/null
  rm -f "$rootfs"
}

build_postgres_standin() {
  docker image inspect "$STANDIN_POSTGRES_IMAGE" >/dev/null 2>&1 && return 0
  log "building $STANDIN_POSTGRES_IMAGE: Debian's PostgreSQL behind the official image's variables"
  local build="$ENGINE_DIR/postgres-standin"
  mkdir -p "$build"
  cp "$(dirname "$0")/postgres-standin/entrypoint.sh" "$build/"
  mmdebstrap --quiet --variant=minbase --include=postgresql-15 \
    bookworm "$build/rootfs.tar"
  cat >"$build/Dockerfile" <<'DOCKERFILE'
FROM scratch
ADD rootfs.tar /
COPY entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PGDATA=/var/lib/postgresql/data
RUN chmod 0755 /usr/local/bin/docker-entrypoint.sh && mkdir -p /var/run/postgresql \
 && chown postgres:postgres /var/run/postgresql
VOLUME ["/var/lib/postgresql/data"]
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
DOCKERFILE
  DOCKER_BUILDKIT=0 docker build -q -t "$STANDIN_POSTGRES_IMAGE" "$build" >/dev/null
  rm -rf "$build"
}

base_images() {
  local node_image="$OFFICIAL_NODE_IMAGE" postgres_image="$OFFICIAL_POSTGRES_IMAGE"
  if ! pulled "$OFFICIAL_NODE_IMAGE"; then
    build_node_standin
    node_image="$STANDIN_NODE_IMAGE"
  fi
  if ! pulled "$OFFICIAL_POSTGRES_IMAGE"; then
    build_postgres_standin
    postgres_image="$STANDIN_POSTGRES_IMAGE"
  fi
  log "base images: $node_image, $postgres_image"
  sed -i '/^export \(NODE\|POSTGRES\)_IMAGE=/d' "$ENGINE_DIR/env"
  printf 'export NODE_IMAGE=%s\nexport POSTGRES_IMAGE=%s\n' "$node_image" "$postgres_image" >>"$ENGINE_DIR/env"
}

stop_engine() {
  if [ ! -f "$MARKER" ]; then
    log "no engine of this script at $ENGINE_DIR: nothing to stop"
    # The folder .ci/run made for an engine that never started (say, npm install failed first).
    rmdir "$ENGINE_DIR" 2>/dev/null || true
    return 0
  fi
  if [ -S "$SOCKET" ] && docker version >/dev/null 2>&1; then
    docker ps -aq | xargs -r docker rm -f -v >/dev/null 2>&1 || true
    docker volume prune -f >/dev/null 2>&1 || true
    docker network prune -f >/dev/null 2>&1 || true
  fi
  if [ -f "$ENGINE_DIR/dockerd.pid" ]; then
    local pid
    pid="$(cat "$ENGINE_DIR/dockerd.pid")"
    if kill -0 "$pid" 2>/dev/null; then
      log "stopping dockerd ($pid)"
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  # A containerd-shim whose daemon died would keep its container (and mounts) alive.
  pkill -KILL -f "containerd-shim.* -namespace moby .*$ENGINE_DIR/" 2>/dev/null || true
  remove_network_rules
  restore_host_settings
  if [ "${KEEP_IMAGES:-0}" != 1 ]; then
    # Mounts left below the data root by a daemon that was killed keep rm from finishing.
    awk -v dir="$ENGINE_DIR/" 'index($2, dir) == 1 {print $2}' /proc/mounts | sort -r |
      xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf --one-file-system "$ENGINE_DIR"
  fi
  verify_stopped
}

restore_host_settings() {
  local policy
  policy="$(cat "$ENGINE_DIR/forward-policy" 2>/dev/null || true)"
  [ -z "$policy" ] || iptables -P FORWARD "$policy" 2>/dev/null || true
  if [ -s "$ENGINE_DIR/ip-forward" ]; then
    cat "$ENGINE_DIR/ip-forward" >/proc/sys/net/ipv4/ip_forward 2>/dev/null || true
  fi
}

# Fails, naming what is left, when a daemon, shim, bridge or chain of the engine survived.
verify_stopped() {
  local left=()
  pgrep -f "dockerd --config-file $ENGINE_DIR/daemon.json" >/dev/null && left+=("dockerd")
  pgrep -f "containerd-shim.* -namespace moby .*$ENGINE_DIR/" >/dev/null && left+=("containerd-shim")
  ip -o link show type bridge 2>/dev/null | grep -qE ': (docker0|br-[0-9a-f]{12}):' && left+=("bridge")
  { iptables -S; iptables -t nat -S; } 2>/dev/null | grep -q DOCKER && left+=("iptables chains")
  if ((${#left[@]})); then
    log "left behind: ${left[*]}"
    return 1
  fi
  log "stopped; no daemon, container, bridge or iptables chain of it is left"
}

run_with_engine() {
  install_packages
  trap 'stop_engine' EXIT
  start_engine
  base_images
  # shellcheck source=/dev/null
  source "$ENGINE_DIR/env"
  local status=0
  "$@" || status=$?
  trap - EXIT
  stop_engine || status=1
  return "$status"
}

# dockerd leaves its chains, their jump rules and its bridges behind when it stops.
remove_network_rules() {
  local table chain
  for table in filter nat; do
    # Rules docker wrote hold no quotes nor comments: plain words, split as iptables -S prints them.
    # None left (a second stop) is fine: grep's "no match" must not end the script (pipefail).
    iptables -t "$table" -S 2>/dev/null |
      { grep -E '^-A [A-Z]+ .*(DOCKER|docker0|br-[0-9a-f]{12})' || true; } |
      { grep -vE '^-A DOCKER' || true; } | sed 's/^-A/-D/' | while read -ra rule; do
      iptables -t "$table" "${rule[@]}" 2>/dev/null || true
    done
    for chain in $(iptables -t "$table" -S 2>/dev/null | awk '/^-N DOCKER/ {print $2}'); do
      iptables -t "$table" -F "$chain" 2>/dev/null || true
    done
    for chain in $(iptables -t "$table" -S 2>/dev/null | awk '/^-N DOCKER/ {print $2}'); do
      iptables -t "$table" -X "$chain" 2>/dev/null || true
    done
  done
  for link in $(ip -o link show type bridge 2>/dev/null | awk -F': ' '{print $2}' | grep -E '^(docker0|br-[0-9a-f]{12})$'); do
    ip link delete "$link" 2>/dev/null || true
  done
}

case "${1:-}" in
install) install_packages ;;
start) start_engine ;;
base-images) base_images ;;
stop) stop_engine ;;
run)
  shift
  run_with_engine "$@"
  ;;
*)
  echo "usage: $0 install|start|base-images|stop|run CMD..." >&2
  exit 2
  ;;
esac
