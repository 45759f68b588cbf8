// Package schematest holds runbook's artefacts to their JSON Schemas
// (docs/schemas/), for tests: report.json, plan files (plan --out, plan
// --json) and the apply --json event stream.
//
// The schemas are read from this source tree and compiled once, closed:
// the published schemas let objects carry fields they do not list (a
// reader of a version ignores fields added within it), these do not, so
// a field the schema does not describe fails, and so does an event type
// it does not list. Formats (date-time) are asserted.
//
// Run.Check validates what one runbook invocation wrote; Wrap and
// WrapMain put that check behind every invocation of a runbook binary a
// test suite runs.
package schematest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/runbook-hpc/runbook/engine/schema"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Dir is docs/schemas/ of the source tree this package was built from.
func Dir() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok {
		d := filepath.Join(filepath.Dir(file), "..", "..", "..", "docs", "schemas")
		if _, err := os.Stat(filepath.Join(d, schema.ReportFile)); err == nil {
			return filepath.Clean(d), nil
		}
	}
	// Built with -trimpath: look up from the working directory.
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "docs", "schemas", schema.ReportFile)); err == nil {
			return filepath.Join(d, "docs", "schemas"), nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("docs/schemas/%s not found above %s", schema.ReportFile, wd)
		}
	}
}

var compiled struct {
	once                 sync.Once
	report, plan, events *jsonschema.Schema
	err                  error
}

func schemas() error {
	compiled.once.Do(func() {
		dir, err := Dir()
		if err != nil {
			compiled.err = err
			return
		}
		for _, s := range []struct {
			file string
			dst  **jsonschema.Schema
		}{{schema.ReportFile, &compiled.report}, {schema.PlanFile, &compiled.plan}, {schema.EventsFile, &compiled.events}} {
			if *s.dst, err = Compile(filepath.Join(dir, s.file), true); err != nil {
				compiled.err = err
				return
			}
		}
	})
	return compiled.err
}

