package config

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/runbook-hpc/runbook/engine/lang"
)

// Names are used as HCL attribute names (step.<name>), so they follow
// HCL's identifier rules, kept simple for admins.
var nameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

func validName(what, name string, rng hcl.Range) hcl.Diagnostics {
	if nameRe.MatchString(name) {
		return nil
	}
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf("Invalid %s name", what),
		Detail:   fmt.Sprintf("%q is not a valid %s name: use letters, digits, _ and -, starting with a letter or _.", name, what),
		Subject:  rng.Ptr(),
	}}
}

func mapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func joinQuoted(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// suggest returns " Did you mean "x"?" for a near miss, else "": the one
// implementation in lang, shared with the inventory's messages.
func suggest(given string, names []string) string { return lang.DidYouMean(given, names) }
