package steps

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/zclconf/go-cty/cty"
)

// service starts, stops, restarts or reloads a system service and sets
// whether it starts at boot, through systemctl where PID 1 is systemd and
// through `service`/init.d scripts (update-rc.d or chkconfig for boot)
// elsewhere: containers and the testbed have no systemd. One probe
// detects which and reads the service's state, so an unchanged step costs
// one round trip; apply acts only where the state differs and reads the
// result back (after a restart, the daemon must have a new pid).
//
// restarted and reloaded always act (a plan shows them as "run"): they
// are what a changed configuration file calls for, and a step that only
// does that can later be the target of a notification (issue 17) as is.
//
//	step "service" "cron" { name = "cron" state = "started" enabled = true become = true }
type serviceKind struct{}

func init() { register("service", serviceKind{}) }

func (serviceKind) Spec() hcldec.ObjectSpec {
	return hcldec.ObjectSpec{
		"name":    &hcldec.AttrSpec{Name: "name", Type: cty.String, Required: true},
		"state":   &hcldec.AttrSpec{Name: "state", Type: cty.String},
		"enabled": &hcldec.AttrSpec{Name: "enabled", Type: cty.Bool},
	}
}

func (serviceKind) ReadOnly() bool { return false }

// Validate checks what is known, so a bad name or state fails validate.
func (serviceKind) Validate(cfg cty.Value) error {
	_, err := decodeService(cfg, false)
	return err
}

func (serviceKind) Decode(cfg cty.Value) (Step, error) {
	return decodeService(cfg, true)
}

