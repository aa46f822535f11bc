#!/usr/bin/env bash
# Makes sure PostgreSQL, Redis and RabbitMQ answer on 127.0.0.1; starts the machine's own
# services with their documented commands when they don't. Exits non-zero with a clear message.
set -uo pipefail

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # name port seconds
  local i
  for ((i = 0; i < $3 * 4; i++)); do port_open "$2" && return 0; sleep 0.25; done
  return 1
}

start_postgres() {
  command -v pg_ctlcluster >/dev/null || return 1
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
}
start_redis() {
  command -v redis-server >/dev/null || return 1
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
}
start_rabbitmq() {
  command -v rabbitmq-server >/dev/null || return 1
  rabbitmq-server -detached
}

failed=0
ensure() { # name port starter wait_seconds
  if port_open "$2"; then return 0; fi
  echo "ensure-services: $1 is not answering on 127.0.0.1:$2; starting it" >&2
  if ! "$3" >/dev/null 2>&1 && ! port_open "$2"; then
    echo "ensure-services: could not start $1 (is it installed? see README 'Requirements')" >&2
    failed=1; return 1
  fi
  if ! wait_port "$1" "$2" "$4"; then
    echo "ensure-services: $1 did not come up on 127.0.0.1:$2 within $4s" >&2
    failed=1; return 1
  fi
}

ensure PostgreSQL 5432 start_postgres 60
ensure Redis 6379 start_redis 30
ensure RabbitMQ 5672 start_rabbitmq 120
if [ "$failed" -ne 0 ]; then exit 1; fi
# RabbitMQ accepts TCP before it accepts AMQP logins: wait until it reports itself running.
if command -v rabbitmqctl >/dev/null; then
  for _ in $(seq 1 60); do rabbitmqctl -q await_startup >/dev/null 2>&1 && break; sleep 1; done
fi
# The contrib extensions the migrations create (cube, earthdistance).
"$(dirname "$0")/ensure-pg-extensions.sh" || exit 1
echo "ensure-services: PostgreSQL, Redis and RabbitMQ are up"
