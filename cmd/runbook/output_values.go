package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/runbook-hpc/runbook/engine/report"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// printOutputs prints the runbook's output values per host, after plan
// or apply: how a read-only runbook shows its answers.
func printOutputs(w io.Writer, r *report.Run) {
	r = r.Redacted()
	any := false
	for _, h := range r.Hosts {
		if len(h.Outputs) > 0 {
			any = true
		}
	}
	if !any {
		return
	}
	fmt.Fprintln(w, "\nOutputs:")
	for _, h := range r.Hosts {
		if len(h.Outputs) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n  %s\n", h.Name)
		width := 0
		for _, o := range h.Outputs {
			width = max(width, len(o.Name))
		}
		for _, o := range h.Outputs {
			fmt.Fprintf(w, "    %-*s = %s\n", width, o.Name, indentAfterFirst(outputText(o), strings.Repeat(" ", width+7)))
		}
	}
}

// outputText renders one output value as HCL would write it.
func outputText(o *report.OutputValue) string {
	switch {
	case o.Error != "":
		return "(error) " + o.Error
	case o.Sensitive:
		return "(sensitive)"
	case o.Unknown:
		return "(known after apply)"
	}
	return hclText(o.Type, o.Value)
}

// hclText writes a cty JSON value as an HCL expression (strings quoted,
// objects as { a = 1 }), falling back to the JSON itself.
func hclText(typ, val json.RawMessage) string {
	ty, err := ctyjson.UnmarshalType(typ)
	if err != nil {
		return string(val)
	}
	v, err := ctyjson.Unmarshal(val, ty)
	if err != nil {
		return string(val)
	}
	if v.Type() == cty.String && !v.IsNull() && !strings.Contains(v.AsString(), "\n") {
		return string(hclwrite.TokensForValue(v).Bytes())
	}
	if v.Type() == cty.String && !v.IsNull() {
		return "<<EOT\n" + strings.TrimRight(v.AsString(), "\n") + "\nEOT"
	}
	return strings.TrimSpace(string(hclwrite.TokensForValue(v).Bytes()))
}

func indentAfterFirst(s, prefix string) string {
	return strings.ReplaceAll(s, "\n", "\n"+prefix)
}

// printReads prints, with --show-reads, what each read-only step read on
// each host: its results, as step.NAME.* gives them to other steps.
func printReads(w io.Writer, r *report.Run, show bool) {
	if !show {
		return
	}
	r = r.Redacted()
	fmt.Fprintln(w, "\nReads:")
	for _, h := range r.Hosts {
		fmt.Fprintf(w, "\n  %s\n", h.Name)
		for _, s := range h.Steps {
			if s.Action != "read" || s.Outputs == nil {
				continue
			}
			fmt.Fprintf(w, "    step.%s:\n", s.Name)
			ty, err := ctyjson.UnmarshalType(s.Outputs.Type)
			if err != nil {
				continue
			}
			v, err := ctyjson.Unmarshal(s.Outputs.Value, ty)
			if err != nil || !v.Type().IsObjectType() {
				continue
			}
			attrs := v.AsValueMap()
			names := make([]string, 0, len(attrs))
			for n := range attrs {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				b, _ := ctyjson.Marshal(attrs[n], attrs[n].Type())
				tb, _ := ctyjson.MarshalType(attrs[n].Type())
				fmt.Fprintf(w, "      %s = %s\n", n, indentAfterFirst(hclText(tb, b), "        "))
			}
		}
	}
}

// outputErrors is the exit for outputs that could not be evaluated (an
// output that reads a skipped step): the runbook is wrong, exit 3, with
// each error's file:line.
func outputErrors(r *report.Run) error {
	var errs []string
	for _, h := range r.Redacted().Hosts {
		for _, o := range h.Outputs {
			if o.Error != "" {
				errs = append(errs, fmt.Sprintf("output %q on %s: %s", o.Name, h.Name, o.Error))
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return exitWith(exitInvalid, "%s", strings.Join(errs, "\n"))
}
