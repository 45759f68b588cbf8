// Package schema makes the JSON Schemas of runbook's machine-readable
// artefacts from the Go types that write them: report.json (report.Run),
// plan files and `plan --json` (planfile.File), and the `apply --json`
// event stream (the event types of cmd/runbook, handed to Events). They
// are checked in under docs/schemas/; cmd/runbook's TestSchemasUpToDate
// fails when one is out of date with the types and, with -update,
// rewrites them:
//
//	go generate ./engine/schema
//
// Reflection (github.com/invopop/jsonschema) sees the Go types; what it
// cannot see is added here: the version each artefact carries as a const,
// the values a status or result takes, that encoding/json writes a nil
// slice or map as null and never leaves out a struct (a time) tagged
// omitempty. The published schemas leave objects open, as the artefacts'
// compatibility promise says readers must ignore fields they do not
// know; tests close them (engine/schema/schematest) so a field the
// schema does not describe is caught.
//
// Only tests import this package: the runbook binary does not.
package schema

//go:generate go test -count=1 -run ^TestSchemasUpToDate$ ../../cmd/runbook -update

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/invopop/jsonschema"
	"github.com/runbook-hpc/runbook/engine"
	"github.com/runbook-hpc/runbook/engine/planfile"
	"github.com/runbook-hpc/runbook/engine/report"
	"github.com/runbook-hpc/runbook/steps"
)

// The checked-in schema files, under docs/schemas/.
const (
	ReportFile = "report.schema.json"
	PlanFile   = "plan.schema.json"
	EventsFile = "events.schema.json"
)

// idBase prefixes every schema's $id. An $id names a schema, it is not
// a download address: the files are docs/schemas/*.schema.json.
const idBase = "https://github.com/runbook-hpc/runbook/schemas/"

// ID is the $id of version v of an artefact's schema: an incompatible
// change gives the schema a new $id.
func ID(artefact string, v int) string {
	return fmt.Sprintf("%s%s/v%d.json", idBase, artefact, v)
}

const generated = "Generated from the Go types by engine/schema (go generate ./engine/schema); do not edit."

// Field refines one JSON field of a Go struct type beyond what
// reflection tells.
type Field struct {
	// Const is the only value the field takes (a version, a kind).
	Const any
	// Enum lists the values the field takes.
	Enum []string
	// Format is a JSON Schema format ("date-time") for a string field.
	Format string
	// NonNull: the writer never leaves this slice or map nil, so it is
	// never null on the wire.
	NonNull bool
	// Deprecated marks a field kept only for older readers.
	Deprecated bool
	// Description says what reflection cannot.
	Description string
}

// Refine holds Field refinements per Go struct type (the type that
// declares the field, also when it is embedded) and JSON field name.
type Refine map[reflect.Type]map[string]Field

// Modes are the values of a run's mode.
func Modes() []string { return []string{string(engine.ModePlan), string(engine.ModeApply)} }

// Results are the values of a run's result.
func Results() []string {
	return []string{report.ResultRunning, report.ResultSuccess, report.ResultPlanned, report.ResultFailed, report.ResultInterrupted}
}

// Statuses are the values of a step's status.
func Statuses() []string {
	return []string{report.StatusOK, report.StatusChanged, report.StatusUnchanged, report.StatusSkipped, report.StatusFailed,
		report.StatusNotRun, report.StatusInterrupted, report.StatusPlanned, report.StatusUnknown}
}

// Actions are the values of a step's action (steps.Action as text).
func Actions() []string {
	var out []string
	for a := steps.NoOp; a <= steps.Run; a++ {
		out = append(out, a.String())
	}
	return out
}

const (
	descCtyType  = "a go-cty type in its JSON form (github.com/zclconf/go-cty/cty/json): \"string\", [\"list\",\"string\"], …"
	descCtyValue = "a go-cty value in its JSON form, of the type beside it"
	descTime     = "RFC 3339 in UTC; \"0001-01-01T00:00:00Z\" when it never happened"
)

// Report is the schema of report.json.
func Report() ([]byte, error) {
	refine := Refine{
		reflect.TypeFor[report.Run](): {
			"schema_version": {Const: report.SchemaVersion, Description: "the version of this schema; a reader refuses a newer one"},
			"mode":           {Enum: Modes()},
			"result":         {Enum: Results()},
		},
		reflect.TypeFor[report.Step](): {
			"status":  {Enum: Statuses()},
			"action":  {Enum: Actions()},
			"started": {Description: descTime},
			"ended":   {Description: descTime},
		},
		reflect.TypeFor[report.Outputs](): {
			"type":  {Description: descCtyType},
			"value": {Description: descCtyValue},
		},
	}
	root, err := reflectRoot(reflect.TypeFor[report.Run](), refine)
	if err != nil {
		return nil, err
	}
	root.ID = jsonschema.ID(ID("report", report.SchemaVersion))
	root.Title = "runbook report.json"
	root.Description = fmt.Sprintf("The record of one runbook plan or apply (docs/report-schema.md), schema_version %d. "+
		"Within a version fields are only ever added: readers ignore fields they do not know.", report.SchemaVersion)
	return marshal(root)
}

