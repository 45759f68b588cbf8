// Package lang holds what runbook expressions can use: the function table
// and helpers to evaluate expressions into Go values.
package lang

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/runbook-hpc/runbook/engine/hcllimits"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// Functions returns the function table; file paths are resolved against
// baseDir, the runbook's directory, so a runbook works from any cwd.
// A function with a Terraform function's name behaves as Terraform's
// (terraform.go has the ones cty's stdlib does differently).
func Functions(baseDir string) map[string]function.Function {
	fns := map[string]function.Function{
		"abs": stdlib.AbsoluteFunc, "ceil": stdlib.CeilFunc, "floor": stdlib.FloorFunc,
		"max": stdlib.MaxFunc, "min": stdlib.MinFunc, "parseint": stdlib.ParseIntFunc,
		"chomp": stdlib.ChompFunc, "format": stdlib.FormatFunc, "formatlist": stdlib.FormatListFunc,
		"indent": stdlib.IndentFunc, "join": stdlib.JoinFunc, "lower": stdlib.LowerFunc,
		"upper": stdlib.UpperFunc, "regex": stdlib.RegexFunc, "regexall": stdlib.RegexAllFunc,
		"regex_replace": stdlib.RegexReplaceFunc, "replace": replaceFunc,
		"split": stdlib.SplitFunc, "strrev": stdlib.ReverseFunc, "substr": stdlib.SubstrFunc,
		"title": stdlib.TitleFunc, "trim": stdlib.TrimFunc, "trimprefix": stdlib.TrimPrefixFunc,
		"trimsuffix": stdlib.TrimSuffixFunc, "trimspace": stdlib.TrimSpaceFunc,
		"concat": stdlib.ConcatFunc, "contains": stdlib.ContainsFunc, "distinct": stdlib.DistinctFunc,
		"element": stdlib.ElementFunc, "flatten": stdlib.FlattenFunc, "keys": stdlib.KeysFunc,
		"length": lengthFunc, "lookup": lookupFunc, "merge": stdlib.MergeFunc,
		"range": stdlib.RangeFunc, "reverse": stdlib.ReverseListFunc, "slice": stdlib.SliceFunc,
		"sort": stdlib.SortFunc, "values": stdlib.ValuesFunc, "zipmap": stdlib.ZipmapFunc,
		"coalesce": coalesceFunc, "compact": stdlib.CompactFunc,
		"jsonencode": stdlib.JSONEncodeFunc, "jsondecode": stdlib.JSONDecodeFunc,
		"csvdecode": stdlib.CSVDecodeFunc, "tostring": stdlib.MakeToFunc(cty.String),
		"tonumber": stdlib.MakeToFunc(cty.Number), "tobool": stdlib.MakeToFunc(cty.Bool),
		"tolist": stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
		"tomap":  stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)),
		// for_each over a list of names: toset(["alice", "bob"]).
		"toset":           stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
		"setunion":        stdlib.SetUnionFunc,
		"setintersection": stdlib.SetIntersectionFunc,
		"setsubtract":     stdlib.SetSubtractFunc,
		"alltrue":         boolListFunc(true),
		"anytrue":         boolListFunc(false),
		"sum":             sumFunc,
		"try":             tryfunc.TryFunc, "can": tryfunc.CanFunc,
		"shellquote": ShellQuoteFunc,
		"startswith": stringPredicate(strings.HasPrefix), "endswith": stringPredicate(strings.HasSuffix),
		"strcontains": stringPredicate(strings.Contains), "strlen": stdlib.StrlenFunc,
		"formatdate": stdlib.FormatDateFunc, "timeadd": stdlib.TimeAddFunc,
		"file": fileFunc(baseDir),
	}
	fns["templatefile"] = templateFileFunc(baseDir, fns)
	return fns
}

// ShellQuote quotes s for a POSIX shell so it stays one argument whatever
// it holds (quotes, $(), backticks, newlines).
// It is the transport's quoting, so what a runbook quotes and what runbook
// sends are quoted the same way.
func ShellQuote(s string) string { return transport.ShellQuote(s) }

// ShellQuoteFunc is shellquote(string): one argument, safe in `command`.
var ShellQuoteFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "str", Type: cty.String}},
	Type:   function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		return cty.StringVal(ShellQuote(args[0].AsString())), nil
	},
})

func stringPredicate(pred func(s, x string) bool) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "str", Type: cty.String}, {Name: "x", Type: cty.String}},
		Type:   function.StaticReturnType(cty.Bool),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return cty.BoolVal(pred(args[0].AsString(), args[1].AsString())), nil
		},
	})
}

