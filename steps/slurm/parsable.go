package slurm

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Table is the parsed form of `sacctmgr -P`/`-p` or `sacct -P`/`-p` output.
//
// Columns are the column names (the printed header, or the names the caller
// passed when the output was produced with -n). Every row has exactly
// len(Columns) cells.
type Table struct {
	Columns []string
	Rows    [][]string
}

// ErrFixedWidth is returned (wrapped) when output in the default
// fixed-width layout is handed to a parsable-output parser. Fixed-width
// output truncates long values with a '+' (`gres/gpu=200+`, `billing=1+`,
// `CANCELLED+`), so it must never be parsed: rerun the command with -P.
var ErrFixedWidth = errors.New("fixed-width output (header underlined with ----): rerun the command with -P/--parsable2")

// DetectFixedWidth returns an error wrapping ErrFixedWidth when out looks
// like the default fixed-width layout of sacctmgr/sacct, i.e. a line made
// only of dash runs separated by blanks (`---------- ----------`).
func DetectFixedWidth(out []byte) error {
	for i, line := range splitLines(out) {
		if i > 3 { // the underline is always the second line
			break
		}
		if isDashRule(line) {
			return fmt.Errorf("line %d: %w", i+1, ErrFixedWidth)
		}
	}
	return nil
}

func isDashRule(line string) bool {
	t := strings.TrimSpace(line)
	if len(t) < 3 {
		return false
	}
	dashes := 0
	for _, r := range t {
		switch r {
		case '-':
			dashes++
		case ' ', '\t':
		default:
			return false
		}
	}
	return dashes >= 3
}

// splitLines splits on '\n', drops a trailing '\r' from every line (output
// read through `ssh -tt` has CRLF endings) and drops blank lines.
//
// Dropping blank lines means a one-column table cannot carry an empty
// value; no command this package builds produces such a row.
func splitLines(out []byte) []string {
	var lines []string
	for _, l := range bytes.Split(out, []byte{'\n'}) {
		l = bytes.TrimSuffix(l, []byte{'\r'})
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		lines = append(lines, string(l))
	}
	return lines
}

// ParseParsableHeader parses -P/-p output that starts with a header line
// (the command was run without -n). Both the --parsable2 form (no trailing
// '|') and the --parsable form (trailing '|') are accepted; which one it is
// is decided from the header line.
func ParseParsableHeader(out []byte) (*Table, error) {
	if err := DetectFixedWidth(out); err != nil {
		return nil, err
	}
	lines := splitLines(out)
	if len(lines) == 0 {
		return nil, errors.New("parsable output: empty (expected at least a header line)")
	}
	header := lines[0]
	trailing := strings.HasSuffix(header, "|")
	if trailing {
		header = header[:len(header)-1]
	}
	cols := strings.Split(header, "|")
	for i, c := range cols {
		cols[i] = strings.TrimSpace(c)
		if cols[i] == "" {
			return nil, fmt.Errorf("parsable output: header column %d is empty in %q", i+1, lines[0])
		}
	}
	if len(cols) == 1 && strings.Contains(strings.TrimSpace(cols[0]), " ") {
		return nil, fmt.Errorf("parsable output: header %q has no '|' separators; was -P/-p passed?", lines[0])
	}
	t := &Table{Columns: cols}
	for n, line := range lines[1:] {
		row, err := splitRow(line, len(cols), trailing)
		if err != nil {
			return nil, fmt.Errorf("parsable output line %d: %w", n+2, err)
		}
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}

// ParseParsableNoHeader parses -n -P or -n -p output whose column order is
// known to the caller (the format= list the command was built with). A row
// with len(columns)+1 cells whose last cell is empty is the -p form and its
// trailing empty cell is dropped; any other cell count is an error, because
// a value containing '|' would otherwise silently shift every column.
func ParseParsableNoHeader(out []byte, columns []string) (*Table, error) {
	if len(columns) == 0 {
		return nil, errors.New("parsable output: no column names given for headerless (-n) output")
	}
	if err := DetectFixedWidth(out); err != nil {
		return nil, err
	}
	t := &Table{Columns: append([]string(nil), columns...)}
	for n, line := range splitLines(out) {
		row, err := splitRow(line, len(columns), strings.Count(line, "|") == len(columns) && strings.HasSuffix(line, "|"))
		if err != nil {
			return nil, fmt.Errorf("parsable output line %d: %w", n+1, err)
		}
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}

func splitRow(line string, ncols int, trailing bool) ([]string, error) {
	if trailing {
		if !strings.HasSuffix(line, "|") {
			return nil, fmt.Errorf("expected a trailing '|' (-p output) in %q", truncate(line, 120))
		}
		line = line[:len(line)-1]
	}
	cells := strings.Split(line, "|")
	if len(cells) != ncols {
		return nil, fmt.Errorf("%d cells, want %d (a value containing '|' or a wrong format= list?) in %q", len(cells), ncols, truncate(line, 120))
	}
	return cells, nil
}

// Col returns the index of the named column, matched case-insensitively,
// or -1.
func (t *Table) Col(name string) int {
	for i, c := range t.Columns {
		if strings.EqualFold(c, name) {
			return i
		}
	}
	return -1
}

// Value returns the cell of row i in the named column (case-insensitive).
func (t *Table) Value(i int, column string) (string, bool) {
	c := t.Col(column)
	if c < 0 || i < 0 || i >= len(t.Rows) {
		return "", false
	}
	return t.Rows[i][c], true
}

// Maps returns one map per row keyed by the column names as they appear in
// Columns. Use Record.Get for case-insensitive lookup.
func (t *Table) Maps() []Record {
	out := make([]Record, 0, len(t.Rows))
	for _, row := range t.Rows {
		m := make(Record, len(t.Columns))
		for i, c := range t.Columns {
			m[c] = row[i]
		}
		out = append(out, m)
	}
	return out
}

// Record is one row or one key=value block (scontrol output), keyed by the
// names Slurm printed.
type Record map[string]string

// Get returns the value for key, trying an exact match first and then a
// case-insensitive one (Slurm is inconsistent: `AllowQos` vs `AllowQOS`,
// `PriorityWeightFairshare` vs `PriorityWeightFairShare`).
func (r Record) Get(key string) (string, bool) {
	if v, ok := r[key]; ok {
		return v, true
	}
	for k, v := range r {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return "", false
}

// Str is Get without the presence flag.
func (r Record) Str(key string) string {
	v, _ := r.Get(key)
	return v
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
