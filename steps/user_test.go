package steps_test

import (
	"context"
	"errors"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/runbook-hpc/runbook/engine/evidence"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/runbook-hpc/runbook/steps"
	"github.com/zclconf/go-cty/cty"
)

// acctRecorder is the engine's recorder on the fake host: plan marks a
// dry run, become the step's become, ahead the resources earlier steps
// of the plan change.
func acctRecorder(h *acctHost, plan, become bool, ahead ...string) *evidence.Recorder {
	return &evidence.Recorder{Transport: h, Planning: plan, BecomeOn: become, PendingWrites: func(r string) bool {
		for _, a := range ahead {
			if a == r {
				return true
			}
		}
		return false
	}}
}

// acctRun does what the engine does in apply: Plan, then Apply unless
// nothing is to be done, on one recorder.
func acctRun(t *testing.T, st steps.Step, rec *evidence.Recorder) (steps.Proposal, steps.Outcome, error) {
	t.Helper()
	p, err := st.Plan(context.Background(), rec)
	if err != nil {
		return p, steps.Outcome{}, err
	}
	if p.Action == steps.NoOp {
		return p, steps.Outcome{}, nil
	}
	out, err := st.Apply(context.Background(), rec, p)
	return p, out, err
}

func acctCommandLines(rec *evidence.Recorder) []string {
	var out []string
	for _, c := range rec.Commands() {
		out = append(out, c.Command)
	}
	return out
}

func acctChangeLines(p steps.Proposal) []string {
	var out []string
	for _, c := range p.Changes {
		out = append(out, c.Field+": "+c.Current+" → "+c.Desired)
	}
	return out
}

func acctBaseHost() *acctHost {
	return &acctHost{
		users: []acctFakeUser{{name: "koopark", uid: 1001, gid: 1001, home: "/home/koopark", shell: "/bin/bash"}},
		groups: []acctFakeGroup{
			{name: "audio", gid: 29}, {name: "video", gid: 44}, {name: "users", gid: 100},
			{name: "koopark", gid: 1001},
		},
	}
}

const rbtuProbe = "getent passwd rbtu; echo :$?; id -Gn rbtu; echo :$?; getent group video; echo :$?"

// Create, then nothing to do: the plan lists the fields, apply runs one
// useradd through sudo and reads the account back; an unchanged step costs
// exactly one remote command.
func TestUserCreateThenUnchanged(t *testing.T) {
	h := acctBaseHost()
	st := mustDecode(t, "user", `name = "rbtu"
shell = "/bin/bash"
groups = ["video"]
comment = "Runbook Test,Room 1"`)

	rec := acctRecorder(h, true, true)
	p := plan(t, st, rec)
	if p.Action != steps.Create || p.Summary != "create user rbtu" {
		t.Fatalf("plan = %v %q, want create user rbtu", p.Action, p.Summary)
	}
	wantChanges := []string{"groups: (none) → video", "shell: (none) → /bin/bash", "comment: (none) → Runbook Test,Room 1"}
	if got := acctChangeLines(p); !reflect.DeepEqual(got, wantChanges) {
		t.Errorf("changes = %q, want %q", got, wantChanges)
	}
	wantCmd := "sudo useradd -G video -s /bin/bash -c 'Runbook Test,Room 1' -m rbtu"
	if !reflect.DeepEqual(p.Commands, []string{wantCmd}) {
		t.Errorf("planned commands = %q, want %q", p.Commands, wantCmd)
	}
	if got := acctCommandLines(rec); !reflect.DeepEqual(got, []string{rbtuProbe}) {
		t.Fatalf("plan ran %q, want the one probe %q", got, rbtuProbe)
	}
	if h.user("rbtu") != nil {
		t.Fatal("plan created the user")
	}

	rec = acctRecorder(h, false, true)
	_, out, err := acctRun(t, st, rec)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Changed || out.Summary != "created user rbtu" {
		t.Errorf("outcome = %+v", out)
	}
	if got, want := acctCommandLines(rec), []string{rbtuProbe, wantCmd, rbtuProbe}; !reflect.DeepEqual(got, want) {
		t.Errorf("apply ran %q, want probe, useradd, read-back %q", got, want)
	}
	u := h.user("rbtu")
	if u == nil || u.shell != "/bin/bash" || u.comment != "Runbook Test,Room 1" {
		t.Fatalf("user after apply = %+v", u)
	}
	if notes := rec.Notes(); len(notes) != 1 || notes[0] != "user rbtu created: getent passwd reads rbtu:x:1002:1002:Runbook Test,Room 1:/home/rbtu:/bin/bash; id -Gn reads rbtu video" {
		t.Errorf("notes = %q", notes)
	}
	if got := out.Outputs["groups"]; !got.RawEquals(strList("video")) {
		t.Errorf("outputs.groups = %#v", got)
	}
	if got := out.Outputs["uid"]; !got.RawEquals(cty.NumberIntVal(1002)) {
		t.Errorf("outputs.uid = %#v", got)
	}

	for _, planning := range []bool{true, false} {
		rec = acctRecorder(h, planning, true)
		p, _, err = acctRun(t, st, rec)
		if err != nil {
			t.Fatal(err)
		}
		if p.Action != steps.NoOp || p.Summary != "already as desired: user rbtu (uid 1002)" {
			t.Errorf("again (plan %v) = %v %q, want no-op", planning, p.Action, p.Summary)
		}
		if got := acctCommandLines(rec); len(got) != 1 {
			t.Errorf("an unchanged user cost %d remote commands (%q), want 1", len(got), got)
		}
		if got := p.Outputs["comment"]; !got.RawEquals(str("Runbook Test,Room 1")) {
			t.Errorf("outputs.comment = %#v", got)
		}
	}
}

