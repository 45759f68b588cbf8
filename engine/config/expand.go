package config

import (
	"fmt"
	"slices"
	"sort"
	"strconv"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Instance is one key of a for_each step: each.key and each.value.
type Instance struct {
	Key   string
	Value cty.Value
}

// Address is the address of a step instance as plans, reports and
// checklists show it, and as expressions write it: qos["moonlight"].
func Address(base, key string) string {
	return base + "[" + strconv.Quote(key) + "]"
}

// ForEachKeys turns a for_each value into instances, sorted by key as
// Terraform does: a map or object gives its keys and values, a set or list
// of strings gives each string as both key and value. A list with a
// string twice, a null, or an unknown value is an error.
func ForEachKeys(v cty.Value) ([]Instance, error) {
	switch {
	case v.IsNull():
		return nil, fmt.Errorf("for_each is null; use an empty map or set for no instances")
	case !v.IsWhollyKnown():
		return nil, fmt.Errorf("for_each is not known before any host is contacted")
	}
	ty := v.Type()
	var out []Instance
	switch {
	case ty.IsMapType() || ty.IsObjectType():
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			out = append(out, Instance{Key: k.AsString(), Value: e})
		}
	case ty.IsSetType() || ty.IsListType() || ty.IsTupleType():
		seen := map[string]bool{}
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			if e.IsNull() || e.Type() != cty.String {
				return nil, fmt.Errorf("for_each over a list or set takes strings; an element is %s", friendly(e))
			}
			k := e.AsString()
			if seen[k] {
				return nil, fmt.Errorf("for_each lists %q more than once; instance keys must be unique (use toset() to drop repeats on purpose)", k)
			}
			seen[k] = true
			out = append(out, Instance{Key: k, Value: e})
		}
	default:
		return nil, fmt.Errorf("for_each takes a map, or a set or list of strings, not %s", ty.FriendlyName())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func friendly(v cty.Value) string {
	if v.IsNull() {
		return "null"
	}
	return v.Type().FriendlyName()
}

// Expand returns the runbook as it runs: ordered steps (Order), each
// for_each step replaced by its instances in key order, references and
// depends_on turned into instance addresses, and each handler told which
// instances notify it. keys holds the instances of every for_each step.
// The result shares expressions with c; c itself is not changed.
func (c *Config) Expand(keys map[string][]Instance) (*Config, hcl.Diagnostics) {
	order, diags := c.Order()
	if diags.HasErrors() {
		return nil, diags
	}
	x := *c
	x.blocks = c.byName
	x.byName = map[string]*Step{}
	x.instances = map[string][]*Step{}
	x.forEach = map[string]bool{}
	x.Steps = nil
	for _, st := range order {
		if st.ForEach == nil {
			inst := *st
			x.instances[st.Name] = []*Step{&inst}
			continue
		}
		x.forEach[st.Name] = true
		insts := []*Step{}
		for _, k := range keys[st.Name] {
			inst := *st
			inst.Name, inst.Key = Address(st.Name, k.Key), k.Key
			inst.Each = cty.ObjectVal(map[string]cty.Value{"key": cty.StringVal(k.Key), "value": k.Value})
			insts = append(insts, &inst)
		}
		x.instances[st.Name] = insts
	}
	addresses := func(bases []string) []string {
		var out []string
		for _, b := range bases {
			for _, i := range x.instances[b] {
				out = append(out, i.Name)
			}
		}
		sort.Strings(out)
		return slices.Compact(out)
	}
	notifiers := map[string][]string{}
	for _, st := range order {
		for _, h := range st.Notify {
			for _, i := range x.instances[st.Name] {
				notifiers[h] = append(notifiers[h], i.Name)
			}
		}
	}
	for _, st := range order {
		for _, inst := range x.instances[st.Name] {
			inst.RefBases = st.Refs
			inst.Refs = addresses(st.Refs)
			inst.DependsOn = addresses(st.DependsOn)
			inst.NotifiedBy = notifiers[st.Name]
			x.byName[inst.Name] = inst
			x.Steps = append(x.Steps, inst)
		}
	}
	return &x, nil
}

// Expanded reports whether c is an expanded config (Expand's result).
func (c *Config) Expanded() bool { return c.instances != nil }

// Instances returns the instances of the step block named base in an
// expanded config (one for a step without for_each, none for a for_each
// over nothing), and whether base is a for_each step.
func (c *Config) Instances(base string) (insts []*Step, forEach bool) {
	return c.instances[base], c.forEach[base]
}

// Block returns the step block whose instances are addressed base (before
// or after Expand), or nil.
func (c *Config) Block(base string) *Step {
	if c.blocks != nil {
		return c.blocks[base]
	}
	return c.byName[base]
}
