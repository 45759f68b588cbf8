package config

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/runbook-hpc/runbook/engine/transport"
	"github.com/zclconf/go-cty/cty"
)

// Lint returns what works but is risky in the runbook's shell commands.
//
// A value reaches a `command` or `unless` line as shell syntax unless it
// passes through shellquote() outside any quotes: interpolated directly,
// through locals (however many), or through a shellquote() written inside
// "…" or '…', where the shell takes shellquote's own quotes literally and
// still runs $(…) in the value. A value like "x; rm -rf /" then changes
// the command. That is a warning, except for a variable with a validation
// rule (the rule says what the value may be). It is an error when the
// command runs during plan (a check step's command, any unless) and the
// value this run was given would change it: plan runs those commands
// before anyone has seen them, so the runbook is refused instead.
//
// A sensitive variable on a command line is a warning too: every user of
// the host can read a process's arguments (ps), not its env or stdin.
func (c *Config) Lint(vars map[string]cty.Value) hcl.Diagnostics {
	linters := map[*ModuleCall]*linter{}
	linterFor := func(m *ModuleCall) *linter {
		if l, ok := linters[m]; ok {
			return l
		}
		// A module's var.* are its inputs, whose values are known only
		// per host: its findings are warnings, never refusals.
		l := &linter{c: c, vars: vars, module: m, locals: map[string]*Local{}, memo: map[localUse][]valueRef{}}
		locals := c.Locals
		if m != nil {
			locals, l.vars = m.Locals, nil
		}
		for _, loc := range locals {
			l.locals[loc.Name] = loc
		}
		linters[m] = l
		return l
	}
	var diags hcl.Diagnostics
	for _, s := range c.Steps {
		l := linterFor(s.Module)
		body, ok := s.Body.(*hclsyntax.Body)
		if !ok {
			continue
		}
		for _, name := range []string{"command", "unless"} {
			attr, ok := body.Attributes[name]
			if !ok {
				continue
			}
			runsInPlan := name == "unless" || s.KindImpl.ReadOnly()
			for _, r := range l.shellRefs(attr.Expr) {
				if d := l.shellDiag(r, runsInPlan); d != nil {
					diags = append(diags, d)
				}
			}
		}
		diags = append(diags, l.sensitiveOnCommandLine(body)...)
	}
	return diags
}

type linter struct {
	c *Config
	// module is the namespace linted: var.* and local.* are its own.
	module *ModuleCall
	vars   map[string]cty.Value
	locals map[string]*Local
	// memo holds each local's references, so locals built from locals
	// are read once each, however often they are used.
	memo map[localUse][]valueRef
}

type localUse struct {
	name        string
	shellquoted bool
}

// valueRef is a value from outside the runbook's text (var.*, step.*,
// host.vars.*) that ends up in an expression.
type valueRef struct {
	tr *hclsyntax.ScopeTraversalExpr
	// via are the locals it goes through, the one the expression names first.
	via []string
	// at is where it enters the expression: the reference itself, or the
	// first local it goes through.
	at hcl.Range
	// shellquoted: inside a shellquote() call.
	shellquoted bool
	// inQuotes: that shellquote() call sits inside shell quotes.
	inQuotes bool
}

func (r valueRef) name() string { return traversalString(r.tr.Traversal) }

// through says which locals the value goes through, if any.
func (r valueRef) through() string {
	if len(r.via) == 0 {
		return ""
	}
	return " (through local." + strings.Join(r.via, " → local.") + ")"
}

// shellRefs are the values a shell line takes as syntax: those outside
// any shellquote(), and those in a shellquote() inside quotes.
func (l *linter) shellRefs(expr hcl.Expression) []valueRef {
	var out []valueRef
	for _, r := range l.refs(expr) {
		if !r.shellquoted {
			out = append(out, r)
		}
	}
	e, ok := expr.(hclsyntax.Expression)
	if !ok {
		return out
	}
	var quoted []quotedPart
	l.scanText(e, unquoted, nil, map[string]bool{}, &quoted)
	for _, q := range quoted {
		for _, r := range l.refs(q.expr) {
			if r.shellquoted {
				r.inQuotes, r.at = true, q.at
				out = append(out, r)
			}
		}
	}
	return out
}

// quotedPart is an interpolation inside shell quotes, and where it is
// put into the command: the interpolation, or the local holding it.
type quotedPart struct {
	expr hclsyntax.Expression
	at   hcl.Range
}

