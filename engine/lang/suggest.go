package lang

import (
	"fmt"

	"github.com/agext/levenshtein"
)

// maxSuggestDistance is the largest edit distance still offered as a
// suggestion: HCL's own "Call to unknown function" hint and Terraform use
// the same bound, so every "Did you mean" a runbook author sees agrees.
// Further than that, the nearest name is more likely a different thing
// than a typo of it.
const maxSuggestDistance = 2

// Nearest returns the name in names closest to given by edit distance
// (counted in characters, not bytes), or "" when none is within
// maxSuggestDistance. Ties go to the earlier name, so callers that pass
// sorted names get a stable answer.
func Nearest(given string, names []string) string {
	best, bestDist := "", maxSuggestDistance+1
	for _, n := range names {
		if n == given {
			continue
		}
		if d := levenshtein.Distance(given, n, nil); d < bestDist {
			best, bestDist = n, d
		}
	}
	return best
}

// DidYouMean returns ` Did you mean "x"?` (with the leading space, to be
// appended to a sentence) for a near miss among names, else "".
func DidYouMean(given string, names []string) string {
	if n := Nearest(given, names); n != "" {
		return fmt.Sprintf(" Did you mean %q?", n)
	}
	return ""
}