// Modify: only the fields that differ, in one usermod; groups without
// append are the exact list.
func TestUserModify(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		setup   func(h *acctHost)
		changes []string
		cmd     string
		check   func(t *testing.T, h *acctHost)
	}{
		{
			name: "shell, comment and a group added",
			body: `shell = "/bin/bash"
groups = ["audio", "video"]
comment = "New"`,
			changes: []string{"groups: audio → audio,video (+ video)", "shell: /bin/sh → /bin/bash", "comment: Old → New"},
			cmd:     "usermod -G audio,video -s /bin/bash -c New rbtu",
		},
		{
			name:    "exact list drops a group",
			body:    `groups = ["video"]`,
			setup:   func(h *acctHost) { h.group("video").members = []string{"rbtu"} },
			changes: []string{"groups: audio,video → video (- audio)"},
			cmd:     "usermod -G video rbtu",
			check: func(t *testing.T, h *acctHost) {
				if len(h.group("audio").members) != 0 {
					t.Errorf("still in audio: %v", h.group("audio").members)
				}
			},
		},
		{
			name:    "empty exact list drops all",
			body:    `groups = []`,
			changes: []string{"groups: audio → (none) (- audio)"},
			cmd:     "usermod -G '' rbtu",
		},
		{
			name: "append adds and keeps",
			body: `groups = ["video"]
append = true`,
			changes: []string{"groups: audio → audio,video (+ video)"},
			cmd:     "usermod -a -G video rbtu",
			check: func(t *testing.T, h *acctHost) {
				if !reflect.DeepEqual(h.group("audio").members, []string{"rbtu"}) {
					t.Errorf("append removed audio: %v", h.group("audio").members)
				}
			},
		},
		{
			name: "primary group and uid",
			body: `group = "users"
uid = 2001`,
			changes: []string{"uid: 1500 → 2001", "group: rbtu → users"},
			cmd:     "usermod -u 2001 -g users rbtu",
		},
		{
			name:    "home, not moved",
			body:    `home = "/srv/rbtu"`,
			changes: []string{"home: /home/rbtu → /srv/rbtu"},
			cmd:     "usermod -d /srv/rbtu rbtu",
		},
		{
			name:    "comment cleared",
			body:    `comment = ""`,
			changes: []string{"comment: Old → (none)"},
			cmd:     "usermod -c '' rbtu",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := acctBaseHost()
			h.users = append(h.users, acctFakeUser{name: "rbtu", uid: 1500, gid: 1500, comment: "Old", home: "/home/rbtu", shell: "/bin/sh"})
			h.groups = append(h.groups, acctFakeGroup{name: "rbtu", gid: 1500})
			h.group("audio").members = []string{"rbtu"}
			if tt.setup != nil {
				tt.setup(h)
			}
			st := mustDecode(t, "user", "name = \"rbtu\"\n"+tt.body)
			rec := acctRecorder(h, true, false)
			p := plan(t, st, rec)
			if p.Action != steps.Modify {
				t.Fatalf("plan = %v %q, want modify", p.Action, p.Summary)
			}
			if got := acctChangeLines(p); !reflect.DeepEqual(got, tt.changes) {
				t.Errorf("changes = %q, want %q", got, tt.changes)
			}
			if !reflect.DeepEqual(p.Commands, []string{tt.cmd}) {
				t.Errorf("commands = %q, want %q", p.Commands, tt.cmd)
			}
			if n := len(rec.Commands()); n != 1 {
				t.Errorf("plan ran %d commands, want 1", n)
			}
			rec = acctRecorder(h, false, false)
			if _, out, err := acctRun(t, st, rec); err != nil || !out.Changed {
				t.Fatalf("apply: %+v %v", out, err)
			}
			if n := len(rec.Commands()); n != 3 {
				t.Errorf("apply ran %d commands (%q), want probe, usermod, read-back", n, acctCommandLines(rec))
			}
			if tt.check != nil {
				tt.check(t, h)
			}
			rec = acctRecorder(h, true, false)
			if p := plan(t, st, rec); p.Action != steps.NoOp || len(rec.Commands()) != 1 {
				t.Errorf("after apply: %v %q in %d commands, want no-op in 1", p.Action, p.Summary, len(rec.Commands()))
			}
		})
	}
}

