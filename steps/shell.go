package steps

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/runbook-hpc/runbook/steps/slurm"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/gocty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// shellSpec are the attributes of kinds that run a command the author
// writes: `command` (through /bin/sh -c) or `argv` (each argument quoted).
func shellSpec() hcldec.ObjectSpec {
	return hcldec.ObjectSpec{
		"command":       &hcldec.AttrSpec{Name: "command", Type: cty.String},
		"argv":          &hcldec.AttrSpec{Name: "argv", Type: cty.List(cty.String)},
		"env":           &hcldec.AttrSpec{Name: "env", Type: cty.Map(cty.String)},
		"stdin":         &hcldec.AttrSpec{Name: "stdin", Type: cty.String},
		"ok_exit_codes": &hcldec.AttrSpec{Name: "ok_exit_codes", Type: cty.List(cty.Number)},
		"parse":         &hcldec.AttrSpec{Name: "parse", Type: cty.String},
		"separator":     &hcldec.AttrSpec{Name: "separator", Type: cty.String},
		"header":        &hcldec.AttrSpec{Name: "header", Type: cty.Bool},
	}
}

// shellCommand is a decoded command with the way its output is read.
type shellCommand struct {
	Argv      []string          `cty:"argv"`
	Line      *string           `cty:"command"`
	Env       map[string]string `cty:"env"`
	Stdin     *string           `cty:"stdin"`
	OKCodes   []int             `cty:"ok_exit_codes"`
	Parse     *string           `cty:"parse"`
	Separator *string           `cty:"separator"`
	Header    *bool             `cty:"header"`
}

var parseModes = []string{"text", "lines", "json", "kv", "rows", "parsable"}

func decodeShell(cfg cty.Value) (shellCommand, error) {
	var sc shellCommand
	for name, dst := range map[string]any{
		"argv": &sc.Argv, "command": &sc.Line, "env": &sc.Env, "stdin": &sc.Stdin,
		"ok_exit_codes": &sc.OKCodes, "parse": &sc.Parse, "separator": &sc.Separator, "header": &sc.Header,
	} {
		v := cfg.GetAttr(name)
		if v.IsNull() {
			continue
		}
		if err := gocty.FromCtyValue(v, dst); err != nil {
			return sc, &AttrError{Attr: name, Err: err}
		}
	}
	switch {
	case sc.Line == nil && len(sc.Argv) == 0:
		return sc, &AttrError{Attr: "command", Err: fmt.Errorf("set command = \"...\" (run by /bin/sh) or argv = [\"prog\", \"arg\", ...]")}
	case sc.Line != nil && len(sc.Argv) > 0:
		return sc, &AttrError{Attr: "argv", Err: fmt.Errorf("set command or argv, not both")}
	case sc.Line != nil && strings.TrimSpace(*sc.Line) == "":
		return sc, &AttrError{Attr: "command", Err: fmt.Errorf("command is empty")}
	}
	// No program can receive a NUL byte in its arguments: sshd would cut
	// the command line there (running a different, shorter command) and
	// exec refuses it locally.
	if sc.Line != nil && strings.ContainsRune(*sc.Line, 0) {
		return sc, &AttrError{Attr: "command", Err: fmt.Errorf("command contains a NUL byte")}
	}
	for i, a := range sc.Argv {
		if strings.ContainsRune(a, 0) {
			return sc, &AttrError{Attr: "argv", Err: fmt.Errorf("argv[%d] contains a NUL byte", i)}
		}
	}
	for k, v := range sc.Env {
		if strings.ContainsRune(k, 0) || strings.ContainsRune(v, 0) {
			return sc, &AttrError{Attr: "env", Err: fmt.Errorf("env %q contains a NUL byte", k)}
		}
	}
	if len(sc.OKCodes) == 0 {
		sc.OKCodes = []int{0}
	}
	if sc.Parse != nil {
		ok := false
		for _, m := range parseModes {
			ok = ok || *sc.Parse == m
		}
		if !ok {
			return sc, &AttrError{Attr: "parse", Err: fmt.Errorf("parse is one of %s, not %q", strings.Join(parseModes, ", "), *sc.Parse)}
		}
	}
	if err := checkSacctmgrImmediate(sc.Argv, sc.Line, sc.Stdin); err != nil {
		return sc, err
	}
	return sc, nil
}

func (sc shellCommand) command(become bool) transport.Command {
	c := transport.Command{Argv: sc.Argv, Env: sc.Env, Become: become}
	if sc.Line != nil {
		c.Line = *sc.Line
	}
	if sc.Stdin != nil {
		c.Stdin = strings.NewReader(*sc.Stdin)
	}
	return c
}

func (sc shellCommand) display() string {
	if sc.Line != nil {
		return *sc.Line
	}
	return transport.JoinArgv(sc.Argv)
}

func (sc shellCommand) exitOK(code int) bool {
	for _, c := range sc.OKCodes {
		if c == code {
			return true
		}
	}
	return false
}

