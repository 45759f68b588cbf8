package config

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Lint returns warnings: things that work but are risky.
//
// A variable interpolated into a `command` string without shellquote() can
// change the command (a value like "x; rm -rf /"), unless a validation
// rule constrains it.
func (c *Config) Lint(vars map[string]cty.Value) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, s := range c.Steps {
		body, ok := s.Body.(*hclsyntax.Body)
		if !ok {
			continue
		}
		for _, name := range []string{"command", "unless"} {
			attr, ok := body.Attributes[name]
			if !ok {
				continue
			}
			for _, tr := range unquotedVars(attr.Expr) {
				if root := tr.Traversal.RootName(); root == "step" || root == "host" {
					// Probe output and inventory values cannot carry a
					// validation rule: they always need quoting.
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagWarning,
						Summary:  "Unquoted value in a shell command",
						Detail: fmt.Sprintf("%s is put into the command as is; a value with spaces, quotes or ; changes the command. "+
							"Wrap it in shellquote(...) or use argv = [...].", traversalString(tr.Traversal)),
						Subject: tr.SrcRange.Ptr(),
					})
					continue
				}
				a, ok := tr.Traversal[1].(hcl.TraverseAttr)
				if !ok {
					continue
				}
				v := c.Variable(a.Name)
				if v == nil || len(v.Validations) > 0 {
					continue
				}
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagWarning,
					Summary:  "Unquoted variable in a shell command",
					Detail: fmt.Sprintf("var.%s is put into the command as is and has no validation rule, so a value with spaces, quotes or ; changes the command. "+
						"Write ${shellquote(var.%s)}, use argv = [...], or add a validation block to the variable.", a.Name, a.Name),
					Subject: tr.SrcRange.Ptr(),
				})
			}
		}
	}
	return diags
}

// unquotedVars finds var.* references in an expression that are not
// inside a shellquote() call, wherever they sit (plain interpolation, a
// lone "${var.x}", %{if} directives, nested function calls).
func unquotedVars(expr hcl.Expression) []*hclsyntax.ScopeTraversalExpr {
	e, ok := expr.(hclsyntax.Expression)
	if !ok {
		return nil
	}
	w := &quoteWalker{}
	_ = hclsyntax.Walk(e, w)
	return w.found
}

type quoteWalker struct {
	quoted int
	found  []*hclsyntax.ScopeTraversalExpr
}

func (w *quoteWalker) Enter(n hclsyntax.Node) hcl.Diagnostics {
	switch n := n.(type) {
	case *hclsyntax.FunctionCallExpr:
		if n.Name == "shellquote" {
			w.quoted++
		}
	case *hclsyntax.ScopeTraversalExpr:
		root := n.Traversal.RootName()
		if w.quoted == 0 && len(n.Traversal) >= 2 && (root == "var" || root == "step" || (root == "host" && isHostVars(n.Traversal))) {
			w.found = append(w.found, n)
		}
	}
	return nil
}

func (w *quoteWalker) Exit(n hclsyntax.Node) hcl.Diagnostics {
	if f, ok := n.(*hclsyntax.FunctionCallExpr); ok && f.Name == "shellquote" {
		w.quoted--
	}
	return nil
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
