package inventory

import (
	"bytes"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

const yamlHostsInventory = `# hosts.yml
all:
  vars:
    ansible_user: admin
    cluster: moonlight
  children:
    slurm_controller:
      hosts:
        ctl1:
          ansible_host: 10.0.0.5
          ansible_port: 2222
          runbook_become_password_env: CTL_SUDO_PASSWORD
    cluster:
      vars:
        partition: batch
      children:
        compute:
          hosts:
            node[01:04]:
          vars:
            partition: compute
            cpus: 64
    local:
      hosts:
        here:
          ansible_connection: local
`

func TestYAMLInventory(t *testing.T) {
	opts := testOpts(t)
	inv, diags := Parse(filepath.Join(t.TempDir(), "hosts.yml"), []byte(yamlHostsInventory), opts)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var names []string
	for _, h := range inv.Hosts {
		names = append(names, h.Name)
	}
	if got := strings.Join(names, " "); got != "ctl1 node01 node02 node03 node04 here" {
		t.Fatalf("hosts %q", got)
	}
	ctl := inv.Host("ctl1")
	if ctl.Address != "10.0.0.5" || ctl.Port != 2222 || ctl.User != "admin" || ctl.BecomePasswordEnv != "CTL_SUDO_PASSWORD" {
		t.Errorf("ctl1: %+v", ctl)
	}
	if !sameList(ctl.Groups, "slurm_controller") {
		t.Errorf("ctl1 groups %q", ctl.Groups)
	}
	n := inv.Host("node03")
	if n.Address != "node03" || n.Port != 22 || !sameList(n.Groups, "cluster", "compute") {
		t.Errorf("node03: %s %v", n.Describe(), n.Groups)
	}
	// The child group's value wins; numbers stay numbers.
	if n.Vars["partition"] != cty.StringVal("compute") || !n.Vars["cpus"].RawEquals(cty.NumberIntVal(64)) || n.Vars["cluster"] != cty.StringVal("moonlight") {
		t.Errorf("node03 vars %#v", n.Vars)
	}
	if _, kept := n.Vars["ansible_user"]; kept {
		t.Error("ansible_user kept as a var")
	}
	if !inv.Host("here").Local {
		t.Error("ansible_connection: local not honoured")
	}
	hosts, err := inv.Select([]string{"cluster"})
	if err != nil || len(hosts) != 4 {
		t.Errorf("Select(cluster): %d hosts, %v", len(hosts), err)
	}
}

func sameList(got []string, want ...string) bool {
	return strings.Join(got, ",") == strings.Join(want, ",")
}

// Plain scalars are typed as YAML 1.1 (PyYAML, Ansible's loader) types
// them, not as YAML 1.2 does.
func TestYAMLScalarTypes(t *testing.T) {
	num := func(s string) cty.Value {
		f, _, err := big.ParseFloat(s, 10, 512, big.ToNearestEven)
		if err != nil {
			t.Fatal(err)
		}
		return cty.NumberVal(f)
	}
	for _, c := range []struct {
		yaml string
		want cty.Value
	}{
		{"yes", cty.True}, {"No", cty.False}, {"on", cty.True}, {"OFF", cty.False}, {"True", cty.True},
		{"y", cty.StringVal("y")}, {"n", cty.StringVal("n")},
		{"0755", cty.NumberIntVal(493)}, {"09", cty.StringVal("09")}, {"0o17", cty.StringVal("0o17")},
		{"1_000", cty.NumberIntVal(1000)}, {"1:20", cty.NumberIntVal(80)}, {"190:20:30", cty.NumberIntVal(685230)},
		{"0x1F", cty.NumberIntVal(31)}, {"-0x1f", cty.NumberIntVal(-31)}, {"0b101", cty.NumberIntVal(5)},
		{"123456789012345678901234567890", num("123456789012345678901234567890")},
		{"1e3", cty.StringVal("1e3")}, {"1.5e+3", cty.NumberIntVal(1500)}, {"3.", cty.NumberIntVal(3)}, {".5", cty.NumberFloatVal(0.5)},
		{"1:30.5", cty.NumberFloatVal(90.5)},
		{".inf", cty.PositiveInfinity}, {"-.Inf", cty.NegativeInfinity}, {".nan", cty.StringVal("NaN")},
		{"~", cty.NullVal(cty.DynamicPseudoType)}, {"null", cty.NullVal(cty.DynamicPseudoType)}, {"", cty.NullVal(cty.DynamicPseudoType)},
		{"2024-03-01", cty.StringVal("2024-03-01")},
		{"2001-12-14t21:59:43.10-05:00", cty.StringVal("2001-12-14T21:59:43.100000-05:00")},
		{"2024-03-01 10:00:00Z", cty.StringVal("2024-03-01T10:00:00+00:00")},
		{"2024-3-1 1:00:00", cty.StringVal("2024-03-01T01:00:00")},
		{"22.05", cty.NumberFloatVal(22.05)}, {"22.05.8", cty.StringVal("22.05.8")}, {"1,000", cty.StringVal("1,000")},
		{`"22"`, cty.StringVal("22")}, {"'yes'", cty.StringVal("yes")}, {"!!str 12", cty.StringVal("12")}, {`!!int "12"`, cty.NumberIntVal(12)},
		{"!unsafe '{{ x }}'", cty.StringVal("{{ x }}")},
		{"[1, two, null]", cty.TupleVal([]cty.Value{cty.NumberIntVal(1), cty.StringVal("two"), cty.NullVal(cty.DynamicPseudoType)})},
		{"{1: a, true: b, ~: c}", cty.ObjectVal(map[string]cty.Value{"1": cty.StringVal("a"), "true": cty.StringVal("b"), "null": cty.StringVal("c")})},
		{"[]", cty.EmptyTupleVal}, {"{}", cty.EmptyObjectVal},
	} {
		src := "all:\n  vars:\n    v: " + c.yaml + "\n  hosts:\n    h:\n"
		inv, diags := Parse("t.yml", []byte(src), testOpts(t))
		if diags.HasErrors() {
			t.Errorf("%s: %v", c.yaml, diags)
			continue
		}
		got := inv.Host("h").Vars["v"]
		if !got.RawEquals(c.want) && !(got.Type() == cty.Number && c.want.Type() == cty.Number && got.Equals(c.want).True()) {
			t.Errorf("%s: got %#v, want %#v", c.yaml, got, c.want)
		}
	}
}

// Anchors, aliases and merge keys (<<) read as in Ansible: the mapping's
// own keys win over merged ones, the first merged mapping over later ones.
func TestYAMLMergeKeys(t *testing.T) {
	src := `
x-base: &base {a: base, b: base, c: base}
x-other: &other {b: other, d: other}
all:
  hosts:
    h1:
      <<: [*base, *other]
      c: own
    h2: *base
`
	inv, diags := Parse("t.yml", []byte(src), testOpts(t))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	v := inv.Host("h1").Vars
	if v["a"] != cty.StringVal("base") || v["b"] != cty.StringVal("base") || v["c"] != cty.StringVal("own") || v["d"] != cty.StringVal("other") {
		t.Errorf("h1 %#v", v)
	}
	if inv.Host("h2").Vars["b"] != cty.StringVal("base") {
		t.Errorf("h2 %#v", inv.Host("h2").Vars)
	}
	// The top-level keys holding the anchors are groups with skipped keys,
	// as Ansible reads them: warnings, not errors.
	if len(diags) == 0 || diags[0].Severity != hcl.DiagWarning {
		t.Errorf("want warnings for x-base's keys: %v", diags)
	}
}

// Every error and warning points at its file and line, with the column
// of what is wrong, as INI and HCL diagnostics do, and the printer finds
// the snippet by the byte offsets.
func TestYAMLDiagnostics(t *testing.T) {
	for _, c := range []struct {
		name, src, summary string
		line, col          int
		warning            bool
	}{
		{"hosts as a list", "all:\n  children:\n    compute:\n      hosts:\n        - node01\n", "Invalid hosts", 4, 7, false},
		{"vars as a list", "web:\n  vars: [a, b]\n", "Invalid vars", 2, 3, false},
		{"children as a number", "web:\n  children: 3\n", "Invalid children", 2, 3, false},
		{"syntax", "all:\n  hosts:\n    ctl1:\n   bad: [\n", "Invalid YAML", 4, 1, false},
		{"slip deep in a block", "all:\n  children:\n    compute:\n      hosts:\n        node01:\n        node02:\n      vars:\n        a: 1\n       b: 2\n", "Invalid YAML", 9, 1, false},
		{"tab indentation", "all:\n\thosts:\n", "Invalid YAML", 2, 1, false},
		{"unknown anchor", "all:\n  hosts:\n    h: *nope\n", "Invalid YAML", 3, 1, false},
		{"empty", "# nothing\n", "Empty inventory", 1, 1, false},
		{"a list", "- a\n- b\n", "Invalid YAML inventory", 1, 1, false},
		{"plugin", "plugin: aws_ec2\nregions: [x]\n", "Inventory plugin configuration", 1, 1, false},
		{"host vars not a mapping", "all:\n  hosts:\n    ctl1: 10.0.0.5\n", "Invalid host variables", 3, 5, false},
		{"numeric host", "all:\n  hosts:\n    10:\n", "Invalid host pattern", 3, 5, false},
		{"reserved host", "web:\n  hosts:\n    all:\n", "Reserved name", 3, 5, false},
		{"bad range", "web:\n  hosts:\n    'n[3:x]':\n", "Invalid host pattern", 3, 5, false},
		{"bad port", "web:\n  hosts:\n    ctl1:\n      ansible_port: ssh\n", "Invalid port", 3, 5, false},
		{"cycle", "a:\n  children:\n    b:\n      children:\n        a:\n", "Cycle in group children", 0, 0, false},
		{"two documents", "all:\n  hosts: {a: }\n---\nall: {}\n", "More than one YAML document", 3, 1, false},
		{"unknown tag", "all:\n  vars:\n    x: !foo bar\n", "Unknown YAML tag", 3, 8, false},
		{"bad priority", "g:\n  vars:\n    ansible_group_priority: high\n  hosts: {h: }\n", "Invalid group priority", 1, 1, false},
		{"unexpected key", "web:\n  host:\n    ctl1:\n", "Key skipped", 2, 3, true},
		{"group not a mapping", "web: [a]\nall:\n  hosts: {h: }\n", "Not a group", 1, 1, true},
		{"duplicate", "all:\n  hosts:\n    h:\n      a: 1\n      a: 2\n", "Duplicate key", 5, 7, true},
		{"password", "all:\n  hosts:\n    h:\n      ansible_become_password: s3cret\n", "Password in inventory ignored", 4, 7, true},
		{"vault", "all:\n  hosts:\n    h:\n      x: !vault |\n        $ANSIBLE_VAULT;1.1;AES256\n        6162\n", "Encrypted value ignored", 4, 10, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "hosts.yml")
			if err := os.WriteFile(path, []byte(c.src), 0o600); err != nil {
				t.Fatal(err)
			}
			_, diags := Load(path, testOpts(t))
			var d *hcl.Diagnostic
			for _, x := range diags {
				if x.Summary == c.summary {
					d = x
					break
				}
			}
			if d == nil {
				t.Fatalf("no %q in %v", c.summary, diags)
			}
			if c.warning != (d.Severity == hcl.DiagWarning) || (!c.warning && !diags.HasErrors()) {
				t.Errorf("severity %v (warning wanted: %v); all: %v", d.Severity, c.warning, diags)
			}
			if c.line == 0 {
				return
			}
			if d.Subject == nil || d.Subject.Filename != path || d.Subject.Start.Line != c.line || d.Subject.Start.Column != c.col {
				t.Fatalf("%q at %v, want %s:%d,%d", d.Summary, d.Subject, path, c.line, c.col)
			}
			// The printed diagnostic shows the line.
			var out bytes.Buffer
			files := map[string]*hcl.File{path: {Bytes: []byte(c.src)}}
			_ = hcl.NewDiagnosticTextWriter(&out, files, 0, false).WriteDiagnostic(d)
			line := strings.Split(c.src, "\n")[c.line-1]
			if !regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(itoa(c.line)) + `: ` + regexp.QuoteMeta(line) + `$`).MatchString(out.String()) {
				t.Errorf("the snippet lacks line %d %q:\n%s", c.line, line, out.String())
			}
		})
	}
}