// outputs are what step.<name>.* exposes for a finished command.
func (sc shellCommand) outputs(res transport.Result) (map[string]cty.Value, error) {
	out := map[string]cty.Value{
		"stdout":    cty.StringVal(string(res.Stdout)),
		"stderr":    cty.StringVal(string(res.Stderr)),
		"exit_code": cty.NumberIntVal(int64(res.ExitCode)),
		"lines":     linesValue(string(res.Stdout)),
	}
	mode := "text"
	if sc.Parse != nil {
		mode = *sc.Parse
	}
	switch mode {
	case "json":
		ty, err := ctyjson.ImpliedType(res.Stdout)
		if err != nil {
			return out, fmt.Errorf("output is not JSON: %w", err)
		}
		v, err := ctyjson.Unmarshal(res.Stdout, ty)
		if err != nil {
			return out, fmt.Errorf("output is not JSON: %w", err)
		}
		out["json"] = v
	case "kv":
		out["kv"] = kvValue(string(res.Stdout))
	case "parsable":
		rows, err := parsableRows(res.Stdout)
		if err != nil {
			return out, err
		}
		out["rows"] = rows
	case "rows":
		sep := "|"
		if sc.Separator != nil && *sc.Separator != "" {
			sep = *sc.Separator
		}
		header := true
		if sc.Header != nil {
			header = *sc.Header
		}
		out["rows"] = rowsValue(string(res.Stdout), sep, header)
	}
	return out, nil
}

func linesValue(s string) cty.Value {
	// The lines bufio.ScanLines would give (a trailing \r dropped, no
	// empty last line), without a 64 KiB scanner buffer per command.
	var vals []cty.Value
	for line := range strings.Lines(s) {
		line = strings.TrimSuffix(line, "\n")
		line = strings.TrimSuffix(line, "\r")
		vals = append(vals, cty.StringVal(line))
	}
	if len(vals) == 0 {
		return cty.ListValEmpty(cty.String)
	}
	return cty.ListVal(vals)
}

// kvValue reads "key=value" or "key: value" lines; later keys win.
func kvValue(s string) cty.Value {
	m := map[string]cty.Value{}
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		// Split at whichever of = and : comes first, so
		// "ExecStart: /usr/bin/foo --opt=1" keeps its value whole.
		sep := strings.IndexAny(line, "=:")
		ok := sep > 0
		k, v := "", ""
		if ok {
			k, v = line[:sep], line[sep+1:]
		}
		if ok {
			m[strings.TrimSpace(k)] = cty.StringVal(strings.TrimSpace(v))
		}
	}
	if len(m) == 0 {
		return cty.MapValEmpty(cty.String)
	}
	return cty.MapVal(m)
}

// rowsValue splits separated rows (Slurm's -P output). With a header the
// rows are maps keyed by column; the trailing separator of `-p` output is
// dropped.
func rowsValue(s, sep string, header bool) cty.Value {
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, strings.TrimSuffix(l, sep))
		}
	}
	if !header {
		var rows []cty.Value
		for _, l := range lines {
			var cells []cty.Value
			for _, c := range strings.Split(l, sep) {
				cells = append(cells, cty.StringVal(c))
			}
			rows = append(rows, cty.ListVal(cells))
		}
		if len(rows) == 0 {
			return cty.ListValEmpty(cty.List(cty.String))
		}
		return cty.ListVal(rows)
	}
	if len(lines) == 0 {
		return cty.ListValEmpty(cty.Map(cty.String))
	}
	cols := strings.Split(lines[0], sep)
	var rows []cty.Value
	for _, l := range lines[1:] {
		cells := strings.Split(l, sep)
		m := map[string]cty.Value{}
		for i, c := range cols {
			v := ""
			if i < len(cells) {
				v = cells[i]
			}
			m[c] = cty.StringVal(v)
		}
		rows = append(rows, cty.MapVal(m))
	}
	if len(rows) == 0 {
		return cty.ListValEmpty(cty.Map(cty.String))
	}
	return cty.ListVal(rows)
}

// parsableRows reads Slurm's -P/-p output with its header line; it refuses
// the fixed-width default, which silently truncates values with '+'.
func parsableRows(stdout []byte) (cty.Value, error) {
	if err := slurm.DetectFixedWidth(stdout); err != nil {
		return cty.NilVal, fmt.Errorf("%w (add -P to the command)", err)
	}
	t, err := slurm.ParseParsableHeader(stdout)
	if err != nil {
		return cty.NilVal, err
	}
	var rows []cty.Value
	for _, rec := range t.Maps() {
		m := map[string]cty.Value{}
		for k, v := range rec {
			m[k] = cty.StringVal(v)
		}
		rows = append(rows, cty.MapVal(m))
	}
	if len(rows) == 0 {
		return cty.ListValEmpty(cty.Map(cty.String)), nil
	}
	return cty.ListVal(rows), nil
}

// tail returns the last n lines of s, for failure messages.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// exitFailure describes a command that exited with an unexpected code.
func exitFailure(display string, res transport.Result) error {
	msg := fmt.Sprintf("`%s` exited %d", display, res.ExitCode)
	if t := strings.TrimSpace(tail(string(res.Stderr), 5)); t != "" {
		msg += ": " + t
	}
	// A Slurm accounting command that fails gets the same advice as the
	// Slurm kinds give (slurmdbd down, permission, unknown TRES, ...).
	hint := ""
	if strings.Contains(display, "sacctmgr") || strings.Contains(display, "sacct ") {
		hint = slurm.ClassifySacctmgr(res.Stdout, res.Stderr, res.ExitCode).Hint
	}
	return &Failure{Msg: msg, Hint: hint}
}
