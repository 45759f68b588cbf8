package report_test

import (
	"testing"
	"time"

	"github.com/runbook-hpc/runbook/engine/report"
)

// HumanDuration is the one duration format of the HTML report and the
// live progress lines (it replaced cmd/runbook's fmtDuration, which
// printed the same thing).
func TestHumanDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0.0s"},
		{-time.Second, "0.0s"},
		{30 * time.Millisecond, "0.0s"},
		{400 * time.Millisecond, "0.4s"},
		{9400 * time.Millisecond, "9.4s"},
		{12300 * time.Millisecond, "12s"},
		{65 * time.Second, "1m05s"},
		{3725 * time.Second, "1h02m"},
		// Rounded to the unit shown, before the unit is chosen: no
		// "10.0s", "60s" or "60m00s".
		{9960 * time.Millisecond, "10s"},
		{9940 * time.Millisecond, "9.9s"},
		{59700 * time.Millisecond, "1m00s"},
		{59*time.Minute + 59700*time.Millisecond, "1h00m"},
		{59*time.Minute + 59*time.Second, "59m59s"},
		{25*time.Hour + 31*time.Second, "25h01m"},
	} {
		if got := report.HumanDuration(tc.d); got != tc.want {
			t.Errorf("HumanDuration(%s) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
