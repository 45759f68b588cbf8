package planfile

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// TestSensitiveVariablesAreSaltedDigests: a plan file keeps a sensitive
// value only as a salted Argon2id digest that apply can check, never as
// the value or a plain hash of it.
func TestSensitiveVariablesAreSaltedDigests(t *testing.T) {
	pin := cty.StringVal("4711")
	f := &File{Variables: map[string]Variable{}}
	d1, err := secretDigest(pin)
	if err != nil {
		t.Fatal(err)
	}
	d2, _ := secretDigest(pin)
	if d1 == d2 {
		t.Error("two digests of one value are equal: no salt")
	}
	if strings.Contains(d1, "4711") || strings.Contains(d1, valueSHA256(pin)) {
		t.Errorf("digest leaks the value: %s", d1)
	}
	f.Variables["pin"] = Variable{Sensitive: true, Argon2id: d1}
	f.Variables["name"] = Variable{SHA256: valueSHA256(cty.StringVal("moonlight"))}

	ok := map[string]cty.Value{"pin": pin, "name": cty.StringVal("moonlight")}
	if p := f.CheckVariables(ok); len(p) != 0 {
		t.Errorf("same values refused: %q", p)
	}
	bad := map[string]cty.Value{"pin": cty.StringVal("4712"), "name": cty.StringVal("moonlight2")}
	p := f.CheckVariables(bad)
	if len(p) != 2 || !strings.Contains(p[1], "var.pin (sensitive) differs") || !strings.Contains(p[0], "var.name differs") {
		t.Errorf("changed values: %q", p)
	}

	// A doctored digest is refused without running Argon2 with its
	// parameters (m=4 GiB would take the machine's memory).
	for _, d := range []string{
		"", "argon2id", "sha256$x", strings.Replace(d1, "m=19456", "m=4194304", 1),
		strings.Replace(d1, "t=2", "t=1000", 1), "argon2id$t=2$m=19456$p=1$!!$x",
	} {
		if secretMatches(pin, d) {
			t.Errorf("digest %q accepted", d)
		}
	}
}
