package steps

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/runbook-hpc/runbook/steps/slurm"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/gocty"
)

// This file holds what the Slurm kinds (create, modify, verify, grant,
// test_job, sacct_check, preflight, prove_limit) share: running Slurm
// commands, classifying sacctmgr, and polling without busy loops.

// argvDisplay renders argv as an admin would type it.
func argvDisplay(argv []string) string { return transport.JoinArgv(argv) }

// privileged is a sacctmgr change: through sudo when the step asked for it.
// Plans show it with transport.Display, so they read as apply's evidence.
func privileged(ex Exec, argv []string) transport.Command {
	return transport.Command{Argv: argv, Become: ex.Become()}
}

// readSlurm runs a read-only Slurm command (never through sudo: reading
// accounting needs no privilege) and fails on a non-zero exit.
func readSlurm(ctx context.Context, ex Exec, argv []string) ([]byte, error) {
	res, err := ex.Run(ctx, transport.Command{Argv: argv})
	if err != nil {
		return nil, err
	}
	if res.ExitCode != 0 {
		r := slurm.ClassifySacctmgr(res.Stdout, res.Stderr, res.ExitCode)
		msg := fmt.Sprintf("`%s` exited %d", argvDisplay(argv), res.ExitCode)
		if t := strings.TrimSpace(tail(string(res.Stderr)+string(res.Stdout), 3)); t != "" {
			msg += ": " + t
		}
		return nil, &Failure{Msg: msg, Hint: r.Hint}
	}
	return res.Stdout, nil
}

// changeSacctmgr runs a mutating sacctmgr argv (always built with -i) with
// sudo when the step asked for it, and fails unless sacctmgr says the
// change holds: rc 0 alone proves nothing (" Changes Discarded" exits 0).
func changeSacctmgr(ctx context.Context, ex Exec, argv []string) (slurm.Result, error) {
	cmd := privileged(ex, argv)
	res, err := ex.Run(ctx, cmd)
	if err != nil {
		return slurm.Result{}, err
	}
	r := slurm.ClassifySacctmgr(res.Stdout, res.Stderr, res.ExitCode)
	if !r.Success {
		msg := fmt.Sprintf("`%s` failed (%s)", transport.Display(cmd), r.Outcome)
		if r.Detail != "" {
			msg += ": " + r.Detail
		}
		hint := r.Hint
		if r.Outcome == slurm.OutcomePermissionDenied && !ex.Become() {
			hint = "the login user is not a Slurm administrator: set become = true (sudo), as the guide's `sudo sacctmgr` does; " + hint
		}
		return r, &Failure{Msg: msg, Hint: hint, Err: r.Err()}
	}
	return r, nil
}

// loginUser asks the host who we are; kinds that act as another user need
// to know whether sudo -u is required.
func loginUser(ctx context.Context, ex Exec) (string, error) {
	res, err := ex.Run(ctx, transport.Command{Argv: []string{"id", "-un"}})
	if err != nil {
		return "", err
	}
	if res.ExitCode != 0 {
		return "", &Failure{Msg: "`id -un` failed: " + strings.TrimSpace(string(res.Stderr))}
	}
	return strings.TrimSpace(string(res.Stdout)), nil
}

// asUser is a command run as user: directly when user is the login user,
// else through sudo -u.
func asUser(argv []string, user, login string) transport.Command {
	c := transport.Command{Argv: argv}
	if user != "" && user != login {
		c.Become, c.BecomeUser = true, user
	}
	return c
}

// poller waits between polls: it starts at 50 ms and backs off (×1.5) to
// max = 200 ms, so a state change is seen within max + one poll's round
// trip (~10 ms for scontrol) at any point of a wait, never busy-loops, and
// ends at once on cancel. At 200 ms a 10-minute wait costs ~3,000 cheap
// scontrol RPCs (5 per second), far below what slurmctld serves.
type poller struct {
	next, max time.Duration
}

func newPoller() *poller { return &poller{next: 50 * time.Millisecond, max: 200 * time.Millisecond} }

func (p *poller) wait(ctx context.Context) error {
	if err := Sleep(ctx, p.next); err != nil {
		return err
	}
	p.next = min(p.next*3/2, p.max)
	return nil
}

// attrString/attrStrings/... read optional attributes of a decoded config.
func attrString(cfg cty.Value, name string) (string, error) {
	v := cfg.GetAttr(name)
	if v.IsNull() {
		return "", nil
	}
	var s string
	if err := gocty.FromCtyValue(v, &s); err != nil {
		return "", &AttrError{Attr: name, Err: err}
	}
	return s, nil
}

func attrStrings(cfg cty.Value, name string) ([]string, error) {
	v := cfg.GetAttr(name)
	if v.IsNull() {
		return nil, nil
	}
	var s []string
	if err := gocty.FromCtyValue(v, &s); err != nil {
		return nil, &AttrError{Attr: name, Err: err}
	}
	return s, nil
}

func attrInt(cfg cty.Value, name string, def int) (int, error) {
	v := cfg.GetAttr(name)
	if v.IsNull() {
		return def, nil
	}
	var n int
	if err := gocty.FromCtyValue(v, &n); err != nil {
		return 0, &AttrError{Attr: name, Err: err}
	}
	return n, nil
}

// attrSettings reads a map of Slurm field settings such as
// { GraceTime = "60", Priority = 100, MaxJobsPerUser = null }: numbers
// become strings, null entries are left out (not managed).
func attrSettings(cfg cty.Value, name string) (map[string]string, error) {
	v := cfg.GetAttr(name)
	if v.IsNull() {
		return nil, nil
	}
	if !v.Type().IsObjectType() && !v.Type().IsMapType() {
		return nil, &AttrError{Attr: name, Err: fmt.Errorf("want a map like { MaxWall = \"8:00:00\" }, got %s", v.Type().FriendlyName())}
	}
	out := map[string]string{}
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if e.IsNull() {
			continue
		}
		switch e.Type() {
		case cty.String:
			out[k.AsString()] = e.AsString()
		case cty.Number:
			out[k.AsString()] = e.AsBigFloat().Text('f', -1)
		case cty.Bool:
			return nil, &AttrError{Attr: name, Err: fmt.Errorf("%s: want a string or number, got bool", k.AsString())}
		default:
			if e.Type().IsListType() || e.Type().IsTupleType() || e.Type().IsSetType() {
				var parts []string
				for it2 := e.ElementIterator(); it2.Next(); {
					_, x := it2.Element()
					if x.Type() != cty.String || x.IsNull() {
						return nil, &AttrError{Attr: name, Err: fmt.Errorf("%s: lists must hold strings", k.AsString())}
					}
					parts = append(parts, x.AsString())
				}
				out[k.AsString()] = strings.Join(parts, ",")
				continue
			}
			return nil, &AttrError{Attr: name, Err: fmt.Errorf("%s: want a string or number, got %s", k.AsString(), e.Type().FriendlyName())}
		}
	}
	return out, nil
}

func requireName(kind slurm.EntityKind, attr, name string) error {
	if err := slurm.ValidateName(kind, name); err != nil {
		return &AttrError{Attr: attr, Err: err}
	}
	return nil
}

func stringMap(m map[string]string) cty.Value {
	if len(m) == 0 {
		return cty.MapValEmpty(cty.String)
	}
	vals := map[string]cty.Value{}
	for k, v := range m {
		vals[k] = cty.StringVal(v)
	}
	return cty.MapVal(vals)
}

func asFailure(err error, target **Failure) bool { return errors.As(err, target) }
