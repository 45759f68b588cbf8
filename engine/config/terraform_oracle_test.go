package config_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbook-hpc/runbook/engine/lang/tforacle"
)

// TestTerraformOracleVarParsing gives the same text to a variable of each
// type as --var (and RUNBOOK_VAR_) and to terraform as -var,
// and compares what each makes of it: the value, or that it is refused.
// Runbook reads these as Terraform does, so Terraform is the oracle; no
// expected value is written here.
func TestTerraformOracleVarParsing(t *testing.T) {
	types := []string{
		"string", "number", "bool", "list(string)", "set(number)", "map(number)",
		"object({ cpu = number, mem = string })", "tuple([string, number])", "any", "",
	}
	texts := []string{
		"80", "-1.5", "1e3", "eighty", "", "true", "yes", "null", `"quoted"`, "a=b c",
		"alice,bob", "[1, 2]", `["alice", "bob"]`, "[alice]", "[1,", `{cpu = 4, mem = "8G"}`, `{cpu = 4}`,
		`["x", 3]`, "{}", "[]", "line\nbreak",
	}
	for _, ty := range types {
		ty := ty
		name := ty
		if name == "" {
			name = "untyped"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tf := tforacle.Require(t)
			decl := "variable \"v\" {\n}\n"
			if ty != "" {
				decl = fmt.Sprintf("variable \"v\" {\n  type = %s\n}\n", ty)
			}
			if err := os.WriteFile(filepath.Join(tf.Dir, "main.tf"), []byte(decl), 0o644); err != nil {
				t.Fatal(err)
			}
			runbook := "runbook \"r\" {}\n" + decl
			for _, text := range texts {
				// Terraform reads TF_VAR_v exactly as -var v= (one code
				// path), so -var alone is asked, and both of runbook's
				// forms are compared with it.
				want, tfOK := tf.Console(t, "var.v", nil, "-var", "v="+text)
				if !tfOK && !strings.Contains(want, "var.v") && !strings.Contains(want, `variable "v"`) {
					t.Fatalf("terraform failed on %q, not about the variable:\n%s", text, want)
				}
				for _, env := range []bool{false, true} {
					got, err := func() (string, error) {
						vals, diags := cliCase{env: env, assign: "v=" + text}.resolve(parse(t, runbook))
						if diags.HasErrors() {
							return "", diags
						}
						return tforacle.FormatValue(vals["v"]), nil
					}()
					how := "--var"
					if env {
						how = "RUNBOOK_VAR_"
					}
					switch {
					case tfOK && err != nil:
						t.Errorf("%s %q for type %q: terraform reads %s; runbook refuses it: %v", how, text, ty, want, err)
					case !tfOK && err == nil:
						t.Errorf("%s %q for type %q: terraform refuses it (%s); runbook reads %s", how, text, ty, tforacle.FirstError(want), got)
					case tfOK && got != want:
						t.Errorf("%s %q for type %q:\nterraform: %s\nrunbook:   %s", how, text, ty, want, got)
					}
				}
			}
		})
	}
}
