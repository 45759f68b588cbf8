package inventory

import (
	"regexp"
	"testing"

	"github.com/runbook-hpc/runbook/engine/config"
	"github.com/runbook-hpc/runbook/steps"
)

var didYouMeanRe = regexp.MustCompile(`Did you mean "([^"]*)"\?`)

func suggestion(detail string) string {
	if m := didYouMeanRe.FindStringSubmatch(detail); m != nil {
		return m[1]
	}
	return ""
}

// TestSuggestionsAgreeWithRunbook checks that an inventory and a runbook
// offer the same "Did you mean" for the same typo: they share one
// implementation, so an admin is never told "acnt" is close to "account"
// in one file and not in the other.
func TestSuggestionsAgreeWithRunbook(t *testing.T) {
	cases := []struct{ declared, typed, want string }{
		{"ctl1", "ctl2", "ctl1"},
		{"account", "acount", "account"},
		{"account", "acnt", ""}, // three edits
		{"noeud", "nœud", "noeud"},
		{"gpu", "zzzzzz", ""},
	}
	for _, c := range cases {
		t.Run(c.declared+"/"+c.typed, func(t *testing.T) {
			inv := "host \"" + c.declared + "\" {}\ngroup \"g\" {\n  hosts = [\"" + c.typed + "\"]\n}\n"
			_, diags := Parse("inv.hcl", []byte(inv), testOpts(t))
			if len(diags) == 0 {
				t.Fatal("the inventory gave no error")
			}
			invGot := suggestion(diags[0].Detail)

			rb := "runbook \"r\" {}\nvariable \"" + c.declared + "\" {\n default = 1\n}\nstep \"check\" \"a\" {\n command = \"echo ${var." + c.typed + "}\"\n}\n"
			_, rdiags := config.Parse([]byte(rb), "r.hcl", steps.Builtin())
			if len(rdiags) == 0 {
				t.Fatal("the runbook gave no error")
			}
			rbGot := suggestion(rdiags[0].Detail)

			if invGot != c.want || rbGot != c.want {
				t.Errorf("inventory suggests %q, runbook %q; want %q from both\ninventory: %s\nrunbook: %s", invGot, rbGot, c.want, diags[0].Detail, rdiags[0].Detail)
			}
		})
	}
}
