package steps_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/runbook-hpc/runbook/engine/evidence"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/runbook-hpc/runbook/steps"
	"github.com/zclconf/go-cty/cty"
)

// fakeApt is a Debian host as the package kind sees it: dpkg's database
// and the apt lists, answering the probe in the formats dpkg-query and
// apt-get -s print (see the real fixtures in pkgmanager_test.go) and
// carrying out apt-get install/remove/update on its model.
type fakeApt struct {
	mu        sync.Mutex
	uid       int
	now       int64
	cache     int64
	installed map[string]string   // name → version
	lists     map[string]string   // name → candidate version
	deps      map[string][]string // name → what it depends on
	// refreshed are versions the lists gain on apt-get update.
	refreshed map[string]string
	// fail makes apt-get VERB print this and exit 100.
	fail map[string]string
	// inert: apt-get install exits 0 and does nothing.
	inert bool
	cmds  []transport.Command
}

func (h *fakeApt) Describe() string { return "fake apt host" }
func (h *fakeApt) Close() error     { return nil }

var probeNamesRe = regexp.MustCompile(`\$\{Version\}\\n' (.*?) 2>/dev/null`)

func (h *fakeApt) Run(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cmds = append(h.cmds, cmd)
	out, code := h.answer(cmd)
	return transport.Result{Stdout: []byte(out), ExitCode: code}, nil
}

func (h *fakeApt) answer(cmd transport.Command) (string, int) {
	if strings.HasPrefix(cmd.Line, "export LC_ALL=C; if command -v apt-get") {
		// A refresh-only step's probe names no package.
		m := probeNamesRe.FindStringSubmatch(cmd.Line)
		if m == nil {
			if strings.Contains(cmd.Line, "dpkg-query -W") {
				return "cannot find the names in the probe", 2
			}
			m = []string{"", ""}
		}
		mode := "latest"
		switch {
		case strings.Contains(cmd.Line, "v=remove"):
			mode = "absent"
		case strings.Contains(cmd.Line, "ii*) ;;"):
			mode = "present"
		}
		return h.probe(mode, strings.Fields(m[1])), 0
	}
	i := indexOf(cmd.Argv, "apt-get")
	if i < 0 {
		return "unexpected command " + transport.Display(cmd), 127
	}
	args := cmd.Argv[i+1:]
	var verb string
	var names []string
	for j := 0; j < len(args); j++ {
		switch a := args[j]; {
		case a == "-o":
			j++
		case strings.HasPrefix(a, "-"):
		case verb == "":
			verb = a
		default:
			names = append(names, a)
		}
	}
	if msg, ok := h.fail[verb]; ok {
		return msg, 100
	}
	switch verb {
	case "update":
		h.cache = h.now
		for n, v := range h.refreshed {
			h.lists[n] = v
		}
	case "install":
		if h.inert {
			return "", 0
		}
		for _, n := range names {
			for _, d := range h.deps[n] {
				if _, ok := h.installed[d]; !ok {
					h.installed[d] = h.lists[d]
				}
			}
			h.installed[n] = h.lists[n]
		}
	case "remove":
		for _, n := range names {
			delete(h.installed, n)
			for _, d := range h.dependents(n) {
				delete(h.installed, d)
			}
		}
	default:
		return "unexpected apt-get " + verb, 100
	}
	return "", 0
}

