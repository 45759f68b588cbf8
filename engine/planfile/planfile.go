// Package planfile is a saved plan (`runbook plan --out FILE`) and the
// machine-readable plan (`runbook plan --json`): what apply would do, the
// digests of the runbook, variables and inventory it was made from, and a
// hash of every probe output it relied on, so `runbook apply FILE` can
// refuse to act on a state that changed since. Its hosts and their steps
// are its target set, and their commands what it showed: apply runs no
// other host or step, and no other command.
package planfile

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/runbook-hpc/runbook/engine/hcllimits"
	"github.com/runbook-hpc/runbook/engine/report"
	"github.com/runbook-hpc/runbook/steps"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
	"golang.org/x/crypto/argon2"
)

// SchemaVersion of the plan JSON (docs/schemas/plan.schema.json); bump
// on incompatible changes. A plan carries it as schema_version and, for
// readers older than that field, as format_version too.
const SchemaVersion = 2

// FormatVersion is SchemaVersion under its old name.
const FormatVersion = SchemaVersion

// Kind marks a file as a runbook plan.
const Kind = "runbook-plan"

// MaxFileBytes caps a saved plan: Read refuses a larger file (/dev/zero, a
// wrong path) instead of reading it into memory, and Write refuses to save
// a plan it could not read back. A plan keeps at most 2 KiB of each probe's
// output: phase2's is 12 KB a host, so 64 MiB is thousands of hosts.
const MaxFileBytes = 64 << 20

// File is a saved plan.
type File struct {
	Kind string `json:"kind"`
	// SchemaVersion is absent from plans written before it existed:
	// FormatVersion, which they hold, says the same.
	SchemaVersion int       `json:"schema_version,omitempty"`
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
	// RunbookVersion is the version of the runbook program that made the
	// plan (report.Run.RunbookVersion of the plan run).
	RunbookVersion string `json:"runbook_version,omitempty"`
	// Limit is the --limit the plan was made with, for display: what
	// binds apply is Hosts.
	Limit []string `json:"limit,omitempty"`
	// Hosts is the plan's exact target set: apply of a saved plan runs on
	// these hosts and these steps of each, and refuses any other.
	Hosts   []Host  `json:"hosts"`
	Summary Summary `json:"summary"`
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
	// Outputs are the runbook's output values on the host as the plan
	// found them (for review; apply does not hold itself to them).
	Outputs []*report.OutputValue `json:"outputs,omitempty"`
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

// FileSHA256 is the hex digest of a file's content. The files it digests
// (runbook, inventory) are read by runbook only up to
// hcllimits.MaxFileBytes, and so is the digest: a plan naming /dev/zero as
// its runbook gets an error, not an endless read.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(f, hcllimits.MaxFileBytes+1))
	if err != nil {
		return "", err
	}
	if n > hcllimits.MaxFileBytes {
		return "", fmt.Errorf("%s is larger than %d MiB", path, hcllimits.MaxFileBytes>>20)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
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
	f := &File{Kind: Kind, SchemaVersion: SchemaVersion, FormatVersion: SchemaVersion, Created: time.Now().UTC(), Runbook: run.Runbook, Variables: map[string]Variable{}}
	f.RunbookVersion = run.RunbookVersion
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
		hp := Host{Name: h.Name, Transport: h.Transport, Error: h.Error, Outputs: h.Outputs}
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

// Write saves the plan (0600: it holds variable values). The plan is
// written to a new file of random name beside path, made by this process
// alone (O_EXCL, mode 0600), and renamed over path: nothing another user
// put there first (a file, a symlink at a guessable name) is written to or
// followed, and a reader never sees half a plan.
func Write(path string, f *File) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if len(b) > MaxFileBytes {
		return fmt.Errorf("the plan is %d MiB, more than the %d MiB a saved plan may be; plan fewer hosts at a time (--limit)", len(b)>>20, MaxFileBytes>>20)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// CreateTemp makes the file 0600 whatever the umask; say so anyway.
	if err := tmp.Chmod(0o600); err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	done = true
	return nil
}

// ErrTooLarge: the file holds more than MaxFileBytes.
var ErrTooLarge = errors.New("too large")

// cappedFile reads at most MaxFileBytes+1 bytes of a file (one more, to
// tell a file that holds more) and counts them.
type cappedFile struct {
	f *os.File
	r io.Reader
	n int64
}

func (c *cappedFile) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// over reports whether the file holds more than MaxFileBytes.
func (c *cappedFile) over() bool { return c.n > MaxFileBytes }

// openCapped opens path for a capped read. With whole, a regular file
// larger than the cap is refused before any of it is read; a device or
// pipe (/dev/zero) is cut at the cap by the reader.
func openCapped(path string, whole bool) (*cappedFile, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, err
	}
	if st.IsDir() {
		fh.Close()
		return nil, fmt.Errorf("%s is a directory", path)
	}
	if whole && st.Mode().IsRegular() && st.Size() > MaxFileBytes {
		fh.Close()
		return nil, tooLarge(path)
	}
	return &cappedFile{f: fh, r: io.LimitReader(fh, MaxFileBytes+1)}, nil
}

func tooLarge(path string) error {
	return fmt.Errorf("%s is not a runbook plan: it holds more than %d MiB (%w); is the path right?", path, MaxFileBytes>>20, ErrTooLarge)
}

// IsPlanFile tells a saved plan from a runbook: a JSON object whose "kind"
// is runbook-plan. It reads as little as it can (a plan starts with its
// kind; /dev/zero or a runbook fail at the first byte), never more than
// MaxFileBytes.
func IsPlanFile(path string) bool {
	c, err := openCapped(path, false)
	if err != nil {
		return false
	}
	defer c.f.Close()
	dec := json.NewDecoder(c)
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return false
		}
		if key == "kind" {
			var kind string
			return dec.Decode(&kind) == nil && kind == Kind
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return false
		}
	}
	return false
}

