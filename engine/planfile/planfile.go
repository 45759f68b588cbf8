// Package planfile is a saved plan (`runbook plan --out FILE`) and the
// machine-readable plan (`runbook plan --json`): what apply would do, the
// digests of the runbook, variables and inventory it was made from, and a
// hash of every probe output it relied on, so `runbook apply FILE` can
// refuse to act on a state that changed since.
package planfile

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/runbook-hpc/runbook/engine/report"
	"github.com/runbook-hpc/runbook/steps"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
	"golang.org/x/crypto/argon2"
)

// FormatVersion of the plan JSON; bump on incompatible changes.
const FormatVersion = 2

// Kind marks a file as a runbook plan.
const Kind = "runbook-plan"

// File is a saved plan.
type File struct {
	Kind          string    `json:"kind"`
	FormatVersion int       `json:"format_version"`
	Created       time.Time `json:"created"`
	Runbook       string    `json:"runbook"`
	RunbookFile   string    `json:"runbook_file"`
	RunbookSHA256 string    `json:"runbook_sha256"`
	// Variables holds non-sensitive values (cty JSON) so apply uses
	// exactly them; sensitive ones only as a digest, to be given again.
	Variables       map[string]Variable `json:"variables"`
	Inventory       string              `json:"inventory,omitempty"`
	InventorySHA256 string              `json:"inventory_sha256,omitempty"`
	Hosts           []Host              `json:"hosts"`
	Summary         Summary             `json:"summary"`
}

// Variable is one variable's value or, when sensitive, its digest.
type Variable struct {
	Type      json.RawMessage `json:"type,omitempty"`
	Value     json.RawMessage `json:"value,omitempty"`
	Sensitive bool            `json:"sensitive,omitempty"`
	// SHA256 is the digest of a non-sensitive value.
	SHA256 string `json:"sha256,omitempty"`
	// Argon2id is the digest of a sensitive value (see secretDigest).
	Argon2id string `json:"argon2id,omitempty"`
}

// Host is one target's plan.
type Host struct {
	Name      string `json:"name"`
	Transport string `json:"transport"`
	Error     string `json:"error,omitempty"`
	Steps     []Step `json:"steps"`
}

// Step is one step's planned action.
type Step struct {
	Name     string         `json:"name"`
	Kind     string         `json:"kind"`
	Title    string         `json:"title"`
	Status   string         `json:"status"`           // ok (read), unchanged, planned, unknown, skipped, failed, not_run
	Action   string         `json:"action,omitempty"` // read, no-op, create, modify, run
	Summary  string         `json:"summary,omitempty"`
	Changes  []steps.Change `json:"changes,omitempty"`
	Commands []string       `json:"commands,omitempty"`
	Error    string         `json:"error,omitempty"`
	Probes   []Probe        `json:"probes,omitempty"`
}

// Probe is one read-only command the plan relied on.
type Probe struct {
	Command  string `json:"command"`
	ExitCode int    `json:"exit_code"`
	SHA256   string `json:"sha256"`
	// Output is a redacted excerpt, shown as the old value when the probe
	// changed.
	Output string `json:"output,omitempty"`
}

// Summary counts the plan's actions (report.Run.PlanCounts).
type Summary = report.PlanCounts

// volatile lines change on every call without saying anything about the
// state (scontrol prints when it read its configuration).
var volatile = regexp.MustCompile(`(?m)^Configuration data as of .*$`)

// ProbeHash hashes what a probe saw, ignoring volatile lines.
func ProbeHash(c report.CommandRecord) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00", c.Command, c.ExitCode)
	h.Write([]byte(volatile.ReplaceAllString(c.Stdout, "")))
	h.Write([]byte{0})
	h.Write([]byte(volatile.ReplaceAllString(c.Stderr, "")))
	return hex.EncodeToString(h.Sum(nil))
}

// FileSHA256 is the hex digest of a file's content.
func FileSHA256(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

func valueBytes(v cty.Value) []byte {
	b, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		b = []byte(v.GoString())
	}
	return b
}

func valueSHA256(v cty.Value) string {
	sum := sha256.Sum256(valueBytes(v))
	return hex.EncodeToString(sum[:])
}

// Argon2id parameters for sensitive values, OWASP's minimum for password
// storage. A plan file is meant to be passed around for review; a plain
// SHA-256 of a short secret (a PIN, an 8-character password) would be
// brute-forced from it in seconds, a salted memory-hard digest not.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
)