func (h *fakeApt) dependents(name string) []string {
	var out []string
	for p, ds := range h.deps {
		if _, ok := h.installed[p]; ok && indexOf(ds, name) >= 0 {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

const simNote = "NOTE: This is only a simulation!\n      apt-get needs root privileges for real execution.\nReading package lists...\nBuilding dependency tree...\nReading state information...\n"

func (h *fakeApt) probe(mode string, names []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "@@apt %d %d %d\n", h.uid, h.now, h.cache)
	for _, n := range names {
		if v, ok := h.installed[n]; ok {
			fmt.Fprintf(&b, "%s ii  %s\n", n, v)
		}
	}
	b.WriteString("@@sim\n")
	var sim []string
	for _, n := range names {
		v, inst := h.installed[n]
		switch {
		case mode == "absent" && inst:
			for _, d := range h.dependents(n) {
				sim = append(sim, fmt.Sprintf("Remv %s [%s]", d, h.installed[d]))
			}
			sim = append(sim, fmt.Sprintf("Remv %s [%s]", n, v))
		case mode != "absent" && !inst:
			c, ok := h.lists[n]
			if !ok {
				fmt.Fprintf(&b, "%sE: Unable to locate package %s\n@@rc 100\n", simNote, n)
				return b.String()
			}
			for _, d := range h.deps[n] {
				if _, ok := h.installed[d]; !ok {
					sim = append(sim, fmt.Sprintf("Inst %s (%s Debian:12.15/oldstable [all])", d, h.lists[d]))
				}
			}
			sim = append(sim, fmt.Sprintf("Inst %s (%s Debian:12.15/oldstable [amd64])", n, c))
		case mode == "latest" && inst && h.lists[n] != v:
			sim = append(sim, fmt.Sprintf("Inst %s [%s] (%s Debian:12.15/oldstable [amd64])", n, v, h.lists[n]))
		}
	}
	if len(sim) > 0 {
		b.WriteString(simNote + strings.Join(sim, "\n") + "\n")
	}
	b.WriteString("@@rc 0\n")
	return b.String()
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

func (h *fakeApt) has(name string) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	v, ok := h.installed[name]
	return v, ok
}

func newFakeApt() *fakeApt {
	return &fakeApt{
		uid: 1000, now: 1_800_000_000, cache: 1_800_000_000 - 600,
		installed: map[string]string{"bash": "5.2.15-2+b8", "jq": "1.6-2.1+deb12u1", "yq": "3.1.0-3"},
		lists: map[string]string{"hello": "2.10-3", "cron": "3.0pl1-162", "cron-daemon-common": "3.0pl1-162",
			"bash": "5.2.15-2+b8", "jq": "1.6-2.1+deb12u1", "yq": "3.1.0-3"},
		deps: map[string][]string{"cron": {"cron-daemon-common"}, "yq": {"jq"}},
	}
}

// pkgRun plans the step as `runbook plan` does (one recorder), then, when
// apply is true, as `runbook apply` does: Plan again on a fresh recorder
// and Apply what it proposed. It returns the apply's (or plan's) recorder.
func pkgRun(t *testing.T, st steps.Step, h transport.Transport, become, apply bool) (steps.Proposal, steps.Outcome, *evidence.Recorder, error) {
	t.Helper()
	rec := &evidence.Recorder{Transport: h, BecomeOn: become, Planning: !apply}
	p, err := st.Plan(context.Background(), rec)
	if err != nil || !apply || p.Action == steps.NoOp {
		return p, steps.Outcome{}, rec, err
	}
	out, err := st.Apply(context.Background(), rec, p)
	return p, out, rec, err
}

func commandLines(rec *evidence.Recorder) []string {
	var out []string
	for _, c := range rec.Commands() {
		out = append(out, c.Command)
	}
	return out
}

const aptInstall = "sudo env DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -o DPkg::Lock::Timeout=300 "

func TestPackagePresent(t *testing.T) {
	h := newFakeApt()
	st := mustDecode(t, "package", "names = [\"hello\", \"cron\"]\ninstall_recommends = false")

	p, _, rec, err := pkgRun(t, st, h, true, false)
	if err != nil {
		t.Fatal(err)
	}
	if p.Action != steps.Create || p.Summary != "install hello 2.10-3, cron 3.0pl1-162 (+1 dependency)" {
		t.Errorf("plan: %v %q", p.Action, p.Summary)
	}
	wantChanges := []steps.Change{
		{Field: "hello", Current: "(absent)", Desired: "2.10-3"},
		{Field: "cron", Current: "(absent)", Desired: "3.0pl1-162"},
		{Field: "cron-daemon-common (dependency)", Current: "(absent)", Desired: "3.0pl1-162"},
	}
	if !reflect.DeepEqual(p.Changes, wantChanges) {
		t.Errorf("changes = %v", p.Changes)
	}
	if want := []string{aptInstall + "--no-install-recommends install hello cron"}; !reflect.DeepEqual(p.Commands, want) {
		t.Errorf("planned commands =\n %q\nwant\n %q", p.Commands, want)
	}
	cmds := rec.Commands()
	if len(cmds) != 1 || cmds[0].Become || !strings.Contains(cmds[0].Command, "apt-get -s -q -o APT::Install-Recommends=false $v $t") {
		t.Errorf("a plan runs the one probe, without sudo: %+v", cmds)
	}
	if _, ok := h.has("hello"); ok {
		t.Fatal("the plan installed something")
	}

	p, out, rec, err := pkgRun(t, st, h, true, true)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Changed || out.Summary != "hello (absent) → 2.10-3, cron (absent) → 3.0pl1-162" {
		t.Errorf("apply: %+v", out)
	}
	lines := commandLines(rec)
	if len(lines) != 3 || lines[1] != aptInstall+"--no-install-recommends install hello cron" || lines[0] != lines[2] {
		t.Errorf("apply ran %q, want probe, one apt-get install, probe", lines)
	}
	if c := h.cmds[len(h.cmds)-2]; !c.NoStdin || !c.Become {
		t.Errorf("apt-get ran with stdin open or without become: %+v", c)
	}
	if notes := rec.Notes(); !reflect.DeepEqual(notes, []string{"hello: (absent) → 2.10-3", "cron: (absent) → 3.0pl1-162"}) {
		t.Errorf("notes = %q", notes)
	}
	if v, ok := h.has("cron-daemon-common"); !ok || v != "3.0pl1-162" {
		t.Error("the dependency was not installed")
	}
	wantVersions := cty.MapVal(map[string]cty.Value{"hello": cty.StringVal("2.10-3"), "cron": cty.StringVal("3.0pl1-162")})
	if !out.Outputs["versions"].RawEquals(wantVersions) || !out.Outputs["manager"].RawEquals(cty.StringVal("apt")) {
		t.Errorf("outputs = %#v", out.Outputs)
	}

	// Unchanged: one command, nothing applied.
	p, _, rec, err = pkgRun(t, st, h, true, true)
	if err != nil {
		t.Fatal(err)
	}
	if p.Action != steps.NoOp || p.Summary != "already satisfied: hello 2.10-3, cron 3.0pl1-162 installed (apt)" || len(p.Changes) != 0 {
		t.Errorf("second run: %v %q %v", p.Action, p.Summary, p.Changes)
	}
	if n := len(rec.Commands()); n != 1 {
		t.Errorf("an unchanged step ran %d commands, want 1: %q", n, commandLines(rec))
	}
	if !p.Outputs["versions"].RawEquals(wantVersions) {
		t.Errorf("unchanged outputs = %#v", p.Outputs)
	}
}

func TestPackageAbsentShowsDependents(t *testing.T) {
	h := newFakeApt()
	st := mustDecode(t, "package", "names = [\"jq\", \"hello\"]\nstate = \"absent\"")
	p, out, rec, err := pkgRun(t, st, h, true, true)
	if err != nil {
		t.Fatal(err)
	}
	if p.Action != steps.Modify || p.Summary != "remove jq 1.6-2.1+deb12u1; also removes yq" {
		t.Errorf("plan: %v %q", p.Action, p.Summary)
	}
	want := []steps.Change{
		{Field: "jq", Current: "1.6-2.1+deb12u1", Desired: "(absent)"},
		{Field: "yq (depends on a removed package)", Current: "3.1.0-3", Desired: "(absent)"},
	}
	if !reflect.DeepEqual(p.Changes, want) {
		t.Errorf("changes = %v", p.Changes)
	}
	if lines := commandLines(rec); len(lines) != 3 || !strings.HasSuffix(lines[1], " remove jq") {
		t.Errorf("apply ran %q", lines)
	}
	if _, ok := h.has("jq"); ok || !out.Changed {
		t.Error("jq was not removed")
	}
	if notes := rec.Notes(); !reflect.DeepEqual(notes, []string{"jq: 1.6-2.1+deb12u1 → (absent)", "hello: (absent) (unchanged)"}) {
		t.Errorf("notes = %q", notes)
	}
	p, _, rec, err = pkgRun(t, st, h, true, true)
	if err != nil || p.Action != steps.NoOp || len(rec.Commands()) != 1 || p.Summary != "already satisfied: jq, hello absent (apt)" {
		t.Errorf("second run: %v %v %q %d commands", err, p.Action, p.Summary, len(rec.Commands()))
	}
}

func TestPackageLatest(t *testing.T) {
	h := newFakeApt()
	h.lists["jq"] = "1.6-2.1+deb12u3"
	st := mustDecode(t, "package", "names = [\"jq\", \"bash\", \"hello\"]\nstate = \"latest\"")
	p, out, rec, err := pkgRun(t, st, h, true, true)
	if err != nil {
		t.Fatal(err)
	}
	if p.Action != steps.Modify || p.Summary != "install hello 2.10-3, then upgrade jq 1.6-2.1+deb12u1 → 1.6-2.1+deb12u3" {
		t.Errorf("plan: %v %q", p.Action, p.Summary)
	}
	want := []steps.Change{{Field: "jq", Current: "1.6-2.1+deb12u1", Desired: "1.6-2.1+deb12u3"}, {Field: "hello", Current: "(absent)", Desired: "2.10-3"}}
	if !reflect.DeepEqual(p.Changes, want) {
		t.Errorf("changes = %v", p.Changes)
	}
	// One transaction: apt-get install installs and upgrades; bash, already
	// the newest, is not passed (that would mark it manually installed).
	if lines := commandLines(rec); len(lines) != 3 || lines[1] != aptInstall+"install hello jq" {
		t.Errorf("apply ran %q", lines)
	}
	if v, _ := h.has("jq"); v != "1.6-2.1+deb12u3" || out.Summary != "jq 1.6-2.1+deb12u1 → 1.6-2.1+deb12u3, hello (absent) → 2.10-3" {
		t.Errorf("jq %s, summary %q", v, out.Summary)
	}
	p, _, rec, err = pkgRun(t, st, h, true, true)
	if err != nil || p.Action != steps.NoOp || len(rec.Commands()) != 1 {
		t.Errorf("second run: %v %v %q", err, p.Action, commandLines(rec))
	}
	if !strings.HasPrefix(p.Summary, "already satisfied: jq 1.6-2.1+deb12u3, bash 5.2.15-2+b8, hello 2.10-3 installed, the newest in the apt lists (refreshed 10m ago)") {
		t.Errorf("summary %q", p.Summary)
	}
}

func TestPackageCacheValidTime(t *testing.T) {
	h := newFakeApt()
	h.installed["hello"] = "2.10-3"
	st := mustDecode(t, "package", "names = [\"hello\"]\nstate = \"latest\"\ncache_valid_time = \"1h\"")

	// Lists refreshed 10 minutes ago: within the window, nothing to do.
	p, _, rec, err := pkgRun(t, st, h, true, true)
	if err != nil || p.Action != steps.NoOp || len(rec.Commands()) != 1 {
		t.Fatalf("fresh lists: %v %v %q", err, p.Action, commandLines(rec))
	}

	// Two hours old: refresh, and the refreshed lists hold a newer hello
	// the plan could not see; latest installs it after the refresh.
	h.cache = h.now - 7200 - 25 // an age is shown to the minute
	h.refreshed = map[string]string{"hello": "2.10-4"}
	p, _, rec, err = pkgRun(t, st, h, true, false)
	if err != nil {
		t.Fatal(err)
	}
	if p.Action != steps.Modify || p.Summary != "refresh apt lists (refreshed 2h ago)" ||
		!reflect.DeepEqual(p.Changes, []steps.Change{{Field: "apt lists", Current: "stale (older than 1h)", Desired: "refreshed"}}) {
		t.Errorf("stale plan: %v %q %v", p.Action, p.Summary, p.Changes)
	}
	if want := []string{aptInstall + "update", aptInstall + "install hello"}; !reflect.DeepEqual(p.Commands, want) {
		t.Errorf("planned commands %q", p.Commands)
	}
	if h.cache != h.now-7225 {
		t.Fatal("the plan refreshed the lists")
	}
	_, out, rec, err := pkgRun(t, st, h, true, true)
	if err != nil {
		t.Fatal(err)
	}
	if lines := commandLines(rec); len(lines) != 4 || !strings.HasSuffix(lines[1], " update") || !strings.HasSuffix(lines[2], " install hello") {
		t.Errorf("apply ran %q, want probe, update, install, probe", lines)
	}
	if out.Summary != "refreshed apt lists; hello 2.10-3 → 2.10-4" || rec.Notes()[0] != "apt lists refreshed (they were refreshed 2h ago)" {
		t.Errorf("summary %q notes %q", out.Summary, rec.Notes())
	}
	p, _, rec, err = pkgRun(t, st, h, true, true)
	if err != nil || p.Action != steps.NoOp || len(rec.Commands()) != 1 {
		t.Errorf("after the refresh: %v %v %q", err, p.Action, commandLines(rec))
	}

	// update_cache without a window refreshes on every apply, and says so.
	st = mustDecode(t, "package", "names = [\"hello\"]\nupdate_cache = true")
	for i := 0; i < 2; i++ {
		p, _, _, err = pkgRun(t, st, h, true, true)
		if err != nil || p.Action != steps.Modify || p.Changes[0].Current != "refreshed on every apply (no cache_valid_time)" {
			t.Errorf("run %d: %v %v %v", i, err, p.Action, p.Changes)
		}
	}
}

// A step with update_cache and no names only keeps the lists fresh.
func TestPackageRefreshOnly(t *testing.T) {
	h := newFakeApt()
	st := mustDecode(t, "package", `cache_valid_time = "5m"`)
	p, out, rec, err := pkgRun(t, st, h, true, true)
	if err != nil {
		t.Fatal(err)
	}
	if p.Summary != "refresh apt lists (refreshed 10m ago)" || len(p.Changes) != 1 || out.Summary != "refreshed apt lists" || h.cache != h.now {
		t.Errorf("plan %q %v, apply %q", p.Summary, p.Changes, out.Summary)
	}
	if lines := commandLines(rec); len(lines) != 3 || strings.Contains(lines[0], "dpkg-query -W") || !strings.HasSuffix(lines[1], " update") {
		t.Errorf("ran %q", lines)
	}
	p, _, rec, err = pkgRun(t, st, h, true, true)
	if err != nil || p.Action != steps.NoOp || p.Summary != "already satisfied: apt lists refreshed 0s ago" || len(rec.Commands()) != 1 {
		t.Errorf("again: %v %v %q %q", err, p.Action, p.Summary, commandLines(rec))
	}
	if !p.Outputs["versions"].RawEquals(cty.MapValEmpty(cty.String)) {
		t.Errorf("outputs %#v", p.Outputs)
	}
}

func TestPackageNeedsRoot(t *testing.T) {
	h := newFakeApt()
	st := mustDecode(t, "package", `names = ["hello"]`)
	_, _, rec, err := pkgRun(t, st, h, false, false)
	f := failure(t, err)
	if !strings.Contains(f.Msg, "uid 1000 without become") || !strings.Contains(f.Hint, "become = true") {
		t.Errorf("failure %q hint %q", f.Msg, f.Hint)
	}
	if len(rec.Commands()) != 1 {
		t.Errorf("ran %q", commandLines(rec))
	}
	// Reading needs no root: a satisfied step plans fine without become.
	if p, _, _, err := pkgRun(t, mustDecode(t, "package", `names = ["bash"]`), h, false, false); err != nil || p.Action != steps.NoOp {
		t.Errorf("satisfied without become: %v %v", p.Action, err)
	}
	// Connected as root, no sudo is needed or used.
	h.uid = 0
	p, _, rec, err := pkgRun(t, st, h, false, true)
	if err != nil || p.Commands[0] != strings.TrimPrefix(aptInstall, "sudo ")+"install hello" {
		t.Errorf("as root: %v %q", err, p.Commands)
	}
	for _, c := range rec.Commands() {
		if c.Become {
			t.Errorf("sudo used as root: %s", c.Command)
		}
	}
}

func TestPackageApplyFailures(t *testing.T) {
	h := newFakeApt()
	h.fail = map[string]string{"install": "Reading package lists...\nE: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)\nE: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?\n"}
	_, _, _, err := pkgRun(t, mustDecode(t, "package", `names = ["hello"]`), h, true, true)
	f := failure(t, err)
	if !strings.Contains(f.Msg, "exited 100: E: Could not get lock /var/lib/dpkg/lock-frontend") || !strings.Contains(f.Hint, "another apt or dpkg holds") {
		t.Errorf("failure %q hint %q", f.Msg, f.Hint)
	}

	// apt-get exits 0 but the package is not there: the read-back says so.
	h = newFakeApt()
	h.inert = true
	_, out, rec, err := pkgRun(t, mustDecode(t, "package", `names = ["hello"]`), h, true, true)
	f = failure(t, err)
	if f.Msg != "the package manager exited 0, but hello is not installed" || !out.Changed {
		t.Errorf("failure %q", f.Msg)
	}
	if len(rec.Commands()) != 3 {
		t.Errorf("ran %q", commandLines(rec))
	}

	// latest: an upgrade apt-get reported but did not make is caught too.
	h = newFakeApt()
	h.inert = true
	h.lists["jq"] = "1.6-2.1+deb12u3"
	_, _, _, err = pkgRun(t, mustDecode(t, "package", "names = [\"jq\"]\nstate = \"latest\""), h, true, true)
	if f = failure(t, err); f.Msg != "the package manager exited 0, but jq 1.6-2.1+deb12u1 is older than 1.6-2.1+deb12u3" {
		t.Errorf("failure %q", f.Msg)
	}

	// A name the lists do not have fails the plan, with advice.
	_, _, _, err = pkgRun(t, mustDecode(t, "package", `names = ["hello", "nosuchpkg"]`), newFakeApt(), true, false)
	f = failure(t, err)
	if !strings.Contains(f.Msg, "E: Unable to locate package nosuchpkg") || !strings.Contains(f.Hint, "update_cache = true") {
		t.Errorf("failure %q hint %q", f.Msg, f.Hint)
	}
}

// reply is a transport whose answers come from a function of the command.
type reply func(cmd transport.Command) (string, int)

func (r reply) Run(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	out, code := r(cmd)
	return transport.Result{Stdout: []byte(out), ExitCode: code}, nil
}
func (reply) Describe() string { return "reply" }
func (reply) Close() error     { return nil }

func TestPackageDnfHost(t *testing.T) {
	installed := false
	var ran []string
	h := reply(func(cmd transport.Command) (string, int) {
		if cmd.Line != "" {
			rpm := "package hello is not installed\n"
			if installed {
				rpm = "hello 2.12.1-5.el9.x86_64\n"
			}
			return "@@dnf 0 1733130000 1733120000\n" + rpm + "@@avail\nAvailable Packages\nhello.x86_64   2.12.1-5.el9   appstream\n@@rc 0\n", 0
		}
		ran = append(ran, transport.JoinArgv(cmd.Argv))
		installed = true
		return "Complete!\n", 0
	})
	p, out, rec, err := pkgRun(t, mustDecode(t, "package", "names = [\"hello\"]\ninstall_recommends = false"), h, false, true)
	if err != nil {
		t.Fatal(err)
	}
	if p.Action != steps.Create || !reflect.DeepEqual(p.Changes, []steps.Change{{Field: "hello", Current: "(absent)", Desired: "2.12.1-5.el9"}}) {
		t.Errorf("plan %v %v", p.Action, p.Changes)
	}
	if !reflect.DeepEqual(ran, []string{"dnf -y --setopt=install_weak_deps=false install hello"}) || len(rec.Commands()) != 3 {
		t.Errorf("ran %q", ran)
	}
	if !out.Outputs["manager"].RawEquals(cty.StringVal("dnf")) || !strings.Contains(out.Summary, "hello (absent) → 2.12.1-5.el9.x86_64") {
		t.Errorf("outcome %+v", out)
	}
}

func TestPackageNoManager(t *testing.T) {
	h := reply(func(transport.Command) (string, int) { return "@@none\n", 0 })
	_, _, _, err := pkgRun(t, mustDecode(t, "package", `names = ["hello"]`), h, true, false)
	if f := failure(t, err); !strings.Contains(f.Msg, "no supported package manager") {
		t.Errorf("failure %q", f.Msg)
	}
}

func TestPackageDecodeErrors(t *testing.T) {
	tests := []struct{ body, attr, msg string }{
		{`names = ["hello"]` + "\nstate = \"installed\"", "state", `not "installed" (write "present")`},
		{`names = ["hello"]` + "\nstate = \"gone\"", "state", `state is "present", "absent" or "latest", not "gone"`},
		{`names = ["hello=2.10-3"]`, "names", "version pins are not supported"},
		{`names = ["hello*"]`, "names", "wildcards are not supported"},
		{`names = ["hello cron"]`, "names", "one package per list element"},
		{`names = ["-y"]`, "names", "not a package name"},
		{`names = ["hello;rm"]`, "names", "not a package name"},
		{`names = ["hello", "hello"]`, "names", `"hello" is listed twice`},
		{`names = []`, "names", "names lists no package"},
		{`state = "absent"`, "names", "names lists no package"},
		{`names = ["hello"]` + "\ncache_valid_time = \"1 day\"", "cache_valid_time", "is not a duration"},
		{`names = ["hello"]` + "\ncache_valid_time = \"0s\"", "cache_valid_time", "more than 0s"},
		{`names = ["hello"]` + "\nupdate_cache = false\ncache_valid_time = \"1h\"", "cache_valid_time", "needs update_cache = true"},
		{`names = ["hello"]` + "\nstate = \"absent\"\ninstall_recommends = false", "install_recommends", `no meaning with state = "absent"`},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			_, err := decode(t, "package", tt.body)
			var ae *steps.AttrError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want an AttrError", err)
			}
			if ae.Attr != tt.attr || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("AttrError{%s} %q, want attribute %s and %q", ae.Attr, err, tt.attr, tt.msg)
			}
		})
	}
	// Valid forms decode: a refresh-only step, cache_valid_time alone
	// (it implies update_cache), a number of seconds.
	for _, body := range []string{"update_cache = true", "names = [\"hello\"]\ncache_valid_time = 3600", "names = [\"libc6:amd64\", \"g++\", \"python3.11\"]\nstate = \"latest\""} {
		if _, err := decode(t, "package", body); err != nil {
			t.Errorf("%q: %v", body, err)
		}
	}
}