// serviceNameRe: systemd unit names and init.d script names (letters,
// digits, _ . @ : -, not starting with - or .). The name goes into paths
// and a glob of the probe, so nothing else may pass.
var serviceNameRe = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.@:-]*$`)

func decodeService(cfg cty.Value, complete bool) (*serviceStep, error) {
	s := &serviceStep{}
	if v, ok := pkgKnownAttr(cfg, "name"); ok {
		n := v.AsString()
		switch {
		case n == "":
			return nil, &AttrError{Attr: "name", Err: fmt.Errorf("name is empty")}
		case len(n) > 255:
			return nil, &AttrError{Attr: "name", Err: fmt.Errorf("name is longer than 255 characters")}
		case !serviceNameRe.MatchString(n) || strings.HasSuffix(n, ".") || n == "." || n == "..":
			return nil, &AttrError{Attr: "name", Err: fmt.Errorf("%q is not a service name (letters, digits, _ . @ : and -, like \"cron\" or \"ssh.service\")", n)}
		}
		// "cron.service" names the same service as "cron"; on an
		// init.d host only the bare name exists.
		s.name = strings.TrimSuffix(n, ".service")
		if s.name == "" {
			return nil, &AttrError{Attr: "name", Err: fmt.Errorf("%q is not a service name", n)}
		}
	}
	if v, ok := pkgKnownAttr(cfg, "state"); ok {
		s.state = v.AsString()
		switch s.state {
		case "started", "stopped", "restarted", "reloaded":
		case "running", "start":
			return nil, &AttrError{Attr: "state", Err: fmt.Errorf("state is \"started\", \"stopped\", \"restarted\" or \"reloaded\", not %q (write \"started\")", s.state)}
		case "stop":
			return nil, &AttrError{Attr: "state", Err: fmt.Errorf("state is \"started\", \"stopped\", \"restarted\" or \"reloaded\", not %q (write \"stopped\")", s.state)}
		default:
			return nil, &AttrError{Attr: "state", Err: fmt.Errorf("state is \"started\", \"stopped\", \"restarted\" or \"reloaded\", not %q", s.state)}
		}
	}
	if v, ok := pkgKnownAttr(cfg, "enabled"); ok {
		b := v.True()
		s.enabled = &b
	}
	st, en := cfg.GetAttr("state"), cfg.GetAttr("enabled")
	if (complete || (st.IsKnown() && en.IsKnown())) && st.IsNull() && en.IsNull() {
		return nil, &AttrError{Attr: "state", Err: fmt.Errorf("set state (\"started\", \"stopped\", \"restarted\", \"reloaded\") or enabled, or both: without either the step does nothing")}
	}
	return s, nil
}

type serviceStep struct {
	name    string
	state   string // "" leaves the running state alone
	enabled *bool  // nil leaves boot alone
}

// Resources: the service; and "packages", which package steps write,
// because installing a package is what makes (and often starts) a
// service: a plan cannot judge the service before that package step ran.
func (s *serviceStep) Resources() (reads, writes []string) {
	return []string{"service/" + s.name, "packages"}, []string{"service/" + s.name}
}

// svcState is what the probe found.
type svcState struct {
	init    string // "systemd" or "sysv"
	uid     int
	missing bool
	running bool
	pid     int // 0: unknown
	enabled bool
	// unitFileState is systemd's (enabled, disabled, static, masked…).
	unitFileState string
	canReload     bool
	activeState   string
	// sysv: the status command's exit code and first line, the tools
	// found, and the boot links in rc2.d–rc5.d.
	statusCode int
	statusText string
	serviceCmd string // path of service(8); "" when absent
	rcTool     string // update-rc.d or chkconfig path; "" when absent
	sLinks     int
	kLinks     int
}

func (st *svcState) describe() string {
	var b strings.Builder
	if st.running {
		b.WriteString("running")
		if st.pid > 0 {
			fmt.Fprintf(&b, " (pid %d)", st.pid)
		}
	} else {
		b.WriteString("stopped")
	}
	if st.enabled {
		b.WriteString(", enabled at boot")
	} else {
		b.WriteString(", not enabled at boot")
	}
	return b.String()
}

// probeLine is the one read-only command: which init, and the service's
// state. The status command's own line comes first so the evidence shows
// it ("cron is running.").
func (s *serviceStep) probeLine() string {
	n := transport.ShellQuote(s.name)
	unit := transport.ShellQuote(s.name + ".service")
	script := transport.ShellQuote("/etc/init.d/" + s.name)
	var b strings.Builder
	b.WriteString("export LC_ALL=C; ")
	// sd_booted(3): systemd is PID 1 exactly when this directory exists.
	b.WriteString("if [ -d /run/systemd/system ]; then ")
	b.WriteString("systemctl show -p ActiveState -p SubState -p LoadState -p UnitFileState -p MainPID -p CanReload " + unit + " 2>&1; echo \"@@systemd $? $(id -u)\"; ")
	b.WriteString("elif [ ! -f " + script + " ]; then echo \"@@missing 0 $(id -u)\"; else ")
	b.WriteString("if command -v service >/dev/null 2>&1; then service " + n + " status 2>&1; else " + script + " status 2>&1; fi; ")
	b.WriteString("echo \"@@sysv $? $(id -u) $(command -v service || echo -) $(command -v update-rc.d || command -v chkconfig || echo -)\"; ")
	// The daemon's pid: the script's PIDFILE=, the usual pid files, or
	// pidof its DAEMON=. Only a live process counts.
	b.WriteString(svcScriptVarsLine(script))
	b.WriteString("p=; for x in \"$f\" /run/" + n + ".pid /var/run/" + n + ".pid /run/" + n + "/" + n + ".pid; do if [ -n \"$x\" ] && [ -r \"$x\" ]; then read -r p <\"$x\"; break; fi; done; ")
	b.WriteString("case \"$d\" in /*) [ -n \"$p\" ] || p=$(pidof -s \"$d\");; esac; ")
	b.WriteString("case \"$p\" in ''|*[!0-9]*) p=0;; esac; [ -d /proc/$p ] || p=0; echo \"@@pid $p\"; ")
	b.WriteString("S=0; K=0; for l in /etc/rc[2345].d/S[0-9][0-9]" + n + "; do [ -e \"$l\" ] && S=$((S+1)); done; ")
	b.WriteString("for l in /etc/rc[2345].d/K[0-9][0-9]" + n + "; do [ -e \"$l\" ] && K=$((K+1)); done; echo \"@@links $S $K\"; fi")
	return b.String()
}

// svcParse reads what probeLine printed.
func svcParse(out string) (*svcState, error) {
	st := &svcState{}
	var text []string
	seen := false
	kv := map[string]string{}
	for line := range strings.Lines(out) {
		l := strings.TrimRight(line, "\r\n")
		if !strings.HasPrefix(l, "@@") {
			text = append(text, l)
			if k, v, ok := strings.Cut(l, "="); ok {
				kv[k] = v
			}
			continue
		}
		f := strings.Fields(l[2:])
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "systemd", "sysv", "missing":
			if len(f) < 3 {
				return nil, fmt.Errorf("the service probe printed %q", l)
			}
			seen = true
			st.init = f[0]
			st.statusCode, _ = strconv.Atoi(f[1])
			st.uid, _ = strconv.Atoi(f[2])
			if f[0] == "missing" {
				st.init, st.missing = "sysv", true
			}
			if len(f) >= 5 {
				if f[3] != "-" {
					st.serviceCmd = f[3]
				}
				if f[4] != "-" {
					st.rcTool = f[4]
				}
			}
		case "pid":
			if len(f) == 2 {
				st.pid, _ = strconv.Atoi(f[1])
			}
		case "links":
			if len(f) == 3 {
				st.sLinks, _ = strconv.Atoi(f[1])
				st.kLinks, _ = strconv.Atoi(f[2])
			}
		}
	}
	if !seen {
		return nil, fmt.Errorf("the service probe did not say how services are run on the host (output: %q)", tail(out, 5))
	}
	for _, t := range text {
		if strings.TrimSpace(t) != "" {
			st.statusText = strings.TrimSpace(t)
			break
		}
	}
	switch {
	case st.missing:
	case st.init == "systemd":
		if st.statusCode != 0 {
			return nil, fmt.Errorf("systemctl show exited %d: %s", st.statusCode, strings.Join(text, " "))
		}
		st.activeState = kv["ActiveState"]
		st.missing = kv["LoadState"] == "not-found"
		st.running = st.activeState == "active" || st.activeState == "reloading" || st.activeState == "activating"
		st.pid, _ = strconv.Atoi(kv["MainPID"])
		st.unitFileState = kv["UnitFileState"]
		st.canReload = kv["CanReload"] == "yes"
		switch st.unitFileState {
		case "enabled", "enabled-runtime", "static", "indirect", "generated", "alias", "linked", "linked-runtime":
			// Started at boot, or by something that is (static: by
			// another unit); enable has nothing to add.
			st.enabled = st.unitFileState != "linked" && st.unitFileState != "linked-runtime"
		}
	default:
		// LSB: 0 running, 1-3 not running (dead with a pid or lock
		// file, or stopped), 4 unknown. A script without a status
		// action prints its usage with some other code: then the live
		// pid decides.
		st.running = st.statusCode == 0 || (st.statusCode >= 4 && st.pid > 0)
		st.enabled = st.sLinks > 0
	}
	if !st.running {
		st.pid = 0
	}
	return st, nil
}

func (s *serviceStep) probe(ctx context.Context, ex Exec) (*svcState, error) {
	// Through sudo when the step has become: a status check may read a
	// pid file only root can read, and what matters is what root sees.
	cmd := transport.Command{Line: s.probeLine(), Become: ex.Become(), Timeout: 2 * time.Minute}
	res, err := ex.Run(ctx, cmd)
	if err != nil {
		return nil, err
	}
	st, err := svcParse(string(res.Stdout))
	if err != nil {
		return nil, &Failure{Msg: err.Error()}
	}
	return st, nil
}

// svcPlan is what Plan decided, for Apply.
type svcPlan struct {
	before *svcState
	verb   string // start, stop, restart, reload, or "" (state already right)
	boot   string // "enable", "disable" or ""
}

func (s *serviceStep) decide(st *svcState) (*svcPlan, []Change, error) {
	if st.missing {
		where := "systemd has no unit " + s.name + ".service"
		if st.init == "sysv" {
			where = "there is no /etc/init.d/" + s.name + " (PID 1 is not systemd)"
		}
		return nil, nil, &Failure{Msg: "no service " + s.name + " on the host: " + where,
			Hint: "install the package that provides it first (a package step before this one), or check the name"}
	}
	if st.unitFileState == "masked" && (s.state != "stopped" && s.state != "" || s.enabled != nil && *s.enabled) {
		return nil, nil, &Failure{Msg: s.name + ".service is masked: systemd refuses to start or enable it", Hint: "unmask it first (systemctl unmask " + s.name + ")"}
	}
	pp := &svcPlan{before: st}
	var changes []Change
	switch s.state {
	case "started":
		if !st.running {
			pp.verb = "start"
			changes = append(changes, Change{Field: "state", Current: "stopped", Desired: "running"})
		}
	case "stopped":
		if st.running {
			pp.verb = "stop"
			changes = append(changes, Change{Field: "state", Current: "running", Desired: "stopped"})
		}
	case "restarted":
		// Restart always acts; a stopped service is started, with start:
		// an init script's restart may skip what only its start does
		// (Debian's init-d-script creates the pid file's directory in
		// do_start_prepare, which restart does not call).
		pp.verb = "restart"
		if !st.running {
			pp.verb = "start"
			changes = append(changes, Change{Field: "state", Current: "stopped", Desired: "running"})
		}
	case "reloaded":
		pp.verb = "reload"
		if !st.running {
			// Nothing runs to reload its configuration: starting it reads
			// the configuration afresh, which is what reload is for.
			pp.verb = "start"
			changes = append(changes, Change{Field: "state", Current: "stopped", Desired: "running"})
		} else if st.init == "systemd" && !st.canReload {
			return nil, nil, &Failure{Msg: s.name + ".service cannot reload (its unit has no ExecReload)", Hint: "use state = \"restarted\""}
		}
	}
	if s.enabled != nil && *s.enabled != st.enabled {
		if st.init == "systemd" && st.unitFileState == "static" && !*s.enabled {
			return nil, nil, &Failure{Msg: s.name + ".service is static (no [Install] section): it cannot be disabled, only masked",
				Hint: "leave enabled out, or mask the unit with a command step (systemctl mask " + s.name + ")"}
		}
		if st.init == "sysv" && st.rcTool == "" {
			return nil, nil, &Failure{Msg: "cannot change whether " + s.name + " starts at boot: the host has neither update-rc.d nor chkconfig"}
		}
		pp.boot = map[bool]string{true: "enable", false: "disable"}[*s.enabled]
		changes = append(changes, Change{Field: "enabled", Current: strconv.FormatBool(st.enabled), Desired: strconv.FormatBool(*s.enabled)})
	}
	return pp, changes, nil
}

func (s *serviceStep) Plan(ctx context.Context, ex Exec) (Proposal, error) {
	st, err := s.probe(ctx, ex)
	if err != nil {
		return Proposal{}, err
	}
	pp, changes, err := s.decide(st)
	if err != nil {
		return Proposal{}, err
	}
	ex.Note("%s: %s (%s)", s.name, st.describe(), st.how())
	if pp.verb == "" && pp.boot == "" {
		return Proposal{Action: NoOp, Summary: "already satisfied: " + s.name + " " + st.describe(), Outputs: svcOutputs(st), Private: pp}, nil
	}
	if st.uid != 0 && !ex.Become() {
		return Proposal{}, &Failure{
			Msg:  fmt.Sprintf("changing service %s needs root, and the step connects as uid %d without become", s.name, st.uid),
			Hint: "set become = true on the step",
		}
	}
	action := Modify
	if s.state == "restarted" || s.state == "reloaded" {
		action = Run
	}
	var cmds []string
	for _, argv := range s.commands(pp) {
		cmds = append(cmds, transport.Display(transport.Command{Argv: argv, Become: ex.Become()}))
	}
	var parts []string
	if pp.verb != "" {
		what := pp.verb + " " + s.name
		switch {
		case st.running:
			what += " (running"
			if st.pid > 0 {
				what += fmt.Sprintf(", pid %d", st.pid)
			}
			what += ")"
		case s.state == "restarted" || s.state == "reloaded":
			what += " (stopped, so " + s.state[:len(s.state)-2] + " starts it)"
		}
		parts = append(parts, what)
	}
	if pp.boot != "" {
		parts = append(parts, pp.boot+" "+s.name+" at boot")
	}
	return Proposal{Action: action, Summary: strings.Join(parts, ", "), Changes: changes, Commands: cmds, Private: pp}, nil
}

// how says what runs services on the host, for notes.
func (st *svcState) how() string {
	if st.init == "systemd" {
		return "systemd"
	}
	return "init.d, no systemd"
}

// commands are what Apply runs: the state change, then the boot change.
func (s *serviceStep) commands(pp *svcPlan) [][]string {
	st := pp.before
	var out [][]string
	if pp.verb != "" {
		switch {
		case st.init == "systemd":
			out = append(out, []string{"systemctl", pp.verb, s.name + ".service"})
		case st.serviceCmd != "":
			out = append(out, []string{"service", s.name, pp.verb})
		default:
			out = append(out, []string{"/etc/init.d/" + s.name, pp.verb})
		}
	}
	if pp.boot != "" {
		switch {
		case st.init == "systemd":
			out = append(out, []string{"systemctl", pp.boot, s.name + ".service"})
		case strings.HasSuffix(st.rcTool, "chkconfig"):
			out = append(out, []string{"chkconfig", s.name, map[string]string{"enable": "on", "disable": "off"}[pp.boot]})
		case pp.boot == "enable" && st.sLinks+st.kLinks == 0:
			// update-rc.d enable only flips existing links ("no runlevel
			// symlinks to modify"); defaults makes them from the script's
			// Default-Start.
			out = append(out, []string{"update-rc.d", s.name, "defaults"})
		default:
			out = append(out, []string{"update-rc.d", s.name, pp.boot})
		}
	}
	return out
}

// svcSettle bounds how long Apply waits for a daemon to reach the state
// it was told to (a pid file written after forking, a slow stop). A
// variable so a test of a restart that never happens need not wait 15 s.
var svcSettle = 15 * time.Second

func (s *serviceStep) Apply(ctx context.Context, ex Exec, p Proposal) (Outcome, error) {
	pp, ok := p.Private.(*svcPlan)
	if !ok {
		return Outcome{}, fmt.Errorf("service: apply without a plan")
	}
	for _, argv := range s.commands(pp) {
		// No stdin: a started daemon must not inherit the session's
		// input, and a script that prompts reads end-of-file.
		cmd := transport.Command{Argv: argv, Become: ex.Become(), NoStdin: true, Timeout: 5 * time.Minute}
		res, err := ex.Run(ctx, cmd)
		if err != nil {
			return Outcome{Changed: true}, err
		}
		if res.ExitCode != 0 {
			f := exitFailure(transport.Display(cmd), res).(*Failure)
			if t := strings.TrimSpace(tail(string(res.Stdout), 3)); t != "" && !strings.Contains(f.Msg, t) {
				f.Msg += " (" + strings.ReplaceAll(t, "\n", "; ") + ")"
			}
			if strings.Contains(string(res.Stderr)+string(res.Stdout), "ermission denied") || strings.Contains(string(res.Stderr), "Access denied") {
				f.Hint = "changing services needs root: set become = true on the step"
			}
			return Outcome{Changed: true}, f
		}
	}
	// Read the result back until it holds: a daemon writes its pid file
	// after it forked, and a stop can take a while.
	deadline := time.Now().Add(svcSettle)
	var after *svcState
	var left string
	for {
		var err error
		if after, err = s.probe(ctx, ex); err != nil {
			return Outcome{Changed: true}, err
		}
		if left = s.unmet(pp, after); left == "" || time.Now().After(deadline) {
			break
		}
		if err := Sleep(ctx, 250*time.Millisecond); err != nil {
			return Outcome{Changed: true}, err
		}
	}
	ex.Note("%s: %s → %s", s.name, pp.before.describe(), after.describe())
	if left != "" {
		msg := fmt.Sprintf("%s: %s after %s", s.name, left, svcSettle)
		if after.statusText != "" {
			msg += " (status: " + after.statusText + ")"
		}
		return Outcome{Changed: true, Outputs: svcOutputs(after)}, &Failure{Msg: msg, Hint: "look at the daemon's log on the host; the service's own status command says the same"}
	}
	var done []string
	if pp.verb != "" {
		d := map[string]string{"start": "started", "stop": "stopped", "restart": "restarted", "reload": "reloaded"}[pp.verb] + " " + s.name
		if pp.verb == "restart" && pp.before.pid > 0 && after.pid > 0 {
			d += fmt.Sprintf(" (pid %d → %d)", pp.before.pid, after.pid)
		} else if after.pid > 0 && pp.verb != "stop" {
			d += fmt.Sprintf(" (pid %d)", after.pid)
		}
		done = append(done, d)
	}
	if pp.boot != "" {
		done = append(done, pp.boot+"d "+s.name+" at boot")
	}
	return Outcome{Changed: true, Summary: strings.Join(done, ", "), Outputs: svcOutputs(after)}, nil
}

// unmet says what is not yet as the step wants; "" when all holds.
func (s *serviceStep) unmet(pp *svcPlan, st *svcState) string {
	switch pp.verb {
	case "start", "reload":
		if !st.running {
			return "not running"
		}
	case "restart":
		if !st.running {
			return "not running"
		}
		// A restart that left the same process running did not restart.
		if pp.before.running && pp.before.pid > 0 && st.pid == pp.before.pid {
			return fmt.Sprintf("still the same process (pid %d)", st.pid)
		}
	case "stop":
		if st.running {
			return "still running"
		}
	}
	if s.enabled != nil && pp.boot != "" && st.enabled != *s.enabled {
		return map[bool]string{true: "still not enabled at boot", false: "still enabled at boot"}[*s.enabled]
	}
	return ""
}

// svcOutputs are step.NAME.running, .enabled, .pid (0: unknown or not
// running) and .init ("systemd" or "sysv").
func svcOutputs(st *svcState) map[string]cty.Value {
	return map[string]cty.Value{
		"running": cty.BoolVal(st.running),
		"enabled": cty.BoolVal(st.enabled),
		"pid":     cty.NumberIntVal(int64(st.pid)),
		"init":    cty.StringVal(st.init),
	}
}

// svcScriptVarsLine sets the shell variables f and d of the probe to the
// init script's PIDFILE= and DAEMON=, or ""
// when the text alone does not say. Debian's scripts build both from
// other variables (NAME=prometheus-node-exporter, then
// PIDFILE=/run/prometheus/$NAME.pid), so $VAR and ${VAR} are expanded
// from the plain assignments above the line. awk reads the script as
// text: nothing of it runs, and a value only a shell could work out
// (command substitution, ${VAR:-…}, backslashes, a variable from
// /etc/default or not yet assigned) reads as unknown.
func svcScriptVarsLine(script string) string {
	return "svcvar() { awk -v want=\"$1\" " + transport.ShellQuote(svcScriptVarsAwk) + " " + script + " 2>/dev/null; }; " +
		"f=$(svcvar PIDFILE); d=$(svcvar DAEMON); "
}

// svcScriptVarsAwk prints the value of want, or nothing when it is not
// known: its last assignment at the start of a line (the script's top
// level, where the shell's last one wins), else its first indented one
// (inside a function or an if, as the probe read PIDFILE= before). POSIX
// awk only (mawk, busybox, gawk).
// unk marks an unknown value; vars holds the known ones so far, and an
// assignment whose value is unknown drops its variable, so a later use
// is unknown too rather than stale.
const svcScriptVarsAwk = `BEGIN { unk = "\001"; sq = sprintf("%c", 39); dq = "\""; bq = sprintf("%c", 96) }
function expand(v,   out, i, name) {
	out = ""
	while ((i = index(v, "$")) > 0) {
		out = out substr(v, 1, i - 1)
		v = substr(v, i + 1)
		if (match(v, /^\{[A-Za-z_][A-Za-z0-9_]*\}/)) name = substr(v, 2, RLENGTH - 2)
		else if (match(v, /^[A-Za-z_][A-Za-z0-9_]*/)) name = substr(v, 1, RLENGTH)
		else return unk
		if (!(name in vars)) return unk
		out = out vars[name]
		v = substr(v, RLENGTH + 1)
	}
	return out v
}
function value(r,   c, i, inner, tail) {
	c = substr(r, 1, 1)
	if (c == dq || c == sq) {
		i = index(substr(r, 2), c)
		if (i == 0) return unk
		inner = substr(r, 2, i - 1)
		tail = substr(r, i + 2)
		if (c == dq && (index(inner, bq) || index(inner, "\\"))) return unk
	} else {
		match(r, /^[^ \t;]*/)
		inner = substr(r, 1, RLENGTH)
		tail = substr(r, RLENGTH + 1)
		if (inner !~ /^[-A-Za-z0-9_.\/:@%+,=#{}$]*$/) return unk
	}
	if (tail !~ /^[ \t]*(;.*)?$/ && tail !~ /^[ \t]+#/) return unk
	if (c == sq) return inner
	return expand(inner)
}
{
	line = $0
	indented = sub(/^[ \t]+/, "", line)
	sub(/^export[ \t]+/, "", line)
	if (!match(line, /^[A-Za-z_][A-Za-z0-9_]*=/)) next
	name = substr(line, 1, RLENGTH - 1)
	v = value(substr(line, RLENGTH + 1))
	if (v == unk) delete vars[name]
	else vars[name] = v
	if (name != want) next
	if (!indented) { top = v; seentop = 1 }
	else if (!seenind) { ind = v; seenind = 1 }
}
END {
	if (seentop) v = top
	else if (seenind) v = ind
	else exit
	if (v != unk) print v
}`