// The user's primary group is a membership whatever /etc/group lists,
// and append with groups it has already is nothing to do.
func TestUserGroupsAlreadyMember(t *testing.T) {
	h := acctBaseHost()
	h.group("video").members = []string{"koopark"}
	for _, body := range []string{
		`groups = ["koopark", "video"]`,
		`groups = ["video"]`,
		"groups = [\"audio\", \"video\"]\nappend = false\ngroup = \"audio\"",
	} {
		rec := acctRecorder(h, true, false)
		p := plan(t, mustDecode(t, "user", "name = \"koopark\"\n"+body), rec)
		want := steps.NoOp
		if strings.Contains(body, `group = "audio"`) {
			want = steps.Modify
		}
		if p.Action != want {
			t.Errorf("%s: %v %q %q, want %v", body, p.Action, p.Summary, acctChangeLines(p), want)
		}
	}
	// Primary audio, supplementary video: audio is not added to -G.
	p := plan(t, mustDecode(t, "user", "name = \"koopark\"\ngroups = [\"audio\", \"video\"]\ngroup = \"audio\""), acctRecorder(h, true, false))
	if !reflect.DeepEqual(p.Commands, []string{"usermod -g audio koopark"}) || !reflect.DeepEqual(acctChangeLines(p), []string{"group: koopark → audio"}) {
		t.Errorf("primary change: %q %q", p.Commands, acctChangeLines(p))
	}
}

// A group that is not there fails the plan, naming it, unless an earlier
// step of the plan creates it.
func TestUserMissingGroup(t *testing.T) {
	st := mustDecode(t, "user", "name = \"rbtu\"\ngroups = [\"rbtg\"]\ngroup = \"rbtp\"")
	h := acctBaseHost()
	_, err := st.Plan(context.Background(), acctRecorder(h, true, true))
	f := failure(t, err)
	if f.Msg != "group rbtp does not exist on the host" || !strings.Contains(f.Hint, `step "group" { name = "rbtp" }`) {
		t.Errorf("failure = %q (hint %q)", f.Msg, f.Hint)
	}
	rec := acctRecorder(h, true, true, "group/rbtp", "group/rbtg")
	p := plan(t, st, rec)
	// The changes are the ones apply will find once the groups exist
	// (a saved plan compares them); the summary says what it waits for.
	if p.Action != steps.Create || p.Summary != "create user rbtu (once groups rbtp, rbtg are created)" ||
		!reflect.DeepEqual(acctChangeLines(p), []string{"group: (none) → rbtp", "groups: (none) → rbtg"}) {
		t.Errorf("planned ahead: %v %q %q", p.Action, p.Summary, acctChangeLines(p))
	}
	if !reflect.DeepEqual(p.Commands, []string{"sudo useradd -g rbtp -G rbtg -m rbtu"}) {
		t.Errorf("commands = %q", p.Commands)
	}
	// For an existing user too, and only for the missing group.
	h.users = append(h.users, acctFakeUser{name: "rbtu", uid: 1500, gid: 100, home: "/home/rbtu", shell: "/bin/sh"})
	p = plan(t, mustDecode(t, "user", "name = \"rbtu\"\ngroups = [\"audio\", \"rbtg\"]"), acctRecorder(h, true, true, "group/rbtg"))
	if got := acctChangeLines(p); p.Summary != "modify user rbtu: groups (once group rbtg is created)" ||
		!reflect.DeepEqual(got, []string{"groups: (none) → audio,rbtg (+ audio, + rbtg)"}) {
		t.Errorf("existing user, ahead: %q %q", p.Summary, got)
	}
	// What apply proposes once the group exists is what the plan said.
	h.groups = append(h.groups, acctFakeGroup{name: "rbtg", gid: 4000})
	applied, err := mustDecode(t, "user", "name = \"rbtu\"\ngroups = [\"audio\", \"rbtg\"]").Plan(context.Background(), acctRecorder(h, false, true))
	if err != nil || !reflect.DeepEqual(applied.Changes, p.Changes) {
		t.Errorf("apply-time changes %q (%v), planned %q", acctChangeLines(applied), err, acctChangeLines(p))
	}
	h.groups = h.groups[:len(h.groups)-1]
	// Apply has no plan ahead: the group must exist by then.
	_, err = mustDecode(t, "user", "name = \"rbtu\"\ngroups = [\"rbtg\"]").Plan(context.Background(), acctRecorder(h, false, true))
	if f := failure(t, err); !strings.Contains(f.Msg, "group rbtg does not exist") {
		t.Errorf("apply-time failure = %q", f.Msg)
	}
}

