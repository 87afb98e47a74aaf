# Nexus Backup — the commands the README promises.
.PHONY: run test lint fmt bench bench-offsite build clean install

CARGO ?= cargo

## make run: build and start api + worker on the embedded default (./var)
run:
	$(CARGO) build --release --bins
	NEXUS_DEMO_DB=1 scripts/run-local.sh target/release

## make test: every test (unit, end-to-end with real processes)
test:
	$(CARGO) build --workspace --bins
	$(CARGO) test --workspace --no-fail-fast

## make lint: formatting and clippy, warnings as errors
lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## make bench: backups of four kinds of generated database (the project's ~1 GB,
## small- and large-vocabulary text and random keys, 300 MB each) and of a ~4 GB
## one, next to the guide's shell pipeline and pigz; then the writer, the API
## (wrk when installed) and verify/restore on the 1 GB one (docs/performance.md).
## The first run generates each database and needs about 3× its size free.
bench:
	$(CARGO) build --release --workspace --bins
	$(CARGO) bench --workspace --bench backup
	NEXUS_BENCH_DATA=project:4000 NEXUS_BENCH_PARTS=backup $(CARGO) bench --workspace --bench backup

## make bench-offsite: what an offsite copy costs (s3s-fs on loopback)
bench-offsite:
	$(CARGO) build --release --workspace --bins
	$(CARGO) bench --workspace --bench offsite

build:
	$(CARGO) build --workspace --bins

clean:
	$(CARGO) clean

## make install: the release binaries, the systemd units (ExecStart names
## the installed binaries), the sysusers/tmpfiles entries, scripts/backup.sh,
## the deploy/ files and a commented config under /etc/nexus-backup that is
## never overwritten. PREFIX (default /usr/local) and DESTDIR as usual;
## BINDIR_SRC=<folder> installs binaries built elsewhere and skips the build.
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
DATADIR ?= $(PREFIX)/share/nexus-backup
DOCDIR ?= $(PREFIX)/share/doc/nexus-backup
CONFDIR ?= /etc/nexus-backup
CARGO_TARGET_DIR ?= target
BINDIR_SRC ?=
INSTALL_BINS := nexus-api nexus-worker nexus-backup
# The installed services' backup root and ITSM database, written into the
# units, the config and the tmpfiles entry (the data folder is
# /var/lib/nexus-backup, the units' StateDirectory).
BACKUP_ROOT ?= /backups
DB_PATH ?= /var/lib/itsm-nexus/itsm_nexus.db

install:
ifeq ($(BINDIR_SRC),)
	$(CARGO) build --release --bins
endif
	DESTDIR="$(DESTDIR)" BINDIR="$(BINDIR)" UNITDIR="$(UNITDIR)" \
	SYSUSERSDIR="$(SYSUSERSDIR)" TMPFILESDIR="$(TMPFILESDIR)" DATADIR="$(DATADIR)" \
	DOCDIR="$(DOCDIR)" CONFDIR="$(CONFDIR)" BINDIR_SRC="$(or $(BINDIR_SRC),$(CARGO_TARGET_DIR)/release)" \
	BACKUP_ROOT="$(BACKUP_ROOT)" DB_PATH="$(DB_PATH)" scripts/install.sh
