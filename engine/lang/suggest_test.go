package lang

import "testing"

func TestNearest(t *testing.T) {
	names := []string{"account", "check", "command", "kernel", "qos_name"}
	cases := []struct {
		given, want string
	}{
		{"acount", "account"},    // one deletion
		{"chek", "check"},        // one deletion
		{"comand", "command"},    // one deletion
		{"kernal", "kernel"},     // one substitution
		{"qos_nmae", "qos_name"}, // a transposition is two edits
		{"acnt", ""},             // three edits: more likely another name than a typo
		{"zzzzzzzz", ""},
		{"account", ""}, // the name itself is no suggestion
		{"", ""},
	}
	for _, c := range cases {
		if got := Nearest(c.given, names); got != c.want {
			t.Errorf("Nearest(%q) = %q, want %q", c.given, got, c.want)
		}
	}
	// Distance counts characters: "ñ" for "n" is one edit, though it is
	// two bytes against one.
	if got := Nearest("ñode", []string{"node"}); got != "node" {
		t.Errorf(`Nearest("ñode", [node]) = %q, want "node"`, got)
	}
	if got := Nearest("grüpé", []string{"grupe"}); got != "grupe" {
		t.Errorf(`Nearest("grüpé", [grupe]) = %q, want "grupe" (two edits; four by bytes)`, got)
	}
}

// TestNearestTies checks that a tie goes to the earlier name, so callers
// passing sorted names get the same suggestion on every run.
func TestNearestTies(t *testing.T) {
	if got := Nearest("ctl", []string{"ctl1", "ctl2"}); got != "ctl1" {
		t.Errorf("got %q, want ctl1", got)
	}
	if got := Nearest("ctl", []string{"ctl2", "ctl1"}); got != "ctl2" {
		t.Errorf("got %q, want ctl2", got)
	}
}

func TestDidYouMean(t *testing.T) {
	if got, want := DidYouMean("chek", []string{"check"}), ` Did you mean "check"?`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := DidYouMean("xyzzy", []string{"check"}); got != "" {
		t.Errorf("got %q for a far name, want none", got)
	}
}