func TestUserRemove(t *testing.T) {
	h := acctBaseHost()
	h.users = append(h.users, acctFakeUser{name: "rbtu", uid: 1500, gid: 1500, home: "/home/rbtu", shell: "/bin/sh"})
	h.groups = append(h.groups, acctFakeGroup{name: "rbtu", gid: 1500})
	h.group("video").members = []string{"rbtu"}
	st := mustDecode(t, "user", "name = \"rbtu\"\nstate = \"absent\"\nremove = true")
	rec := acctRecorder(h, true, true)
	p := plan(t, st, rec)
	if p.Action != steps.Modify || p.Summary != "remove user rbtu and its home directory /home/rbtu" ||
		!reflect.DeepEqual(acctChangeLines(p), []string{"state: present (uid 1500) → absent"}) ||
		!reflect.DeepEqual(p.Commands, []string{"sudo userdel -r rbtu"}) {
		t.Errorf("plan = %v %q %q %q", p.Action, p.Summary, acctChangeLines(p), p.Commands)
	}
	if got := acctCommandLines(rec); !reflect.DeepEqual(got, []string{"getent passwd rbtu; echo :$?"}) {
		t.Errorf("an absent user's probe = %q, want getent passwd alone", got)
	}
	rec = acctRecorder(h, false, true)
	if _, out, err := acctRun(t, st, rec); err != nil || out.Summary != "removed user rbtu" {
		t.Fatalf("apply: %+v %v", out, err)
	}
	if h.user("rbtu") != nil || h.group("rbtu") != nil || len(h.group("video").members) != 0 {
		t.Errorf("left behind: %+v %+v %v", h.user("rbtu"), h.group("rbtu"), h.group("video").members)
	}
	if notes := rec.Notes(); len(notes) != 1 || notes[0] != "user rbtu removed: getent passwd finds no rbtu" {
		t.Errorf("notes = %q", notes)
	}
	rec = acctRecorder(h, true, true)
	p = plan(t, st, rec)
	if p.Action != steps.NoOp || p.Summary != "already absent: user rbtu" || len(rec.Commands()) != 1 {
		t.Errorf("again: %v %q in %d commands", p.Action, p.Summary, len(rec.Commands()))
	}
	if !p.Outputs["exists"].RawEquals(cty.False) || !p.Outputs["uid"].IsNull() {
		t.Errorf("outputs of an absent user = %#v", p.Outputs)
	}
}

