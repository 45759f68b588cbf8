package report

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func itoa(i int) string { return strconv.Itoa(i) }

func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = append(lines[:n], "…")
	}
	return strings.Join(lines, " ⏎ ")
}

// RunDir returns the directory for a run started at t:
// <root>/<UTC timestamp>-<runbook>.
func RunDir(root string, t time.Time, runbook string) string {
	return filepath.Join(root, t.UTC().Format("20060102T150405.000Z")+"-"+runbook)
}

// Prepare creates the run directory (0700) and proves it is writable
// before anything runs: a run that cannot keep its record must not start.
func Prepare(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cannot create the run directory: %w", err)
	}
	return writeAtomic(filepath.Join(dir, ".writable"), []byte("ok\n"))
}

// Write writes report.json and checklist.md atomically.
func Write(dir string, r *Run) error {
	r.BuildChecklist()
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(dir, "report.json"), append(js, '\n')); err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(dir, "checklist.md"), []byte(Markdown(r))); err != nil {
		return err
	}
	_ = os.Remove(filepath.Join(dir, ".writable"))
	return nil
}

// writeAtomic writes through a temp file and rename so a reader (or a
// crash) never sees half a report.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Markdown renders the ticked checklist as a GitHub task list with the
// evidence under each line.
func Markdown(r *Run) string {
	var b strings.Builder
	title := r.Title
	if title == "" {
		title = r.Runbook
	}
	fmt.Fprintf(&b, "# %s — completion checklist\n\n", title)
	fmt.Fprintf(&b, "Run `%s` (%s), %s → %s, result: **%s**.\n\n", r.ID, r.Mode,
		r.Started.UTC().Format(time.RFC3339), r.Ended.UTC().Format(time.RFC3339), r.Result)
	ticked := 0
	for _, it := range r.Checklist {
		if it.Ticked {
			ticked++
		}
	}
	fmt.Fprintf(&b, "%d of %d items ticked on evidence from this run.\n\n", ticked, len(r.Checklist))
	multiHost := len(r.Hosts) > 1
	for _, it := range r.Checklist {
		mark := " "
		if it.Ticked {
			mark = "x"
		}
		host := ""
		if multiHost {
			host = " (" + it.Host + ")"
		}
		fmt.Fprintf(&b, "- [%s] %s%s\n", mark, it.Text, host)
		if it.Ticked {
			for _, e := range it.Evidence {
				fmt.Fprintf(&b, "  - evidence: %s\n", e)
			}
		} else {
			fmt.Fprintf(&b, "  - not ticked: %s\n", it.Reason)
		}
	}
	return b.String()
}

// Blank renders a checklist for a person to tick by hand: every line in
// step order, each with what proves it.
func Blank(title string, items []BlankItem) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s — completion checklist\n\n", title)
	for _, it := range items {
		fmt.Fprintf(&b, "- [ ] %s\n", it.Text)
		if it.Proof != "" {
			fmt.Fprintf(&b, "  - proof: step `%s` (%s)\n", it.Step, it.Proof)
		}
	}
	return b.String()
}

// BlankItem is one line of a blank checklist.
type BlankItem struct {
	Text  string `json:"text"`
	Step  string `json:"step"`
	Proof string `json:"proof,omitempty"`
}
