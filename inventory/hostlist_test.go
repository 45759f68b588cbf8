package inventory

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

func TestHostList(t *testing.T) {
	opts := testOpts(t)
	inv, diags := Load(" ctl1, ctl2:2222,10.0.0.7,[fe80::1]:2200,fe80::2,ctl1,", opts)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var got []string
	for _, h := range inv.Hosts {
		got = append(got, h.Name+"="+h.Describe())
		if !sameList(h.Groups, "ungrouped") || len(h.Vars) != 0 {
			t.Errorf("%s: groups %q, vars %v", h.Name, h.Groups, h.Vars)
		}
	}
	want := "ctl1=ssh me@ctl1:22 ctl2=ssh me@ctl2:2222 10.0.0.7=ssh me@10.0.0.7:22 fe80::1=ssh me@[fe80::1]:2200 fe80::2=ssh me@[fe80::2]:22"
	if strings.Join(got, " ") != want {
		t.Errorf("hosts\n got  %s\n want %s", strings.Join(got, " "), want)
	}
	if inv.Path == "" {
		t.Error("a host list has no Path: it would read as no inventory (the local host)")
	}
	if _, err := inv.Select([]string{"ctl*"}); err != nil {
		t.Error(err)
	}

	for list, msg := range map[string]string{
		"node[01:04],":  "does not expand ranges",
		"admin@ctl1,":   "give the user with -u",
		",":             "names no host",
		"all,":          "cannot name a host",
		"ctl1:99999,":   "Invalid port",
		"bad host,ctl,": "is not a host name",
	} {
		if _, diags := Load(list, opts); !diags.HasErrors() || !strings.Contains(diags.Error(), msg) {
			t.Errorf("%q: %v, want %q", list, diags, msg)
		}
	}
}

func TestIsHostList(t *testing.T) {
	dir := t.TempDir()
	withComma := filepath.Join(dir, "a,b")
	if err := os.WriteFile(withComma, []byte("[g]\nh\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for s, want := range map[string]bool{"ctl1,": true, "a,b": true, "ctl1": false, withComma: false, "": false} {
		if IsHostList(s) != want {
			t.Errorf("IsHostList(%q) = %v", s, !want)
		}
	}
}

// -i takes a file, a directory or a host list; a missing single name is
// answered with how to write a one-host list.
func TestLocateForms(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{dir, "ctl1,", "a,b"} {
		if got, err := Locate(p, ""); err != nil || got != p {
			t.Errorf("Locate(%q) = %q, %v", p, got, err)
		}
	}
	if _, err := Locate("ctl1", ""); err == nil || !strings.Contains(err.Error(), "-i ctl1,") {
		t.Errorf("Locate(ctl1): %v", err)
	}
	t.Setenv(EnvInventory, "ctl9")
	if _, err := Locate("", ""); err == nil || !strings.Contains(err.Error(), "RUNBOOK_INVENTORY=ctl9,") {
		t.Errorf("$RUNBOOK_INVENTORY=ctl9: %v", err)
	}
	t.Setenv(EnvInventory, "ctl1,ctl2,")
	if got, err := Locate("", ""); err != nil || got != "ctl1,ctl2," {
		t.Errorf("$RUNBOOK_INVENTORY host list: %q %v", got, err)
	}
}

// ansible_group_priority orders groups of the same depth; it is not a
// variable of the hosts.
func TestGroupPriority(t *testing.T) {
	src := "a:\n  vars: {x: a, ansible_group_priority: 5}\n  hosts: {h: }\nb:\n  vars: {x: b}\n  hosts: {h: }\n"
	inv, diags := Parse("p.yml", []byte(src), testOpts(t))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	h := inv.Host("h")
	if h.Vars["x"] != cty.StringVal("a") {
		t.Errorf("x = %#v: priority 5 should beat b's default 1", h.Vars["x"])
	}
	if _, ok := h.Vars["ansible_group_priority"]; ok {
		t.Error("ansible_group_priority kept as a var")
	}
}
