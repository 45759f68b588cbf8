package main

import (
	"bufio"
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcled"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/runbook-hpc/runbook/engine/config"
	"github.com/zclconf/go-cty/cty"
)

// validateOutput is what `runbook validate --json` prints: the shape of
// `terraform validate -json` (format version 1.0), so that editors and CI
// tools that read Terraform's diagnostics read runbook's. The test holds
// it against a real terraform's output.
type validateOutput struct {
	FormatVersion string           `json:"format_version"`
	Valid         bool             `json:"valid"`
	ErrorCount    int              `json:"error_count"`
	WarningCount  int              `json:"warning_count"`
	Diagnostics   []jsonDiagnostic `json:"diagnostics"`
}

func newValidateOutput(diags []jsonDiagnostic) validateOutput {
	out := validateOutput{FormatVersion: "1.0", Diagnostics: diags}
	if out.Diagnostics == nil {
		out.Diagnostics = []jsonDiagnostic{}
	}
	for _, d := range diags {
		if d.Severity == "error" {
			out.ErrorCount++
		} else {
			out.WarningCount++
		}
	}
	out.Valid = out.ErrorCount == 0
	return out
}

// jsonDiagnostic is one diagnostic as Terraform's JSON views write it
// (internal/command/views/json/diagnostic.go): range and snippet only when
// the diagnostic points into a file, the snippet only when that file's
// source can be shown.
type jsonDiagnostic struct {
	Severity string       `json:"severity"` // "error" or "warning"
	Summary  string       `json:"summary"`
	Detail   string       `json:"detail"`
	Range    *jsonRange   `json:"range,omitempty"`
	Snippet  *jsonSnippet `json:"snippet,omitempty"`
}

// jsonRange is a span of a file: lines and columns count from 1, bytes
// from 0; end is exclusive.
type jsonRange struct {
	Filename string  `json:"filename"`
	Start    jsonPos `json:"start"`
	End      jsonPos `json:"end"`
}

type jsonPos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

// jsonSnippet is the source around a diagnostic: context is the enclosing
// block's header (null at the top level), code the whole lines the
// diagnostic covers from start_line, the highlight the byte offsets of
// its subject within code, values what the expression's references were.
type jsonSnippet struct {
	Context              *string     `json:"context"`
	Code                 string      `json:"code"`
	StartLine            int         `json:"start_line"`
	HighlightStartOffset int         `json:"highlight_start_offset"`
	HighlightEndOffset   int         `json:"highlight_end_offset"`
	Values               []jsonValue `json:"values"`
}

type jsonValue struct {
	Traversal string `json:"traversal"`
	Statement string `json:"statement"`
}

// jsonDiags converts diagnostics about cfg for validate --json, hiding
// what printDiags hides: the secrets, and the values of cfg's sensitive
// variables the diagnostics carry, are redacted in the summary, detail,
// context and values, and masked byte for byte in the code (so the ranges
// still point at the right bytes). A value that is a secret number is
// stated as "has a sensitive value".
func jsonDiags(cfg *config.Config, diags hcl.Diagnostics, secrets ...string) []jsonDiagnostic {
	if len(diags) == 0 {
		return nil
	}
	red := diagRedactor(cfg, diags, secrets)
	redact := func(s string) string {
		if red == nil {
			return s
		}
		return red.Redact(s)
	}
	files, _ := diagSources(cfg, diags, red)
	parsed := map[string]*hcl.File{}
	out := make([]jsonDiagnostic, 0, len(diags))
	for _, d := range diags {
		d = redactDiag(d, red)
		jd := jsonDiagnostic{Severity: "error", Summary: d.Summary, Detail: d.Detail}
		if d.Severity == hcl.DiagWarning {
			jd.Severity = "warning"
		}
		if d.Subject != nil {
			jd.Range = &jsonRange{Filename: d.Subject.Filename, Start: pos(d.Subject.Start), End: pos(d.Subject.End)}
			if f := files[d.Subject.Filename]; f != nil && f.Bytes != nil {
				nav, ok := parsed[d.Subject.Filename]
				if !ok {
					// As Terraform, the context comes from parsing the source
					// shown (masked), so a file no HCL parser read (an INI
					// inventory) gets it too when it parses as HCL.
					nav, _ = hclsyntax.ParseConfig(f.Bytes, d.Subject.Filename, hcl.InitialPos)
					parsed[d.Subject.Filename] = nav
				}
				jd.Snippet = snippet(d, f.Bytes, nav, redact)
			}
		}
		out = append(out, jd)
	}
	return out
}

func pos(p hcl.Pos) jsonPos { return jsonPos{Line: p.Line, Column: p.Column, Byte: p.Byte} }