// Without become a non-root login cannot change accounts: the failure
// says what the tool said and the hint says become = true.
func TestUserWithoutBecome(t *testing.T) {
	h := acctBaseHost()
	h.deny = true
	st := mustDecode(t, "user", `name = "rbtu"`)
	_, _, err := acctRun(t, st, acctRecorder(h, false, false))
	f := failure(t, err)
	if !strings.Contains(f.Msg, "`useradd -m rbtu` exited 1: useradd: Permission denied.") {
		t.Errorf("msg = %q", f.Msg)
	}
	if !strings.Contains(f.Hint, "set become = true") {
		t.Errorf("hint = %q, want set become = true", f.Hint)
	}
	if h.user("rbtu") != nil {
		t.Error("the user was made anyway")
	}
	// The same host with become works.
	if _, _, err := acctRun(t, st, acctRecorder(h, false, true)); err != nil {
		t.Errorf("with become: %v", err)
	}
	// A non-root login on Debian does not even find useradd.
	h = acctBaseHost()
	h.nosbin = true
	_, _, err = acctRun(t, st, acctRecorder(h, false, false))
	f = failure(t, err)
	if !strings.Contains(f.Msg, "`useradd -m rbtu` exited 127: bash: line 1: useradd: command not found") ||
		!strings.Contains(f.Hint, "/usr/sbin") || !strings.Contains(f.Hint, "set become = true") {
		t.Errorf("not on PATH: %q (hint %q)", f.Msg, f.Hint)
	}
	// Through sudo a missing tool is a missing package, not a become.
	h = acctBaseHost()
	_, _, err = acctRun(t, mustDecode(t, "user", "name = \"koopark\"\nshell = \"/bin/zsh\""), &evidence.Recorder{BecomeOn: true, Transport: &scripted{reply: func(line string) (string, string, int) {
		if strings.HasPrefix(line, "usermod") {
			return "", "sudo: usermod: command not found\n", 1
		}
		r, _ := h.Run(context.Background(), transport.Command{Line: "getent passwd koopark; echo :$?; id -Gn koopark; echo :$?"})
		return string(r.Stdout), "", 0
	}}})
	if f := failure(t, err); !strings.Contains(f.Hint, "not installed") {
		t.Errorf("missing tool under sudo: %q (hint %q)", f.Msg, f.Hint)
	}
}

// A tool that exits 0 and changes nothing is caught by the read-back.
func TestUserReadBackCatchesNoChange(t *testing.T) {
	for _, tt := range []struct{ body, want string }{
		{`name = "rbtu"`, "`sudo useradd -m rbtu` exited 0 but user rbtu does not exist"},
		{"name = \"koopark\"\nshell = \"/bin/zsh\"", "`sudo usermod -s /bin/zsh koopark` exited 0 but user koopark still differs: shell /bin/bash (want /bin/zsh)"},
		{"name = \"koopark\"\nstate = \"absent\"", "`sudo userdel koopark` exited 0 but user koopark still exists"},
	} {
		h := acctBaseHost()
		h.ignore = true
		_, out, err := acctRun(t, mustDecode(t, "user", tt.body), acctRecorder(h, false, true))
		if f := failure(t, err); f.Msg != tt.want {
			t.Errorf("failure = %q, want %q", f.Msg, tt.want)
		}
		if !out.Changed {
			t.Error("a command ran: the outcome must say something may have changed")
		}
	}
}

// The probe's answers are read strictly: a malformed getent line or a
// missing answer fails the step instead of planning on a guess.
func TestUserProbeParsing(t *testing.T) {
	st := mustDecode(t, "user", "name = \"rbtu\"\nshell = \"/bin/bash\"")
	tests := []struct {
		name, out string
		code      int
		want      string // "" = no error; else part of the failure
		shell     string
	}{
		{"comment with commas, empty fields", "rbtu:x:1500:100:A B,,,:/home/rbtu:/bin/bash\n:0\nusers\n:0\n", 0, "", "/bin/bash"},
		{"empty shell", "rbtu:x:1500:100::/home/rbtu:\n:0\nusers video\n:0\n", 0, "", ""},
		{"six fields", "rbtu:x:1500:100::/home/rbtu\n:0\nusers\n:0\n", 0, "not a passwd entry", ""},
		{"non-numeric uid", "rbtu:x:abc:100::/home/rbtu:/bin/sh\n:0\nusers\n:0\n", 0, "non-numeric id", ""},
		{"answer missing", "rbtu:x:1500:100::/home/rbtu:/bin/sh\n:0\n", 0, "printed 1 of the 2 answers", ""},
		{"getent failed", ":3\n:1\n", 0, "`getent passwd rbtu` exited 3", ""},
		{"id failed for a known user", "rbtu:x:1500:100::/home/rbtu:/bin/sh\n:0\n:1\n", 0, "`id -Gn rbtu` printed no group (exit 1)", ""},
		// id prints a gid without a group entry as a number and exits 1.
		{"primary gid without a group", "rbtu:x:1500:4999::/home/rbtu:/bin/bash\n:0\n4999 video\n:1\n", 0, "", "/bin/bash"},
		{"another user answered", "root:x:0:0::/root:/bin/sh\n:0\nroot\n:0\n", 0, `getent answered for user "root"`, ""},
		{"shell failed", "", 2, "exited 2", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &acctHost{raw: func(string) (string, int) { return tt.out, tt.code }}
			p, err := st.Plan(context.Background(), acctRecorder(h, true, false))
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err = %v, want %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.name == "primary gid without a group" && (!p.Outputs["group"].RawEquals(str("4999")) || !p.Outputs["groups"].RawEquals(strList("video"))) {
				t.Errorf("group %#v, groups %#v: want 4999 and [video]", p.Outputs["group"], p.Outputs["groups"])
			}
			if got := p.Outputs["shell"]; tt.shell == "/bin/bash" && !got.RawEquals(str(tt.shell)) {
				t.Errorf("shell = %#v", got)
			}
			if tt.shell == "" && (p.Action != steps.Modify || acctChangeLines(p)[0] != "shell: (none) → /bin/bash") {
				t.Errorf("empty shell: %v %q", p.Action, acctChangeLines(p))
			}
		})
	}
}

