#!/usr/bin/env bash
# Starts nexus-api and nexus-worker together (what `make run` does) and stops
# both on Ctrl-C. Usage: scripts/run-local.sh <folder with the binaries>
set -euo pipefail
bin=${1:-target/release}
mkdir -p var

api_log=$(mktemp)
"$bin/nexus-api" > >(tee "$api_log") &
api=$!
worker=""

stop() {
  trap - INT TERM
  echo
  echo "Stopping…"
  [ -n "$worker" ] && kill -TERM "$worker" 2>/dev/null || true
  kill -TERM "$api" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -f "$api_log"
  exit 0
}
trap stop INT TERM

# Wait until the API listens (it generates the demo database first).
for _ in $(seq 1 600); do
  grep -q "listening on" "$api_log" 2>/dev/null && break
  kill -0 "$api" 2>/dev/null || { echo "nexus-api failed to start" >&2; exit 1; }
  sleep 0.2
done
url=$(grep -o 'http://[^ ]*' "$api_log" | head -1)

"$bin/nexus-worker" &
worker=$!

cat <<MSG

Nexus Backup is running.
  API:     $url/api/v1
  Web UI:  $url/views/backup.html
  Health:  $url/healthz
  API document: $url/api/v1/openapi.json
  Metrics: $url/metrics (a user's token, or NEXUS_METRICS_TOKEN)
Log in as '${NEXUS_ADMIN_USER:-admin}'. On the first start the password is printed above
(only once); later starts reuse it. Forgot it? Stop, then run:
  $bin/nexus-backup create-admin --reset
Press Ctrl-C to stop both processes.
MSG
wait -n "$api" "$worker" || true
stop
