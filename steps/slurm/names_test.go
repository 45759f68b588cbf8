package slurm

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateName(t *testing.T) {
	good := []struct {
		kind EntityKind
		name string
	}{
		{KindQoS, "moonlight"}, {KindQoS, "gpu-2.v1_x"}, {KindAccount, "hpc-users"}, {KindUser, "koopark"},
		{KindUser, "jdoe@example.org"}, {KindPartition, "viz"}, {KindPartition, "GPU_Big"}, {KindQoS, "setup"},
		{KindUser, "withers"}, {KindQoS, strings.Repeat("a", 64)},
	}
	for _, tc := range good {
		if err := ValidateName(tc.kind, tc.name); err != nil {
			t.Errorf("ValidateName(%v, %q): %v", tc.kind, tc.name, err)
		}
	}
	bad := []struct {
		kind EntityKind
		name string
		rule string
	}{
		{KindQoS, "", "must not be empty"},
		{KindQoS, strings.Repeat("a", 65), "at most 64"},
		{KindQoS, "moon light", "no white space"},
		{KindQoS, "moon\tlight", "no white space"},
		{KindQoS, "moon\nlight", "no newlines"},
		{KindQoS, "moon\x00", "no control characters"},
		{KindQoS, "'moon'", "no quotes"},
		{KindQoS, `"moon"`, "no quotes"},
		{KindQoS, "a;rm", "shell metacharacters"},
		{KindQoS, "$HOME", "shell metacharacters"},
		{KindQoS, "a`b`", "shell metacharacters"},
		{KindQoS, "a|b", "no '|'"},
		{KindQoS, "a,b", "no ','"},
		{KindQoS, "a=b", "no '='"},
		{KindQoS, "-i", "must not start with '-'"},
		{KindQoS, "mööo", "ASCII only"},
		{KindQoS, "MoonLight", "lower case only"},
		{KindAccount, "HPC", "lower case only"},
		{KindUser, "JDoe", "lower case only"},
		{KindQoS, "set", "not a sacctmgr keyword"},
		{KindQoS, "WHERE", "not a sacctmgr keyword"},
		{KindUser, "withd", "not a sacctmgr keyword"},
		{KindQoS, "a/b", "only a-z 0-9 _ - ."},
		{KindQoS, "a@b", "only a-z 0-9 _ - ."},
		{KindPartition, "a:b", "only a-z A-Z 0-9 _ - ."},
	}
	for _, tc := range bad {
		err := ValidateName(tc.kind, tc.name)
		var ne *NameError
		if !errors.As(err, &ne) {
			t.Errorf("ValidateName(%v, %q) = %v, want *NameError", tc.kind, tc.name, err)
			continue
		}
		if !strings.Contains(ne.Rule, tc.rule) || !strings.Contains(err.Error(), "violates rule") {
			t.Errorf("ValidateName(%v, %q) rule %q, want %q", tc.kind, tc.name, ne.Rule, tc.rule)
		}
	}
	err := ValidateName(KindQoS, "MoonLight")
	if !strings.Contains(err.Error(), `write "moonlight"`) {
		t.Errorf("upper-case hint missing: %v", err)
	}
}
