package config

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/runbook-hpc/runbook/engine/hcllimits"
	"github.com/runbook-hpc/runbook/engine/lang"
	"github.com/zclconf/go-cty/cty"
)

// cliValue is one value given as text: --var NAME=TEXT, or
// RUNBOOK_VAR_NAME=TEXT in the environment when env is true.
type cliValue struct {
	env  bool
	name string
	text string
	// file names the synthetic source the text is registered under once a
	// diagnostic needs it (see source).
	file string
}

// origin is how the value was given, as the user typed it.
func (cv *cliValue) origin() string {
	if cv.env {
		return EnvPrefix + cv.name + "=" + cv.text
	}
	return "--var " + cv.name + "=" + cv.text
}

// written is how to give value for the variable the same way, quoted for a
// POSIX shell.
func (cv *cliValue) written(value string) string {
	if cv.env {
		return EnvPrefix + cv.name + "=" + lang.ShellQuote(value)
	}
	return "--var " + lang.ShellQuote(cv.name+"="+value)
}

// parseCLIValue reads a value given as text the way Terraform reads -var
// and TF_VAR_: for a string, number or bool variable (or one with no
// type) the text is taken as is and converted to the type later, so
// --var port=80 is the number 80 and --var name=[1] the string "[1]"; for
// any other type (lists, maps, objects, `any`) the text is an HCL
// expression, as it would be written in a runbook. On failure the value
// is cty.DynamicVal, which converts to an unknown without a second error.
func (c *Config) parseCLIValue(v *Variable, cv *cliValue) (cty.Value, hcl.Diagnostics) {
	if !v.cliExpr {
		return cty.StringVal(cv.text), nil
	}
	cv.file = c.sourceName(cv)
	if d := hcllimits.CheckNesting(cv.file, []byte(cv.text)); d.HasErrors() {
		return cty.DynamicVal, hcl.Diagnostics{c.cliExprDiag(v, cv, d[0])}
	}
	expr, diags := hclsyntax.ParseExpression([]byte(cv.text), cv.file, hcl.InitialPos)
	if diags.HasErrors() {
		return cty.DynamicVal, hcl.Diagnostics{c.cliExprDiag(v, cv, firstError(diags))}
	}
	// No variables or functions: a value on the command line is a
	// constant, as in a var file.
	val, diags := expr.Value(nil)
	if diags.HasErrors() {
		return cty.DynamicVal, hcl.Diagnostics{c.cliExprDiag(v, cv, firstError(diags))}
	}
	return val, nil
}

func firstError(diags hcl.Diagnostics) *hcl.Diagnostic {
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			return d
		}
	}
	return diags[0]
}

// sourceName is the synthetic file name a value's text is known by:
// "<--var NAME>" or "<RUNBOOK_VAR_NAME>", numbered when another text
// already holds the name (the same --var given twice).
func (c *Config) sourceName(cv *cliValue) string {
	base := "--var " + cv.name
	if cv.env {
		base = EnvPrefix + cv.name
	}
	name := "<" + base + ">"
	if c.Parser == nil {
		return name
	}
	files := c.Parser.Files()
	for i := 2; files[name] != nil && string(files[name].Bytes) != cv.text; i++ {
		name = fmt.Sprintf("<%s #%d>", base, i)
	}
	return name
}

// source registers the text with the runbook's parser, whose files are
// what diagnostics are printed with, so a diagnostic about a --var shows
// the value with the mistake underlined instead of "(source code not
// available)". It returns nil, and the diagnostic goes without a Subject,
// when the text cannot be registered safely: the parser is recursive, and
// CheckNesting is what keeps it from overflowing the stack.
func (c *Config) source(cv *cliValue) *hcl.Range {
	if c.Parser == nil {
		return nil
	}
	if cv.file == "" {
		cv.file = c.sourceName(cv)
	}
	if hcllimits.CheckNesting(cv.file, []byte(cv.text)).HasErrors() {
		return nil
	}
	// The text is parsed as a body only to be held; its errors mean
	// nothing here.
	_, _ = c.Parser.ParseHCL([]byte(cv.text), cv.file)
	end := hcl.Pos{Line: 1, Column: 1, Byte: len(cv.text)}
	for _, r := range cv.text {
		if r == '\n' {
			end.Line++
			end.Column = 1
		} else {
			end.Column++
		}
	}
	return &hcl.Range{Filename: cv.file, Start: hcl.InitialPos, End: end}
}

