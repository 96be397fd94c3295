#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Shared by scripts/test, scripts/demo and scripts/bench: installing the Debian
# packages the project needs, and throwaway redis-servers on free loopback ports.

# What building the libraries needs.
REDISCONN_BUILD_PACKAGES=(build-essential cmake pkg-config libevent-dev libhiredis-dev)
# scripts/demo: the build, a redis-server and curl.
REDISCONN_DEMO_PACKAGES=("${REDISCONN_BUILD_PACKAGES[@]}" redis-server redis-tools curl)
# scripts/test: the demo's, plus Criterion, clang with its sanitizer runtime,
# protoc and the well-known protos (the admin fixtures are re-encoded and
# compared) and file (the consumer test checks a static program).
REDISCONN_TEST_PACKAGES=("${REDISCONN_DEMO_PACKAGES[@]}" libcriterion-dev clang
                         libclang-rt-14-dev protobuf-compiler libprotobuf-dev file)
# scripts/bench: the tests', plus the plots, callgrind and syscall counts, and the
# Go peers (redigo; FZambia/sentinel for scripts/bench-failover's).
REDISCONN_BENCH_PACKAGES=("${REDISCONN_TEST_PACKAGES[@]}" gnuplot-nox valgrind strace golang-go golang-github-gomodule-redigo-dev
                          golang-github-fzambia-sentinel-dev)
# scripts/deb: Debian packaging tools and the build dependencies of debian/control.
REDISCONN_DEB_PACKAGES=("${REDISCONN_BUILD_PACKAGES[@]}" debhelper dpkg-dev fakeroot lintian)

# install_deps [PACKAGE...]: installs whatever of the packages is missing
# (apt-get update first: CI starts on a fresh machine), as root or via sudo.
# Without arguments: REDISCONN_TEST_PACKAGES.
install_deps() {
    local missing=() want=("$@")
    [ ${#want[@]} -eq 0 ] && want=("${REDISCONN_TEST_PACKAGES[@]}")
    for p in "${want[@]}"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "installing: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
        "${missing[@]}"
}

# start_redis DIR [REDIS-SERVER ARGS...]: starts redis-server on a free loopback
# port with data in DIR, passing the extra arguments on (e.g. --maxclients N);
# sets REDIS_PORT and REDIS_PID. If REDIS_CPUS is set (a taskset CPU list), the
# server is pinned to those CPUs.
start_redis() {
    local dir=$1 port
    shift
    local pin=()
    [ -n "${REDIS_CPUS:-}" ] && pin=(taskset -c "$REDIS_CPUS")
    mkdir -p "$dir"
    for _ in $(seq 1 30); do
        port=$((20000 + RANDOM % 30000))
        "${pin[@]}" redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
            --dir "$dir" --logfile "$dir/redis.log" --daemonize yes \
            --pidfile "$dir/redis.pid" "$@" >/dev/null 2>&1 || continue
        for _ in $(seq 1 100); do
            if redis-cli -p "$port" ping >/dev/null 2>&1; then
                REDIS_PORT=$port
                REDIS_PID=$(cat "$dir/redis.pid")
                return 0
            fi
            sleep 0.05
        done
        [ -f "$dir/redis.pid" ] && kill "$(cat "$dir/redis.pid")" 2>/dev/null
    done
    echo "could not start redis-server" >&2
    return 1
}

# stop_redis: stops the server started by start_redis.
stop_redis() {
    [ -n "${REDIS_PID:-}" ] || return 0
    kill "$REDIS_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$REDIS_PID" 2>/dev/null || break
        sleep 0.05
    done
    REDIS_PID=
}

# free_port: prints a TCP port on 127.0.0.1 that nothing listens on.
free_port() {
    local port
    for _ in $(seq 1 50); do
        port=$((20000 + RANDOM % 30000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    return 1
}
