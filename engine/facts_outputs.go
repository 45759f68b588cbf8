package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/runbook-hpc/runbook/engine/eval"
	"github.com/runbook-hpc/runbook/engine/facts"
	"github.com/runbook-hpc/runbook/engine/report"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// gatherFacts runs the facts script, one command, on a host whose
// runbook reads host.facts. It only reads, so a plan gathers them too.
func gatherFacts(ctx context.Context, tr transport.Transport) (cty.Value, error) {
	// The script's own worst case is a few seconds (hostname -f and
	// nvidia-smi run under timeout); a host that takes a minute is stuck.
	res, err := tr.Run(ctx, transport.Command{Line: facts.Script(), NoStdin: true, Timeout: time.Minute})
	if err != nil {
		return cty.NilVal, fmt.Errorf("gathering host facts: %w", err)
	}
	if res.ExitCode != 0 {
		return cty.NilVal, fmt.Errorf("gathering host facts: the script exited %d: %s", res.ExitCode, strings.TrimSpace(string(res.Stderr)))
	}
	f, err := facts.Parse(res.Stdout)
	if err != nil {
		return cty.NilVal, fmt.Errorf("gathering host facts: %w", err)
	}
	return f.Value(), nil
}

// evalOutputs evaluates the runbook's output blocks on one host, after
// its walk: a value that needs a step apply has yet to run is unknown
// (in a plan), one that reads a skipped or failed step is an error that
// says so.
func (e *Engine) evalOutputs(scope *eval.Scope, h *report.Host) []*report.OutputValue {
	cfg := e.cfg
	if len(cfg.Outputs) == 0 {
		return nil
	}
	status := map[string]*report.Step{}
	for _, s := range h.Steps {
		status[s.Name] = s
	}
	red := e.opts.Redactor
	var out []*report.OutputValue
	for _, o := range cfg.Outputs {
		ov := &report.OutputValue{Name: o.Name, Description: red.Redact(o.Description), Sensitive: o.Sensitive}
		out = append(out, ov)
		v, diags := scope.Output(o)
		if diags.HasErrors() {
			msg := diagError(diags).Error()
			for _, base := range o.Refs {
				insts, _ := cfg.Instances(base)
				for _, inst := range insts {
					if s := status[inst.Name]; s != nil && s.Status != report.StatusOK && !s.Succeeded() {
						msg = fmt.Sprintf("%s: output %q reads step.%s, which %s; %s", o.DeclRange, o.Name, inst.Name, describeStatus(s), msg)
					}
				}
			}
			ov.Error = red.Redact(msg)
			continue
		}
		if !v.IsWhollyKnown() {
			ov.Unknown = true
			continue
		}
		if o.Sensitive {
			continue
		}
		v, err := cty.Transform(v, func(_ cty.Path, s cty.Value) (cty.Value, error) {
			if s.Type() == cty.String && s.IsKnown() && !s.IsNull() {
				return cty.StringVal(red.Redact(s.AsString())), nil
			}
			return s, nil
		})
		if err != nil {
			ov.Error = err.Error()
			continue
		}
		ty, err := e.typeJSON(v.Type())
		if err == nil {
			var val []byte
			if val, err = ctyjson.Marshal(v, v.Type()); err == nil {
				ov.Type, ov.Value = ty, val
			}
		}
		if err != nil {
			ov.Error = err.Error()
		}
	}
	return out
}

func describeStatus(s *report.Step) string {
	switch s.Status {
	case report.StatusSkipped:
		return "was skipped (" + s.Summary + ")"
	case report.StatusUnknown:
		return "is known only after apply"
	case report.StatusNotRun:
		return "did not run"
	default:
		return s.Status
	}
}
