package report_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/runbook-hpc/runbook/engine/evidence"
	"github.com/runbook-hpc/runbook/engine/report"
)

// Redacted copies the run by reflection instead of a JSON round trip (for
// speed); the copy and every file rendered from it must be what the round
// trip gave.
func TestRedactedMatchesJSONRoundTrip(t *testing.T) {
	red := evidence.NewRedactor(secretVar, becomePW, secretJSON)
	odd := sampleRun("apply")
	odd.Redactor = red
	odd.Variables = map[string]string{}      // omitempty and empty: nil after the round trip
	odd.Hosts[0].Steps[0].Notes = []string{} // the same for a slice
	odd.Hosts[0].Steps[1].Title = "bad \xff\xfe utf-8 " + secretVar
	odd.Hosts[0].Steps[2].Started = time.Now() // local, with a monotonic reading
	odd.Hosts[0].Steps[2].Ended = time.Now().Add(time.Second)
	odd.Hosts[0].Steps[3].Started = t0.In(time.FixedZone("CET", 3600))
	odd.Hosts[0].Steps[3].Outputs = &report.Outputs{Type: json.RawMessage(`"string"`), Value: json.RawMessage(`"plain <b> ` + secretVar + `"`)}
	odd.Hosts[0].Steps[4].Outputs = &report.Outputs{Type: json.RawMessage(`"string"`), Value: json.RawMessage(`"nothing secret"`)}
	odd.Hosts[0].Steps[5].Outputs = &report.Outputs{Type: json.RawMessage(`["list","string"]`), Value: json.RawMessage(`["1\n","\u003cb\u003e \"q\"","x"]`)}
	escaped, _ := json.Marshal("a " + secretJSON + " b\n")
	odd.Hosts[0].Steps[6].Outputs = &report.Outputs{Type: json.RawMessage(`"string"`), Value: escaped}
	odd.BuildChecklist()

	// Outputs that are no JSON (a secret's replacement can break them)
	// make the whole run unmarshalable: the same record as before.
	invalid := sampleRun("apply")
	invalid.Redactor = red
	invalid.Hosts[1].Steps[0].Outputs = &report.Outputs{Type: json.RawMessage(`"string"`), Value: json.RawMessage(`not json ` + becomePW)}

	sec := secretRun(t, red)
	sec.Redactor = red
	sec.BuildChecklist()

	for name, r := range map[string]*report.Run{"secrets": sec, "odd": odd, "invalid": invalid} {
		got, want := r.Redacted(), report.RedactedViaJSON(r)
		if !reflect.DeepEqual(got, want) {
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(want)
			t.Errorf("%s: Redacted differs from the JSON round trip:\n got %s\nwant %s", name, gj, wj)
		}
		for _, f := range []struct {
			name   string
			render func(*report.Run) ([]byte, error)
		}{
			{"json", report.JSON}, {"html", report.HTML}, {"junit", report.JUnit},
			{"md", func(r *report.Run) ([]byte, error) { return []byte(report.Markdown(r)), nil }},
		} {
			g, err1 := f.render(got)
			w, err2 := f.render(want)
			if err1 != nil || err2 != nil || string(g) != string(w) {
				t.Errorf("%s: %s rendering differs (%v, %v)", name, f.name, err1, err2)
			}
		}
	}
}