// secretDigest is "argon2id$t=2$m=19456$p=1$SALT$HASH" (base64, no padding).
func secretDigest(v cty.Value) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	return formatSecretDigest(v, salt, argonTime, argonMemory, argonThreads), nil
}

func formatSecretDigest(v cty.Value, salt []byte, t, m uint32, p uint8) string {
	key := argon2.IDKey(valueBytes(v), salt, t, m, p, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("argon2id$t=%d$m=%d$p=%d$%s$%s", t, m, p, enc.EncodeToString(salt), enc.EncodeToString(key))
}

// secretMatches checks v against a digest written by secretDigest. Its
// parameters are read back, but bounded: a doctored plan file must not
// make apply allocate gigabytes.
func secretMatches(v cty.Value, digest string) bool {
	parts := strings.Split(digest, "$")
	if len(parts) != 6 || parts[0] != "argon2id" {
		return false
	}
	var t, m uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[1]+" "+parts[2]+" "+parts[3], "t=%d m=%d p=%d", &t, &m, &p); err != nil {
		return false
	}
	if t < 1 || t > 10 || m < 1024 || m > 256*1024 || p < 1 || p > 4 {
		return false
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(formatSecretDigest(v, salt, t, m, p)), []byte(digest)) == 1
}

// Build makes a plan file from a plan run record.
func Build(run *report.Run, runbookFile, inventoryFile string, vars map[string]cty.Value, sensitive map[string]bool) (*File, error) {
	f := &File{Kind: Kind, FormatVersion: FormatVersion, Created: time.Now().UTC(), Runbook: run.Runbook, Variables: map[string]Variable{}}
	abs, err := filepath.Abs(runbookFile)
	if err != nil {
		return nil, err
	}
	f.RunbookFile = abs
	if f.RunbookSHA256, err = FileSHA256(runbookFile); err != nil {
		return nil, err
	}
	if inventoryFile != "" {
		if f.Inventory, err = filepath.Abs(inventoryFile); err != nil {
			return nil, err
		}
		if f.InventorySHA256, err = FileSHA256(inventoryFile); err != nil {
			return nil, err
		}
	}
	for name, v := range vars {
		pv := Variable{Sensitive: sensitive[name]}
		if pv.Sensitive {
			if pv.Argon2id, err = secretDigest(v); err != nil {
				return nil, err
			}
		} else {
			pv.SHA256 = valueSHA256(v)
		}
		if !pv.Sensitive && v.IsWhollyKnown() {
			ty, err := ctyjson.MarshalType(v.Type())
			if err != nil {
				return nil, err
			}
			val, err := ctyjson.Marshal(v, v.Type())
			if err != nil {
				return nil, err
			}
			pv.Type, pv.Value = ty, val
		}
		f.Variables[name] = pv
	}
	f.Hosts = HostsOf(run)
	f.Summary = run.PlanCounts()
	return f, nil
}

// HostsOf is the plan of each host of a plan run: its steps' actions,
// field changes, commands and the probes they relied on.
func HostsOf(run *report.Run) []Host {
	var hosts []Host
	for _, h := range run.Hosts {
		hp := Host{Name: h.Name, Transport: h.Transport, Error: h.Error}
		for _, s := range h.Steps {
			sp := Step{Name: s.Name, Kind: s.Kind, Title: s.Title, Status: s.Status, Action: s.Action,
				Summary: s.Summary, Changes: s.Changes, Commands: s.Planned, Error: s.Error}
			for _, c := range s.Commands {
				out := c.Stdout
				if len(out) > 2048 {
					out = out[:2048] + "…"
				}
				sp.Probes = append(sp.Probes, Probe{Command: c.Command, ExitCode: c.ExitCode, SHA256: ProbeHash(c), Output: out})
			}
			hp.Steps = append(hp.Steps, sp)
		}
		hosts = append(hosts, hp)
	}
	return hosts
}

// Write saves the plan (0600: it holds variable values).
func Write(path string, f *File) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// IsPlanFile tells a saved plan from a runbook by its first bytes.
func IsPlanFile(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var probe struct {
		Kind string `json:"kind"`
	}
	return json.Unmarshal(b, &probe) == nil && probe.Kind == Kind
}

// Read loads a saved plan.
func Read(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s is not a runbook plan: %w", path, err)
	}
	if f.Kind != Kind {
		return nil, fmt.Errorf("%s is not a runbook plan", path)
	}
	if f.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("%s has plan format %d; this runbook reads %d", path, f.FormatVersion, FormatVersion)
	}
	return &f, nil
}