// The real getent and id of this machine, through the local transport:
// root exists everywhere with uid 0 and group root.
func TestUserProbeOnThisMachine(t *testing.T) {
	if _, err := exec.LookPath("getent"); err != nil {
		t.Fatalf("getent is not installed: %v", err)
	}
	rec := recorder()
	p := plan(t, mustDecode(t, "user", "name = \"root\"\nuid = 0\ngroup = \"root\""), rec)
	if p.Action != steps.NoOp || p.Summary != "already as desired: user root (uid 0)" {
		t.Errorf("root: %v %q %q", p.Action, p.Summary, acctChangeLines(p))
	}
	if !p.Outputs["gid"].RawEquals(cty.NumberIntVal(0)) || !p.Outputs["group"].RawEquals(str("root")) {
		t.Errorf("outputs = %#v", p.Outputs)
	}
	cmds := rec.Commands()
	if len(cmds) != 1 || cmds[0].Command != "getent passwd root; echo :$?; id -Gn root; echo :$?; getent group root; echo :$?" {
		t.Errorf("evidence = %+v", cmds)
	}
	rec = recorder()
	p = plan(t, mustDecode(t, "user", "name = \"rbt-no-such-user\"\nstate = \"absent\""), rec)
	if p.Action != steps.NoOp || len(rec.Commands()) != 1 {
		t.Errorf("absent user: %v %q in %d commands", p.Action, p.Summary, len(rec.Commands()))
	}
	rec = recorder()
	p = plan(t, mustDecode(t, "user", "name = \"rbt-no-such-user\"\ngroups = [\"root\"]"), rec)
	if p.Action != steps.Create || !reflect.DeepEqual(p.Commands, []string{"useradd -G root -m rbt-no-such-user"}) {
		t.Errorf("new user: %v %q %q", p.Action, p.Summary, p.Commands)
	}
}

