package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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

// Files written into every run directory, in the order Write writes them.
const (
	FileJSON      = "report.json"
	FileChecklist = "checklist.md"
	FileHTML      = "report.html"
	FileJUnit     = "junit.xml"
)

// Write builds the checklist and writes the run's record and every
// rendering of it into dir, each atomically with mode 0600: report.json
// (the record, written first), checklist.md, report.html and junit.xml.
// With r.Redactor set, every file is rendered from r.Redacted().
func Write(dir string, r *Run) error {
	return write(dir, r, true)
}

// WriteRunning writes the record a run starts with (result "running"), so
// that even a killed run leaves one: like Write, but only report.json is
// synced to disk. The renderings are derived from it (runbook report
// renders them again) and the final Write replaces them all, synced; four
// fsyncs at the start of every run bought nothing a crash would keep.
func WriteRunning(dir string, r *Run) error {
	return write(dir, r, false)
}

func write(dir string, r *Run, syncAll bool) error {
	r.BuildChecklist()
	out := r.Redacted()
	var errs []error
	for _, f := range []struct {
		name   string
		render func(*Run) ([]byte, error)
	}{
		{FileJSON, JSON},
		{FileChecklist, func(r *Run) ([]byte, error) { return []byte(Markdown(r)), nil }},
		{FileHTML, HTML},
		{FileJUnit, JUnit},
	} {
		data, err := f.render(out)
		if err == nil {
			err = writeAtomicSync(filepath.Join(dir, f.name), data, 0o600, syncAll || f.name == FileJSON)
		}
		if err != nil {
			if f.name == FileJSON {
				return err
			}
			errs = append(errs, fmt.Errorf("%s: %w", f.name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	_ = os.Remove(filepath.Join(dir, ".writable"))
	return nil
}

// JSON renders the record as report.json holds it (schema in
// docs/report-schema.md).
func JSON(r *Run) ([]byte, error) {
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(js, '\n'), nil
}

// writeAtomic writes through a temp file and rename so a reader (or a
// crash) never sees half a report.
func writeAtomic(path string, data []byte) error {
	return writeAtomicMode(path, data, 0o600)
}

func writeAtomicMode(path string, data []byte, perm os.FileMode) error {
	return writeAtomicSync(path, data, perm, true)
}

// writeAtomicSync is writeAtomicMode; unless durable the data is not
// forced to disk before the rename (a crash of the machine, not of
// runbook, may then leave the file empty).
func writeAtomicSync(path string, data []byte, perm os.FileMode, durable bool) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if durable {
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
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
	fmt.Fprintf(&b, "%s.\n\n", r.TickedSummary())
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
// step order, each with the step that proves it and, where they are known
// before any host is contacted, the commands that step runs.
func Blank(title string, items []BlankItem) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s — completion checklist\n\n", title)
	for i, it := range items {
		fmt.Fprintf(&b, "- [ ] %s\n", it.Text)
		if it.Proof == "" && len(it.Commands) == 0 {
			continue
		}
		fmt.Fprintf(&b, "  - proof: step %s", mdCode(it.Step))
		if it.Proof != "" {
			fmt.Fprintf(&b, " (%s)", it.Proof)
		}
		// Lines of one step share its commands: list them once.
		if len(it.Commands) > 0 && i > 0 && items[i-1].Step == it.Step && slices.Equal(items[i-1].Commands, it.Commands) {
			b.WriteString(", commands as above\n")
			continue
		}
		b.WriteString("\n")
		for _, c := range it.Commands {
			fmt.Fprintf(&b, "    - %s\n", mdCode(c))
		}
	}
	return b.String()
}

// BlankItem is one line of a blank checklist.
type BlankItem struct {
	Text  string `json:"text"`
	Step  string `json:"step"`
	Proof string `json:"proof,omitempty"`
	// Commands the step runs to prove the line, as far as they are known
	// without contacting a host (a check's command line, a kind's probe and
	// planned change); secrets redacted.
	Commands []string `json:"commands,omitempty"`
}

// mdCode renders s as a Markdown code span, with a fence longer than any
// run of backticks inside it.
func mdCode(s string) string {
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if longest > 0 || strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}