// cliExprDiag explains a value that is not a valid expression for a
// variable whose type makes it one: what the type is, what went wrong,
// and the value written the way it should be.
func (c *Config) cliExprDiag(v *Variable, cv *cliValue, cause *hcl.Diagnostic) *hcl.Diagnostic {
	whole := c.source(cv)
	subject := whole
	if whole != nil && cause.Subject != nil && cause.Subject.Filename == cv.file {
		subject = cause.Subject
	}
	reason := lowerFirst(strings.TrimSuffix(cause.Summary, "."))
	if s := cause.Subject; cause.Summary == "Variables not allowed" && s != nil && s.Filename == cv.file && s.Start.Byte <= s.End.Byte && s.End.Byte <= len(cv.text) {
		// HCL's words assume the reader knows a bare word is a reference.
		word := cv.text[s.Start.Byte:s.End.Byte]
		reason = fmt.Sprintf("the bare word %s is read as a variable name, and a value given here may use none: a string is quoted", word)
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid value for variable",
		Detail: fmt.Sprintf("%s: var.%s is %s, so its value is written as in a runbook, and this one is not valid (%s). %s",
			cv.origin(), v.Name, typeexpr.TypeString(v.Type), reason, writeAs(v, cv)),
		Subject: subject,
	}
}

// cliTypeDiag explains a value read from text that does not convert to
// the variable's type.
func (c *Config) cliTypeDiag(v *Variable, cv *cliValue, err error) *hcl.Diagnostic {
	var detail string
	switch {
	case v.Type == cty.Number:
		detail = fmt.Sprintf("%s: var.%s is a number, and %q is not one. Write it in digits, as in %s.",
			cv.origin(), v.Name, cv.text, cv.written("12"))
	case v.Type == cty.Bool:
		detail = fmt.Sprintf("%s: var.%s is a bool, and %q is neither true nor false. Write %s or %s.",
			cv.origin(), v.Name, cv.text, cv.written("true"), cv.written("false"))
	default:
		detail = fmt.Sprintf("%s: var.%s is %s, and this value does not fit it (%s). %s",
			cv.origin(), v.Name, typeexpr.TypeString(v.Type), err, writeAs(v, cv))
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid value for variable",
		Detail:   detail,
		Subject:  c.source(cv),
	}
}

// writeAs is the advice on how to write a value of v's type on the
// command line, with an example built from what was typed.
func writeAs(v *Variable, cv *cliValue) string {
	ex := exampleValue(v.Type, cv.text, 0)
	what := "Write it as in a runbook"
	switch {
	case v.Type.IsListType() || v.Type.IsSetType() || v.Type.IsTupleType():
		what = "Write a list in brackets"
	case v.Type.IsMapType() || v.Type.IsObjectType():
		what = "Write a map in braces"
	}
	quotes := "in single quotes so the shell keeps it whole"
	if holdsStrings(v.Type) {
		quotes = "with strings in double quotes and the whole in single quotes so the shell keeps them"
	}
	return fmt.Sprintf("%s, %s: %s.", what, quotes, cv.written(ex))
}

// holdsStrings reports whether a value of ty can hold a string (so the
// advice needs to say how strings are quoted).
func holdsStrings(ty cty.Type) bool {
	switch {
	case ty == cty.String || ty == cty.DynamicPseudoType:
		return true
	case ty.IsListType() || ty.IsSetType() || ty.IsMapType():
		return holdsStrings(ty.ElementType())
	case ty.IsTupleType():
		for _, et := range ty.TupleElementTypes() {
			if holdsStrings(et) {
				return true
			}
		}
	case ty.IsObjectType():
		for _, at := range ty.AttributeTypes() {
			if holdsStrings(at) {
				return true
			}
		}
	}
	return false
}