// Compile compiles one schema file: closed, as this package validates,
// or as published.
func Compile(path string, closed bool) (*jsonschema.Schema, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	root, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s is not a schema object", path)
	}
	id, _ := root["$id"].(string)
	if id == "" {
		return nil, fmt.Errorf("%s has no $id", path)
	}
	if closed {
		closeSchema(root)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(id, root); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s, err := c.Compile(id)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// closeSchema forbids, in every definition with properties, a property it
// does not list, and in the event schema an event type it does not list.
func closeSchema(root map[string]any) {
	defs, _ := root["$defs"].(map[string]any)
	for _, d := range defs {
		if m, ok := d.(map[string]any); ok && m["properties"] != nil && m["additionalProperties"] == nil {
			m["additionalProperties"] = false
		}
	}
	all, _ := root["allOf"].([]any)
	var types []any
	for _, c := range all {
		if v := dig(c, "if", "properties", "type", "const"); v != nil {
			types = append(types, v)
		}
	}
	if typ, ok := dig(root, "properties", "type").(map[string]any); ok && len(types) > 0 {
		typ["enum"] = types
	}
}

func dig(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func validate(s **jsonschema.Schema, doc []byte) error {
	if err := schemas(); err != nil {
		return err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("not one JSON value: %w", err)
	}
	return (*s).Validate(v)
}

// Report validates one report.json.
func Report(doc []byte) error { return validate(&compiled.report, doc) }

// Plan validates one plan (a plan file, plan --json).
func Plan(doc []byte) error { return validate(&compiled.plan, doc) }

// Event validates one event (one line of the stream).
func Event(line []byte) error { return validate(&compiled.events, line) }

// Events validates an event stream, line by line; every line, the last
// too, ends with a newline. With cut (a killed process), a last line
// without one is not checked.
func Events(stream []byte, cut bool) error {
	lines := bytes.SplitAfter(stream, []byte("\n"))
	var errs []error
	for i, line := range lines {
		if len(line) == 0 {
			continue
		}
		if !bytes.HasSuffix(line, []byte("\n")) {
			if !cut {
				errs = append(errs, fmt.Errorf("line %d does not end with a newline: %.200q", i+1, line))
			}
			continue
		}
		if err := Event(line); err != nil {
			errs = append(errs, fmt.Errorf("line %d (%s): %w", i+1, eventType(line), err))
		}
	}
	return errors.Join(errs...)
}

func eventType(line []byte) string {
	var h struct {
		Type string `json:"type"`
	}
	json.Unmarshal(line, &h)
	return h.Type
}

// ReportFile validates a report.json file.
func ReportFile(path string) error { return file(path, Report) }

// PlanFile validates a plan file.
func PlanFile(path string) error { return file(path, Plan) }

func file(path string, validate func([]byte) error) error {
	if err := check(path, validate); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func check(path string, validate func([]byte) error) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return validate(b)
}

// Run is one invocation of runbook as a test made it.
type Run struct {
	// Args are its arguments, without the program.
	Args []string
	// Dir is its working directory ("": this process's).
	Dir string
	// Stdout is what it wrote to stdout.
	Stdout string
	// Started is when it started: run records older than that are not
	// its own.
	Started time.Time
	// Killed: it was killed by a signal, and may have been cut off in the
	// middle of a line of its event stream.
	Killed bool
}

// Check validates what a `runbook plan` or `runbook apply` wrote: every
// report.json under its --state-dir written since it started, the plan
// it saved with --out, and with --json its stdout (apply: the event
// stream, plan: a plan). It returns what it validated and what failed.
// Other commands wrote none of these: nothing is checked.
func (r Run) Check() (checked []string, errs []error) {
	verb, flags := parseArgs(r.Args)
	if verb != "plan" && verb != "apply" {
		return nil, nil
	}
	abs := func(p string) string {
		if filepath.IsAbs(p) || r.Dir == "" {
			return p
		}
		return filepath.Join(r.Dir, p)
	}
	fail := func(what string, err error) {
		errs = append(errs, fmt.Errorf("runbook %s: %s does not match its schema: %w", strings.Join(r.Args, " "), what, err))
	}
	// A file system may keep times to the second.
	since := r.Started.Truncate(time.Second)
	state := flags["state-dir"]
	if state == "" {
		state = ".runbook"
	}
	reports, _ := filepath.Glob(filepath.Join(abs(state), "runs", "*", "report.json"))
	for _, p := range reports {
		if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() || fi.ModTime().Before(since) {
			continue
		}
		checked = append(checked, p)
		if err := check(p, Report); err != nil {
			fail(p, err)
		}
	}
	if out := flags["out"]; verb == "plan" && out != "" {
		p := abs(out)
		if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() && !fi.ModTime().Before(since) {
			checked = append(checked, p)
			if err := check(p, Plan); err != nil {
				fail(p, err)
			}
		}
	}
	if flags["json"] == "true" && strings.TrimSpace(r.Stdout) != "" {
		switch verb {
		case "apply":
			checked = append(checked, "stdout (events)")
			if err := Events([]byte(r.Stdout), r.Killed); err != nil {
				fail("the --json event stream", err)
			}
		case "plan":
			checked = append(checked, "stdout (plan)")
			if err := Plan([]byte(r.Stdout)); err != nil {
				fail("the plan --json printed", err)
			}
		}
	}
	return checked, errs
}

// parseArgs finds the command (the first argument not a flag) and the
// flags Check needs: --state-dir, --out and --json, as --name value or
// --name=value.
func parseArgs(args []string) (verb string, flags map[string]string) {
	flags = map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			if verb == "" && i+1 < len(args) {
				verb = args[i+1]
			}
			break
		}
		if !strings.HasPrefix(a, "-") {
			if verb == "" {
				verb = a
			}
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch name {
		case "json":
			if on, err := strconv.ParseBool(val); !hasVal || err == nil && on {
				flags["json"] = "true"
			}
		case "state-dir", "out":
			if !hasVal && i+1 < len(args) {
				i++
				val = args[i]
			}
			flags[name] = val
		}
	}
	return verb, flags
}
