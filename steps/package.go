package steps

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/zclconf/go-cty/cty"
)

// package installs, upgrades or removes OS packages with the host's own
// package manager (apt on Debian/Ubuntu, dnf or yum on RHEL-likes),
// detected by the same one command that reads the packages' state: an
// unchanged step costs one round trip. All names go to the package
// manager in one transaction.
//
//	step "package" "tools" {
//	  names            = ["hello", "cron"]
//	  update_cache     = true
//	  cache_valid_time = "1h"
//	  become           = true
//	}
type packageKind struct{}

func init() { register("package", packageKind{}) }

func (packageKind) Spec() hcldec.ObjectSpec {
	return hcldec.ObjectSpec{
		"names":              &hcldec.AttrSpec{Name: "names", Type: cty.List(cty.String)},
		"state":              &hcldec.AttrSpec{Name: "state", Type: cty.String},
		"update_cache":       &hcldec.AttrSpec{Name: "update_cache", Type: cty.Bool},
		"cache_valid_time":   &hcldec.AttrSpec{Name: "cache_valid_time", Type: cty.String},
		"install_recommends": &hcldec.AttrSpec{Name: "install_recommends", Type: cty.Bool},
	}
}

func (packageKind) ReadOnly() bool { return false }

// Validate checks what is known, so a bad name or state fails validate
// (exit 3, with the attribute's line), not the host.
func (packageKind) Validate(cfg cty.Value) error {
	_, err := decodePackage(cfg, false)
	return err
}

func (packageKind) Decode(cfg cty.Value) (Step, error) {
	return decodePackage(cfg, true)
}

// decodePackage checks every known attribute; complete is true in Decode,
// where all are known and the step must be runnable.
func decodePackage(cfg cty.Value, complete bool) (*packageStep, error) {
	s := &packageStep{state: "present"}
	if v, ok := pkgKnownAttr(cfg, "state"); ok {
		s.state = v.AsString()
		switch s.state {
		case "present", "absent", "latest":
		case "installed":
			return nil, &AttrError{Attr: "state", Err: fmt.Errorf("state is \"present\", \"absent\" or \"latest\", not %q (write \"present\")", s.state)}
		case "removed":
			return nil, &AttrError{Attr: "state", Err: fmt.Errorf("state is \"present\", \"absent\" or \"latest\", not %q (write \"absent\")", s.state)}
		default:
			return nil, &AttrError{Attr: "state", Err: fmt.Errorf("state is \"present\", \"absent\" or \"latest\", not %q", s.state)}
		}
	}
	names := cfg.GetAttr("names")
	namesKnown := names.IsWhollyKnown()
	if !names.IsNull() && names.IsKnown() {
		seen := map[string]bool{}
		for it := names.ElementIterator(); it.Next(); {
			_, v := it.Element()
			if !v.IsKnown() {
				continue
			}
			if v.IsNull() {
				return nil, &AttrError{Attr: "names", Err: fmt.Errorf("a package name is null")}
			}
			n := v.AsString()
			if err := checkPackageName(n); err != nil {
				return nil, &AttrError{Attr: "names", Err: err}
			}
			if seen[n] {
				return nil, &AttrError{Attr: "names", Err: fmt.Errorf("%q is listed twice", n)}
			}
			seen[n] = true
			s.names = append(s.names, n)
		}
	}
	uc := cfg.GetAttr("update_cache")
	if v, ok := pkgKnownAttr(cfg, "update_cache"); ok {
		s.updateCache = v.True()
	}
	if v, ok := pkgKnownAttr(cfg, "cache_valid_time"); ok {
		d, err := pkgParseDuration(v.AsString())
		if err != nil {
			return nil, &AttrError{Attr: "cache_valid_time", Err: err}
		}
		if d <= 0 {
			return nil, &AttrError{Attr: "cache_valid_time", Err: fmt.Errorf("cache_valid_time must be more than 0s; leave it out to refresh on every apply")}
		}
		// cache_valid_time alone asks for a refresh when the lists are
		// older, as in Ansible; update_cache = false with it is a
		// contradiction worth pointing out.
		if !uc.IsNull() && uc.IsKnown() && uc.False() {
			return nil, &AttrError{Attr: "cache_valid_time", Err: fmt.Errorf("cache_valid_time says how old the package lists may get before they are refreshed; it needs update_cache = true, not false")}
		}
		s.updateCache = true
		s.validFor = d
	}
	if v, ok := pkgKnownAttr(cfg, "install_recommends"); ok {
		b := v.True()
		s.recommends = &b
		if s.state == "absent" {
			return nil, &AttrError{Attr: "install_recommends", Err: fmt.Errorf("install_recommends has no meaning with state = \"absent\"")}
		}
	}
	// Only with both known can validate tell that the step has nothing
	// to do at all.
	decided := namesKnown && uc.IsWhollyKnown() && cfg.GetAttr("cache_valid_time").IsWhollyKnown()
	if (complete || decided) && len(s.names) == 0 && !s.updateCache {
		return nil, &AttrError{Attr: "names", Err: fmt.Errorf("names lists no package; give names = [\"pkg\", ...] (or update_cache = true for a step that only refreshes the package lists)")}
	}
	return s, nil
}