// Validate runs with step results unknown: it checks what is known and
// leaves the rest to Decode.
func TestPackageValidateUnknowns(t *testing.T) {
	k := steps.Builtin()["package"].(steps.Validator)
	obj := func(names, state cty.Value) cty.Value {
		return cty.ObjectVal(map[string]cty.Value{
			"names": names, "state": state, "update_cache": cty.NullVal(cty.Bool),
			"cache_valid_time": cty.NullVal(cty.String), "install_recommends": cty.NullVal(cty.Bool),
		})
	}
	if err := k.Validate(obj(cty.UnknownVal(cty.List(cty.String)), cty.StringVal("present"))); err != nil {
		t.Errorf("unknown names: %v", err)
	}
	if err := k.Validate(obj(cty.ListVal([]cty.Value{cty.StringVal("ok"), cty.UnknownVal(cty.String)}), cty.UnknownVal(cty.String))); err != nil {
		t.Errorf("partly unknown: %v", err)
	}
	err := k.Validate(obj(cty.ListVal([]cty.Value{cty.StringVal("bad name"), cty.UnknownVal(cty.String)}), cty.UnknownVal(cty.String)))
	var ae *steps.AttrError
	if !errors.As(err, &ae) || ae.Attr != "names" {
		t.Errorf("a known bad name among unknowns: %v", err)
	}
}

func TestPackageResources(t *testing.T) {
	st := mustDecode(t, "package", `names = ["hello", "cron"]`)
	reads, writes := st.(steps.Resourcer).Resources()
	if !reflect.DeepEqual(reads, []string{"package/hello", "package/cron"}) || !reflect.DeepEqual(writes, []string{"package/hello", "package/cron", "packages"}) {
		t.Errorf("reads %q writes %q", reads, writes)
	}
}
