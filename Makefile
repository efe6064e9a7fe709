# capgate: the two entry points are `make run` and `make test` (see README.md).
# Both install what is missing on a fresh Debian 12 machine with the Swift toolchain.
SHELL := /bin/bash
SWIFT ?= swift
VENV := .venv
PY := $(VENV)/bin/python
APT_PACKAGES := pkg-config libssl-dev libnghttp2-dev libpcre2-dev libyaml-dev libsqlite3-dev libcurl4-openssl-dev curl openssl postgresql libpq-dev
# The policy extra brings pyyaml, needed by the YAML policy goldens.
REFERENCE := weaver-kernel[policy]==0.12.0
# The Python client (clients/python) and its tests: httpx with HTTP/2, hypercorn for its driver
# host, pytest + pytest-asyncio (the reference's own suites need asyncio mode), prometheus_client
# (its text parser reads the metrics endpoint in clients/python/tests/test_operations.py).
PY_CLIENT_DEPS := "httpx[http2]>=0.27" "hypercorn>=0.16" "pytest>=8" "pytest-asyncio>=0.23.5" "prometheus_client>=0.20"
# schemathesis drives the live sidecar from docs/openapi.yaml (openapi-check, fuzz-api).
# openapi-python-client generates the client of openapi-demo from the same document.
OPENAPI_PY_DEPS := "schemathesis>=4.32,<5" "openapi-python-client>=0.29,<0.30"
# The reference's sdist (its tests/ are the acceptance suite), downloaded here, never committed.
SDIST_CACHE := .cache/weaver-kernel-sdist

.PHONY: openapi-deps openapi-check openapi-demo fuzz-api run test deps apt venv py-client py-test py-acceptance build build-release goldens swift-test bench-kernel bench-audit bench bench-quick bench-deps bench-build bench-fleet bench-smoke clean fuzz-smoke attack soak scan scan-deps hardening-build

deps: apt venv

# Installs the C libraries only when one is missing (dpkg -s is cheap; apt-get update is not).
apt:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# The local venv holds the Python reference (the parity oracle) and tooling.
# When PyPI is out of reach the venv may lack the reference; goldens then come from git.
venv:
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -c "import weaver_kernel, yaml" 2>/dev/null || $(PY) -m pip install -q "$(REFERENCE)" || \
	  echo "warning: could not install $(REFERENCE); the committed goldens will be used"
	@$(PY) -c "import h2, httpx, hypercorn, pytest, pytest_asyncio, prometheus_client" 2>/dev/null || $(PY) -m pip install -q $(PY_CLIENT_DEPS)
	@$(PY) -c "import schemathesis, jsonschema_rs, openapi_python_client" 2>/dev/null || $(PY) -m pip install -q $(OPENAPI_PY_DEPS)

# The Python client, installed editable into the venv (import name and distribution: capgate).
py-client: venv
	@$(PY) -c "import capgate, os, sys; sys.exit(0 if os.path.realpath(capgate.__file__).startswith(os.path.realpath('clients/python')) else 1)" 2>/dev/null || \
	  $(PY) -m pip install -q --no-deps -e clients/python

# The client's own tests against real sidecars (debug capgate binary; every wait is bounded).
py-test: py-client
	$(SWIFT) build --product capgate
	CAPGATE_BIN="$$($(SWIFT) build --show-bin-path)/capgate" timeout 600 $(PY) -m pytest -q clients/python/tests