// pkgKnownAttr returns an attribute's value when it is set and wholly
// known (validate runs with step results unknown).
func pkgKnownAttr(cfg cty.Value, name string) (cty.Value, bool) {
	v := cfg.GetAttr(name)
	if v.IsNull() || !v.IsWhollyKnown() {
		return v, false
	}
	return v, true
}

type packageStep struct {
	names       []string
	state       string
	updateCache bool
	// validFor is cache_valid_time; 0 with updateCache: refresh on every apply.
	validFor   time.Duration
	recommends *bool
}

// Resources: each named package, and "packages": installing or removing
// packages can add, start or remove services (a postinst starts its
// daemon), so a service step planned after a pending package change is
// known only after apply.
func (s *packageStep) Resources() (reads, writes []string) {
	for _, n := range s.names {
		reads = append(reads, "package/"+n)
		writes = append(writes, "package/"+n)
	}
	return reads, append(writes, "packages")
}

// pkgPlan is what Plan decided, for Apply.
type pkgPlan struct {
	before  *pkgState
	refresh bool
	install []string // named packages to install
	upgrade []string // named packages to upgrade
	remove  []string // named packages to remove
}

func (p *pkgPlan) nothing() bool {
	return !p.refresh && len(p.install)+len(p.upgrade)+len(p.remove) == 0
}

// probe runs the one read-only command. It needs no sudo (see
// pkgProbeLine), so a plan of a package step never asks for a password.
func (s *packageStep) probe(ctx context.Context, ex Exec) (*pkgState, error) {
	line := pkgProbeLine(s.state, s.names, s.recommends)
	res, err := ex.Run(ctx, transport.Command{Line: line, Timeout: 5 * time.Minute})
	if err != nil {
		return nil, err
	}
	if res.ExitCode != 0 {
		return nil, exitFailure("the package probe", res)
	}
	st, err := pkgParse(string(res.Stdout), s.names)
	if err != nil {
		return nil, &Failure{Msg: err.Error()}
	}
	if st.manager == "" {
		return nil, &Failure{Msg: "no supported package manager on the host (looked for apt-get with dpkg-query, dnf and yum)"}
	}
	return st, nil
}

// listsName is what the refreshed lists are called for a manager.
func listsName(manager string) string {
	if manager == "apt" {
		return "apt lists"
	}
	return manager + " metadata"
}

// stale reports whether the step's update_cache asks for a refresh now.
func (s *packageStep) stale(st *pkgState) bool {
	if !s.updateCache {
		return false
	}
	return s.validFor == 0 || st.cacheTime == 0 || st.now-st.cacheTime > int64(s.validFor/time.Second)
}

// cacheAge says how old the lists are, for summaries (never for Changes:
// a saved plan compares Changes, and an age changes by the second).
func cacheAge(st *pkgState) string {
	if st.cacheTime == 0 {
		return "never refreshed"
	}
	age := time.Duration(st.now-st.cacheTime) * time.Second
	if age >= time.Minute {
		// "2h ago", not "2h0m1s ago": an age is read, not compared.
		age = age.Round(time.Minute)
	}
	return "refreshed " + pkgDuration(age) + " ago"
}