func itoa(n int) string { return big.NewInt(int64(n)).String() }

func TestDetectFormatYAML(t *testing.T) {
	for _, c := range []struct {
		path, src string
		want      Format
	}{
		{"inventory.hcl", "", FormatHCL},
		{"hosts.ini", "all:\n", FormatINI},
		{"hosts.yml", "[web]\n", FormatYAML},
		{"hosts.yaml", "", FormatYAML},
		{"hosts.json", "", FormatYAML},
		{"hosts", "# c\n\nall:\n  hosts:\n", FormatYAML},
		{"hosts", "---\nweb: {}\n", FormatYAML},
		{"hosts", `{"all": {}}`, FormatYAML},
		{"hosts", "ctl1 ansible_host=10.0.0.5\n", FormatINI},
		{"hosts", "ctl1:2222\n", FormatINI},
		{"hosts", "[web]\nctl1\n", FormatINI},
		{"hosts", "fe80::1\n", FormatINI},
		{"hosts", `host "a" {}`, FormatHCL},
	} {
		got, err := DetectFormat(c.path, []byte(c.src))
		if err != nil || got != c.want {
			t.Errorf("%s %q: %v %v, want %v", c.path, c.src, got, err, c.want)
		}
	}
	if _, err := DetectFormat("hosts.toml", nil); err == nil {
		t.Error("TOML accepted")
	}
}