// acctValidate is what `runbook validate` does with a kind: Validate with
// values that may be unknown.
func acctValidate(t *testing.T, kind, body string, unknown ...string) error {
	t.Helper()
	k := steps.Builtin()[kind]
	f, diags := hclsyntax.ParseConfig([]byte(body), "step.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	val, diags := hcldec.Decode(f.Body, k.Spec(), nil)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	m := val.AsValueMap()
	for _, u := range unknown {
		m[u] = cty.UnknownVal(m[u].Type())
	}
	return k.(steps.Validator).Validate(cty.ObjectVal(m))
}

func TestUserBadInput(t *testing.T) {
	tests := []struct{ body, attr, msg string }{
		{`name = "-rbt"`, "name", "use letters, digits"},
		{`name = "rbt user"`, "name", "use letters, digits"},
		{`name = "12345"`, "name", "only digits"},
		{`name = ""`, "name", "empty"},
		{`name = "` + strings.Repeat("a", 33) + `"`, "name", "longer than 32"},
		{"name = \"rbt\"\nuid = -1", "uid", "whole number from 0 to 4294967294, not -1"},
		{"name = \"rbt\"\nuid = 1.5", "uid", "not 1.5"},
		{"name = \"rbt\"\nuid = 4294967295", "uid", "not 4.294967295e+09"},
		{"name = \"rbt\"\nshell = \"bash\"", "shell", "absolute path"},
		{"name = \"rbt\"\nhome = \"home/rbt\"", "home", "absolute path"},
		{"name = \"rbt\"\ncomment = \"a:b\"", "comment", `cannot contain ":"`},
		{"name = \"rbt\"\ncomment = \"a\\nb\"", "comment", `cannot contain "\n"`},
		{"name = \"rbt\"\nstate = \"gone\"", "state", `"present" or "absent", not "gone"`},
		{"name = \"rbt\"\nstate = \"absent\"\nshell = \"/bin/sh\"", "shell", `no meaning with state = "absent"`},
		{"name = \"rbt\"\nstate = \"absent\"\ngroups = []", "groups", `no meaning with state = "absent"`},
		{"name = \"rbt\"\nremove = true", "remove", `needs state = "absent"`},
		{"name = \"rbt\"\ngroup = \"100\"", "group", "only digits"},
		{"name = \"rbt\"\ngroups = [\"video\", \"a,b\"]", "groups", `group name "a,b"`},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			for _, via := range []string{"Decode", "Validate"} {
				var err error
				if via == "Decode" {
					_, err = decode(t, "user", tt.body)
				} else {
					err = acctValidate(t, "user", tt.body)
				}
				var ae *steps.AttrError
				if !errors.As(err, &ae) {
					t.Fatalf("%s: err = %v, want an AttrError", via, err)
				}
				if ae.Attr != tt.attr || !strings.Contains(err.Error(), tt.msg) {
					t.Errorf("%s: AttrError{%s} %q, want attribute %s and %q", via, ae.Attr, err, tt.attr, tt.msg)
				}
			}
		})
	}
	// Unknown values (step results in validate) are checked later; the
	// known ones now.
	if err := acctValidate(t, "user", "name = \"rbt\"\nshell = \"x\"", "shell"); err != nil {
		t.Errorf("unknown shell refused: %v", err)
	}
	if err := acctValidate(t, "user", "name = \"rbt\"\nshell = \"x\"", "name"); err == nil {
		t.Error("a relative shell passed validate because the name was unknown")
	}
	if err := acctValidate(t, "user", "name = \"rbt\"\nstate = \"absent\"\nshell = \"/bin/sh\"", "state"); err != nil {
		t.Errorf("an unknown state cannot conflict yet: %v", err)
	}
}

func TestAccountsResources(t *testing.T) {
	tests := []struct {
		kind, body    string
		reads, writes []string
	}{
		{"user", "name = \"rbt\"\ngroups = [\"video\"]\ngroup = \"users\"", []string{"group/users", "group/video"}, []string{"user/rbt"}},
		{"user", `name = "rbt"`, nil, []string{"user/rbt", "group/rbt"}},
		{"user", "name = \"rbt\"\nstate = \"absent\"", nil, []string{"user/rbt", "group/rbt"}},
		{"group", `name = "rbtg"`, nil, []string{"group/rbtg"}},
	}
	for _, tt := range tests {
		reads, writes := mustDecode(t, tt.kind, tt.body).(steps.Resourcer).Resources()
		if !reflect.DeepEqual(reads, tt.reads) || !reflect.DeepEqual(writes, tt.writes) {
			t.Errorf("%s %q: Resources() = %q, %q; want %q, %q", tt.kind, tt.body, reads, writes, tt.reads, tt.writes)
		}
	}
	if pa, ok := steps.Builtin()["user"].(steps.PlansAhead); !ok || !pa.PlansAhead() {
		t.Error("user does not plan ahead")
	}
}

// The probe's line goes through the transport's quoting: a name with a $
// (shadow allows a final one, for Samba machine accounts) stays one word.
func TestUserProbeQuotesNames(t *testing.T) {
	h := acctBaseHost()
	rec := acctRecorder(h, true, false)
	plan(t, mustDecode(t, "user", `name = "host1$"`), rec)
	if got := acctCommandLines(rec); len(got) != 1 || !strings.HasPrefix(got[0], "getent passwd 'host1$'; echo :$?; id -Gn 'host1$'") {
		t.Errorf("probe = %q", got)
	}
}