// resolve is Terraform's reading of a file function's path: "~" and "~/"
// are the home directory, and a relative path is relative to baseDir.
func resolve(baseDir, p string) (string, error) {
	if p == "~" || strings.HasPrefix(p, "~/") {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("failed to expand ~: %w", err)
		}
		p = home + p[1:]
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(baseDir, p)
	}
	return filepath.Clean(p), nil
}

// readText reads a file for file() and templatefile(): as Terraform, the
// contents must be UTF-8 text, since a string holding other bytes would
// be changed on its way to a host. Like every file runbook reads, it is
// cut at hcllimits.MaxFileBytes: file("/dev/zero") is an error, not a
// process that runs out of memory.
func readText(baseDir, p string) (string, error) {
	path, err := resolve(baseDir, p)
	if err != nil {
		return "", err
	}
	b, over, err := hcllimits.ReadCapped(path, hcllimits.MaxFileBytes)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("no file exists at %s", path)
		}
		return "", err
	}
	if over {
		return "", fmt.Errorf("%s is larger than %d MiB, the most runbook reads of a file; is the path right?", path, hcllimits.MaxFileBytes>>20)
	}
	if !utf8.Valid(b) {
		return "", fmt.Errorf("contents of %s are not valid UTF-8", path)
	}
	return string(b), nil
}

func fileFunc(baseDir string) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "path", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			text, err := readText(baseDir, args[0].AsString())
			if err != nil {
				return cty.NilVal, function.NewArgError(0, err)
			}
			return cty.StringVal(text), nil
		},
	})
}

// templateFileFunc is Terraform's templatefile: vars must be a map or an
// object whose keys are identifiers, every variable the template uses must
// be given, and the result has the type the template produces (a template
// that is a single "${...}" can return a list). Inside a template,
// templatefile is an error rather than a recursion without bound.
func templateFileFunc(baseDir string, fns map[string]function.Function) function.Function {
	params := []function.Parameter{
		{Name: "path", Type: cty.String},
		{Name: "vars", Type: cty.DynamicPseudoType},
	}
	render := func(args []cty.Value) (cty.Value, error) {
		path := args[0].AsString()
		src, err := readText(baseDir, path)
		if err != nil {
			return cty.DynamicVal, function.NewArgError(0, err)
		}
		// HCL's parser is recursive: a template nested deeper than a
		// runbook may be would overflow the stack, a crash no recover catches.
		if diags := hcllimits.CheckTemplateNesting(path, []byte(src)); diags.HasErrors() {
			return cty.DynamicVal, diags
		}
		expr, diags := hclsyntax.ParseTemplate([]byte(src), path, hcl.InitialPos)
		if diags.HasErrors() {
			return cty.DynamicVal, diags
		}
		v := args[1]
		if ty := v.Type(); v.IsNull() || !(ty.IsMapType() || ty.IsObjectType()) {
			return cty.DynamicVal, function.NewArgErrorf(1, "invalid vars value: must be a map")
		}
		vars := v.AsValueMap()
		for n := range vars {
			if !hclsyntax.ValidIdentifier(n) {
				return cty.DynamicVal, function.NewArgErrorf(1, "invalid template variable name %q: must start with a letter, followed by zero or more letters, digits, and underscores", n)
			}
		}
		for _, tr := range expr.Variables() {
			if _, ok := vars[tr.RootName()]; !ok {
				return cty.DynamicVal, function.NewArgErrorf(1, "vars map does not contain key %q, referenced at %s", tr.RootName(), tr[0].SourceRange())
			}
		}
		inner := make(map[string]function.Function, len(fns))
		for k, f := range fns {
			inner[k] = f
		}
		inner["templatefile"] = function.New(&function.Spec{
			Params: params,
			Type: func([]cty.Value) (cty.Type, error) {
				return cty.NilType, errors.New("cannot recursively call templatefile from inside templatefile call")
			},
		})
		val, diags := expr.Value(&hcl.EvalContext{Variables: vars, Functions: inner})
		if diags.HasErrors() {
			return cty.DynamicVal, diags
		}
		return val, nil
	}
	return function.New(&function.Spec{
		Params: params,
		Type: func(args []cty.Value) (cty.Type, error) {
			if !args[0].IsKnown() || !args[1].IsKnown() {
				return cty.DynamicPseudoType, nil
			}
			v, err := render(args)
			return v.Type(), err
		},
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return render(args)
		},
	})
}
