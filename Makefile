# runbook: the two commands a new user needs are `make demo` and `make test`.
SHELL      := /bin/bash
GO         ?= go
BIN        := bin/runbook
TESTBED_DIR ?= /tmp/runbook-testbed
export TESTBED_DIR

.PHONY: all build version deb deb-lint test deps oracles unit e2e fuzz-ci demo demo-monitoring testbed testbed-down testbed-reset testbed-status fmt vet bench fuzz clean

all: build

# The version stamped into the binary (runbook version, report.json, saved
# plans): the nearest v* tag as git describe puts it, without the v (0.2.0,
# 0.2.0-3-g1a2b3c4, …-dirty); before the first tag, $(DEV_VERSION)+g<commit>.
# Without git (a source tarball) nothing is stamped and runbook reads the
# go command's build information instead. `make build VERSION=…` overrides.
DEV_VERSION := 0.1.0-dev
ifeq ($(origin VERSION),undefined)
VERSION := $(shell git describe --tags --always --dirty --match 'v[0-9]*' 2>/dev/null | \
	sed -e 's/^v\([0-9]\)/\1/;t' -e 's/^/$(DEV_VERSION)+g/')
endif
LDFLAGS := $(if $(VERSION),-X main.version=$(VERSION))

# Print that version (what make build and make deb stamp).
version:
	@echo '$(VERSION)'

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/runbook

# A Debian package: DIST/runbook_<version>_<arch>.deb (cmd/mkdeb: the binary,
# stripped, its man pages and shell completions, the runbooks under
# /usr/share/runbook, the docs under /usr/share/doc/runbook). Install it with
# sudo dpkg -i dist/runbook_*.deb.
DIST    ?= dist
DEB_BIN := bin/deb/runbook
deb:
	$(GO) build -trimpath -buildmode=pie -ldflags '-s -w $(LDFLAGS)' -o $(DEB_BIN) ./cmd/runbook
	$(GO) run ./cmd/mkdeb -binary $(DEB_BIN) -src . -out $(DIST)

# Debian's package checker on the newest .deb (installs lintian when it is
# missing; not part of make test). Warnings fail it, as errors do.
deb-lint: deb
	@dpkg -s lintian >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends lintian >/dev/null; }
	lintian --fail-on error,warning "$$(ls -t $(DIST)/runbook_*.deb | head -n 1)"

# Unit tests, then the end-to-end suite against the real Slurm testbed,
# which this target brings up itself (installing packages when missing),
# then every fuzz target for a bounded time.
test: build vet deps oracles testbed unit e2e fuzz-ci

