package inventory

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Format is an inventory file format.
type Format int

const (
	FormatHCL Format = iota + 1
	FormatINI
	// FormatYAML is Ansible's YAML inventory (JSON too, which is YAML).
	FormatYAML
)

var hclBlockRe = regexp.MustCompile(`(?m)^\s*(host|group)\s+"`)

// DetectFormat picks the format from the extension (.hcl; .ini, .cfg;
// .yml, .yaml, .json), and otherwise from the content: HCL blocks
// `host "..." {`, YAML (a first line "all:" or "---", or JSON), else INI.
func DetectFormat(path string, src []byte) (Format, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".hcl":
		return FormatHCL, nil
	case ".ini", ".cfg":
		return FormatINI, nil
	case ".yml", ".yaml", ".json":
		return FormatYAML, nil
	case ".toml":
		return 0, fmt.Errorf("%s: TOML inventories are not supported; use YAML, INI or HCL", path)
	}
	if hclBlockRe.Match(src) {
		return FormatHCL, nil
	}
	if looksYAML(src) || bytes.HasPrefix(bytes.TrimSpace(src), []byte("{")) {
		return FormatYAML, nil
	}
	return FormatINI, nil
}

// Load reads the inventory at path and resolves every host. path is a
// file (HCL, Ansible INI or YAML), a directory of Ansible inventory files,
// or a comma-separated list of hosts ("ctl1,ctl2," as ansible -i takes
// it). Beside an Ansible inventory, group_vars/ and host_vars/ are read
// (varsdirs.go). The diagnostics carry file:line; check
// diags.HasErrors() (warnings, e.g. an ignored password in an INI file,
// come back with a usable inventory).
func Load(path string, opts Options) (*Inventory, hcl.Diagnostics) {
	if IsHostList(path) {
		return loadHostList(path, opts)
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return loadDir(path, opts)
	}
	src, over, err := readCapped(path, MaxFileBytes)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read inventory", Detail: err.Error()}}
	}
	if over {
		return nil, hcl.Diagnostics{tooLarge(path, src)}
	}
	return parse(path, src, opts, true)
}

// Parse is Load on the content of one file already read (path names it
// in messages and anchors relative key paths); it does not read
// group_vars/ or host_vars/.
func Parse(path string, src []byte, opts Options) (*Inventory, hcl.Diagnostics) {
	return parse(path, src, opts, false)
}

func parse(path string, src []byte, opts Options, varsDirs bool) (*Inventory, hcl.Diagnostics) {
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
	diags = append(diags, parseFormat(format, path, src, b)...)
	if diags.HasErrors() {
		return nil, diags
	}
	if varsDirs && format != FormatHCL {
		diags = append(diags, readVarsDirs(filepath.Dir(path), b)...)
	}
	return finish(b, diags)
}

func parseFormat(format Format, path string, src []byte, b *builder) hcl.Diagnostics {
	switch format {
	case FormatHCL:
		return parseHCL(path, src, b)
	case FormatINI:
		return parseINI(path, src, b)
	case FormatYAML:
		return parseYAML(path, src, b)
	}
	return nil
}

// finish builds the inventory from what was read.
func finish(b *builder, diags hcl.Diagnostics) (*Inventory, hcl.Diagnostics) {
	if diags.HasErrors() {
		return nil, diags
	}
	if b.connVars != nil {
		reconcileUngrouped(b)
	}
	inv, d := b.build()
	diags = append(diags, d...)
	if diags.HasErrors() {
		return nil, diags
	}
	applyOverrides(inv, b.opts)
	return inv, diags
}

// reconcileUngrouped does what Ansible does once an inventory is read: a
// host listed under ungrouped that is also in another group is not
// ungrouped.
func reconcileUngrouped(b *builder) {
	var ungrouped *rawGroup
	grouped := map[string]bool{}
	for _, g := range b.groups {
		switch g.name {
		case "ungrouped":
			ungrouped = g
		case "all":
		default:
			for _, h := range g.hosts {
				grouped[h] = true
			}
		}
	}
	if ungrouped == nil {
		return
	}
	kept := ungrouped.hosts[:0]
	for _, h := range ungrouped.hosts {
		if !grouped[h] {
			kept = append(kept, h)
		}
	}
	ungrouped.hosts = kept
}

// applyOverrides gives every host reached over SSH the login user and key
// of Options (the CLI's -u and --private-key). Jump hosts keep their own,
// as with ssh -l and -i.
func applyOverrides(inv *Inventory, opts Options) {
	if opts.RemoteUser == "" && opts.PrivateKey == "" {
		return
	}
	key := opts.PrivateKey
	if key != "" {
		key = expandTilde(key, opts.home())
		if abs, err := filepath.Abs(key); err == nil {
			key = abs
		}
	}
	for _, h := range inv.Hosts {
		if h.Local {
			continue
		}
		if opts.RemoteUser != "" {
			h.User = opts.RemoteUser
		}
		if key != "" {
			h.IdentityFiles = []string{key}
		}
	}
}

