# runbook: the two commands a new user needs are `make demo` and `make test`.
SHELL      := /bin/bash
GO         ?= go
BIN        := bin/runbook
TESTBED_DIR ?= /tmp/runbook-testbed
export TESTBED_DIR

.PHONY: all build test unit e2e demo testbed testbed-down testbed-reset testbed-status fmt vet bench fuzz clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/runbook

# Unit tests, then the end-to-end suite against the real Slurm testbed,
# which this target brings up itself (installing packages when missing).
test: build vet unit e2e

vet:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi

unit:
	$(GO) test -count=1 ./...

e2e: build testbed
	set -a; . $(TESTBED_DIR)/env; set +a; \
	$(GO) test -count=1 -tags e2e -timeout 40m -p 1 ./...

# The main job: a Slurm testbed on this machine, then Phase 2 on it.
demo: build testbed
	testbed/reset
	set -a; . $(TESTBED_DIR)/env; set +a; \
	$(BIN) apply runbooks/phase2.hcl -i $(TESTBED_DIR)/inventory.hcl --var account=hpc-users --auto-approve
	@echo; echo "== completion checklist =="; cat "$$(ls -1d .runbook/runs/*-phase2 | tail -n 1)/checklist.md"

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

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./engine/config/

clean:
	rm -rf bin .runbook
