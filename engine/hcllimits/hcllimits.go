// Package hcllimits bounds what runbook reads from HCL files it is given
// (runbooks, variable files, inventories): a size cap, so /dev/zero or an
// endless pipe cannot eat memory, and a nesting limit checked on tokens
// before parsing, because HCL's recursive parser overflows the Go stack
// (a fatal error no recover catches) on ~100,000 nested parentheses.
package hcllimits

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

const (
	// MaxFileBytes caps how much of one file is read.
	MaxFileBytes = 16 << 20
	// MaxNesting caps brackets, braces, parentheses and strings nested in
	// one another; real runbooks use fewer than 10.
	MaxNesting = 100
)

// ReadCapped reads at most limit bytes of path; over is true when the file
// holds more.
func ReadCapped(path string, limit int64) (src []byte, over bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	src, err = io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, false, err
	}
	if int64(len(src)) > limit {
		return src[:limit], true, nil
	}
	return src, false, nil
}

// TooLarge is the diagnostic for a file cut at MaxFileBytes; what says
// what the file was meant to be ("Runbook", "Inventory file").
func TooLarge(what, path string, src []byte) *hcl.Diagnostic {
	line := bytes.Count(src, []byte("\n")) + 1
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  what + " too large",
		Detail:   fmt.Sprintf("Only the first %d MiB are read. Is the path right?", MaxFileBytes>>20),
		Subject:  &hcl.Range{Filename: path, Start: hcl.Pos{Line: line, Column: 1, Byte: len(src)}, End: hcl.Pos{Line: line, Column: 1, Byte: len(src)}},
	}
}

// CheckNesting refuses src when it nests deeper than MaxNesting, before
// the recursive parser sees it; the check itself is a loop over tokens,
// not recursive.
func CheckNesting(path string, src []byte) hcl.Diagnostics {
	tokens, _ := hclsyntax.LexConfig(src, path, hcl.InitialPos)
	return checkDepth(tokens)
}

// CheckTemplateNesting is CheckNesting for a template file (templatefile,
// the template kind): lexed as a template, its literal text is text, so
// braces or parentheses in it (a shell script, a config file) do not count.
func CheckTemplateNesting(path string, src []byte) hcl.Diagnostics {
	tokens, _ := hclsyntax.LexTemplate(src, path, hcl.InitialPos)
	return checkDepth(tokens)
}

func checkDepth(tokens hclsyntax.Tokens) hcl.Diagnostics {
	depth := 0
	for _, tok := range tokens {
		switch tok.Type {
		case hclsyntax.TokenOParen, hclsyntax.TokenOBrack, hclsyntax.TokenOBrace,
			hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl, hclsyntax.TokenOQuote, hclsyntax.TokenOHeredoc:
			depth++
			if depth > MaxNesting {
				return hcl.Diagnostics{{
					Severity: hcl.DiagError,
					Summary:  "Nested too deeply",
					Detail:   fmt.Sprintf("Brackets, braces, parentheses and strings are nested more than %d levels deep here.", MaxNesting),
					Subject:  tok.Range.Ptr(),
				}}
			}
		case hclsyntax.TokenCParen, hclsyntax.TokenCBrack, hclsyntax.TokenCBrace,
			hclsyntax.TokenTemplateSeqEnd, hclsyntax.TokenCQuote, hclsyntax.TokenCHeredoc:
			if depth > 0 {
				depth--
			}
		}
	}
	return nil
}