# The reference's invariant and canary suites, unmodified, through capgate.pytest_remote (each
# Kernel a private sidecar whose Python drivers run in an in-process DriverHost; host drivers:
# docs/drivers.md). All 21 items must pass and at least 10 remote kernels must have run.
py-acceptance: py-client
	$(SWIFT) build --product capgate
	@test -d $(SDIST_CACHE)/weaver_kernel-0.12.0/tests || { mkdir -p $(SDIST_CACHE) && \
	  $(PY) -m pip download -q --no-deps --no-binary :all: "weaver-kernel==0.12.0" -d $(SDIST_CACHE) && \
	  tar -xzf $(SDIST_CACHE)/weaver_kernel-0.12.0.tar.gz -C $(SDIST_CACHE); }
	set -o pipefail; cd $(SDIST_CACHE)/weaver_kernel-0.12.0 && CAPGATE_BIN="$$(cd $(CURDIR) && $(SWIFT) build --show-bin-path)/capgate" \
	  timeout 900 $(CURDIR)/$(PY) -m pytest -q -p capgate.pytest_remote -o asyncio_default_fixture_loop_scope=function tests/test_invariants.py tests/test_firewall_canary.py \
	  | tee $(CURDIR)/.cache/py-acceptance.log
	@tail -1 .cache/py-acceptance.log | grep -Eq '^capgate: ([1-9][0-9]+) remote kernels, [0-9]+ verb calls over the wire$$' || \
	  { echo "py-acceptance: expected at least 10 remote kernels"; exit 1; }

build: apt
	$(SWIFT) build

build-release: apt
	$(SWIFT) build -c release

# Regenerates Tests/Fixtures/reference/*.json and the billing snapshot from the Python reference.
goldens: venv
	@if $(PY) -c "import weaver_kernel" 2>/dev/null; then \
	  $(PY) tools/reference/record.py --out Tests/Fixtures/reference && \
	  $(PY) tools/reference/gen_billing.py; \
	else echo "reference not installed: keeping the committed goldens"; fi

swift-test: apt
	$(SWIFT) build --build-tests
	@# A hang must fail fast rather than eat CI's 90 minutes; the suite takes well under 2.
	@# The bench harness smoke test runs alone under `make bench-smoke` (it saturates both cores).
	@# Serial (~45 s here): Foundation's Process.run crashed once (a buffer overrun while it listed
	@# /proc/self/fd) when a test spawned a child while parallel tests opened hundreds of sockets,
	@# and parallel suites on 2 cores made timing tests flaky under load.
	timeout 1200 $(SWIFT) test --skip-build --skip SidecarBenchTests --no-parallel

test: deps goldens swift-test py-test py-acceptance openapi-check openapi-demo

# The wire contract against the live sidecar: schemathesis (HTTP/1.1) through nghttpx (Debian
# nghttp2-proxy, installed only by these targets and `make test`), an HTTP/1.1-to-h2 bridge that
# presents a demo agent's certificate. tools/openapi/check ARGS: examples per operation, seconds
# per schemathesis run (two runs: every verb as alice, the admin verbs as ops).
OPENAPI_APT := nghttp2-proxy
openapi-deps: apt venv
	@missing=""; for p in $(OPENAPI_APT); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

openapi-check: openapi-deps
	$(SWIFT) build --product capgate
	CAPGATE_BIN="$$($(SWIFT) build --show-bin-path)/capgate" PY=$(PY) timeout 300 tools/openapi/check 5 10

# A client generated from docs/openapi.yaml runs grant, invoke, expand and explain against a
# fresh demo sidecar (clients/examples/README.md; about 5 s).
openapi-demo: venv
	$(SWIFT) build --product capgate
	CAPGATE_BIN="$$($(SWIFT) build --show-bin-path)/capgate" PY=$(PY) timeout 120 clients/examples/openapi-demo

# The longer run (about 10 min; not part of `test`).
fuzz-api: openapi-deps
	$(SWIFT) build --product capgate
	CAPGATE_BIN="$$($(SWIFT) build --show-bin-path)/capgate" PY=$(PY) SEED=$${SEED:-$$RANDOM} timeout 900 tools/openapi/check 100 300

# The demo serves a release build: a debug build answers about 20x fewer requests per second,
# which misleads anyone measuring the demo. The first release build takes a few minutes.
run: apt
	$(SWIFT) build -c release --product capgate
	$(SWIFT) run -c release --skip-build capgate serve

