package slurm

import (
	"bytes"
	"testing"
)

// Benchmarks of the parsers Phase 2 runs on every poll and read-back, on
// the real captures under testdata/ (bench_test.go has sacct, scontrol job
// and Diff). Run: go test -run '^$' -bench . -benchmem ./steps/slurm/

func benchParse(b *testing.B, fixture string, parse func([]byte) error) {
	out := load(b, fixture).stdout
	b.ReportAllocs()
	b.SetBytes(int64(len(out)))
	for b.Loop() {
		if err := parse(out); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseScontrolConfig(b *testing.B) {
	benchParse(b, "real/scontrol_show_config", func(out []byte) error { _, err := ParseScontrolConfig(out); return err })
}

func BenchmarkParsePartition(b *testing.B) {
	benchParse(b, "real/scontrol_show_partition_viz", func(out []byte) error { _, err := ParsePartition(out); return err })
}

func BenchmarkParseScontrolJobCompleted(b *testing.B) {
	benchParse(b, "real/scontrol_show_job_completed", func(out []byte) error { _, err := ParseScontrolJob(out); return err })
}

func BenchmarkParseShowQoS(b *testing.B) {
	fields := []string{"Priority", "MaxWall", "MaxTRESPerUser", "GraceTime"}
	benchParse(b, "facts/sacctmgr_show_qos_P_n", func(out []byte) error {
		_, _, err := ParseShowQoS(out, "moonlight", fields)
		return err
	})
}

func BenchmarkParseAssocs(b *testing.B) {
	out := load(b, "real/sacctmgr_show_assoc_P").stdout
	body := out[bytes.IndexByte(out, '\n')+1:]
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := ParseAssocs(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseAssocs1000 is a large site: 1,000 association rows.
func BenchmarkParseAssocs1000(b *testing.B) {
	out := load(b, "real/sacctmgr_show_assoc_P").stdout
	body := out[bytes.IndexByte(out, '\n')+1:]
	big := bytes.Repeat(body, 200)
	b.ReportAllocs()
	b.SetBytes(int64(len(big)))
	for b.Loop() {
		if _, err := ParseAssocs(big); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseSacct2000Rows(b *testing.B) {
	// 2,000 allocation rows: a month of a busy QoS in `sacct --qos`.
	out := bytes.Repeat(load(b, "real/sacct_jobs_P_n").stdout, 670)
	b.ReportAllocs()
	b.SetBytes(int64(len(out)))
	for b.Loop() {
		if _, err := ParseSacct(out, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkClassifySacctmgr(b *testing.B) {
	f := load(b, "facts/sacctmgr_add_qos")
	b.ReportAllocs()
	for b.Loop() {
		if r := ClassifySacctmgr(f.stdout, f.stderr, f.rc); !r.Success {
			b.Fatal(r.Outcome)
		}
	}
}

func BenchmarkParseTRES(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseTRES("billing=1,cpu=1,gres/gpu=1,gres/gpu:a100=1,mem=16G,node=1"); err != nil {
			b.Fatal(err)
		}
	}
}
