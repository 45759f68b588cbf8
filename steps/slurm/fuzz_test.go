package slurm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Seed corpora live in testdata/fuzz/FuzzX (generated from the fixtures);
// the f.Add calls below cover the interesting hand-written edge cases.

func fuzzFixtures(f *testing.F, glob string) {
	paths, _ := filepath.Glob(filepath.Join("testdata", glob))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
}

func FuzzParseParsable(f *testing.F) {
	fuzzFixtures(f, "*/sacct*.stdout")
	fuzzFixtures(f, "*/sacctmgr_show*.stdout")
	f.Add([]byte("A|B|\n1|2|\n"))
	f.Add([]byte("A|B\r\n1|2\r\n"))
	f.Add([]byte("---- ----\n"))
	f.Fuzz(func(t *testing.T, out []byte) {
		if tb, err := ParseParsableHeader(out); err == nil {
			for _, r := range tb.Rows {
				if len(r) != len(tb.Columns) {
					t.Fatalf("row %q has %d cells for %d columns", r, len(r), len(tb.Columns))
				}
			}
			_ = tb.Maps()
			_, _ = tb.Value(0, "x")
		}
		cols := []string{"A", "B", "C"}
		if tb, err := ParseParsableNoHeader(out, cols); err == nil {
			for _, r := range tb.Rows {
				if len(r) != len(cols) {
					t.Fatalf("row %q has %d cells", r, len(r))
				}
			}
		}
		_ = DetectFixedWidth(out)
		_, _ = ParseSacct(out, nil)
		_, _ = ParseAssocs(out)
		_, _ = ParseUserWithAssoc(out)
		_, _, _ = ParseShowQoS(out, "moonlight", []string{"MaxWall", "MaxTRESPerUser"})
	})
}

func FuzzParseScontrolJob(f *testing.F) {
	fuzzFixtures(f, "*/scontrol_show_job*.stdout")
	f.Add([]byte("JobId=1 JobName=a b=c\n   Command=x y\n"))
	f.Add([]byte("JobId=1 ExitCode=1:2 UserId=a(b)\n"))
	f.Fuzz(func(t *testing.T, out []byte) {
		jobs, err := ParseScontrolJobs(out)
		if err == nil {
			for _, j := range jobs {
				if j.JobID == "" {
					t.Fatal("job without id")
				}
				_ = IsTerminal(j.JobState)
				_ = LookupReason(j.Reason)
			}
		}
		_, _ = ParseScontrolJob(out)
		_, _ = ParsePartition(out)
		_, _ = ParseScontrolConfig(out)
		_, _, _ = ParseSbatchParsable(out)
	})
}

func FuzzParseTRES(f *testing.F) {
	for _, s := range []string{"billing=1,cpu=1,gres/gpu=1,node=1", "cpu=1,mem=2G,node=1,billing=1,gres/gpu=1", "gpu=2",
		"gres/gpu:2", "gres/gpu:20000", "gres/gpumem=1", "mem=1500", "mem=1048576K", "gres/gpu:a100=1", "cpu=-1", "", "-1",
		"license/x@y=1", "bb/cray=1P"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tr, err := ParseTRES(s)
		if err != nil {
			return
		}
		// Round trip: what String prints parses back to the same map.
		back, err := ParseTRES(tr.String())
		if err != nil {
			t.Fatalf("ParseTRES(%q) -> %q does not parse back: %v", s, tr.String(), err)
		}
		if len(back) != len(tr) {
			t.Fatalf("round trip %q -> %q -> %q", s, tr.String(), back.String())
		}
		for k, v := range tr {
			if back[k] != v {
				t.Fatalf("round trip %q: %s=%d became %d", s, k, v, back[k])
			}
		}
		_ = tr.Warnings()
		_ = Contains(tr, "gpu", 1)
	})
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"60", "8:00:00", "1-0", "1-02:03", "2-03:04:05", "UNLIMITED", "-1", "", "1:30", "99999999:59"} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, minutes bool) {
		unit := UnitSeconds
		if minutes {
			unit = UnitMinutes
		}
		d, err := ParseDuration(s, unit)
		if err != nil {
			return
		}
		if d.Kind == DurationFinite && d.Seconds < 0 {
			t.Fatalf("ParseDuration(%q) negative: %d", s, d.Seconds)
		}
		back, err := ParseDuration(d.String(), UnitSeconds)
		if err != nil || back != d {
			t.Fatalf("ParseDuration(%q) = %+v, String %q parses back to %+v, %v", s, d, d.String(), back, err)
		}
	})
}