// snippet is Terraform's: the whole lines the diagnostic's context (else
// its subject) covers, the subject's offsets within them clamped to the
// code, and the values of the variables its expression refers to.
func snippet(d *hcl.Diagnostic, src []byte, nav *hcl.File, redact func(string) string) *jsonSnippet {
	highlight := *d.Subject
	// An empty range (the end of the file) still highlights one byte.
	if highlight.Empty() {
		highlight.End.Byte++
		highlight.End.Column++
	}
	covered := highlight
	if d.Context != nil {
		covered = hcl.RangeOver(*d.Context, highlight)
	}
	s := &jsonSnippet{StartLine: covered.Start.Line, Values: []jsonValue{}}
	if nav != nil {
		if ctx := hcled.ContextString(nav, highlight.Start.Byte-1); ctx != "" {
			ctx = redact(ctx)
			s.Context = &ctx
		}
	}
	var code strings.Builder
	codeStart, first := 0, true
	sc := hcl.NewRangeScanner(src, highlight.Filename, bufio.ScanLines)
	for sc.Scan() {
		line := sc.Range()
		if !line.Overlaps(covered) {
			continue
		}
		if first {
			codeStart, first = line.Start.Byte, false
		}
		code.Write(line.SliceBytes(src))
		code.WriteByte('\n')
	}
	s.Code = strings.TrimSuffix(code.String(), "\n")
	start := highlight.Start.Byte - codeStart
	end := start + highlight.End.Byte - highlight.Start.Byte
	s.HighlightStartOffset = min(max(start, 0), len(s.Code))
	s.HighlightEndOffset = min(max(end, 0), len(s.Code))
	if d.Expression != nil && d.EvalContext != nil {
		s.Values = exprValues(d.Expression, d.EvalContext, redact)
	}
	return s
}

// exprValues states the value of each variable the expression refers to,
// as Terraform does (the longest part of the reference that has a value,
// sorted, each once); ctx is the redacted one (redactedContext), in which
// a secret number is marked.
func exprValues(expr hcl.Expression, ctx *hcl.EvalContext, redact func(string) string) []jsonValue {
	values := []jsonValue{}
	seen := map[string]bool{}
	for _, traversal := range expr.Variables() {
		for ; len(traversal) > 1; traversal = traversal[:len(traversal)-1] {
			val, diags := traversal.TraverseAbs(ctx)
			if diags.HasErrors() {
				continue
			}
			name := redact(traversalString(traversal))
			if seen[name] {
				break
			}
			seen[name] = true
			var statement string
			switch {
			case val.IsMarked():
				statement = "has a sensitive value"
			case !val.IsKnown():
				if ty := val.Type(); ty != cty.DynamicPseudoType {
					statement = fmt.Sprintf("is a %s, known only after apply", ty.FriendlyName())
				} else {
					statement = "will be known only after apply"
				}
			default:
				statement = "is " + redact(compactValue(val))
			}
			values = append(values, jsonValue{Traversal: name, Statement: statement})
			break
		}
	}
	sort.Slice(values, func(i, j int) bool { return values[i].Traversal < values[j].Traversal })
	return values
}

func traversalString(traversal hcl.Traversal) string {
	var b bytes.Buffer
	for _, step := range traversal {
		switch s := step.(type) {
		case hcl.TraverseRoot:
			b.WriteString(s.Name)
		case hcl.TraverseAttr:
			b.WriteString("." + s.Name)
		case hcl.TraverseIndex:
			if s.Key.Type().IsPrimitiveType() && !s.Key.IsMarked() {
				b.WriteString("[" + compactValue(s.Key) + "]")
			} else {
				b.WriteString("[...]")
			}
		}
	}
	return b.String()
}

// compactValue is a value in one short phrase, as HCL's and Terraform's
// diagnostics state it: primitives as they are, collections by type and
// length. v is not marked.
func compactValue(v cty.Value) string {
	ty := v.Type()
	switch {
	case v.IsNull():
		return "null"
	case !v.IsKnown():
		return "(not yet known)"
	case ty == cty.Bool:
		if v.True() {
			return "true"
		}
		return "false"
	case ty == cty.Number:
		return v.AsBigFloat().Text('g', 10)
	case ty == cty.String:
		return fmt.Sprintf("%q", v.AsString())
	case ty.IsCollectionType() || ty.IsTupleType():
		switch n := v.LengthInt(); n {
		case 0:
			return "empty " + ty.FriendlyName()
		case 1:
			return ty.FriendlyName() + " with 1 element"
		default:
			return fmt.Sprintf("%s with %d elements", ty.FriendlyName(), n)
		}
	case ty.IsObjectType():
		attrs := ty.AttributeTypes()
		switch len(attrs) {
		case 0:
			return "object with no attributes"
		case 1:
			for name := range attrs {
				return fmt.Sprintf("object with 1 attribute %q", name)
			}
		}
		return fmt.Sprintf("object with %d attributes", len(attrs))
	}
	return ty.FriendlyName()
}