func TestYAMLAliasBomb(t *testing.T) {
	src := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for i := 0; i < 8; i++ {
		name := string(rune('b' + i))
		src += name + ": &" + name + " [" + strings.TrimSuffix(strings.Repeat("*"+prev+", ", 10), ", ") + "]\n"
		prev = name
	}
	src = "all:\n  vars:\n    bomb:\n" + indent(src, "      ") + "  hosts: {h: }\n"
	_, diags := Parse("bomb.yml", []byte(src), testOpts(t))
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "YAML too large") {
		t.Fatalf("an alias bomb was read: %v", diags)
	}
}

func indent(s, by string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	for i := range lines {
		lines[i] = by + lines[i]
	}
	return strings.Join(lines, "\n") + "\n"
}

func FuzzParseYAML(f *testing.F) {
	fuzzSeeds(f, "yaml_*", yamlHostsInventory,
		"all:\n  hosts:\n    'n[01:03]:2222':\n      x: [1, {a: b}]\n",
		"a: &a {hosts: {h: }}\nb: *a\nc:\n  <<: *a\n  children: {b: }\n",
		"web:\n  hosts: ctl1\n  children: db\n  vars: {ansible_group_priority: 3}\n",
	)
	for _, name := range []string{"basic", "types", "membership", "ports", "priority"} {
		if b, err := os.ReadFile(filepath.Join(yamlOracleDir, name, "hosts.yml")); err == nil {
			f.Add(b)
		}
	}
	opts := fuzzOpts(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		fuzzParse(t, opts, "fuzz.yml", src)
	})
}
