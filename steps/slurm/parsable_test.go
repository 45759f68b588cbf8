package slurm

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseParsableHeader(t *testing.T) {
	tests := []struct {
		fixture string
		columns []string
		rows    [][]string
	}{
		{"facts/sacctmgr_show_qos_p", []string{"Name", "Priority", "MaxWall", "MaxTRESPU", "GraceTime"},
			[][]string{{"moonlight", "100", "08:00:00", "gres/gpu=2", "00:01:00"}}},
		{"facts/sacctmgr_show_qos_maxtres_p", []string{"Name", "Priority", "MaxWall", "MaxTRESPU", "MaxTRES", "MaxJobsPU", "GraceTime"},
			[][]string{{"moonlight", "50", "08:00:00", "gres/gpu=2", "gres/gpu=20000", "2", "00:01:00"}}},
		{"facts/sacctmgr_show_assoc_p", []string{"User", "Account", "QOS"},
			[][]string{{"", "root", "normal"}, {"root", "root", "normal"}, {"", "hpc-users", "normal"}, {"koopark", "hpc-users", "moonlight,normal"}}},
		{"facts/sacct_X_P", []string{"JobID", "User", "QOS", "Partition", "AllocTRES", "State", "Elapsed"},
			[][]string{{"1", "koopark", "moonlight", "viz", "billing=1,cpu=1,gres/gpu=1,node=1", "COMPLETED", "00:00:00"}}},
		{"facts/sacct_p_steps", []string{"JobID", "User", "QOS", "Partition", "AllocTRES", "State", "Elapsed"},
			[][]string{{"1", "koopark", "moonlight", "viz", "billing=1,cpu=1,gres/gpu=1,node=1", "COMPLETED", "00:00:00"},
				{"1.batch", "", "", "", "cpu=1,gres/gpu=1,mem=0,node=1", "COMPLETED", "00:00:00"}}},
		{"facts/sacctmgr_show_qos_readded_p", []string{"Name", "Priority", "MaxWall", "MaxTRESPU", "GraceTime"},
			[][]string{{"moonlight", "0", "", "", "00:00:00"}}},
		{"real/sacctmgr_show_assoc_P", []string{"Cluster", "Account", "User", "Partition", "QOS", "Def QOS"}, nil},
		{"real/sacct_jobs_p_header", []string{"JobID", "JobName", "User", "QOS", "Partition", "AllocTRES", "State", "Elapsed", "ExitCode"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.fixture, func(t *testing.T) {
			f := load(t, tc.fixture)
			tb, err := ParseParsableHeader(f.stdout)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(tb.Columns, tc.columns) {
				t.Errorf("columns = %q, want %q", tb.Columns, tc.columns)
			}
			if tc.rows != nil && !reflect.DeepEqual(tb.Rows, tc.rows) {
				t.Errorf("rows = %q, want %q", tb.Rows, tc.rows)
			}
		})
	}
}

func TestParseParsableAllQoSColumns(t *testing.T) {
	for _, fx := range []string{"facts/sacctmgr_show_qos_all_p", "real/sacctmgr_show_qos_all_p"} {
		tb, err := ParseParsableHeader(load(t, fx).stdout)
		if err != nil {
			t.Fatal(fx, err)
		}
		if len(tb.Columns) != 26 || len(tb.Rows) != 1 {
			t.Fatalf("%s: %d columns %d rows", fx, len(tb.Columns), len(tb.Rows))
		}
		if v, _ := tb.Value(0, "usagefactor"); v != "1.000000" {
			t.Errorf("%s: UsageFactor = %q", fx, v)
		}
		if v, _ := tb.Value(0, "PREEMPTMODE"); v != "cluster" {
			t.Errorf("%s: PreemptMode = %q", fx, v)
		}
		// Every header sacctmgr printed for the default format list is a
		// known field header or a column runbook does not manage.
		for _, c := range tb.Columns {
			if _, ok := LookupField(c); !ok {
				switch c {
				case "Name", "GrpTRESMins", "GrpTRESRunMins", "MaxTRESMins":
				default:
					t.Errorf("%s: header %q not in the catalogue", fx, c)
				}
			}
		}
	}
}

func TestParseParsableNoHeader(t *testing.T) {
	tests := []struct {
		fixture string
		columns []string
		rows    int
	}{
		{"facts/sacctmgr_show_qos_P_n", []string{"Name", "Priority", "MaxWall", "MaxTRESPU", "GraceTime"}, 1},
		{"facts/sacct_X_P_n", []string{"JobID", "User", "QOS", "Partition", "AllocTRES", "State", "Elapsed"}, 1},
		{"real/sacct_jobs_P_n", DefaultSacctFields, 3},
		{"real/sacctmgr_show_qos_absent", []string{"Name", "Priority"}, 0},
	}
	for _, tc := range tests {
		tb, err := ParseParsableNoHeader(load(t, tc.fixture).stdout, tc.columns)
		if err != nil {
			t.Fatal(tc.fixture, err)
		}
		if len(tb.Rows) != tc.rows {
			t.Errorf("%s: %d rows, want %d", tc.fixture, len(tb.Rows), tc.rows)
		}
	}
	// -p rows (trailing '|') without header.
	tb, err := ParseParsableNoHeader([]byte("moonlight|100|\r\nx|1|\n"), []string{"Name", "Priority"})
	if err != nil || !reflect.DeepEqual(tb.Rows, [][]string{{"moonlight", "100"}, {"x", "1"}}) {
		t.Errorf("trailing pipe: %q %v", tb, err)
	}
	m := tb.Maps()
	if v, ok := m[1].Get("priority"); !ok || v != "1" {
		t.Errorf("Maps/Get = %q %v", v, ok)
	}
}

func TestParseParsableErrors(t *testing.T) {
	fixed := []string{"facts/sacctmgr_show_qos_fixed", "facts/sacct_fixed_alloctres", "facts/sacctmgr_show_qos_maxtres_fixed",
		"facts/sacctmgr_show_user_withassoc_fixed", "real/sacct_fixed_width"}
	for _, fx := range fixed {
		out := load(t, fx).stdout
		if err := DetectFixedWidth(out); !errors.Is(err, ErrFixedWidth) {
			t.Errorf("%s: DetectFixedWidth = %v", fx, err)
		}
		if _, err := ParseParsableHeader(out); !errors.Is(err, ErrFixedWidth) {
			t.Errorf("%s: ParseParsableHeader = %v", fx, err)
		}
		if _, err := ParseParsableNoHeader(out, []string{"a"}); !errors.Is(err, ErrFixedWidth) {
			t.Errorf("%s: ParseParsableNoHeader = %v", fx, err)
		}
	}
	bad := []struct {
		name string
		out  string
		cols []string
	}{
		{"empty", "", nil},
		{"header without pipes", "      Name   Priority\n", nil},
		{"short row", "A|B|C\n1|2\n", nil},
		{"pipe in value", "A|B\n1|2|3\n", nil},
		{"p form row without trailing pipe", "A|B|\n1|2\n", nil},
		{"no columns", "x\n", []string{}},
		{"wrong count", "a|b|c\n", []string{"A", "B"}},
	}
	for _, tc := range bad {
		var err error
		if tc.cols == nil {
			_, err = ParseParsableHeader([]byte(tc.out))
		} else {
			_, err = ParseParsableNoHeader([]byte(tc.out), tc.cols)
		}
		if err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	if err := DetectFixedWidth([]byte("Name|Priority\nmoonlight|100\n")); err != nil {
		t.Errorf("parsable output flagged: %v", err)
	}
}
