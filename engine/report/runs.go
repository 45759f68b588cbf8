package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Formats Render knows, as `runbook report --format` takes them.
var Formats = []string{"md", "html", "junit", "json"}

// ErrUnknownFormat is returned by Render for a format it does not know.
var ErrUnknownFormat = errors.New("unknown report format")

// ErrNoRun is returned by Resolve when no run matches.
var ErrNoRun = errors.New("no such run")

// Render renders a recorded run in one of Formats ("markdown" and "xml"
// are accepted for md and junit). The run is rendered as recorded.
func Render(r *Run, format string) ([]byte, error) {
	out := r.Redacted()
	switch strings.ToLower(format) {
	case "md", "markdown":
		return []byte(Markdown(out)), nil
	case "html":
		return HTML(out)
	case "junit", "xml":
		return JUnit(out)
	case "json":
		return JSON(out)
	}
	return nil, fmt.Errorf("%w %q: use one of %s", ErrUnknownFormat, format, strings.Join(Formats, ", "))
}

// Load reads a run record: path is a run directory or its report.json.
// A record from a newer schema than this build reads is refused.
func Load(path string) (*Run, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, FileJSON)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Run
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s is not a run record: %w", path, err)
	}
	switch {
	case r.SchemaVersion == 0:
		return nil, fmt.Errorf("%s is not a run record: it has no schema_version", path)
	case r.SchemaVersion > SchemaVersion:
		return nil, fmt.Errorf("%s has schema_version %d; this runbook reads up to %d: use a newer runbook", path, r.SchemaVersion, SchemaVersion)
	}
	return &r, nil
}

// RunInfo is one run directory found by List.
type RunInfo struct {
	ID  string // the directory's name
	Dir string
	Run *Run  // nil when Err is set
	Err error // the record could not be read
}

// List returns the run directories under root (<state-dir>/runs), oldest
// first; their names start with the UTC time the run started, so name
// order is time order. A directory whose record cannot be read is listed
// with Err set. A missing root is no runs, not an error.
func List(root string) ([]RunInfo, error) {
	entries, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []RunInfo
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		info := RunInfo{ID: e.Name(), Dir: filepath.Join(root, e.Name())}
		info.Run, info.Err = Load(info.Dir)
		out = append(out, info)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Resolve finds the directory of one run. ref is an existing path (a run
// directory or a report.json), a run ID under root, or a prefix of exactly
// one run ID; empty means the latest run.
func Resolve(root, ref string) (string, error) {
	if ref != "" {
		if fi, err := os.Stat(ref); err == nil {
			if fi.IsDir() {
				return ref, nil
			}
			return filepath.Dir(ref), nil
		}
		if strings.ContainsRune(ref, os.PathSeparator) {
			return "", fmt.Errorf("%w: %s does not exist", ErrNoRun, ref)
		}
	}
	entries, err := os.ReadDir(root)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			ids = append(ids, e.Name())
		}
	}
	sort.Strings(ids)
	if len(ids) == 0 {
		return "", fmt.Errorf("%w: no runs recorded under %s", ErrNoRun, root)
	}
	if ref == "" {
		return filepath.Join(root, ids[len(ids)-1]), nil
	}
	var matches []string
	for _, id := range ids {
		if id == ref {
			return filepath.Join(root, id), nil
		}
		if strings.HasPrefix(id, ref) {
			matches = append(matches, id)
		}
	}
	switch len(matches) {
	case 0:
		return "", fmt.Errorf("%w: no run %q under %s (runbook runs lists them)", ErrNoRun, ref, root)
	case 1:
		return filepath.Join(root, matches[0]), nil
	}
	return "", fmt.Errorf("%w: %q matches %d runs under %s (%s, …): give more of the ID", ErrNoRun, ref, len(matches), root, matches[0])
}