// decide compares the state with the step's and returns the plan, the
// field changes the plan shows, and what blocks it (a name no list has).
func (s *packageStep) decide(st *pkgState) (*pkgPlan, []Change, error) {
	pp := &pkgPlan{before: st, refresh: s.stale(st)}
	named := map[string]bool{}
	for _, n := range s.names {
		named[n] = true
	}
	// The target version of each named package, from the simulation
	// (apt) or the lists.
	target := map[string]string{}
	for _, op := range st.ops {
		if op.op != "remove" {
			target[op.name] = op.to
		}
	}
	var changes []Change
	var unknown []string
	current := func(n string) string {
		if v, ok := st.installed[n]; ok {
			return v
		}
		if b, ok := st.broken[n]; ok {
			return "(half-installed, dpkg status " + b + ")"
		}
		return "(absent)"
	}
	for _, n := range s.names {
		_, inst := st.installed[n]
		_, broken := st.broken[n]
		switch s.state {
		case "present", "latest":
			if !inst {
				v := target[n]
				if v == "" {
					v = st.candidate[n]
				}
				if v == "" {
					unknown = append(unknown, n)
					v = "(known after the refresh)"
				}
				pp.install = append(pp.install, n)
				changes = append(changes, Change{Field: n, Current: current(n), Desired: v})
				continue
			}
			if s.state == "latest" {
				to := ""
				if st.manager == "apt" {
					for _, op := range st.ops {
						if op.name == n && op.op == "upgrade" {
							to = op.to
						}
					}
				} else {
					to = st.upgrades[n]
				}
				if to != "" {
					pp.upgrade = append(pp.upgrade, n)
					changes = append(changes, Change{Field: n, Current: st.installed[n], Desired: to})
				}
			}
		case "absent":
			if inst || broken {
				pp.remove = append(pp.remove, n)
				changes = append(changes, Change{Field: n, Current: current(n), Desired: "(absent)"})
			}
		}
	}
	// What else the transaction touches (apt's simulation shows it).
	for _, op := range st.ops {
		if named[op.name] {
			continue
		}
		switch op.op {
		case "install":
			changes = append(changes, Change{Field: op.name + " (dependency)", Current: "(absent)", Desired: op.to})
		case "upgrade":
			changes = append(changes, Change{Field: op.name + " (dependency)", Current: op.from, Desired: op.to})
		case "remove":
			// Removing a package removes what depends on it; installing
			// one can remove what conflicts with it (postfix for exim4).
			why := " (removed by this transaction)"
			if s.state == "absent" {
				why = " (depends on a removed package)"
			}
			changes = append(changes, Change{Field: op.name + why, Current: op.from, Desired: "(absent)"})
		}
	}
	if pp.refresh {
		cur := "stale (older than " + pkgDuration(s.validFor) + ")"
		switch {
		case s.validFor == 0:
			cur = "refreshed on every apply (no cache_valid_time)"
		case st.cacheTime == 0:
			cur = "never refreshed"
		}
		changes = append([]Change{{Field: listsName(st.manager), Current: cur, Desired: "refreshed"}}, changes...)
	}
	// A failed simulation or a name no list knows blocks the plan, unless
	// the refresh it asks for may fix it: then apply finds out.
	if !pp.refresh {
		if st.simCode != 0 {
			msg := "the package manager cannot plan this: " + strings.Join(st.simErr, "; ")
			if len(st.simErr) == 0 {
				msg = fmt.Sprintf("the package manager's simulation exited %d", st.simCode)
			}
			return nil, nil, &Failure{Msg: msg, Hint: pkgAdvice(strings.Join(st.simErr, "\n"))}
		}
		if len(unknown) > 0 {
			return nil, nil, &Failure{
				Msg:  fmt.Sprintf("no installable version of %s in the %s (%s)", strings.Join(unknown, ", "), listsName(st.manager), cacheAge(st)),
				Hint: "check the name; if the package lists are old or empty, set update_cache = true",
			}
		}
	}
	return pp, changes, nil
}

