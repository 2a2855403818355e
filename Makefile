# Quick start: `make run` (install, build, start the embedded database, load the demo, serve) and
# `make test` (every test, against a throwaway PostGIS cluster).

APT_PACKAGES := postgresql-15-postgis-3 libgdal-dev gdal-bin pkg-config build-essential
# The browser test drives Debian's Chromium: installed for `make test` only.
TEST_PACKAGES := chromium python3-venv python3-qgis qgis-providers poppler-utils zbar-tools
BENCH_PACKAGES := wrk curl nginx-light
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# The data directory: DATA_DIR=..., or SATUPETA_DATA_DIR from the environment, or var/.
DATA_DIR ?= $(or $(SATUPETA_DATA_DIR),var)
BIND ?= 127.0.0.1:8080
DEMO_BLOCKS ?= 4000
DEMO := $(DATA_DIR)/demo.gpkg
PLAN := RDTR Kota Balikpapan (demo)
# The release binary, where cargo puts it (CARGO_TARGET_DIR moves it).
BIN := $(or $(CARGO_TARGET_DIR),target)/release/satupeta
export SATUPETA_DATA_DIR := $(DATA_DIR)

.PHONY: run test deps build lint bench bench-tiles bench-features bench-reports bench-soak seed clean lighthouse deb

# Installs the Debian packages of $(1) that are not installed.
define install_missing
	@missing=$$(for p in $(1); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@command -v cargo >/dev/null || { echo "Rust is not installed: see https://rustup.rs (rustup, Rust 1.88 or newer)"; exit 1; }
endef

## Installs the Debian packages that are missing.
deps:
	$(call install_missing,$(APT_PACKAGES))

build: deps
	cargo build --release

$(DEMO): data/balikpapan_admin.geojson | build
	$(BIN) demo generate --blocks $(DEMO_BLOCKS) $(DEMO)

## Builds, loads the rules and the demo plan into the embedded database, and serves the map.
run: build $(DEMO)
	$(BIN) rules load data/rules
	$(BIN) import $(DEMO) --plan "$(PLAN)" --if-changed \
		--regulation "Data demo sintetis, bukan Peraturan Wali Kota yang berlaku"
	@# Certificates are signed with the server's own keys: made once, for a demo signatory.
	@$(BIN) keys list >/dev/null 2>&1 || $(BIN) keys init --name "Penandatangan Demo" --nip 000000000000000000
	$(BIN) serve --bind $(BIND)

# The browser test's npm packages (playwright-core, which downloads no browser: the test drives
# Debian's Chromium), installed again when the lock changes.
BROWSER_DEPS := tests/browser/node_modules/.package-lock.json
$(BROWSER_DEPS): tests/browser/package.json tests/browser/package-lock.json
	@command -v npm >/dev/null || { echo "Node.js 20 or newer (node and npm) is needed for the browser test"; exit 1; }
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix tests/browser --no-audit --no-fund
	@touch $@

# The real clients the network node is tested with (OWSLib, openapi-spec-validator), from PyPI in a
# virtual environment, installed again when the requirements change.
CLIENT_DEPS := tests/clients/.venv/installed
$(CLIENT_DEPS): tests/clients/requirements.txt
	$(call install_missing,python3-venv)
	python3 -m venv tests/clients/.venv
	tests/clients/.venv/bin/pip install -q -r tests/clients/requirements.txt
	@touch $@

## Runs every test (unit and integration, against a throwaway PostGIS cluster; the map page in
## Debian's Chromium; the network node with GDAL's OGR, OWSLib and QGIS).
test: deps $(BROWSER_DEPS)
	$(call install_missing,$(TEST_PACKAGES))
	$(MAKE) $(CLIENT_DEPS)
	cargo test --all-targets

# Lighthouse's npm packages (pinned: Lighthouse 13 needs Node 22).
LIGHTHOUSE_DEPS := tests/lighthouse/node_modules/.package-lock.json
$(LIGHTHOUSE_DEPS): tests/lighthouse/package.json tests/lighthouse/package-lock.json
	@command -v npm >/dev/null || { echo "Node.js 20 or newer (node and npm) is needed for Lighthouse"; exit 1; }
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix tests/lighthouse --no-audit --no-fund
	@touch $@

## Lighthouse (mobile profile, three runs) in Debian's Chromium against the map `make run` serves
## at $(BIND) (start it in another terminal first), with the page weight and the time to the first
## zoning tiles.
lighthouse: $(LIGHTHOUSE_DEPS)
	$(call install_missing,$(TEST_PACKAGES))
	node tests/lighthouse/run.mjs http://$(BIND) 3

lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings

## Benchmarks (see README): point lookups vs PostGIS, import vs ogr2ogr.
bench: build
	$(call install_missing,$(BENCH_PACKAGES))
	$(BIN) bench

MARTIN := $(DATA_DIR)/tools/bin/martin
$(MARTIN):
	cargo install martin@1.14.0 --locked --no-default-features --features postgres --root $(DATA_DIR)/tools

## Benchmarks the vector tiles against Martin 1.14 on the same tables (installs Martin from crates.io).
bench-tiles: build $(MARTIN)
	$(call install_missing,$(BENCH_PACKAGES))
	$(BIN) bench --martin $(MARTIN)

## Benchmarks OGC API Features against tipg 1.6 and pygeoapi 0.24 on the same tables (pip installs
## them into a venv under the bench work directory; SERVERS=tipg,pygeoapi measures the peers only).
SERVERS ?= satupeta,tipg,pygeoapi
bench-features: build
	$(call install_missing,$(BENCH_PACKAGES) python3-venv)
	$(BIN) bench features --servers $(SERVERS)

## Benchmarks report submissions (with a photo) and the public reports layer with 100,000 stored
## reports, the layer against Martin 1.14 on the same table (installs Martin from crates.io).
bench-reports: build $(MARTIN)
	$(call install_missing,$(BENCH_PACKAGES))
	$(BIN) bench --martin $(MARTIN) reports

## Ten minutes of mixed load with a publication every minute and a database restart in the middle
## (SOAK_MINUTES=10); prints unexpected answers, memory over time and the server's metrics.
SOAK_MINUTES ?= 10
bench-soak: build
	$(call install_missing,$(BENCH_PACKAGES))
	$(BIN) bench --blocks 20000 soak --minutes $(SOAK_MINUTES)

CARGO_DEB_VERSION := 3.8.0

## Builds the Debian package of a city server (the release binary, the unit, the configuration, the
## rule tables; see README) with cargo-deb, installed from crates.io when missing, and prints its path.
deb: deps
	@cargo deb --version >/dev/null 2>&1 || \
		env -u CARGO_TARGET_DIR cargo install --locked cargo-deb@$(CARGO_DEB_VERSION)
	cargo deb --strip

## Pre-seeds the zoning tiles (z0-14) into $(DATA_DIR)/tiles/zoning.pmtiles.
seed: build
	$(BIN) tiles seed --layer zoning --maxzoom 14

clean:
	rm -rf $(DATA_DIR) target