// loadHostList is Load of "ctl1,ctl2:2222,".
func loadHostList(list string, opts Options) (*Inventory, hcl.Diagnostics) {
	sc, diags := loadSSHConfig(opts)
	b := &builder{path: list, opts: opts, ssh: sc}
	if wd, err := os.Getwd(); err == nil {
		b.dir = wd
	}
	diags = append(diags, parseHostList(list, b)...)
	return finish(b, diags)
}

// loadDir reads a directory as Ansible reads one given to -i: every file
// in it and in its subdirectories, in sorted order, is an inventory
// source, and they make one inventory (a host or group in two files is
// one, with the variables of both, the later file's winning). Hidden
// files, group_vars/, host_vars/ and the extensions Ansible ignores
// there (.ini, .cfg, .md, .txt, .bak, ~, …) are skipped; group_vars/ and
// host_vars/ in the directory itself are read.
func loadDir(dir string, opts Options) (*Inventory, hcl.Diagnostics) {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	sc, diags := loadSSHConfig(opts)
	b := &builder{path: dir, dir: dir, opts: opts, ssh: sc}
	files, err := inventoryDirFiles(dir)
	if err != nil {
		return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read inventory", Detail: err.Error()})
	}
	if len(files) == 0 {
		return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No inventory files",
			Detail: fmt.Sprintf("%s holds no inventory file. As in Ansible, a directory's files ending in %s are skipped: name an INI inventory without an extension (hosts), or give the file itself to -i.", dir, strings.Join(ignoredInDir, " "))})
	}
	for _, f := range files {
		src, over, err := readCapped(f, MaxFileBytes)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read inventory", Detail: err.Error()})
			continue
		}
		if over {
			diags = append(diags, tooLarge(f, src))
			continue
		}
		rng := hcl.Range{Filename: f, Start: hcl.InitialPos, End: hcl.Pos{Line: 1, Column: 1, Byte: 0}}
		if bytes.HasPrefix(src, []byte("#!")) {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Inventory script", Subject: rangePtr(rng),
				Detail: "This file is a script (#!); runbook reads static inventories only and does not run inventory scripts."})
			continue
		}
		format, err := DetectFormat(f, src)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unsupported inventory format", Detail: err.Error(), Subject: rangePtr(rng)})
			continue
		}
		if format == FormatHCL {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "HCL inventory in a directory", Subject: rangePtr(rng),
				Detail: "An inventory directory holds Ansible inventories (YAML, INI); give an HCL inventory to -i itself."})
			continue
		}
		fb := &builder{path: f, opts: opts, ssh: sc}
		diags = append(diags, parseFormat(format, f, src, fb)...)
		mergeBuilder(b, fb)
	}
	if diags.HasErrors() {
		return nil, diags
	}
	diags = append(diags, readVarsDirs(dir, b)...)
	return finish(b, diags)
}

// mergeBuilder adds what one file of a directory declared to the whole.
func mergeBuilder(dst, src *builder) {
	if src.connVars != nil {
		dst.connVars = src.connVars
	}
	hosts := make(map[string]*rawHost, len(dst.hosts))
	for _, h := range dst.hosts {
		hosts[h.name] = h
	}
	for _, h := range src.hosts {
		d := hosts[h.name]
		if d == nil {
			hosts[h.name] = h
			dst.hosts = append(dst.hosts, h)
			continue
		}
		for k, v := range h.vars {
			d.vars[k] = v
		}
	}
	groups := make(map[string]*rawGroup, len(dst.groups))
	for _, g := range dst.groups {
		groups[g.name] = g
	}
	for _, g := range src.groups {
		d := groups[g.name]
		if d == nil {
			groups[g.name] = g
			dst.groups = append(dst.groups, g)
			continue
		}
		for _, h := range g.hosts {
			if !contains(d.hosts, h) {
				d.hosts = append(d.hosts, h)
			}
		}
		for _, c := range g.children {
			if !contains(d.children, c) {
				d.children = append(d.children, c)
			}
		}
		for k, v := range g.vars {
			d.vars[k] = v
		}
	}
}