bench-kernel: deps build-release
	$(SWIFT) run -c release kernel-bench

# bench-audit: durable (SQLite, fsync) vs in-memory audit invoke throughput at 16 connections x
# 16 streams, alternating rounds in one run (docs/audit.md, "Throughput"). Release build; not in `test`.
bench-audit: apt
	$(SWIFT) build -c release --product audit-bench
	"$$($(SWIFT) build -c release --show-bin-path)/audit-bench" $(AUDIT_BENCH_ARGS)

# fuzz: every libFuzzer target for about 30 s with ASan (fuzz/README.md); not part of `test`.
fuzz-smoke: apt
	fuzz/smoke 30

# bench: the baselines and tools the sidecar bench drives (only these targets install them):
# nginx (static baseline), h2load + nghttpx (cross-check), perf (profile).
BENCH_APT := nginx-light nghttp2-client nghttp2-proxy linux-perf
bench-deps: apt venv
	@missing=""; for p in $(BENCH_APT); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing || \
	    echo "warning: could not install$$missing; the bench skips what is missing"; \
	fi

bench-build: apt
	$(SWIFT) build -c release --product capgate
	$(SWIFT) build -c release --product capgate-bench

# Full run (~10 min): bench/reports/<date>-<commit>/ and docs/benchmarks.md.
bench: bench-deps bench-build
	"$$($(SWIFT) build -c release --show-bin-path)/capgate-bench" --python $(PY) --publish-docs docs/benchmarks.md

# 2 sidecars on PostgreSQL vs 1 on SQLite alone (~1 min; `apt` installs postgresql):
# bench/reports/<date>-<commit>-fleet/ and the fleet section of docs/benchmarks.md (the rest of the page
# is left as it is). FLEET_BENCH_ARGS e.g. "--seconds 10" or "--quick".
bench-fleet: bench-build
	"$$($(SWIFT) build -c release --show-bin-path)/capgate-bench" --only fleet --publish-docs docs/benchmarks.md $(FLEET_BENCH_ARGS)

# The harness smoke test alone (not in `make test`: it saturates both cores for ~14 s).
bench-smoke: apt
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --filter SidecarBenchTests

# About 1 s per point, no profile, the Python client point included: bench/reports/<date>-<commit>-quick/
# (keeps the harness working).
bench-quick: bench-deps bench-build
	"$$($(SWIFT) build -c release --show-bin-path)/capgate-bench" --quick --python $(PY)

# Hardening harnesses (tools/hardening/README.md, results in docs/hardening.md "Live attacks,
# soak and TLS scan"); none is part of `test`: they saturate the machine or run for an hour.
hardening-build: apt
	$(SWIFT) build -c release --product capgate

# Every flood of docs/hardening.md against a release demo sidecar while a legit agent measures
# (~9 min): bench/reports/<date>-<commit>-attack/. ATTACK_ARGS e.g. "--only hpack_bomb --seconds 20".
attack: venv hardening-build
	nice -n 5 $(PY) tools/hardening/attack.py $(ATTACK_ARGS)

# Six churning agents for SOAK_MINUTES (default 60) with the server's RSS and descriptors every
# minute: bench/reports/<date>-<commit>-soak/.
soak: py-client hardening-build
	SOAK_MINUTES=$${SOAK_MINUTES:-60} nice -n 5 $(PY) tools/hardening/soak.py

# testssl.sh (Debian) and sslyze (PyPI), installed only by this target, against the demo.
SCAN_APT := testssl.sh
SCAN_PY_DEPS := "sslyze>=6.3,<7"
scan-deps: apt venv
	@missing=""; for p in $(SCAN_APT); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@$(PY) -c "import sslyze" 2>/dev/null || $(PY) -m pip install -q $(SCAN_PY_DEPS)

scan: scan-deps hardening-build
	$(PY) tools/hardening/scan.py

clean:
	rm -rf .build .build-*