// Read loads a saved plan of at most MaxFileBytes. It decodes as it
// reads: what is not JSON (/dev/zero) is refused at its first bytes, and
// nothing is held beyond the cap.
func Read(path string) (*File, error) {
	c, err := openCapped(path, true)
	if err != nil {
		return nil, err
	}
	defer c.f.Close()
	dec := json.NewDecoder(c)
	var f File
	err = dec.Decode(&f)
	if err == nil {
		if _, end := dec.Token(); end != io.EOF {
			err = errors.New("more data after the plan")
		}
	}
	if c.over() {
		return nil, tooLarge(path)
	}
	if err != nil {
		return nil, fmt.Errorf("%s is not a runbook plan: %w", path, err)
	}
	if f.Kind != Kind {
		return nil, fmt.Errorf("%s is not a runbook plan", path)
	}
	version := f.SchemaVersion
	if version == 0 {
		version = f.FormatVersion // written before schema_version
	}
	if version != SchemaVersion {
		return nil, fmt.Errorf("%s has plan schema_version %d; this runbook reads %d", path, version, SchemaVersion)
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
	// Outside: the host or step is outside the saved plan's target set
	// (or a host of it is not targeted now), rather than in a state that
	// changed.
	Outside bool
}

func (d Drift) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "host %s", d.Host)
	if d.Step != "" {
		fmt.Fprintf(&b, ", step %s", d.Step)
	}
	fmt.Fprintf(&b, ": %s", d.What)
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

// HostNames is the saved plan's hosts, in its order.
func (f *File) HostNames() []string {
	names := make([]string, len(f.Hosts))
	for i, h := range f.Hosts {
		names[i] = h.Name
	}
	return names
}

// MadeFor says which hosts the plan was made for, and with which --limit:
// "h1 (--limit h1)".
func (f *File) MadeFor() string {
	s := strings.Join(f.HostNames(), ", ")
	if s == "" {
		s = "no host"
	}
	if len(f.Limit) > 0 {
		s += " (--limit " + strings.Join(f.Limit, ",") + ")"
	}
	return s
}

// CompareHosts lists how the hosts an apply targets differ from the saved
// plan's: a saved plan runs on exactly its hosts, so a host it does not
// show is refused, and so is one of its hosts that is not targeted now
// (as Terraform, which applies a saved plan's targets and no others).
func CompareHosts(saved *File, targets []string) []Drift {
	var out []Drift
	inSaved := map[string]bool{}
	for _, h := range saved.Hosts {
		if inSaved[h.Name] {
			out = append(out, Drift{Host: h.Name, Outside: true, What: "host is listed twice in the saved plan"})
		}
		inSaved[h.Name] = true
	}
	targeted := map[string]bool{}
	for _, name := range targets {
		if targeted[name] {
			out = append(out, Drift{Host: name, Outside: true, What: "host is targeted twice"})
			continue
		}
		targeted[name] = true
		if !inSaved[name] {
			out = append(out, Drift{Host: name, Outside: true,
				What: "host is not in the saved plan, which was made for " + saved.MadeFor() + "; a saved plan runs only on the hosts it showed"})
		}
	}
	for _, h := range saved.Hosts {
		if !targeted[h.Name] {
			out = append(out, Drift{Host: h.Name, Outside: true, What: "host of the saved plan is not targeted now"})
		}
	}
	return out
}

// Compare lists how a fresh plan differs from the saved one: hosts and
// steps outside the saved plan (or missing from the fresh one), probes
// whose output changed (old value against new), and actions, field
// changes or commands that differ. An empty result means apply may
// proceed with exactly the saved actions and commands.
func Compare(saved, fresh *File) []Drift {
	out := CompareHosts(saved, fresh.HostNames())
	freshHosts := map[string]Host{}
	for _, h := range fresh.Hosts {
		freshHosts[h.Name] = h
	}
	for _, sh := range saved.Hosts {
		fh, ok := freshHosts[sh.Name]
		if !ok {
			continue // CompareHosts named it
		}
		freshSteps := map[string]Step{}
		for _, s := range fh.Steps {
			freshSteps[s.Name] = s
		}
		savedSteps := map[string]bool{}
		for _, s := range sh.Steps {
			savedSteps[s.Name] = true
		}
		for _, fs := range fh.Steps {
			if !savedSteps[fs.Name] {
				out = append(out, Drift{Host: sh.Name, Step: fs.Name, Outside: true,
					What: "step is not in the saved plan for this host; a saved plan runs only the steps it showed"})
			}
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
			if !slices.Equal(ss.Commands, fs.Commands) {
				out = append(out, Drift{Host: sh.Name, Step: ss.Name, What: "commands differ from the ones the plan showed",
					Old: DescribeCommands(ss.Commands), New: DescribeCommands(fs.Commands)})
			}
		}
	}
	return out
}

// DescribeCommands shows commands (already redacted) one after the other:
// "$ a ⏎ $ b" once on one line.
func DescribeCommands(cmds []string) string {
	if len(cmds) == 0 {
		return "(no command)"
	}
	parts := make([]string, len(cmds))
	for i, c := range cmds {
		parts[i] = "$ " + c
	}
	return strings.Join(parts, "\n")
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
