package main

import (
	"fmt"
	"os"
	"strconv"
	"testing"
)

// BenchmarkApplyLoopback runs `runbook apply` in-process against the
// benchmark's loopback hosts, so the whole CLI path can be profiled:
//
//	go run ./bench -workloads 50x20 -runs 1 -ansible=false -phase2=false -cli=false -gobench=false -keep-fleet -out ''
//	RUNBOOK_BENCH_DIR=/var/tmp/runbook-bench/w50x20 \
//	  go test -run '^$' -bench ApplyLoopback -benchtime 5x -cpuprofile cpu.out ./cmd/runbook/ >/dev/null
//	go tool pprof -top cmd/runbook/runbook.test cpu.out
//
// Skipped unless RUNBOOK_BENCH_DIR names a workload directory written by
// bench/ (bench.hcl + inventory.hcl). RUNBOOK_BENCH_FORKS defaults to 200.
func BenchmarkApplyLoopback(b *testing.B) {
	dir := os.Getenv("RUNBOOK_BENCH_DIR")
	if dir == "" {
		b.Skip("set RUNBOOK_BENCH_DIR to a workload directory written by `go run ./bench -keep-fleet`")
	}
	forks := 200
	if f, err := strconv.Atoi(os.Getenv("RUNBOOK_BENCH_FORKS")); err == nil && f > 0 {
		forks = f
	}
	b.ReportAllocs()
	for b.Loop() {
		state := b.TempDir()
		code := run([]string{"apply", dir + "/bench.hcl", "-i", dir + "/inventory.hcl", "--auto-approve",
			"--forks", fmt.Sprint(forks), "--state-dir", state})
		if code != 0 {
			b.Fatalf("runbook apply exited %d", code)
		}
	}
}
