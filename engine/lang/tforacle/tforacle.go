// Package tforacle runs a real terraform for tests that compare runbook
// with it: runbook's functions and its --var reading follow Terraform's,
// and the way to know what Terraform does is to ask it rather than write
// down what we believe it does. Only tests import this package.
package tforacle

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// Version is what testbed/install-terraform builds: the last release
// under the MPL, and the last one `go install` can build (later ones
// carry replace directives in their go.mod). A test uses whatever
// terraform it is given, and logs which.
const Version = "1.5.7"

// RequireEnv, when set to anything but 0 (`make unit` sets it to 1),
// turns a missing terraform from a skip into a failure, so the oracle
// tests cannot pass by not running.
const RequireEnv = "RUNBOOK_REQUIRE_ORACLES"

// Find returns the terraform to compare with: $RUNBOOK_TERRAFORM, the one
// testbed/install-terraform caches, or one on PATH; "" when none.
func Find() string {
	if p := os.Getenv("RUNBOOK_TERRAFORM"); p != "" {
		return p
	}
	if dir, err := os.UserCacheDir(); err == nil {
		p := filepath.Join(dir, "runbook", "terraform-"+Version, "terraform")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	if p, err := exec.LookPath("terraform"); err == nil {
		return p
	}
	return ""
}

// Terraform is one terraform working in its own directory.
type Terraform struct {
	Bin string
	// Dir is where it runs: files the test writes there are what
	// terraform's file functions and configuration see.
	Dir string
	env []string
}

// Require returns a terraform in a new temporary directory, or skips the
// test when there is none (fails it under RequireEnv).
func Require(t testing.TB) *Terraform {
	t.Helper()
	bin := Find()
	if bin == "" {
		if v := os.Getenv(RequireEnv); v != "" && v != "0" {
			t.Fatal(RequireEnv + " is set and no terraform was found: run testbed/install-terraform, or set RUNBOOK_TERRAFORM")
		}
		t.Skip("no terraform binary (testbed/install-terraform builds one; " + RequireEnv + "=1 makes this a failure)")
	}
	tf := &Terraform{Bin: bin, Dir: t.TempDir()}
	// Its own state and data live outside Dir, so Dir holds only what the
	// test writes. It is kept from the user's CLI configuration, plugin
	// cache and the network (no version check).
	private := t.TempDir()
	cliConfig := filepath.Join(private, "terraformrc")
	if err := os.WriteFile(cliConfig, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tf.env = append(os.Environ(), "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1",
		"TF_CLI_CONFIG_FILE="+cliConfig, "TF_DATA_DIR="+filepath.Join(private, "data"))
	out, err := tf.Command("version").Output()
	if err != nil {
		t.Fatalf("%s version: %v", bin, err)
	}
	t.Logf("oracle: %s (%s)", bin, strings.SplitN(string(out), "\n", 2)[0])
	return tf
}

// Command is terraform with args, in Dir.
func (tf *Terraform) Command(args ...string) *exec.Cmd {
	cmd := exec.Command(tf.Bin, args...)
	cmd.Dir = tf.Dir
	cmd.Env = tf.env
	return cmd
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// Console returns what `terraform console` prints for expr, or ok=false
// and its error output when terraform reports an error about the
// expression or its input (the -var values in args, the configuration in Dir). Anything
// else (terraform not running, failing in another way) fails the test,
// so a broken oracle is never read as "both fail". env is added to its
// environment (TF_VAR_x=...).
func (tf *Terraform) Console(t testing.TB, expr string, env []string, args ...string) (out string, ok bool) {
	t.Helper()
	// Each console has its own state file: consoles run in parallel and
	// would otherwise wait on one another's lock of the default one.
	state := filepath.Join(t.TempDir(), "terraform.tfstate")
	cmd := tf.Command(append([]string{"console", "-state=" + state}, args...)...)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdin = strings.NewReader(expr + "\n")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	plain := ansi.ReplaceAllString(stderr.String(), "")
	// Terraform 1.11's console reports a bad -var, then panics (exit 11)
	// evaluating the variable anyway; the report before the panic is its
	// answer. A panic with no report before it is not an answer.
	diag := plain
	if i := strings.Index(diag, "TERRAFORM CRASH"); i >= 0 {
		diag = diag[:i]
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return strings.TrimRight(stdout.String(), "\n"), true
	case errors.As(err, &ee) && (ee.ExitCode() == 1 || ee.ExitCode() == 11) && strings.Contains(diag, "Error: ") && !strings.Contains(diag, "state lock"):
		return diag, false
	default:
		t.Fatalf("terraform console %q on %s: %v\nstdout: %s\nstderr: %s", args, expr, err, stdout.String(), plain)
		return "", false
	}
}

// FirstError is the first "Error: ..." line of terraform's output.
func FirstError(stderr string) string {
	for _, l := range strings.Split(stderr, "\n") {
		if i := strings.Index(l, "Error: "); i >= 0 {
			return strings.TrimSpace(l[i:])
		}
	}
	return strings.TrimSpace(stderr)
}

// FormatValue prints a value as `terraform console` does (Terraform's
// internal/repl FormatValue, which shows each collection's type), so a
// runbook value can be compared with terraform's output as text.
func FormatValue(v cty.Value) string { return format(v, 0) }

func format(v cty.Value, indent int) string {
	if !v.IsKnown() {
		return "(known after apply)"
	}
	ty := v.Type()
	if v.IsNull() {
		switch {
		case ty == cty.DynamicPseudoType:
			return "null"
		case ty == cty.String:
			return "tostring(null)"
		case ty == cty.Number:
			return "tonumber(null)"
		case ty == cty.Bool:
			return "tobool(null)"
		case ty.IsListType():
			return fmt.Sprintf("tolist(null) /* of %s */", ty.ElementType().FriendlyName())
		case ty.IsSetType():
			return fmt.Sprintf("toset(null) /* of %s */", ty.ElementType().FriendlyName())
		case ty.IsMapType():
			return fmt.Sprintf("tomap(null) /* of %s */", ty.ElementType().FriendlyName())
		default:
			return fmt.Sprintf("null /* %s */", ty.FriendlyName())
		}
	}
	switch {
	case ty == cty.String:
		if s, ok := formatMultiline(v.AsString(), indent); ok {
			return s
		}
		return strconv.Quote(v.AsString())
	case ty == cty.Number:
		return v.AsBigFloat().Text('f', -1)
	case ty == cty.Bool:
		if v.True() {
			return "true"
		}
		return "false"
	case ty.IsObjectType():
		return formatMapping(v, indent)
	case ty.IsTupleType():
		return formatSequence(v, indent)
	case ty.IsListType():
		return "tolist(" + formatSequence(v, indent) + ")"
	case ty.IsSetType():
		return "toset(" + formatSequence(v, indent) + ")"
	case ty.IsMapType():
		return "tomap(" + formatMapping(v, indent) + ")"
	}
	return fmt.Sprintf("%#v", v)
}

func formatMultiline(s string, indent int) (string, bool) {
	lines := strings.Split(s, "\n")
	if len(lines) < 2 {
		return "", false
	}
	op := "<<"
	if indent > 0 {
		op = "<<-"
	}
	delim := "EOT"
outer:
	for {
		for _, l := range lines {
			if strings.TrimSpace(l) == delim {
				delim += "_"
				continue outer
			}
		}
		break
	}
	var b strings.Builder
	b.WriteString(op + delim)
	for _, l := range lines {
		b.WriteString("\n" + strings.Repeat(" ", indent) + l)
	}
	b.WriteString("\n" + strings.Repeat(" ", indent) + delim)
	return b.String(), true
}

func formatMapping(v cty.Value, indent int) string {
	var b strings.Builder
	b.WriteByte('{')
	n := 0
	for it := v.ElementIterator(); it.Next(); {
		n++
		k, e := it.Element()
		b.WriteString("\n" + strings.Repeat(" ", indent+2))
		b.WriteString(format(k, indent+2) + " = " + format(e, indent+2))
	}
	if n > 0 {
		b.WriteString("\n" + strings.Repeat(" ", indent))
	}
	b.WriteByte('}')
	return b.String()
}

func formatSequence(v cty.Value, indent int) string {
	var b strings.Builder
	b.WriteByte('[')
	n := 0
	for it := v.ElementIterator(); it.Next(); {
		n++
		_, e := it.Element()
		b.WriteString("\n" + strings.Repeat(" ", indent+2))
		b.WriteString(format(e, indent+2) + ",")
	}
	if n > 0 {
		b.WriteString("\n" + strings.Repeat(" ", indent))
	}
	b.WriteByte(']')
	return b.String()
}
