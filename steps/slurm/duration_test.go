package slurm

import "testing"

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		bare Unit
		kind DurationKind
		secs int64
		out  string
	}{
		{"60", UnitSeconds, DurationFinite, 60, "00:01:00"},   // GraceTime=60 reads back 00:01:00
		{"60", UnitMinutes, DurationFinite, 3600, "01:00:00"}, // MaxWall=60 reads back 01:00:00
		{"90", UnitMinutes, DurationFinite, 5400, "01:30:00"},
		{"8:00:00", UnitMinutes, DurationFinite, 28800, "08:00:00"},
		{"08:00:00", UnitSeconds, DurationFinite, 28800, "08:00:00"},
		{"1:30", UnitMinutes, DurationFinite, 90, "00:01:30"}, // MM:SS
		{"00:01:00", UnitSeconds, DurationFinite, 60, "00:01:00"},
		{"1-0", UnitMinutes, DurationFinite, 86400, "1-00:00:00"},
		{"1-2", UnitMinutes, DurationFinite, 93600, "1-02:00:00"}, // D-HH: GrpWall=1-2 reads 1-02:00:00
		{"1-02:30", UnitMinutes, DurationFinite, 95400, "1-02:30:00"},
		{"2-03:04:05", UnitMinutes, DurationFinite, 2*86400 + 3*3600 + 4*60 + 5, "2-03:04:05"},
		{"24:00:00", UnitMinutes, DurationFinite, 86400, "1-00:00:00"},
		// Any uint32 second count, as runbook writes GraceTime back (fuzz find).
		{"1666668000", UnitSeconds, DurationFinite, 1666668000, "19290-03:20:00"},
		{" 0 ", UnitSeconds, DurationFinite, 0, "00:00:00"},
		{"UNLIMITED", UnitMinutes, DurationUnlimited, 0, "UNLIMITED"},
		{"infinite", UnitMinutes, DurationUnlimited, 0, "UNLIMITED"},
		{"", UnitMinutes, DurationUnset, 0, ""},
		{"-1", UnitMinutes, DurationUnset, 0, ""},
		{"N/A", UnitMinutes, DurationUnset, 0, ""},
		{"NONE", UnitMinutes, DurationUnset, 0, ""},
	}
	for _, tc := range tests {
		d, err := ParseDuration(tc.in, tc.bare)
		if err != nil {
			t.Errorf("ParseDuration(%q, %v): %v", tc.in, tc.bare, err)
			continue
		}
		if d.Kind != tc.kind || d.Seconds != tc.secs || d.String() != tc.out {
			t.Errorf("ParseDuration(%q, %v) = %+v %q, want kind %v secs %d %q", tc.in, tc.bare, d, d.String(), tc.kind, tc.secs, tc.out)
		}
	}
	for _, bad := range []string{"8h", "1:2:3:4", "1-", "-5", "1--2", "a:b", "1:-2", "1.5", "+5", ":30", "1-2-3", "99999999999", "1 2"} {
		if d, err := ParseDuration(bad, UnitMinutes); err == nil {
			t.Errorf("ParseDuration(%q) = %+v, want error", bad, d)
		}
	}
}

func TestFormatSeconds(t *testing.T) {
	for secs, want := range map[int64]string{0: "00:00:00", 59: "00:00:59", 3600: "01:00:00", 86399: "23:59:59", 86400: "1-00:00:00", 10 * 86400: "10-00:00:00", -1: ""} {
		if got := FormatSeconds(secs); got != want {
			t.Errorf("FormatSeconds(%d) = %q, want %q", secs, got, want)
		}
	}
}
