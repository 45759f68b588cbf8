package steps_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/runbook-hpc/runbook/steps"
	"github.com/zclconf/go-cty/cty"
)

// Create, change the gid, remove: one probe each plan, probe + change +
// read-back each apply, one probe when nothing is to be done.
func TestGroupLifecycle(t *testing.T) {
	h := acctBaseHost()
	steps3 := []struct {
		body    string
		action  steps.Action
		summary string
		changes []string
		cmd     string
		after   func() bool
		note    string
	}{
		{"name = \"rbtg\"\ngid = 4711\nsystem = true", steps.Create, "create group rbtg",
			[]string{"system: (none) → true", "gid: (none) → 4711"}, "sudo groupadd -r -g 4711 rbtg",
			func() bool { return h.group("rbtg") != nil && h.group("rbtg").gid == 4711 },
			"group rbtg created: getent group reads rbtg:x:4711:"},
		{"name = \"rbtg\"\ngid = 4712", steps.Modify, "modify group rbtg",
			[]string{"gid: 4711 → 4712"}, "sudo groupmod -g 4712 rbtg",
			func() bool { return h.group("rbtg").gid == 4712 },
			"group rbtg changed: getent group reads rbtg:x:4712:"},
		{"name = \"rbtg\"\nstate = \"absent\"", steps.Modify, "remove group rbtg",
			[]string{"state: present (gid 4712) → absent"}, "sudo groupdel rbtg",
			func() bool { return h.group("rbtg") == nil },
			"group rbtg removed: getent group finds no rbtg"},
	}
	for _, s := range steps3 {
		st := mustDecode(t, "group", s.body)
		rec := acctRecorder(h, true, true)
		p := plan(t, st, rec)
		if p.Action != s.action || p.Summary != s.summary || !reflect.DeepEqual(acctChangeLines(p), s.changes) || !reflect.DeepEqual(p.Commands, []string{s.cmd}) {
			t.Errorf("%q: plan = %v %q %q %q", s.body, p.Action, p.Summary, acctChangeLines(p), p.Commands)
		}
		if got := acctCommandLines(rec); !reflect.DeepEqual(got, []string{"getent group rbtg; echo :$?"}) {
			t.Errorf("%q: plan ran %q", s.body, got)
		}
		rec = acctRecorder(h, false, true)
		if _, out, err := acctRun(t, st, rec); err != nil || !out.Changed {
			t.Fatalf("%q: apply %+v %v", s.body, out, err)
		}
		if got := acctCommandLines(rec); len(got) != 3 || got[1] != s.cmd {
			t.Errorf("%q: apply ran %q", s.body, got)
		}
		if !s.after() {
			t.Errorf("%q: the host did not change", s.body)
		}
		if notes := rec.Notes(); len(notes) != 1 || notes[0] != s.note {
			t.Errorf("%q: notes = %q, want %q", s.body, notes, s.note)
		}
		rec = acctRecorder(h, true, true)
		if p := plan(t, st, rec); p.Action != steps.NoOp || len(rec.Commands()) != 1 {
			t.Errorf("%q again: %v %q in %d commands", s.body, p.Action, p.Summary, len(rec.Commands()))
		}
	}
}

func TestGroupOutputsAndUnmanagedGID(t *testing.T) {
	h := acctBaseHost()
	h.group("video").members = []string{"koopark", "rbadmin"}
	p := plan(t, mustDecode(t, "group", `name = "video"`), acctRecorder(h, true, false))
	if p.Action != steps.NoOp || p.Summary != "already as desired: group video (gid 44)" {
		t.Errorf("plan = %v %q", p.Action, p.Summary)
	}
	if !p.Outputs["gid"].RawEquals(cty.NumberIntVal(44)) || !p.Outputs["members"].RawEquals(strList("koopark", "rbadmin")) || !p.Outputs["exists"].RawEquals(cty.True) {
		t.Errorf("outputs = %#v", p.Outputs)
	}
	// Without gid, groupadd picks one.
	p = plan(t, mustDecode(t, "group", `name = "rbtg"`), acctRecorder(h, true, false))
	if p.Action != steps.Create || len(p.Changes) != 0 || !reflect.DeepEqual(p.Commands, []string{"groupadd rbtg"}) {
		t.Errorf("plan = %v %q %q", p.Action, acctChangeLines(p), p.Commands)
	}
}

// groupdel refuses a user's primary group: its message reaches the
// failure; without become the hint says become = true.
func TestGroupFailures(t *testing.T) {
	h := acctBaseHost()
	_, _, err := acctRun(t, mustDecode(t, "group", "name = \"koopark\"\nstate = \"absent\""), acctRecorder(h, false, true))
	if f := failure(t, err); !strings.Contains(f.Msg, "cannot remove the primary group of user 'koopark'") || f.Hint != "" {
		t.Errorf("failure = %q (hint %q)", f.Msg, f.Hint)
	}
	h.deny = true
	_, _, err = acctRun(t, mustDecode(t, "group", `name = "rbtg"`), acctRecorder(h, false, false))
	if f := failure(t, err); !strings.Contains(f.Msg, "cannot lock /etc/group") || !strings.Contains(f.Hint, "groupadd needs root: set become = true") {
		t.Errorf("failure = %q (hint %q)", f.Msg, f.Hint)
	}
	h.deny, h.ignore = false, true
	_, _, err = acctRun(t, mustDecode(t, "group", "name = \"video\"\ngid = 45"), acctRecorder(h, false, true))
	if f := failure(t, err); f.Msg != "`sudo groupmod -g 45 video` exited 0 but group video still differs: gid 44 (want 45)" {
		t.Errorf("failure = %q", f.Msg)
	}
	// A malformed answer is an error, not a guess.
	h = &acctHost{raw: func(string) (string, int) { return "video:x:44\n:0\n", 0 }}
	if _, err := mustDecode(t, "group", `name = "video"`).Plan(context.Background(), acctRecorder(h, true, false)); err == nil || !strings.Contains(err.Error(), "not a group entry") {
		t.Errorf("err = %v", err)
	}
}

func TestGroupBadInput(t *testing.T) {
	tests := []struct{ body, attr, msg string }{
		{`name = "rbt:g"`, "name", "use letters, digits"},
		{`name = "007"`, "name", "only digits"},
		{"name = \"rbtg\"\ngid = -5", "gid", "whole number from 0 to 4294967294, not -5"},
		{"name = \"rbtg\"\nstate = \"latest\"", "state", `not "latest"`},
		{"name = \"rbtg\"\nstate = \"absent\"\ngid = 5", "gid", `no meaning with state = "absent"`},
	}
	for _, tt := range tests {
		for _, via := range []string{"Decode", "Validate"} {
			var err error
			if via == "Decode" {
				_, err = decode(t, "group", tt.body)
			} else {
				err = acctValidate(t, "group", tt.body)
			}
			var ae *steps.AttrError
			if !errors.As(err, &ae) || ae.Attr != tt.attr || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("%s(%q) = %v, want AttrError on %s with %q", via, tt.body, err, tt.attr, tt.msg)
			}
		}
	}
}
