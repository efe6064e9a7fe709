# capgate: the two entry points are `make run` and `make test` (see README.md).
# Both install what is missing on a fresh Debian 12 machine with the Swift toolchain.
SHELL := /bin/bash
SWIFT ?= swift
VENV := .venv
PY := $(VENV)/bin/python
APT_PACKAGES := pkg-config libssl-dev libnghttp2-dev libpcre2-dev libcurl4-openssl-dev curl openssl
# The policy extra brings pyyaml, needed by the YAML policy goldens.
REFERENCE := weaver-kernel[policy]==0.12.0

.PHONY: run test deps apt venv build build-release goldens swift-test bench-kernel bench bench-quick bench-deps bench-build bench-smoke clean fuzz-smoke

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
	timeout 1200 $(SWIFT) test --skip-build --skip SidecarBenchTests

test: deps goldens swift-test

# The demo serves a release build: a debug build answers about 20x fewer requests per second,
# which misleads anyone measuring the demo. The first release build takes a few minutes.
run: apt
	$(SWIFT) build -c release --product capgate
	$(SWIFT) run -c release --skip-build capgate serve

bench-kernel: deps build-release
	$(SWIFT) run -c release kernel-bench

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

# The harness smoke test alone (not in `make test`: it saturates both cores for ~14 s).
bench-smoke: apt
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --filter SidecarBenchTests

# About 1 s per point, no profile: bench/reports/<date>-<commit>-quick/ (keeps the harness working).
bench-quick: bench-deps bench-build
	"$$($(SWIFT) build -c release --show-bin-path)/capgate-bench" --quick --python $(PY)

clean:
	rm -rf .build .build-*
