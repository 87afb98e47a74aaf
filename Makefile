# Nexus Backup — the commands the README promises.
.PHONY: run test lint fmt bench bench-offsite build clean

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

## make bench: figures for ~1 GB and ~4 GB generated databases next to the guide's
## shell pipeline (docs/performance.md). The first run generates each database
## (about 3 min for 4 GB) and needs about 4× its size free on the target's disk.
bench:
	$(CARGO) build --release --bins
	NEXUS_BENCH_MB=1000 $(CARGO) bench -p nexus-e2e --bench backup
	NEXUS_BENCH_MB=4000 NEXUS_BENCH_PARTS=backup,engine,levels $(CARGO) bench -p nexus-e2e --bench backup

## make bench-offsite: what an offsite copy costs (s3s-fs on loopback)
bench-offsite:
	$(CARGO) build --release --bins
	$(CARGO) bench -p nexus-e2e --bench offsite

build:
	$(CARGO) build --workspace --bins

clean:
	$(CARGO) clean
