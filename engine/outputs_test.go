package engine

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/runbook-hpc/runbook/engine/evidence"
	"github.com/zclconf/go-cty/cty"
)

// TestEncodeOutputsRedactsValuesNotText: a secret that also matches JSON
// punctuation around a value must not break the outputs document (which
// used to turn the whole record into an empty one), and a secret inside a
// string is still replaced, escaped characters included.
func TestEncodeOutputsRedactsValuesNotText(t *testing.T) {
	e := &Engine{opts: Options{Redactor: evidence.NewRedactor(":12", `p<w"d`)}}
	out := e.encodeOutputs(map[string]cty.Value{
		"stdout":    cty.StringVal("token x:12y and p<w\"d\n"),
		"exit_code": cty.NumberIntVal(12),
	})
	if out == nil {
		t.Fatal("no outputs")
	}
	if !json.Valid(out.Value) {
		t.Fatalf("outputs are not JSON: %s", out.Value)
	}
	var got struct {
		Stdout   string `json:"stdout"`
		ExitCode int    `json:"exit_code"`
	}
	if err := json.Unmarshal(out.Value, &got); err != nil {
		t.Fatal(err)
	}
	if got.Stdout != "token x(sensitive)y and (sensitive)\n" || got.ExitCode != 12 {
		t.Errorf("got %+v", got)
	}
	if strings.Contains(string(out.Value), "p<w") || strings.Contains(string(out.Value), `p\u003cw`) {
		t.Errorf("secret left in %s", out.Value)
	}
}