// ignoredInDir are the endings of the files Ansible skips in an
// inventory directory (INVENTORY_IGNORE_EXTS).
var ignoredInDir = []string{".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".ini", ".cfg", ".retry"}

// skippedInDir says whether Ansible skips an entry of an inventory
// directory.
func skippedInDir(name string) bool {
	if strings.HasPrefix(name, ".") || name == "group_vars" || name == "host_vars" || name == "vars_plugins" {
		return true
	}
	for _, ext := range ignoredInDir {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// maxDirFiles bounds the files read from one inventory directory.
const maxDirFiles = 10000

// inventoryDirFiles lists the inventory files of a directory, in the
// order Ansible reads them (sorted at each level, depth first).
func inventoryDirFiles(dir string) ([]string, error) {
	var out []string
	var walk func(string, int) error
	walk = func(d string, depth int) error {
		if depth > MaxNesting {
			return fmt.Errorf("%s: directories nested more than %d levels deep", d, MaxNesting)
		}
		entries, err := os.ReadDir(d)
		if err != nil {
			return err
		}
		names := make([]string, 0, len(entries))
		for _, e := range entries {
			names = append(names, e.Name())
		}
		sort.Strings(names)
		for _, n := range names {
			if skippedInDir(n) {
				continue
			}
			p := filepath.Join(d, n)
			st, err := os.Stat(p)
			if err != nil {
				continue
			}
			if st.IsDir() {
				if err := walk(p, depth+1); err != nil {
					return err
				}
				continue
			}
			if len(out) >= maxDirFiles {
				return fmt.Errorf("%s: more than %d inventory files", dir, maxDirFiles)
			}
			out = append(out, p)
		}
		return nil
	}
	return out, walk(dir, 0)
}

// SourceDigest identifies an inventory's content, for a saved plan to
// check that apply reads the inventory plan read: source is the -i
// argument as a plan records it (a file's or directory's absolute path,
// a host list as given), digest a SHA-256 (hex) of every file the
// inventory is read from, group_vars/ and host_vars/ included. For a
// single file without such directories it is the file's own SHA-256, as
// plans have always recorded.
func SourceDigest(path string) (source, digest string, err error) {
	if IsHostList(path) {
		sum := sha256.Sum256([]byte("runbook host list\x00" + path))
		return path, hex.EncodeToString(sum[:]), nil
	}
	source, err = filepath.Abs(path)
	if err != nil {
		return "", "", err
	}
	st, err := os.Stat(source)
	if err != nil {
		return "", "", err
	}
	var files []string
	base := source
	if st.IsDir() {
		if files, err = inventoryDirFiles(source); err != nil {
			return "", "", err
		}
	} else {
		files = []string{source}
		base = filepath.Dir(source)
		src, _, err := readCapped(source, MaxFileBytes)
		if err != nil {
			return "", "", err
		}
		if f, _ := DetectFormat(source, src); f == FormatHCL {
			base = "" // HCL inventories are read alone
		}
	}
	if base != "" {
		for _, sub := range []string{"group_vars", "host_vars"} {
			vars, err := varsDirAllFiles(filepath.Join(base, sub))
			if err != nil {
				return "", "", err
			}
			files = append(files, vars...)
		}
	}
	if len(files) == 1 && files[0] == source {
		sum, err := fileSHA256(source)
		return source, sum, err
	}
	h := sha256.New()
	fmt.Fprintf(h, "runbook inventory\x00")
	for _, f := range files {
		sum, err := fileSHA256(f)
		if err != nil {
			return "", "", err
		}
		rel, _ := filepath.Rel(source, f)
		fmt.Fprintf(h, "%s\x00%s\n", rel, sum)
	}
	return source, hex.EncodeToString(h.Sum(nil)), nil
}

// varsDirAllFiles is every file under a group_vars/ or host_vars/ that
// Ansible could read, whichever group or host it belongs to.
func varsDirAllFiles(dir string) ([]string, error) {
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return nil, nil
	}
	var out []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir && (strings.HasPrefix(d.Name(), ".") || strings.HasSuffix(d.Name(), "~")) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() {
			if len(out) >= maxDirFiles {
				return fmt.Errorf("%s: more than %d files", dir, maxDirFiles)
			}
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

// fileSHA256 is the hex SHA-256 of a file, read up to MaxFileBytes.
func fileSHA256(path string) (string, error) {
	src, over, err := readCapped(path, MaxFileBytes)
	if err != nil {
		return "", err
	}
	if over {
		return "", fmt.Errorf("%s is larger than %d MiB", path, MaxFileBytes>>20)
	}
	sum := sha256.Sum256(src)
	return hex.EncodeToString(sum[:]), nil
}

// EnvInventory names the variable consulted when there is no -i.
const EnvInventory = "RUNBOOK_INVENTORY"

// Locate finds the inventory for a run: the -i path, else
// $RUNBOOK_INVENTORY, else inventory.hcl beside the runbook. "" (with a
// nil error) means there is none: run on the local host (LocalInventory).
// A path given explicitly (flag or variable) must exist, unless it is a
// list of hosts (IsHostList); it may be a directory.
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
	if IsHostList(p) {
		return p, nil
	}
	_, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		hint := ""
		if !strings.ContainsAny(p, "/\\") && !strings.Contains(filepath.Base(p), ".") {
			hint = fmt.Sprintf(" (a host list ends with a comma: -i %s,)", p)
			if from != "-i" {
				hint = fmt.Sprintf(" (a host list ends with a comma: %s=%s,)", strings.TrimPrefix(from, "$"), p)
			}
		}
		return "", fmt.Errorf("inventory %s (from %s) does not exist%s", p, from, hint)
	}
	if err != nil {
		return "", fmt.Errorf("inventory %s (from %s): %w", p, from, err)
	}
	return p, nil
}
