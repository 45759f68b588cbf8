package inventory

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Format is an inventory file format.
type Format int

const (
	FormatHCL Format = iota + 1
	FormatINI
)

var hclBlockRe = regexp.MustCompile(`(?m)^\s*(host|group)\s+"`)

// DetectFormat picks the format from the extension (.hcl; .ini, .cfg),
// and otherwise from the content: HCL blocks `host "..." {` or INI.
func DetectFormat(path string, src []byte) (Format, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".hcl":
		return FormatHCL, nil
	case ".ini", ".cfg":
		return FormatINI, nil
	case ".yml", ".yaml", ".json":
		return 0, fmt.Errorf("%s: YAML/JSON inventories are not supported; use HCL or Ansible INI", path)
	}
	if hclBlockRe.Match(src) {
		return FormatHCL, nil
	}
	return FormatINI, nil
}

// Load reads the inventory at path and resolves every host. The
// diagnostics carry file:line; check diags.HasErrors() (warnings, e.g. an
// ignored password in an INI file, come back with a usable inventory).
func Load(path string, opts Options) (*Inventory, hcl.Diagnostics) {
	src, over, err := readCapped(path, MaxFileBytes)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read inventory", Detail: err.Error()}}
	}
	if over {
		return nil, hcl.Diagnostics{tooLarge(path, src)}
	}
	return Parse(path, src, opts)
}

// Parse is Load on content already read (path names it in messages and
// anchors relative key paths).
func Parse(path string, src []byte, opts Options) (*Inventory, hcl.Diagnostics) {
	format, err := DetectFormat(path, src)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Unsupported inventory format", Detail: err.Error()}}
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	if len(src) > MaxFileBytes {
		return nil, hcl.Diagnostics{tooLarge(path, src[:MaxFileBytes])}
	}
	sc, diags := loadSSHConfig(opts)
	b := &builder{path: path, opts: opts, ssh: sc}
	switch format {
	case FormatHCL:
		diags = append(diags, parseHCL(path, src, b)...)
	case FormatINI:
		diags = append(diags, parseINI(path, src, b)...)
	}
	if diags.HasErrors() {
		return nil, diags
	}
	inv, d := b.build()
	diags = append(diags, d...)
	if diags.HasErrors() {
		return nil, diags
	}
	return inv, diags
}

// EnvInventory names the variable consulted when there is no -i.
const EnvInventory = "RUNBOOK_INVENTORY"

// Locate finds the inventory for a run: the -i path, else
// $RUNBOOK_INVENTORY, else inventory.hcl beside the runbook. "" (with a
// nil error) means there is none: run on the local host (LocalInventory).
// A path given explicitly (flag or variable) must exist.
func Locate(explicitPath, runbookPath string) (string, error) {
	if explicitPath != "" {
		return mustExist(explicitPath, "-i")
	}
	if p := os.Getenv(EnvInventory); p != "" {
		return mustExist(p, "$"+EnvInventory)
	}
	if runbookPath != "" {
		p := filepath.Join(filepath.Dir(runbookPath), "inventory.hcl")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", nil
}

func mustExist(p, from string) (string, error) {
	st, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("inventory %s (from %s) does not exist", p, from)
	}
	if err != nil {
		return "", fmt.Errorf("inventory %s (from %s): %w", p, from, err)
	}
	if st.IsDir() {
		return "", fmt.Errorf("inventory %s (from %s) is a directory", p, from)
	}
	return p, nil
}