// FuzzNormalize checks that canonical values are fixed points and that the
// set argument Diff emits makes the field equal to the desired value
// (with sacctmgr's TRES merge semantics simulated).
func FuzzNormalize(f *testing.F) {
	for i, v := range []string{"60", "8:00:00", "gpu=2", "cpu=4,mem=2G", "DenyOnLimit,nodecay", "normal,low", "suspend,gang", "1", "0.5", "Descr X"} {
		f.Add(uint8(i*2), v, "")
	}
	f.Add(uint8(14), "gres/gpu=2", "cpu=4,gres/gpu=1,mem=2G")
	f.Fuzz(func(t *testing.T, idx uint8, desired, live string) {
		fs := QoSFields()
		fld := fs[int(idx)%len(fs)]
		c, err := fld.Normalize(desired)
		if err != nil {
			return
		}
		c2, err := fld.Normalize(c)
		if err != nil || c2 != c {
			t.Fatalf("%s: Normalize(%q) = %q, Normalize again = %q, %v", fld.Name, desired, c, c2, err)
		}
		if _, err := fld.Normalize(live); err != nil {
			return
		}
		changes, err := Diff(map[string]string{fld.Name: desired}, map[string]string{fld.Header: live})
		if err != nil {
			if fld.Type == TypeString {
				return // a description cannot be cleared
			}
			t.Fatalf("%s: Diff(%q, %q): %v", fld.Name, desired, live, err)
		}
		for _, ch := range changes {
			if err := checkSetArg(ch.SetArg); err != nil {
				t.Fatalf("%s: bad SetArg: %v", fld.Name, err)
			}
			_, val, _ := strings.Cut(ch.SetArg, "=")
			var applied string
			if fld.Type == TypeTRES {
				cur, _ := ParseTRES(live)
				arg, err := ParseTRES(val)
				if err != nil {
					t.Fatalf("%s: SetArg %q does not parse: %v", fld.Name, ch.SetArg, err)
				}
				res := cur.Limits()
				for k, v := range arg {
					if v < 0 {
						delete(res, k)
					} else {
						res[k] = v
					}
				}
				applied = res.String()
			} else {
				applied, err = fld.Normalize(val)
				if err != nil {
					t.Fatalf("%s: SetArg %q does not normalize: %v", fld.Name, ch.SetArg, err)
				}
			}
			if applied != c {
				t.Fatalf("%s: desired %q (canonical %q), live %q: SetArg %q yields %q", fld.Name, desired, c, live, ch.SetArg, applied)
			}
		}
	})
}

func FuzzClassify(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*", "*.stderr"))
	for _, p := range paths {
		stdout, _ := os.ReadFile(strings.TrimSuffix(p, ".stderr") + ".stdout")
		stderr, _ := os.ReadFile(p)
		f.Add(stdout, stderr, 1)
	}
	f.Fuzz(func(t *testing.T, stdout, stderr []byte, rc int) {
		r := ClassifySacctmgr(stdout, stderr, rc)
		if r.Success != (r.Err() == nil) {
			t.Fatalf("Success=%v but Err=%v", r.Success, r.Err())
		}
		if r.Success && rc != 0 && r.Outcome != OutcomeAlreadyExists && r.Outcome != OutcomeNothingDeleted {
			t.Fatalf("rc %d classified as success %v", rc, r.Outcome)
		}
		_ = r.Outcome.String()
		if e := ClassifySubmit(stdout, stderr, rc); e != nil {
			_ = e.Error()
		}
		_ = ValidateName(KindQoS, string(stdout))
	})
}