// Plan is the schema of a plan file (runbook plan --out, --json).
func Plan() ([]byte, error) {
	refine := Refine{
		reflect.TypeFor[planfile.File](): {
			"kind": {Const: planfile.Kind},
			"schema_version": {Const: planfile.SchemaVersion,
				Description: "the version of this schema; absent in plan files written before it existed, whose format_version says the same"},
			"format_version": {Const: planfile.SchemaVersion, Deprecated: true,
				Description: "schema_version under its old name, still written for older readers"},
			"variables": {NonNull: true}, // Build makes the map
		},
		reflect.TypeFor[planfile.Step](): {
			"status": {Enum: Statuses()},
			"action": {Enum: Actions()},
		},
		reflect.TypeFor[planfile.Variable](): {
			"type":  {Description: descCtyType},
			"value": {Description: descCtyValue},
		},
	}
	root, err := reflectRoot(reflect.TypeFor[planfile.File](), refine)
	if err != nil {
		return nil, err
	}
	root.ID = jsonschema.ID(ID("plan", planfile.SchemaVersion))
	root.Title = "runbook plan file"
	root.Description = fmt.Sprintf("A plan: `runbook plan --json` prints one, `runbook plan --out FILE` saves one (docs/plan-format.md), schema_version %d. "+
		"Within a version fields are only ever added: readers ignore fields they do not know.", planfile.SchemaVersion)
	return marshal(root)
}

// Event is one type of event of the stream: the value of its "type"
// field and a value of the Go type that writes it.
type Event struct {
	Type  string
	Value any
}

// Events is the schema of one line of the `apply --json` stream: the
// fields every event has (header, embedded in every event type), and per
// event type its own. An event of a type the schema does not list need
// only have the common fields: consumers ignore event types they do not
// know.
func Events(header any, version int, events []Event, refine Refine) ([]byte, error) {
	n := newNamer()
	r := reflector(n)
	defs := jsonschema.Definitions{}
	hs := r.Reflect(header)
	ht := reflect.TypeOf(header)
	if err := refineDefs(hs.Definitions, ht, refine, n); err != nil {
		return nil, err
	}
	hdef := hs.Definitions[n.name(ht)]
	if hdef == nil {
		return nil, fmt.Errorf("no definition for %s", ht)
	}
	root := &jsonschema.Schema{
		Version:     jsonschema.Version,
		ID:          jsonschema.ID(ID("events", version)),
		Comments:    generated,
		Title:       "runbook apply --json event",
		Description: fmt.Sprintf("One line of the `runbook apply --json` stream (docs/events.md), schema_version %d. Within a version fields and event types are only ever added: consumers ignore fields and event types they do not know.", version),
		Type:        "object",
		Properties:  hdef.Properties,
		Required:    hdef.Required,
		Definitions: defs,
	}
	for _, ev := range events {
		t := reflect.TypeOf(ev.Value)
		s := r.Reflect(ev.Value)
		if err := refineDefs(s.Definitions, t, refine, n); err != nil {
			return nil, err
		}
		name := n.name(t)
		def := s.Definitions[name]
		if def == nil || def.Properties == nil {
			return nil, fmt.Errorf("event %s: %s is not a struct", ev.Type, t)
		}
		if _, ok := def.Properties.Get("type"); !ok {
			return nil, fmt.Errorf("event %s: %s has no field \"type\"", ev.Type, t)
		}
		def.Properties.Set("type", &jsonschema.Schema{Type: "string", Const: ev.Type})
		for k, d := range s.Definitions {
			if old, ok := defs[k]; ok && !sameSchema(old, d) {
				return nil, fmt.Errorf("two definitions named %s", k)
			}
			defs[k] = d
		}
		cond := &jsonschema.Schema{Properties: jsonschema.NewProperties(), Required: []string{"type"}}
		cond.Properties.Set("type", &jsonschema.Schema{Const: ev.Type})
		root.AllOf = append(root.AllOf, &jsonschema.Schema{If: cond, Then: &jsonschema.Schema{Ref: "#/$defs/" + name}})
	}
	if err := n.err(); err != nil {
		return nil, err
	}
	return marshal(root)
}

func sameSchema(a, b *jsonschema.Schema) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// reflectRoot reflects a root type: the root refers to its definition.
func reflectRoot(t reflect.Type, refine Refine) (*jsonschema.Schema, error) {
	n := newNamer()
	s := reflector(n).ReflectFromType(t)
	if err := refineDefs(s.Definitions, t, refine, n); err != nil {
		return nil, err
	}
	if err := n.err(); err != nil {
		return nil, err
	}
	s.Comments = generated
	return s, nil
}