# Test-only packages from Debian: Chromium (and CJK fonts for the Korean
# checklist lines) for the report.html screenshot test; ansible-core for
# the tests that hold runbook's inventory reading against ansible-inventory;
# man-db and bash-completion for the test that installs the .deb and reads
# its man pages and completion.
TEST_DEBS := chromium fonts-noto-cjk ansible-core man-db bash-completion libxml2-utils busybox
deps:
	@missing=""; for p in $(TEST_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# The terraform the oracle tests compare runbook's functions and --var
# reading with (built once from the Go module proxy, then cached).
oracles:
	GO=$(GO) testbed/install-terraform

vet:
	$(GO) vet ./...
	$(GO) vet -tags e2e ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi

# Plain `go test` skips the report.html screenshot test without Chromium
# and the Terraform oracle tests without terraform; here (deps and oracles
# install them) a missing browser or terraform is a failure.
unit:
	RUNBOOK_REQUIRE_BROWSER=1 RUNBOOK_REQUIRE_ORACLES=1 $(GO) test -count=1 ./...

# Only the packages with end-to-end tests (testbed/ first: it checks the cluster
# itself); -p 1 because they share one cluster. `make unit` never touches it.
E2E_PKGS := ./testbed/ ./runbooks/ ./engine/transport/ ./engine/facts/ ./inventory/ ./cmd/runbook/
e2e: build testbed
	set -a; . $(TESTBED_DIR)/env; set +a; \
	$(GO) test -count=1 -tags e2e -timeout 40m -p 1 $(E2E_PKGS)

# The main job: a Slurm testbed on this machine, then Phase 2 on it.
demo: build testbed
	testbed/reset
	set -a; . $(TESTBED_DIR)/env; set +a; \
	$(BIN) apply runbooks/phase2.hcl -i $(TESTBED_DIR)/inventory.hcl --var account=hpc-users --auto-approve
	@echo; echo "== completion checklist =="; cat "$$(ls -1d .runbook/runs/*-phase2 | tail -n 1)/checklist.md"

# The monitoring stack on the testbed (runbooks/monitoring.hcl), then Phase 2
# with its --metrics-file in the textfile directory, then what Prometheus holds.
PROM_TEXTFILE := /var/lib/prometheus/node-exporter
demo-monitoring: build testbed
	testbed/reset
	set -a; . $(TESTBED_DIR)/env; set +a; \
	$(BIN) apply runbooks/monitoring.hcl -i $(TESTBED_DIR)/inventory.hcl --auto-approve && \
	$(BIN) apply runbooks/phase2.hcl -i $(TESTBED_DIR)/inventory.hcl --var account=hpc-users --auto-approve \
		--metrics-file $(PROM_TEXTFILE)/runbook_phase2.prom
	/usr/local/sbin/slurm-qos-metrics
	@echo; echo "== Prometheus (http://127.0.0.1:9090), after its next scrape =="; \
	for i in $$(seq 30); do promtool query instant http://127.0.0.1:9090 'runbook_run_success{runbook="phase2"}' | grep -q . && break; sleep 1; done; \
	promtool query instant http://127.0.0.1:9090 '{__name__=~"slurm_qos_.*|runbook_run_success|runbook_checklist_items_ticked"}'

testbed:
	testbed/up

testbed-down:
	testbed/down

testbed-reset:
	testbed/reset

testbed-status:
	testbed/status

fmt:
	gofmt -w $$(git ls-files '*.go')
	$(BIN) fmt -w runbooks/

# Every Fuzz* target for FUZZTIME each; a crasher fails the build and is
# left in testdata/fuzz/ to commit as a regression case. A run that ends
# in a bare "context deadline exceeded" with no failing input written is
# Go 1.26's fuzz coordinator racing its own -fuzztime deadline on a busy
# machine (golang/go#75804, fixed in Go 1.27), not a finding: it hit about
# one target in fourteen per run here, so such a target runs again, up to
# four times in all; any other failure, or a written crasher, counts at once.
FUZZTIME ?= 10s
fuzz-ci:
	@set -e; log=$$(mktemp); trap 'rm -f $$log' EXIT; \
	for f in $$(grep -rl --include='*_test.go' '^func Fuzz' . | grep -v '^./bench/'); do \
		dir=$$(dirname $$f); \
		for t in $$(grep -o '^func Fuzz[A-Za-z0-9_]*' $$f | sed 's/^func //'); do \
			for try in 1 2 3 4; do \
				echo "fuzz $$dir $$t ($(FUZZTIME))"; \
				if $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$dir 2>&1 | tee $$log; test $${PIPESTATUS[0]} -eq 0; then break; fi; \
				if [ $$try != 4 ] && grep -q 'context deadline exceeded' $$log && ! grep -q 'Failing input written' $$log; then \
					echo "fuzz $$t: the coordinator's deadline race (golang/go#75804), no failing input: once more"; continue; \
				fi; \
				echo "FAIL: $$t in $$dir"; exit 1; \
			done; \
		done; \
	done

fuzz:
	$(MAKE) fuzz-ci FUZZTIME=60s

# Benchmarks against raw SSH and Ansible (about 30 min); writes docs/performance.md.
bench:
	$(GO) run ./bench $(BENCH_FLAGS)

clean:
	rm -rf bin .runbook dist