func lowerFirst(s string) string {
	if s == "" || strings.HasPrefix(s, "HCL") {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// exampleValue writes a value of type ty in HCL, using the pieces of text
// (split at commas, or at = for a map's keys) where they fit the type and
// placeholders where they do not, so that the advice for
// --var admins=alice,bob is --var 'admins=["alice","bob"]'.
func exampleValue(ty cty.Type, text string, depth int) string {
	// Nested collections get placeholders: splitting text at commas only
	// makes sense for the outermost one.
	if depth > 0 {
		text = ""
	}
	items := splitItems(text)
	switch {
	case ty.IsListType() || ty.IsSetType():
		if len(items) == 0 {
			items = []string{"", ""}
		}
		out := make([]string, len(items))
		for i, it := range items {
			out[i] = exampleScalar(ty.ElementType(), it, i, depth)
		}
		return "[" + strings.Join(out, ",") + "]"
	case ty.IsTupleType():
		ets := ty.TupleElementTypes()
		out := make([]string, len(ets))
		for i, et := range ets {
			it := ""
			if i < len(items) {
				it = items[i]
			}
			out[i] = exampleScalar(et, it, i, depth)
		}
		return "[" + strings.Join(out, ",") + "]"
	case ty.IsMapType():
		pairs := splitPairs(items)
		if len(pairs) == 0 {
			pairs = [][2]string{{"key", ""}}
		}
		out := make([]string, len(pairs))
		for i, p := range pairs {
			out[i] = hclKey(p[0]) + "=" + exampleScalar(ty.ElementType(), p[1], i, depth)
		}
		return "{" + strings.Join(out, ",") + "}"
	case ty.IsObjectType():
		given := map[string]string{}
		for _, p := range splitPairs(items) {
			given[p[0]] = p[1]
		}
		attrs := ty.AttributeTypes()
		names := make([]string, 0, len(attrs))
		for n := range attrs {
			names = append(names, n)
		}
		sort.Strings(names)
		out := make([]string, len(names))
		for i, n := range names {
			out[i] = hclKey(n) + "=" + exampleScalar(attrs[n], given[n], i, depth)
		}
		return "{" + strings.Join(out, ",") + "}"
	case ty == cty.DynamicPseudoType && len(items) > 1:
		// `any` given "a,b": most likely meant as a list of strings.
		return exampleValue(cty.List(cty.String), text, depth)
	default:
		return exampleScalar(ty, strings.TrimSpace(text), 0, depth)
	}
}

// exampleScalar writes one element: the text given when it is valid for
// the type, else a placeholder (numbered by i, so a list's placeholders
// differ and a set keeps them all).
func exampleScalar(ty cty.Type, text string, i, depth int) string {
	text = strings.Trim(strings.TrimSpace(text), `"'`)
	switch {
	case ty == cty.Number:
		if numberRe.MatchString(text) {
			return text
		}
		return strconv.Itoa(i + 1)
	case ty == cty.Bool:
		if text == "true" || text == "false" {
			return text
		}
		return "true"
	case ty == cty.String || ty == cty.DynamicPseudoType:
		if text == "" {
			text = string(rune('a' + i%26))
		}
		return hclQuote(text)
	default:
		return exampleValue(ty, "", depth+1)
	}
}

// splitItems splits "a, b", "[a, b]" or "{a=1}" into its pieces.
func splitItems(text string) []string {
	// Each bracket alone, so a value cut short ("[a,") still gives "a".
	t := strings.TrimSpace(text)
	t = strings.TrimLeft(t, "[{")
	t = strings.TrimRight(t, "]}")
	var out []string
	for _, it := range strings.Split(t, ",") {
		if it = strings.TrimSpace(it); it != "" {
			out = append(out, it)
		}
	}
	return out
}

// splitPairs reads "k=v" (or "k:v") items; an item without one is a key.
func splitPairs(items []string) [][2]string {
	var out [][2]string
	for _, it := range items {
		k, v, ok := strings.Cut(it, "=")
		if !ok {
			k, v, _ = strings.Cut(it, ":")
		}
		k = strings.Trim(strings.TrimSpace(k), `"'`)
		if k != "" {
			out = append(out, [2]string{k, v})
		}
	}
	return out
}

// hclKey writes a map key bare when it is an identifier, else quoted.
func hclKey(k string) string {
	if hclsyntax.ValidIdentifier(k) {
		return k
	}
	return hclQuote(k)
}

// numberRe is a number as HCL writes one (big.Float would also take
// "Inf" and "0x1p3", which HCL reads as a name and an error).
var numberRe = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$`)

// hclQuote writes s as an HCL string literal: Go's strconv.Quote is not
// one (HCL has no \x or \a escapes, and reads ${ in a string as an
// interpolation).
func hclQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case (r == '$' || r == '%') && strings.HasPrefix(s[i+1:], "{"):
			b.WriteRune(r)
			b.WriteRune(r)
		case r == utf8.RuneError || r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