// refs finds the outside values an expression reads, following locals.
func (l *linter) refs(expr hcl.Expression) []valueRef {
	e, ok := expr.(hclsyntax.Expression)
	if !ok {
		return nil
	}
	w := &refWalker{l: l}
	_ = hclsyntax.Walk(e, w)
	return w.found
}

// localRefs are the outside values local.name reads, with shellquoted
// set for all of them when the local is used inside a shellquote().
func (l *linter) localRefs(name string, shellquoted bool) []valueRef {
	key := localUse{name, shellquoted}
	if refs, done := l.memo[key]; done {
		return refs // nil while being computed: a cycle, reported by Parse
	}
	l.memo[key] = nil
	loc := l.locals[name]
	if loc == nil {
		return nil
	}
	var refs []valueRef
	seen := map[hcl.Range]bool{}
	for _, r := range l.refs(loc.Expr) {
		r.shellquoted = r.shellquoted || shellquoted
		// A local reads the same value twice (or via two locals):
		// one finding for it is enough.
		if seen[r.tr.SrcRange] {
			continue
		}
		seen[r.tr.SrcRange] = true
		r.via = append([]string{name}, r.via...)
		refs = append(refs, r)
	}
	l.memo[key] = refs
	return refs
}

type refWalker struct {
	l *linter
	// quoted counts the shellquote() calls around the current node.
	quoted int
	found  []valueRef
}

func (w *refWalker) Enter(n hclsyntax.Node) hcl.Diagnostics {
	switch n := n.(type) {
	case *hclsyntax.FunctionCallExpr:
		if n.Name == "shellquote" {
			w.quoted++
		}
	case *hclsyntax.ScopeTraversalExpr:
		if len(n.Traversal) < 2 {
			break
		}
		switch root := n.Traversal.RootName(); {
		case root == "local":
			a, ok := n.Traversal[1].(hcl.TraverseAttr)
			if !ok {
				break
			}
			for _, r := range w.l.localRefs(a.Name, w.quoted > 0) {
				r.at = n.SrcRange
				w.found = append(w.found, r)
			}
		case root == "var" || root == "step" || (root == "host" && isHostVars(n.Traversal)):
			w.found = append(w.found, valueRef{tr: n, at: n.SrcRange, shellquoted: w.quoted > 0})
		}
	}
	return nil
}

func (w *refWalker) Exit(n hclsyntax.Node) hcl.Diagnostics {
	if f, ok := n.(*hclsyntax.FunctionCallExpr); ok && f.Name == "shellquote" {
		w.quoted--
	}
	return nil
}

// quoting is where the shell is in a command line's text: a stack of
// frames, the innermost last. Quoting starts afresh inside $(…) and `…`,
// so "$(find ${shellquote(x)})" has shellquote's word unquoted, while
// '$(…)' is literal text.
type quoting string

const (
	unquoted quoting = ""
	// unknownQuoting: two branches of a conditional or a loop leave the
	// text in different states; nothing after it is judged.
	unknownQuoting quoting = "?"
)

// The frames of a quoting.
const (
	frameSingle  = 'S' // '…'
	frameDouble  = 'D' // "…"
	frameCommand = 'C' // $(…), and $((…)) with a paren frame inside
	frameParen   = 'P' // (…) inside $(…): its ) is not the end of $(…)
	frameBackq   = 'B' // `…`
)

func (q quoting) top() byte {
	if q == "" || q == unknownQuoting {
		return 0
	}
	return q[len(q)-1]
}

// quoted: the text here is inside '…' or "…" (of the innermost command).
func (q quoting) quoted() bool {
	return q != unknownQuoting && (q.top() == frameSingle || q.top() == frameDouble)
}

