package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/runbook-hpc/runbook/engine/graph"
)

// Graph builds the step graph from references and depends_on.
func (c *Config) Graph() *graph.Graph {
	g := graph.New()
	for _, s := range c.Steps {
		g.Add(s.Name)
	}
	for _, s := range c.Steps {
		for _, r := range s.Refs {
			_ = g.Connect(r, s.Name)
		}
		for _, d := range s.DependsOn {
			if c.byName[d] != nil {
				_ = g.Connect(d, s.Name)
			}
		}
		// A handler runs after every step that notifies it.
		for _, h := range s.Notify {
			if c.byName[h] != nil && h != s.Name {
				_ = g.Connect(s.Name, h)
			}
		}
	}
	return g
}

// Order returns the steps in the order they run: dependencies first,
// declaration order among independent steps. A cycle is a diagnostic
// naming every step in it.
func (c *Config) Order() ([]*Step, hcl.Diagnostics) {
	if c.Expanded() {
		// Expand already ordered the instances.
		return c.Steps, nil
	}
	names, err := c.Graph().Sort()
	var ce *graph.CycleError
	if errors.As(err, &ce) {
		var diags hcl.Diagnostics
		for _, cycle := range ce.Cycles {
			first := c.byName[cycle[0]]
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Dependency cycle between steps",
				Detail: fmt.Sprintf("These steps depend on each other, so none can run first: %s. Remove a reference, a depends_on or a notify entry.",
					"step."+strings.Join(cycle, ", step.")),
				Subject: first.DeclRange.Ptr(),
			})
		}
		return nil, diags
	}
	out := make([]*Step, len(names))
	for i, n := range names {
		out[i] = c.byName[n]
	}
	return out, nil
}