// Values decodes the saved non-sensitive variable values.
func (f *File) Values() (map[string]cty.Value, error) {
	out := map[string]cty.Value{}
	for name, v := range f.Variables {
		if v.Sensitive || v.Value == nil {
			continue
		}
		ty, err := ctyjson.UnmarshalType(v.Type)
		if err != nil {
			return nil, fmt.Errorf("variable %s: %w", name, err)
		}
		val, err := ctyjson.Unmarshal(v.Value, ty)
		if err != nil {
			return nil, fmt.Errorf("variable %s: %w", name, err)
		}
		out[name] = val
	}
	return out, nil
}

// CheckVariables compares the values apply will use with the plan's.
func (f *File) CheckVariables(vars map[string]cty.Value) []string {
	var problems []string
	names := make([]string, 0, len(f.Variables))
	for n := range f.Variables {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v, ok := vars[n]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("var.%s is not set", n))
		case f.Variables[n].Sensitive:
			if !secretMatches(v, f.Variables[n].Argon2id) {
				problems = append(problems, fmt.Sprintf("var.%s (sensitive) differs from the plan's value; give the same value", n))
			}
		case valueSHA256(v) != f.Variables[n].SHA256:
			problems = append(problems, fmt.Sprintf("var.%s differs from the plan's value", n))
		}
	}
	return problems
}

// Drift is one difference between the saved plan and a fresh one.
type Drift struct {
	Host, Step string
	What       string
	Old, New   string
}

func (d Drift) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "host %s, step %s: %s", d.Host, d.Step, d.What)
	if d.Old != "" || d.New != "" {
		fmt.Fprintf(&b, "\n      plan: %s\n      now:  %s", oneLine(d.Old), oneLine(d.New))
	}
	return b.String()
}

func oneLine(s string) string {
	s = strings.TrimSpace(volatile.ReplaceAllString(s, ""))
	if s == "" {
		return "(empty)"
	}
	return strings.ReplaceAll(s, "\n", " ⏎ ")
}

// Compare lists how a fresh plan differs from the saved one: probes whose
// output changed (old value against new) and actions or field changes that
// differ. An empty result means apply may proceed with the saved actions.
func Compare(saved, fresh *File) []Drift {
	var out []Drift
	freshHosts := map[string]Host{}
	for _, h := range fresh.Hosts {
		freshHosts[h.Name] = h
	}
	for _, sh := range saved.Hosts {
		fh, ok := freshHosts[sh.Name]
		if !ok {
			out = append(out, Drift{Host: sh.Name, What: "host is no longer targeted"})
			continue
		}
		freshSteps := map[string]Step{}
		for _, s := range fh.Steps {
			freshSteps[s.Name] = s
		}
		for _, ss := range sh.Steps {
			fs, ok := freshSteps[ss.Name]
			if !ok {
				out = append(out, Drift{Host: sh.Name, Step: ss.Name, What: "step no longer planned"})
				continue
			}
			for i, p := range ss.Probes {
				if i >= len(fs.Probes) {
					out = append(out, Drift{Host: sh.Name, Step: ss.Name, What: fmt.Sprintf("probe `%s` did not run", p.Command)})
					continue
				}
				np := fs.Probes[i]
				if p.SHA256 != np.SHA256 {
					out = append(out, Drift{Host: sh.Name, Step: ss.Name,
						What: probeChange(p, np), Old: p.Output, New: np.Output})
				}
			}
			if ss.Action != fs.Action || ss.Status != fs.Status {
				out = append(out, Drift{Host: sh.Name, Step: ss.Name, What: fmt.Sprintf("action changed: %s %s → %s %s", ss.Status, ss.Action, fs.Status, fs.Action)})
			}
			if !sameChanges(ss.Changes, fs.Changes) {
				out = append(out, Drift{Host: sh.Name, Step: ss.Name, What: "field changes differ",
					Old: describeChanges(ss.Changes), New: describeChanges(fs.Changes)})
			}
		}
	}
	return out
}

func sameChanges(a, b []steps.Change) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func describeChanges(cs []steps.Change) string {
	if len(cs) == 0 {
		return "(none)"
	}
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%s: %s → %s", c.Field, c.Current, c.Desired)
	}
	return strings.Join(parts, "; ")
}

func probeChange(old, now Probe) string {
	if old.ExitCode != now.ExitCode {
		return fmt.Sprintf("probe `%s` changed (exit %d → %d)", old.Command, old.ExitCode, now.ExitCode)
	}
	return fmt.Sprintf("probe `%s` changed", old.Command)
}