func reflector(n *namer) *jsonschema.Reflector {
	return &jsonschema.Reflector{
		// Open objects: readers of a version ignore fields added within it.
		AllowAdditionalProperties: true,
		Namer:                     n.name,
	}
}

// namer names definitions after their Go type, capitalised (the event
// types of cmd/runbook are unexported), and notes two types of one name.
type namer struct {
	types map[string]reflect.Type
	dup   []string
}

func newNamer() *namer { return &namer{types: map[string]reflect.Type{}} }

func (n *namer) name(t reflect.Type) string {
	name := t.Name()
	if name == "" || t.PkgPath() == "" {
		return name // builtin or unnamed: inlined
	}
	r := []rune(name)
	r[0] = unicode.ToUpper(r[0])
	name = string(r)
	if old, ok := n.types[name]; ok && old != t {
		n.dup = append(n.dup, fmt.Sprintf("%s and %s", old, t))
	}
	n.types[name] = t
	return name
}

func (n *namer) err() error {
	if len(n.dup) > 0 {
		slices.Sort(n.dup)
		return fmt.Errorf("types of the same name in one schema: %s", strings.Join(slices.Compact(n.dup), "; "))
	}
	return nil
}

var (
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
)

// refineDefs walks the Go types under t and adjusts the definitions
// reflected from them to what encoding/json writes and to refine.
func refineDefs(defs jsonschema.Definitions, t reflect.Type, refine Refine, n *namer) error {
	done := map[reflect.Type]bool{}
	used := map[reflect.Type]map[string]bool{}
	var walk func(t reflect.Type) error
	walk = func(t reflect.Type) error {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
			if t == rawType {
				return nil
			}
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || t == timeType || done[t] {
			return nil
		}
		done[t] = true
		def := defs[n.name(t)]
		if def == nil || def.Properties == nil {
			return fmt.Errorf("no definition for %s", t)
		}
		var fields func(st reflect.Type) error
		fields = func(st reflect.Type) error {
			for i := range st.NumField() {
				f := st.Field(i)
				name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
				if name == "-" && opts == "" {
					continue
				}
				if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
					if err := fields(f.Type); err != nil {
						return err
					}
					continue
				}
				if !f.IsExported() {
					continue
				}
				if name == "" {
					name = f.Name
				}
				prop, ok := def.Properties.Get(name)
				if !ok {
					return fmt.Errorf("%s: no property %q for field %s", t, name, f.Name)
				}
				optList := strings.Split(opts, ",")
				omitempty, omitzero := slices.Contains(optList, "omitempty"), slices.Contains(optList, "omitzero")
				ref := refine[st][name]
				if ref.Const != nil || ref.Enum != nil || ref.Format != "" || ref.NonNull || ref.Deprecated || ref.Description != "" {
					if used[st] == nil {
						used[st] = map[string]bool{}
					}
					used[st][name] = true
				}
				if ref.Const != nil {
					prop.Const = ref.Const
				}
				for _, v := range ref.Enum {
					prop.Enum = append(prop.Enum, v)
				}
				if ref.Format != "" {
					prop.Format = ref.Format
				}
				prop.Deprecated = prop.Deprecated || ref.Deprecated
				if ref.Description != "" {
					prop.Description = ref.Description
				}
				switch k := f.Type.Kind(); {
				case k == reflect.Struct && omitempty && !omitzero:
					// encoding/json never leaves a struct out.
					if !slices.Contains(def.Required, name) {
						def.Required = append(def.Required, name)
					}
				case (k == reflect.Slice || k == reflect.Map || k == reflect.Pointer) && f.Type != rawType &&
					!omitempty && !omitzero && !ref.NonNull:
					// A nil slice, map or pointer is written as null.
					def.Properties.Set(name, &jsonschema.Schema{OneOf: []*jsonschema.Schema{prop, {Type: "null"}}})
				}
				if err := walk(f.Type); err != nil {
					return err
				}
			}
			return nil
		}
		return fields(t)
	}
	if err := walk(t); err != nil {
		return err
	}
	// A refinement of a field that is not there (renamed, removed) is a
	// mistake of the caller, not something to drop silently.
	for st, fs := range refine {
		for name := range fs {
			if !used[st][name] {
				if !done[st] && !embeddedIn(st, done) {
					continue // a type of another schema
				}
				return fmt.Errorf("refinement of %s.%s: no such JSON field", st, name)
			}
		}
	}
	return nil
}

// embeddedIn reports whether st is embedded in one of the walked types.
func embeddedIn(st reflect.Type, done map[reflect.Type]bool) bool {
	for t := range done {
		for i := range t.NumField() {
			if f := t.Field(i); f.Anonymous && f.Type == st {
				return true
			}
		}
	}
	return false
}

func marshal(s *jsonschema.Schema) ([]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}