func (s *packageStep) Plan(ctx context.Context, ex Exec) (Proposal, error) {
	st, err := s.probe(ctx, ex)
	if err != nil {
		return Proposal{}, err
	}
	pp, changes, err := s.decide(st)
	if err != nil {
		return Proposal{}, err
	}
	if pp.nothing() {
		return Proposal{Action: NoOp, Summary: "already satisfied: " + s.describe(st), Outputs: pkgOutputs(s.names, st), Private: pp}, nil
	}
	if st.uid != 0 && !ex.Become() {
		return Proposal{}, &Failure{
			Msg:  fmt.Sprintf("changing packages needs root, and the step connects as uid %d without become", st.uid),
			Hint: "set become = true on the step (the package manager then runs through sudo)",
		}
	}
	action := Modify
	if !pp.refresh && len(pp.upgrade)+len(pp.remove) == 0 {
		action = Create
	}
	var cmds []string
	for _, argv := range s.commands(pp) {
		cmds = append(cmds, transport.Display(transport.Command{Argv: argv, Become: ex.Become()}))
	}
	return Proposal{Action: action, Summary: s.summary(pp, changes), Changes: changes, Commands: cmds, Private: pp}, nil
}

// describe is a satisfied step's state: "hello 2.10-3, cron 3.0pl1-162 installed".
func (s *packageStep) describe(st *pkgState) string {
	if len(s.names) == 0 {
		return listsName(st.manager) + " " + cacheAge(st)
	}
	switch s.state {
	case "absent":
		return strings.Join(s.names, ", ") + " absent (" + st.manager + ")"
	case "latest":
		return pkgVersionList(s.names, st.installed) + " installed, the newest in the " + listsName(st.manager) + " (" + cacheAge(st) + ")"
	}
	return pkgVersionList(s.names, st.installed) + " installed (" + st.manager + ")"
}

