package planfile

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A plan carries its version as schema_version and, for older readers,
// as format_version; a plan written before schema_version existed is
// read by its format_version.
func TestPlanVersionFields(t *testing.T) {
	f := testPlan()
	f.SchemaVersion, f.FormatVersion = SchemaVersion, SchemaVersion
	path := filepath.Join(t.TempDir(), "p.plan")
	if err := Write(path, f); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["schema_version"] != float64(SchemaVersion) || m["format_version"] != float64(SchemaVersion) {
		t.Errorf("schema_version %v, format_version %v: want both %d", m["schema_version"], m["format_version"], SchemaVersion)
	}
	for name, c := range map[string]struct {
		schema, format any // nil: left out
		err            string
	}{
		"written now":                   {2, 2, ""},
		"written before schema_version": {nil, 2, ""},
		"newer":                         {3, 3, "plan schema_version 3; this runbook reads 2"},
		"newer, only schema_version":    {3, nil, "plan schema_version 3"},
		"older format only":             {nil, 1, "plan schema_version 1"},
	} {
		delete(m, "schema_version")
		delete(m, "format_version")
		if c.schema != nil {
			m["schema_version"] = c.schema
		}
		if c.format != nil {
			m["format_version"] = c.format
		}
		b, _ := json.Marshal(m)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Read(path)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: %v, want %q", name, err, c.err)
		}
	}
}
