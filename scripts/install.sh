#!/usr/bin/env bash
# What `make install` does (the Makefile sets every variable below): puts
# the binaries, the systemd units, scripts/backup.sh, the deploy/ files and
# a commented configuration in place under $DESTDIR. An existing
# configuration or secrets file is never overwritten.
set -euo pipefail
cd "$(dirname "$0")/.."

for b in nexus-api nexus-worker nexus-backup; do
  [ -x "$BINDIR_SRC/$b" ] || { echo "$BINDIR_SRC/$b is missing: build it first (cargo build --release --bins)" >&2; exit 1; }
done

d=${DESTDIR:-}
data_dir=/var/lib/nexus-backup
db_dir=$(dirname "$DB_PATH")
fill() { # a deploy/ template with this install's paths
  sed -e "s|@BINDIR@|$BINDIR|g" -e "s|@DOCDIR@|$DOCDIR|g" -e "s|@DATA_DIR@|$data_dir|g" \
      -e "s|@BACKUP_ROOT@|$BACKUP_ROOT|g" -e "s|@DB_DIR@|$db_dir|g" "$1"
}
install -d -m 0755 "$d$BINDIR" "$d$UNITDIR" "$d$SYSUSERSDIR" "$d$TMPFILESDIR" \
  "$d$DATADIR" "$d$DATADIR/prometheus" "$d$DATADIR/grafana" "$d$DOCDIR"
for b in nexus-api nexus-worker nexus-backup; do
  install -m 0755 "$BINDIR_SRC/$b" "$d$BINDIR/$b"
done

# The units name the installed binaries.
put() { # put <template> <destination>: filled in, mode 0644, replaced whole
  fill "$1" > "$2.tmp"
  chmod 0644 "$2.tmp"
  mv "$2.tmp" "$2"
}
put deploy/systemd/nexus-api.service "$d$UNITDIR/nexus-api.service"
put deploy/systemd/nexus-worker.service "$d$UNITDIR/nexus-worker.service"
put deploy/systemd/nexus-backup.sysusers "$d$SYSUSERSDIR/nexus-backup.conf"
put deploy/systemd/nexus-backup.tmpfiles "$d$TMPFILESDIR/nexus-backup.conf"

install -m 0755 scripts/backup.sh "$d$DATADIR/backup.sh"
install -m 0644 deploy/prometheus/*.yml "$d$DATADIR/prometheus/"
install -m 0644 deploy/grafana/*.json "$d$DATADIR/grafana/"
install -m 0644 README.md "$d$DOCDIR/README.md"

# The configuration: every setting with its default, commented, and the
# service's paths filled in. Kept if it exists (an operator edited it).
install -d -m 0755 "$d$CONFDIR"
config="$d$CONFDIR/nexus-backup.toml"
if [ -e "$config" ]; then
  echo "kept $config (the defaults of this version: nexus-backup print-default-config)"
else
  "$BINDIR_SRC/nexus-backup" print-default-config |
    sed -e "2a # make install set data_dir, db_path and backup_root to the service's (deploy/systemd)." \
        -e "s|^data_dir = \"./var/data\"|data_dir = \"$data_dir\"|" \
        -e "s|^db_path = \"./var/itsm_nexus.db\"|db_path = \"$DB_PATH\"|" \
        -e "s|^backup_root = \"./var/backups\"|backup_root = \"$BACKUP_ROOT\"|" \
    > "$config.tmp"
  chmod 0644 "$config.tmp"
  mv "$config.tmp" "$config"
  echo "wrote $config"
fi
secrets="$d$CONFDIR/nexus-backup.env"
if [ -e "$secrets" ]; then
  echo "kept $secrets"
else
  install -m 0600 deploy/systemd/nexus-backup.env "$secrets"
  echo "wrote $secrets (mode 0600)"
fi

# On the live system (no DESTDIR): the user, the backup root, the units.
if [ -z "$d" ] && [ "$(id -u)" = 0 ]; then
  command -v systemd-sysusers >/dev/null && systemd-sysusers "$SYSUSERSDIR/nexus-backup.conf"
  command -v systemd-tmpfiles >/dev/null && systemd-tmpfiles --create "$TMPFILESDIR/nexus-backup.conf"
  [ -d /run/systemd/system ] && systemctl daemon-reload
  echo "next: systemctl enable --now nexus-api nexus-worker"
fi
