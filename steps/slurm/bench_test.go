package slurm

import (
	"bytes"
	"testing"
)

func BenchmarkParseParsable(b *testing.B) {
	// A realistic sacct answer: 200 allocation rows.
	row := load(b, "real/sacct_jobs_P_n").stdout
	out := bytes.Repeat(row, 67)
	b.ReportAllocs()
	b.SetBytes(int64(len(out)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := ParseParsableNoHeader(out, DefaultSacctFields); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseSacct(b *testing.B) {
	out := bytes.Repeat(load(b, "real/sacct_jobs_P_n").stdout, 67)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := ParseSacct(out, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseScontrolJob(b *testing.B) {
	out := load(b, "facts/scontrol_show_job_pending_qosmaxgres").stdout
	b.ReportAllocs()
	b.SetBytes(int64(len(out)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := ParseScontrolJob(out); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDiff(b *testing.B) {
	desired := map[string]string{"GraceTime": "60", "MaxWall": "8:00:00", "MaxTRESPerUser": "gpu=2", "Priority": "100",
		"MaxJobsPerUser": "2", "Flags": "DenyOnLimit", "MaxTRESPerJob": "gres/gpu=1,cpu=8,mem=16G"}
	tb, err := ParseParsableHeader(load(b, "real/sacctmgr_show_qos_all_p").stdout)
	if err != nil {
		b.Fatal(err)
	}
	live := tb.Maps()[0]
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Diff(desired, live); err != nil {
			b.Fatal(err)
		}
	}
}