// scanText follows the shell's quoting through the text expr produces
// and collects the interpolated values that land inside quotes. A local
// used as text is followed into its own template; localAt is where the
// first one followed is used (nil outside locals).
func (l *linter) scanText(expr hclsyntax.Expression, q quoting, localAt *hcl.Range, following map[string]bool, inQuotes *[]quotedPart) quoting {
	switch e := expr.(type) {
	case *hclsyntax.TemplateExpr:
		for _, part := range e.Parts {
			q = l.scanText(part, q, localAt, following, inQuotes)
		}
		return q
	case *hclsyntax.TemplateWrapExpr:
		return l.scanText(e.Wrapped, q, localAt, following, inQuotes)
	case *hclsyntax.LiteralValueExpr:
		if e.Val.Type() == cty.String && e.Val.IsKnown() && !e.Val.IsNull() {
			return shellQuoting(q, e.Val.AsString())
		}
		return q
	case *hclsyntax.ConditionalExpr:
		t := l.scanText(e.TrueResult, q, localAt, following, inQuotes)
		if f := l.scanText(e.FalseResult, q, localAt, following, inQuotes); f != t {
			return unknownQuoting
		}
		return t
	case *hclsyntax.TemplateJoinExpr:
		if f, ok := e.Tuple.(*hclsyntax.ForExpr); ok && l.scanText(f.ValExpr, q, localAt, following, inQuotes) != q {
			return unknownQuoting
		}
		return q
	case *hclsyntax.ScopeTraversalExpr:
		if name, ok := localName(e.Traversal); ok && !following[name] && l.locals[name] != nil {
			if inner, ok := l.locals[name].Expr.(hclsyntax.Expression); ok {
				if localAt == nil {
					localAt = e.SrcRange.Ptr()
				}
				following[name] = true
				defer delete(following, name)
				return l.scanText(inner, q, localAt, following, inQuotes)
			}
		}
	}
	if q.quoted() {
		at := expr.Range()
		if localAt != nil {
			at = *localAt
		}
		*inQuotes = append(*inQuotes, quotedPart{expr, at})
	}
	return q
}

// localName: the X of a plain local.X.
func localName(tr hcl.Traversal) (string, bool) {
	if len(tr) != 2 || tr.RootName() != "local" {
		return "", false
	}
	a, ok := tr[1].(hcl.TraverseAttr)
	return a.Name, ok
}

// shellQuoting is the quoting after the shell reads text in state q.
func shellQuoting(q quoting, text string) quoting {
	push := func(f byte) { q += quoting(f) }
	pop := func() { q = q[:len(q)-1] }
	for i := 0; i < len(text) && q != unknownQuoting; i++ {
		c := text[i]
		switch top := q.top(); {
		case top == frameSingle:
			if c == '\'' {
				pop()
			}
		case c == '\\':
			i++ // the next character is taken literally, in "…" too
		case c == '$' && i+1 < len(text) && text[i+1] == '(':
			push(frameCommand)
			i++
		case c == '`':
			if top == frameBackq {
				pop()
			} else {
				push(frameBackq)
			}
		case top == frameDouble:
			if c == '"' {
				pop()
			}
		case c == '\'':
			push(frameSingle)
		case c == '"':
			push(frameDouble)
		case c == '(' && (top == frameCommand || top == frameParen):
			push(frameParen)
		case c == ')' && (top == frameCommand || top == frameParen):
			pop()
		case c == '#' && (i == 0 || strings.IndexByte(" \t\n;&|(", text[i-1]) >= 0):
			// A comment: its apostrophes ("it's") quote nothing. It ends
			// at the line's end; a ) in it does not close $(…), as in sh.
			if nl := strings.IndexByte(text[i:], '\n'); nl >= 0 {
				i += nl
			} else {
				i = len(text)
			}
		}
	}
	return q
}

