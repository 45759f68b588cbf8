package steps

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/gocty"
)

// command runs a command that changes something. `creates` (a path that
// must not exist yet), `removes` (a path that must still exist) and
// `unless` (a read-only command) make it idempotent: when the creates path
// exists, the removes path does not, or unless succeeds, the step is
// already satisfied and nothing runs. However many of them are set, they
// are decided by one remote command. `chdir` runs the command (and those
// checks) in a directory.
type commandKind struct{}

func init() { register("command", commandKind{}) }

func (commandKind) Spec() hcldec.ObjectSpec {
	s := shellSpec()
	s["creates"] = &hcldec.AttrSpec{Name: "creates", Type: cty.String}
	s["removes"] = &hcldec.AttrSpec{Name: "removes", Type: cty.String}
	s["unless"] = &hcldec.AttrSpec{Name: "unless", Type: cty.String}
	s["chdir"] = &hcldec.AttrSpec{Name: "chdir", Type: cty.String}
	return s
}

func (commandKind) ReadOnly() bool { return false }

func (commandKind) Decode(cfg cty.Value) (Step, error) {
	sc, err := decodeShell(cfg)
	if err != nil {
		return nil, err
	}
	s := &commandStep{sc: sc}
	for name, dst := range map[string]*string{"creates": &s.creates, "removes": &s.removes, "unless": &s.unless, "chdir": &s.chdir} {
		if v := cfg.GetAttr(name); !v.IsNull() {
			if err := gocty.FromCtyValue(v, dst); err != nil {
				return nil, &AttrError{Attr: name, Err: err}
			}
			// sshd cuts a command line at a NUL byte: the check would
			// be of a different, shorter path or command.
			if strings.ContainsRune(*dst, 0) {
				return nil, &AttrError{Attr: name, Err: fmt.Errorf("contains a NUL byte")}
			}
			if *dst == "" {
				return nil, &AttrError{Attr: name, Err: fmt.Errorf("is empty (leave it out, or set it to null)")}
			}
		}
	}
	// A relative chdir would depend on the login directory of whoever
	// runs the step (and with become, sudo keeps that of the login user).
	if s.chdir != "" && !strings.HasPrefix(s.chdir, "/") {
		return nil, &AttrError{Attr: "chdir", Err: fmt.Errorf("must be an absolute path, not %q", s.chdir)}
	}
	return s, nil
}

type commandStep struct {
	sc      shellCommand
	creates string
	removes string
	unless  string
	chdir   string
}

// cmdChdirExit is the exit status of the `cd DIR || exit 125` that starts a
// command with chdir: 125 is what env(1) and timeout(1) use for "could not
// even start the command".
const cmdChdirExit = 125

// inDir prefixes line with the cd into chdir, when there is one.
func (s *commandStep) inDir(line string) string {
	if s.chdir == "" {
		return line
	}
	return fmt.Sprintf("cd %s || exit %d; %s", transport.ShellQuote(s.chdir), cmdChdirExit, line)
}

// chdirFailed tells the cd's failure from the command's own exit 125:
// the shell's message names cd and the directory.
func (s *commandStep) chdirFailed(res transport.Result) bool {
	stderr := string(res.Stderr)
	return s.chdir != "" && res.ExitCode == cmdChdirExit && strings.Contains(stderr, "cd") && strings.Contains(stderr, s.chdir)
}

func (s *commandStep) chdirFailure(res transport.Result) error {
	return &Failure{
		Msg:  fmt.Sprintf("chdir %s: cannot enter the directory: %s", s.chdir, strings.TrimSpace(tail(string(res.Stderr), 3))),
		Hint: "create the directory in an earlier step, check the path, or set become = true when only root may enter it",
	}
}

// run is the command as it runs: in chdir through /bin/sh when set.
func (s *commandStep) run(become bool) transport.Command {
	c := s.sc.command(become)
	if s.chdir != "" {
		// An argv becomes a line too: the cd must happen in the process
		// that then runs the program, under sudo when become is set (a
		// cd before sudo would need the login user to enter the
		// directory, and sudo would not keep it for a root-only one).
		line := s.sc.display()
		c.Argv, c.Line = nil, s.inDir(line)
	}
	return c
}

// guards counts creates, removes and unless.
func (s *commandStep) guards() int {
	n := 0
	for _, g := range []string{s.creates, s.removes, s.unless} {
		if g != "" {
			n++
		}
	}
	return n
}

