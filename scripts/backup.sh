#!/usr/bin/env bash
# The guide's backup command (§4.2), kept as a thin wrapper:
#   sudo ./scripts/backup.sh --type manual --description "デプロイ前バックアップ"
# Exit codes (appendix B): 1 disk space, 2 database missing, 3 integrity, 4 permission.
here=$(cd "$(dirname "$0")" && pwd)
bin=${NEXUS_BIN:-}
if [ -z "$bin" ]; then
  # In the source tree, or installed by `make install` as <prefix>/share/nexus-backup/backup.sh.
  for candidate in "$here/../target/release/nexus-backup" "$here/../target/debug/nexus-backup" "$here/../../bin/nexus-backup" "$(command -v nexus-backup || true)"; do
    [ -x "$candidate" ] && { bin=$candidate; break; }
  done
fi
[ -n "$bin" ] || { echo "nexus-backup not found: build it with 'cargo build --release'" >&2; exit 5; }
exec "$bin" backup "$@"