// shellDiag judges one value on a shell line; nil when it is fine.
func (l *linter) shellDiag(r valueRef, runsInPlan bool) *hcl.Diagnostic {
	inQuotesDetail := fmt.Sprintf("%s%s goes through shellquote() and then into quotes in the command: there the shell takes shellquote's own quotes as text, "+
		"so $(…), `…` and \" in the value still run. Remove the quotes around ${shellquote(…)}: shellquote() already makes the value one word.", r.name(), r.through())
	if r.tr.Traversal.RootName() != "var" {
		// Probe output and inventory values cannot carry a validation
		// rule, and are not known yet: they always need quoting.
		if r.inQuotes {
			return &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "shellquote() inside quotes", Detail: inQuotesDetail, Subject: r.at.Ptr()}
		}
		return &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "Unquoted value in a shell command",
			Detail: fmt.Sprintf("%s%s is put into the command as is; a value with spaces, quotes or ; changes the command. "+
				"Wrap it in shellquote(...) or use argv = [...].", r.name(), r.through()),
			Subject: r.at.Ptr(),
		}
	}
	a, ok := r.tr.Traversal[1].(hcl.TraverseAttr)
	if !ok {
		return nil
	}
	v := l.variable(a.Name)
	if v == nil {
		return nil
	}
	validated := len(v.Validations) > 0
	fix := fmt.Sprintf("${shellquote(var.%s)}", v.Name)
	if len(r.via) > 0 {
		fix = fmt.Sprintf("${shellquote(local.%s)}", r.via[0])
	}
	switch {
	case runsInPlan && !validated && l.vars != nil && !shellSafe(l.vars[v.Name]):
		// The value itself is not shown: it may be sensitive.
		return &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Variable value would change a command that plan runs",
			Detail: fmt.Sprintf("The value given for var.%s has characters the shell reads as syntax (a space, quote, ;, $, `, |, & or the like), "+
				"and it reaches this command%s without working quoting. A check step's command and every unless run during plan, "+
				"before anyone has seen them, so the runbook is refused. Write %s, use argv = [...], "+
				"or give var.%s a validation block that admits only safe values.", v.Name, r.through(), fix, v.Name),
			Subject: r.at.Ptr(),
		}
	case r.inQuotes:
		return &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "shellquote() inside quotes", Detail: inQuotesDetail, Subject: r.at.Ptr()}
	case validated:
		return nil
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagWarning,
		Summary:  "Unquoted variable in a shell command",
		Detail: fmt.Sprintf("var.%s is put into the command as is%s and has no validation rule, so a value with spaces, quotes or ; changes the command. "+
			"Write %s, use argv = [...], or add a validation block to the variable.", v.Name, r.through(), fix),
		Subject: r.at.Ptr(),
	}
}

// shellSafe: every string in v reads as the same single word whether
// quoted or not (unknown and null values are judged when known).
func shellSafe(v cty.Value) bool {
	if !v.IsKnown() || v.IsNull() {
		return true
	}
	safe := true
	_ = cty.Walk(v, func(_ cty.Path, v cty.Value) (bool, error) {
		if !v.IsKnown() || v.IsNull() {
			return false, nil
		}
		if v.Type() == cty.String {
			s := v.AsString()
			safe = safe && (s == "" || transport.ShellQuote(s) == s)
		}
		return safe, nil
	})
	return safe
}

// commandLineAttrs are the step attributes that become (part of) the
// command line a host runs, which ps shows to every user of the host.
var commandLineAttrs = []string{"command", "argv", "unless", "creates", "removes", "chdir"}

// sensitiveOnCommandLine warns about sensitive variables in a step's
// command line, quoted or not, directly or through locals.
func (l *linter) sensitiveOnCommandLine(body *hclsyntax.Body) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, name := range commandLineAttrs {
		attr, ok := body.Attributes[name]
		if !ok {
			continue
		}
		warned := map[string]bool{}
		for _, r := range l.refs(attr.Expr) {
			a, ok := r.tr.Traversal[1].(hcl.TraverseAttr)
			if r.tr.Traversal.RootName() != "var" || !ok || warned[a.Name] {
				continue
			}
			if v := l.variable(a.Name); v == nil || !v.Sensitive {
				continue
			}
			warned[a.Name] = true
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Sensitive value on a command line",
				Detail: fmt.Sprintf("var.%s is sensitive, but %s puts it%s on the command line, which every user of the host can read (ps, /proc/PID/cmdline) while the command runs. "+
					"Pass it in env = { NAME = var.%s } and use \"$NAME\" in the command, or feed it on stdin.", a.Name, name, r.through(), a.Name),
				Subject: r.at.Ptr(),
			})
		}
	}
	return diags
}

// isHostVars: host.vars.* comes from whoever wrote the inventory.
func isHostVars(tr hcl.Traversal) bool {
	a, ok := tr[1].(hcl.TraverseAttr)
	return ok && a.Name == "vars"
}

func traversalString(tr hcl.Traversal) string {
	var b strings.Builder
	for _, t := range tr {
		switch t := t.(type) {
		case hcl.TraverseRoot:
			b.WriteString(t.Name)
		case hcl.TraverseAttr:
			b.WriteString("." + t.Name)
		default:
			b.WriteString("[…]")
		}
	}
	return b.String()
}

// variable is the declared variable var.name of the linted namespace.
func (l *linter) variable(name string) *Variable {
	if l.module != nil {
		return l.module.Variable(name)
	}
	return l.c.Variable(name)
}
