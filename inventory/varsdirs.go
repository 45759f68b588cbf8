package inventory

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"go.yaml.in/yaml/v3"
)

// Ansible's host_group_vars plugin, which every Ansible inventory source
// gets: beside the inventory (in the directory of an inventory file, or
// in an inventory directory itself), group_vars/NAME and host_vars/NAME
// hold the variables of the group or host NAME. For each name, the first
// of these that exists is read:
//
//	NAME        a directory: every file in it and below, in sorted order,
//	            that has no extension or .yml, .yaml or .json (hidden
//	            files and ~ backups skipped); or a file
//	NAME.yml, NAME.yaml, NAME.json
//
// so group_vars/web/ hides group_vars/web.yml. Within one name, a later
// file's keys replace an earlier one's. Their precedence over the
// inventory's own variables is the builder's (see build).

// varsFileExts are the extensions of vars files, after none.
var varsFileExts = []string{".yml", ".yaml", ".json"}

// readVarsDirs fills b.groupFileVars and b.hostFileVars from the
// group_vars/ and host_vars/ directories in base.
func readVarsDirs(base string, b *builder) hcl.Diagnostics {
	var diags hcl.Diagnostics
	groups := []string{"all", "ungrouped"}
	for _, g := range b.groups {
		if !contains(groups, g.name) {
			groups = append(groups, g.name)
		}
	}
	hosts := make([]string, 0, len(b.hosts))
	for _, h := range b.hosts {
		hosts = append(hosts, h.name)
	}
	var d hcl.Diagnostics
	b.groupFileVars, d = readVarsDir(filepath.Join(base, "group_vars"), groups)
	diags = append(diags, d...)
	b.hostFileVars, d = readVarsDir(filepath.Join(base, "host_vars"), hosts)
	diags = append(diags, d...)
	return diags
}

// readVarsDir reads dir/NAME… for each name; names without files are not
// in the result.
func readVarsDir(dir string, names []string) (map[string]map[string]cty.Value, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	st, err := os.Stat(dir)
	if err != nil {
		return nil, nil // none: the usual case
	}
	if !st.IsDir() {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagWarning, Summary: "Not a directory",
			Detail: fmt.Sprintf("%s is not a directory; its variables are not read.", dir)}}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read variables", Detail: err.Error()}}
	}
	// One listing, looked up by name: host_vars beside 10,000 hosts must
	// not cost 40,000 stat calls.
	present := make(map[string]bool, len(entries))
	for _, e := range entries {
		present[e.Name()] = true
	}
	out := map[string]map[string]cty.Value{}
	for _, name := range names {
		files, d := varsFilesFor(dir, name, present)
		diags = append(diags, d...)
		if len(files) == 0 {
			continue
		}
		vars := map[string]cty.Value{}
		for _, f := range files {
			v, d := readVarsFile(f)
			diags = append(diags, d...)
			for k, val := range v {
				vars[k] = val
			}
		}
		out[name] = vars
	}
	return out, diags
}

// varsFilesFor is the files Ansible reads for one name (find_vars_files).
func varsFilesFor(dir, name string, present map[string]bool) ([]string, hcl.Diagnostics) {
	// Ansible skips names starting with a path separator; a name that
	// would leave the directory is skipped too.
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") {
		return nil, nil
	}
	for _, ext := range append([]string{""}, varsFileExts...) {
		if !present[name+ext] {
			continue
		}
		p := filepath.Join(dir, name+ext)
		st, err := os.Stat(p)
		if err != nil {
			continue // a dangling link: as if absent
		}
		if st.IsDir() {
			var files []string
			d := walkVarsDir(p, &files, 0)
			return files, d
		}
		return []string{p}, nil
	}
	return nil, nil
}

// walkVarsDir lists a vars directory's files as Ansible does
// (_get_dir_vars_files): sorted, recursively, files with no extension or
// a vars one, hidden files and ~ backups skipped.
func walkVarsDir(dir string, out *[]string, depth int) hcl.Diagnostics {
	if depth > MaxNesting {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Nested too deeply", Detail: fmt.Sprintf("%s: vars directories are nested more than %d levels deep.", dir, MaxNesting)}}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read variables", Detail: err.Error()}}
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	var diags hcl.Diagnostics
	for _, n := range names {
		if strings.HasPrefix(n, ".") || strings.HasSuffix(n, "~") {
			continue
		}
		p := filepath.Join(dir, n)
		st, err := os.Stat(p)
		if err != nil {
			continue
		}
		ext := filepath.Ext(n)
		switch {
		case st.IsDir() && ext == "":
			diags = append(diags, walkVarsDir(p, out, depth+1)...)
		case st.Mode().IsRegular() && (ext == "" || contains(varsFileExts, ext)):
			*out = append(*out, p)
		}
	}
	return diags
}

// vaultHeader starts a file encrypted with ansible-vault.
var vaultHeader = []byte("$ANSIBLE_VAULT;")

// readVarsFile reads one vars file: a YAML (or JSON) mapping of
// variables. An empty file, or one whose value is false or empty, has
// none (as in Ansible).
func readVarsFile(path string) (map[string]cty.Value, hcl.Diagnostics) {
	src, over, err := readCapped(path, MaxFileBytes)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read variables", Detail: err.Error()}}
	}
	if over {
		return nil, hcl.Diagnostics{tooLarge(path, src)}
	}
	if bytes.HasPrefix(bytes.TrimLeft(src, " \t\r\n"), vaultHeader) {
		y := newYAMLFile(path, src)
		y.warnAt(nil, "Encrypted file ignored", "This file is encrypted with ansible-vault and is not read: runbook takes secrets from environment variables (runbook_become_password_env and the like name them).")
		return nil, y.diags
	}
	y := newYAMLFile(path, src)
	root := y.decode()
	if y.diags.HasErrors() || root == nil || !y.truthy(root) {
		return nil, y.diags
	}
	if deref(root).Kind != yaml.MappingNode {
		y.errorAt(root, "Invalid variables file", fmt.Sprintf("A vars file is a mapping of variables (name: value); this one is %s.", y.describe(root)))
		return nil, y.diags
	}
	vars := map[string]cty.Value{}
	for _, e := range y.entries(root) {
		if d := rejectSecret(e.name, y.rng(e.key)); d != nil {
			y.diags = append(y.diags, d)
			continue
		}
		if v, ok := y.value(e.value, 0); ok {
			vars[e.name] = v
		}
	}
	return vars, y.diags
}
