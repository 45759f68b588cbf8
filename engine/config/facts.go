package config

import "github.com/hashicorp/hcl/v2"

// UsesFacts reports whether any expression of the runbook reads
// host.facts (or the whole host object), so that facts are gathered only
// for runbooks that need them: gathering is one command per host, but
// one a runbook that never reads them should not pay.
func UsesFacts(c *Config) bool {
	reads := func(trs []hcl.Traversal) bool {
		for _, tr := range trs {
			if tr.RootName() != "host" {
				continue
			}
			if len(tr) == 1 {
				return true
			}
			if a, ok := tr[1].(hcl.TraverseAttr); ok && a.Name == "facts" {
				return true
			}
		}
		return false
	}
	for _, l := range c.Locals {
		if reads(l.Expr.Variables()) {
			return true
		}
	}
	for _, o := range c.Outputs {
		if o.Value != nil && reads(o.Value.Variables()) {
			return true
		}
	}
	for _, m := range c.Modules {
		for _, l := range m.Locals {
			if reads(l.Expr.Variables()) {
				return true
			}
		}
		for _, a := range m.Inputs {
			if reads(a.Expr.Variables()) {
				return true
			}
		}
		for _, o := range m.Outputs {
			if o.Value != nil && reads(o.Value.Variables()) {
				return true
			}
		}
	}
	for _, s := range c.Steps {
		if reads(s.traversals()) || (s.ForEach != nil && reads(s.ForEach.Variables())) {
			return true
		}
	}
	return false
}