// summary reads like "refresh apt lists (refreshed 3h ago), then install
// hello 2.10-3 (+1 dependency)".
func (s *packageStep) summary(pp *pkgPlan, changes []Change) string {
	var parts []string
	if pp.refresh {
		parts = append(parts, "refresh "+listsName(pp.before.manager)+" ("+cacheAge(pp.before)+")")
	}
	versions := map[string]string{}
	deps := 0
	var others []string
	for _, c := range changes {
		name, note, _ := strings.Cut(c.Field, " (")
		switch {
		case note == "dependency)":
			deps++
		case note != "" && c.Desired == "(absent)":
			others = append(others, name)
		default:
			versions[c.Field] = c.Desired
		}
	}
	if len(pp.install) > 0 {
		parts = append(parts, "install "+pkgVersionList(pp.install, versions))
	}
	if len(pp.upgrade) > 0 {
		var up []string
		for _, n := range pp.upgrade {
			up = append(up, n+" "+pp.before.installed[n]+" → "+versions[n])
		}
		parts = append(parts, "upgrade "+strings.Join(up, ", "))
	}
	if len(pp.remove) > 0 {
		parts = append(parts, "remove "+pkgVersionList(pp.remove, pp.before.installed))
	}
	out := strings.Join(parts, ", then ")
	if deps > 0 {
		out += fmt.Sprintf(" (+%d %s)", deps, plural(deps, "dependency", "dependencies"))
	}
	if len(others) > 0 {
		if len(others) > 5 {
			others = append(others[:5], fmt.Sprintf("and %d more", len(others)-5))
		}
		out += "; also removes " + strings.Join(others, ", ")
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// commands are the commands Apply runs for a plan, in order. After a
// refresh, latest passes every name to the package manager: the fresh
// lists may hold upgrades the plan could not see.
func (s *packageStep) commands(pp *pkgPlan) [][]string {
	c := pkgManagerCmds{manager: pp.before.manager, recommends: s.recommends}
	var out [][]string
	if pp.refresh {
		out = append(out, c.refresh()...)
	}
	install, upgrade := pp.install, pp.upgrade
	if pp.refresh && s.state == "latest" {
		upgrade = nil
		for _, n := range s.names {
			if _, ok := pp.before.installed[n]; ok {
				upgrade = append(upgrade, n)
			}
		}
	}
	if c.manager == "apt" && len(install)+len(upgrade) > 0 {
		// One apt-get install does both, in one transaction.
		return append(out, c.install(append(append([]string(nil), install...), upgrade...)))
	}
	if len(install) > 0 {
		out = append(out, c.install(install))
	}
	if len(upgrade) > 0 {
		out = append(out, c.upgrade(upgrade))
	}
	if len(pp.remove) > 0 {
		out = append(out, c.remove(pp.remove))
	}
	return out
}

func (s *packageStep) Apply(ctx context.Context, ex Exec, p Proposal) (Outcome, error) {
	pp, ok := p.Private.(*pkgPlan)
	if !ok {
		return Outcome{}, fmt.Errorf("package: apply without a plan")
	}
	for _, argv := range s.commands(pp) {
		// A package transaction can download for a long time; the step's
		// own timeout still bounds it. No stdin: a prompt that slipped
		// through reads end-of-file and fails instead of waiting forever.
		cmd := transport.Command{Argv: argv, Become: ex.Become(), NoStdin: true, Timeout: 30 * time.Minute}
		res, err := ex.Run(ctx, cmd)
		if err != nil {
			return Outcome{Changed: true}, err
		}
		if res.ExitCode != 0 {
			f := exitFailure(transport.Display(cmd), res).(*Failure)
			text := string(res.Stdout) + "\n" + string(res.Stderr)
			if e := pkgErrorLines(text); len(e) > 0 {
				f.Msg = fmt.Sprintf("`%s` exited %d: %s", transport.Display(cmd), res.ExitCode, strings.Join(e, "; "))
			}
			f.Hint = pkgAdvice(text)
			return Outcome{Changed: true}, f
		}
	}
	// Read the result back: the versions after are the evidence, and a
	// package manager that exited 0 without doing the job is caught.
	after, err := s.probe(ctx, ex)
	if err != nil {
		return Outcome{Changed: true}, err
	}
	if pp.refresh {
		ex.Note("%s refreshed (they were %s)", listsName(pp.before.manager), cacheAge(pp.before))
	}
	var done []string
	for _, n := range s.names {
		b, a := pp.before.installed[n], after.installed[n]
		if b == "" {
			b = "(absent)"
		}
		if a == "" {
			a = "(absent)"
		}
		if b != a {
			ex.Note("%s: %s → %s", n, b, a)
			done = append(done, n+" "+b+" → "+a)
		} else {
			ex.Note("%s: %s (unchanged)", n, a)
		}
	}
	if left := s.unmet(after); len(left) > 0 {
		return Outcome{Changed: true, Outputs: pkgOutputs(s.names, after)}, &Failure{
			Msg: "the package manager exited 0, but " + strings.Join(left, "; "),
		}
	}
	summary := strings.Join(done, ", ")
	if pp.refresh {
		summary = strings.TrimSuffix("refreshed "+listsName(pp.before.manager)+"; "+summary, "; ")
	}
	return Outcome{Changed: true, Summary: summary, Outputs: pkgOutputs(s.names, after)}, nil
}

// unmet lists what is still not as the step wants after apply.
func (s *packageStep) unmet(st *pkgState) []string {
	var left []string
	for _, n := range s.names {
		_, inst := st.installed[n]
		switch {
		case s.state == "absent" && inst:
			left = append(left, n+" is still installed")
		case s.state != "absent" && !inst:
			left = append(left, n+" is not installed")
		case s.state == "latest" && st.upgrades[n] != "":
			left = append(left, n+" "+st.installed[n]+" is older than "+st.upgrades[n])
		}
		if s.state == "latest" && st.manager == "apt" {
			for _, op := range st.ops {
				if op.name == n && op.op == "upgrade" {
					left = append(left, n+" "+op.from+" is older than "+op.to)
				}
			}
		}
	}
	return left
}

// pkgOutputs are step.NAME.versions (each name → its installed version,
// "" when absent) and step.NAME.manager.
func pkgOutputs(names []string, st *pkgState) map[string]cty.Value {
	out := map[string]cty.Value{"manager": cty.StringVal(st.manager)}
	if len(names) == 0 {
		out["versions"] = cty.MapValEmpty(cty.String)
		return out
	}
	m := map[string]cty.Value{}
	for _, n := range names {
		m[n] = cty.StringVal(st.installed[n])
	}
	out["versions"] = cty.MapVal(m)
	return out
}
