package facts

import (
	"github.com/zclconf/go-cty/cty"
)

var (
	osType = cty.Object(map[string]cty.Type{
		"id":            cty.String,
		"name":          cty.String,
		"version":       cty.String,
		"version_id":    cty.String,
		"version_major": cty.String,
		"codename":      cty.String,
		"family":        cty.String,
	})
	gpuType = cty.Object(map[string]cty.Type{
		"index":  cty.Number,
		"name":   cty.String,
		"uuid":   cty.String,
		"device": cty.String,
	})
	factsType = cty.Object(map[string]cty.Type{
		"os":              osType,
		"package_manager": cty.String,
		"init_system":     cty.String,
		"architecture":    cty.String,
		"hostname":        cty.String,
		"fqdn":            cty.String,
		"kernel":          cty.String,
		"cpus":            cty.Number,
		"memory_mb":       cty.Number,
		"gpus":            cty.List(gpuType),
		"gpu_count":       cty.Number,
		"notes":           cty.List(cty.String),
	})
)

// Type is the type of Value: the same for every host and every Facts,
// so a dry run can stand in cty.UnknownVal(facts.Type()) before gathering
// and expressions type-check either way.
func Type() cty.Type { return factsType }

// Value is host.facts as a runbook reads it: an object with snake_case
// attributes (os.id, os.version_id, os.family, package_manager, cpus,
// memory_mb, gpus[0].uuid, gpu_count, …). Absent facts are "" or 0,
// never null, and gpus is an empty list on a host without GPUs.
func (f Facts) Value() cty.Value {
	gpus := make([]cty.Value, 0, len(f.GPUs))
	for _, g := range f.GPUs {
		gpus = append(gpus, cty.ObjectVal(map[string]cty.Value{
			"index":  cty.NumberIntVal(int64(g.Index)),
			"name":   cty.StringVal(g.Name),
			"uuid":   cty.StringVal(g.UUID),
			"device": cty.StringVal(g.Device),
		}))
	}
	gpuList := cty.ListValEmpty(gpuType)
	if len(gpus) > 0 {
		gpuList = cty.ListVal(gpus)
	}
	notes := cty.ListValEmpty(cty.String)
	if len(f.Notes) > 0 {
		ns := make([]cty.Value, len(f.Notes))
		for i, n := range f.Notes {
			ns[i] = cty.StringVal(n)
		}
		notes = cty.ListVal(ns)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"os": cty.ObjectVal(map[string]cty.Value{
			"id":            cty.StringVal(f.OS.ID),
			"name":          cty.StringVal(f.OS.Name),
			"version":       cty.StringVal(f.OS.Version),
			"version_id":    cty.StringVal(f.OS.VersionID),
			"version_major": cty.StringVal(f.OS.VersionMajor),
			"codename":      cty.StringVal(f.OS.Codename),
			"family":        cty.StringVal(f.OS.Family),
		}),
		"package_manager": cty.StringVal(f.PackageManager),
		"init_system":     cty.StringVal(f.InitSystem),
		"architecture":    cty.StringVal(f.Architecture),
		"hostname":        cty.StringVal(f.Hostname),
		"fqdn":            cty.StringVal(f.FQDN),
		"kernel":          cty.StringVal(f.Kernel),
		"cpus":            cty.NumberIntVal(int64(f.CPUs)),
		"memory_mb":       cty.NumberIntVal(f.MemoryMB),
		"gpus":            gpuList,
		"gpu_count":       cty.NumberIntVal(int64(len(f.GPUs))),
		"notes":           notes,
	})
}
