package report_test

import (
	"os"
	"testing"

	"github.com/runbook-hpc/runbook/engine/report"
)

func TestTmpWriteHTML(t *testing.T) {
	r := phase2Run()
	r.BuildChecklist()
	b, err := report.HTML(r)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile("/tmp/shots/phase2.html", b, 0o644)
}