// probe is the one command that decides whether the step is satisfied.
// With one guard it is that guard alone (`test -e PATH` or the unless
// command), as an admin would type it. With several, each path check
// that settles it says so on stdout and exits 0 before the next runs;
// unless, if set, comes last and its exit status decides.
func (s *commandStep) probe(become bool) transport.Command {
	q := transport.ShellQuote
	if s.guards() == 1 && s.chdir == "" {
		switch {
		case s.creates != "":
			return transport.Command{Argv: []string{"test", "-e", s.creates}, Become: become}
		case s.removes != "":
			return transport.Command{Argv: []string{"test", "-e", s.removes}, Become: become}
		}
		return transport.Command{Line: s.unless, Become: become}
	}
	var parts []string
	if s.guards() == 1 {
		switch {
		case s.creates != "":
			parts = append(parts, "test -e "+q(s.creates))
		case s.removes != "":
			parts = append(parts, "test -e "+q(s.removes))
		default:
			parts = append(parts, s.unless)
		}
	} else {
		if s.creates != "" {
			parts = append(parts, fmt.Sprintf("test -e %s && { echo %s; exit 0; }", q(s.creates), q(cmdCreatesWhy(s.creates))))
		}
		if s.removes != "" {
			parts = append(parts, fmt.Sprintf("test -e %s || { echo %s; exit 0; }", q(s.removes), q(cmdRemovesWhy(s.removes))))
		}
		if s.unless != "" {
			parts = append(parts, s.unless)
		} else {
			parts = append(parts, "exit 1")
		}
	}
	return transport.Command{Line: s.inDir(strings.Join(parts, "; ")), Become: become}
}

func cmdCreatesWhy(p string) string { return "creates: " + p + " exists" }
func cmdRemovesWhy(p string) string { return "removes: " + p + " does not exist" }

// satisfiedBy reads the probe's result: why the step is satisfied, or ""
// when it must run.
func (s *commandStep) satisfiedBy(res transport.Result) string {
	if s.guards() == 1 {
		switch {
		case s.creates != "" && res.ExitCode == 0:
			return cmdCreatesWhy(s.creates)
		case s.removes != "" && res.ExitCode == 1:
			// 1 is test's "false"; anything else is not an answer.
			return cmdRemovesWhy(s.removes)
		case s.unless != "" && res.ExitCode == 0:
			return fmt.Sprintf("unless: `%s` succeeded", s.unless)
		}
		return ""
	}
	if res.ExitCode != 0 {
		return ""
	}
	// A path check that settled it printed why and nothing else ran; an
	// unless command printing those very words would only change which
	// reason is shown, not that the step is satisfied.
	first, _, _ := strings.Cut(string(res.Stdout), "\n")
	for _, why := range []string{cmdCreatesWhy(s.creates), cmdRemovesWhy(s.removes)} {
		if first == why {
			return why
		}
	}
	return fmt.Sprintf("unless: `%s` succeeded", s.unless)
}

func (s *commandStep) Plan(ctx context.Context, ex Exec) (Proposal, error) {
	run := Proposal{Action: Run, Summary: "will run: " + s.sc.display(), Commands: []string{transport.Display(s.run(ex.Become()))}}
	if s.chdir != "" {
		run.Summary += " (in " + s.chdir + ")"
	}
	if s.guards() == 0 {
		return run, nil
	}
	res, err := ex.Run(ctx, s.probe(ex.Become()))
	if err != nil {
		return Proposal{}, err
	}
	if s.chdirFailed(res) {
		if !ex.DryRun() {
			// Apply would only fail at the same cd, after deciding on
			// nothing: say so before running anything.
			return Proposal{}, s.chdirFailure(res)
		}
		// An earlier step of this plan may make the directory.
		run.Summary += "; " + s.chdir + " does not exist yet"
		return run, nil
	}
	if why := s.satisfiedBy(res); why != "" {
		return s.satisfied("already satisfied (" + why + ")"), nil
	}
	return run, nil
}

func (s *commandStep) satisfied(why string) Proposal {
	return Proposal{Action: NoOp, Summary: why, Outputs: map[string]cty.Value{
		"stdout": cty.StringVal(""), "stderr": cty.StringVal(""), "exit_code": cty.NumberIntVal(0),
		"lines": cty.ListValEmpty(cty.String),
	}}
}

func (s *commandStep) Apply(ctx context.Context, ex Exec, p Proposal) (Outcome, error) {
	res, err := ex.Run(ctx, s.run(ex.Become()))
	if err != nil {
		return Outcome{}, err
	}
	if s.chdirFailed(res) {
		// Not the command's exit status, whatever ok_exit_codes says:
		// the command never started.
		return Outcome{}, s.chdirFailure(res)
	}
	out, perr := s.sc.outputs(res)
	if !s.sc.exitOK(res.ExitCode) {
		return Outcome{Outputs: out}, exitFailure(s.sc.display(), res)
	}
	if perr != nil {
		return Outcome{Changed: true, Outputs: out}, &Failure{Msg: fmt.Sprintf("`%s`: %v", s.sc.display(), perr)}
	}
	return Outcome{Changed: true, Summary: "ran: " + s.sc.display(), Outputs: out}, nil
}
