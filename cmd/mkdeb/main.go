// Command mkdeb packs a built runbook binary into a Debian package
// (`make deb`). It is a build tool: the package does not install it.
//
//	go run ./cmd/mkdeb -binary bin/deb/runbook -out dist
//
// It asks the binary for its version (`runbook version`), man pages
// (`runbook man DIR`, hidden) and shell completions (`runbook completion
// bash|zsh|fish`), so the package describes exactly the program it holds,
// and writes OUT/runbook_<version>_<arch>.deb with nfpm's deb packager:
//
//	/usr/bin/runbook
//	/usr/share/man/man1/runbook*.1.gz
//	/usr/share/bash-completion/completions/runbook
//	/usr/share/zsh/vendor-completions/_runbook
//	/usr/share/fish/vendor_completions.d/runbook.fish
//	/usr/share/runbook/             the runbooks (runbooks/ without tests)
//	/usr/share/doc/runbook/         README.md, CHANGELOG.md, docs/, copyright
//
// File times are SOURCE_DATE_EPOCH when set, else the source tree's last
// commit, so the same commit packs to the same bytes.
package main

import (
	"bytes"
	"compress/gzip"
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"
)

const description = `Provision HPC clusters from HCL runbooks, with an evidence-backed checklist
runbook turns a hand-run HPC guide into code. Runbooks are HCL files an
admin can read and edit; runbook plans them against the live cluster,
applies them over SSH (or locally), and writes a completion checklist
that is ticked only on evidence gathered in that run.
.
The example runbooks, among them Phase 2 of a Slurm QoS bring-up, are
in /usr/share/runbook.`

func main() {
	binary := flag.String("binary", "bin/runbook", "the runbook binary to pack")
	src := flag.String("src", ".", "the source tree (README.md, CHANGELOG.md, docs/, runbooks/)")
	out := flag.String("out", "dist", "the directory to write the .deb into")
	maintainer := flag.String("maintainer", "The runbook authors <maintainers@runbook.invalid>", "the package's Maintainer field (name <address>)")
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: mkdeb [-binary FILE] [-src DIR] [-out DIR] [-maintainer NAME]")
		os.Exit(2)
	}
	path, err := build(*binary, *src, *out, *maintainer)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkdeb: "+err.Error())
		os.Exit(1)
	}
	fmt.Println(path)
}

func build(binary, src, out, maintainer string) (string, error) {
	binary, err := filepath.Abs(binary)
	if err != nil {
		return "", err
	}
	version, err := binaryVersion(binary)
	if err != nil {
		return "", err
	}
	arch, depends, err := elfFacts(binary)
	if err != nil {
		return "", err
	}
	mtime := sourceDate(src)

	stage, err := os.MkdirTemp("", "mkdeb-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(stage)

	p := &pack{mtime: mtime}
	p.add(binary, "/usr/bin/runbook", 0o755)

	// Man pages, gzipped as Debian wants them (-9n: no name, no time).
	manDir := filepath.Join(stage, "man1")
	if _, err := runBinary(binary, mtime, "man", manDir); err != nil {
		return "", err
	}
	pages, _ := filepath.Glob(filepath.Join(manDir, "*.1"))
	if len(pages) == 0 {
		return "", fmt.Errorf("%s man wrote no page", binary)
	}
	for _, page := range pages {
		b, err := os.ReadFile(page)
		if err != nil {
			return "", err
		}
		gz, err := gzipped(b)
		if err != nil {
			return "", err
		}
		dst := filepath.Join(stage, filepath.Base(page)+".gz")
		if err := os.WriteFile(dst, gz, 0o644); err != nil {
			return "", err
		}
		p.add(dst, "/usr/share/man/man1/"+filepath.Base(dst), 0o644)
	}

	for _, c := range []struct{ shell, dest string }{
		{"bash", "/usr/share/bash-completion/completions/runbook"},
		{"zsh", "/usr/share/zsh/vendor-completions/_runbook"},
		{"fish", "/usr/share/fish/vendor_completions.d/runbook.fish"},
	} {
		script, err := runBinary(binary, mtime, "completion", c.shell)
		if err != nil {
			return "", err
		}
		dst := filepath.Join(stage, "completion."+c.shell)
		if err := os.WriteFile(dst, script, 0o644); err != nil {
			return "", err
		}
		p.add(dst, c.dest, 0o644)
	}

	// The runbooks, with the files they read (phase2/…), not their tests.
	rbDir := filepath.Join(src, "runbooks")
	err = filepath.WalkDir(rbDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if path != rbDir && (strings.HasPrefix(name, ".") || d.IsDir() && name == "testdata") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !d.Type().IsRegular() || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		rel, err := filepath.Rel(rbDir, path)
		if err != nil {
			return err
		}
		p.add(path, "/usr/share/runbook/"+filepath.ToSlash(rel), 0o644)
		return nil
	})
	if err != nil {
		return "", err
	}

	// Documentation, laid out as in the source so README.md's links work.
	const doc = "/usr/share/doc/runbook/"
	p.add(filepath.Join(src, "README.md"), doc+"README.md", 0o644)
	p.add(filepath.Join(src, "CHANGELOG.md"), doc+"CHANGELOG.md", 0o644)
	// Debian's changelog of a native package: one entry, this build,
	// pointing at CHANGELOG.md.
	if err := p.addData(stage, []byte(debianChangelog(debVersion(version), maintainer, mtime)), true, doc+"changelog.gz", 0o644); err != nil {
		return "", err
	}
	docs, _ := filepath.Glob(filepath.Join(src, "docs", "*.md"))
	for _, d := range docs {
		p.add(d, doc+"docs/"+filepath.Base(d), 0o644)
	}
	notice, err := copyrightNotice(filepath.Join(src, "LICENSE"))
	if err != nil {
		return "", err
	}
	if err := p.addData(stage, []byte(copyrightFile(notice, binary)), false, doc+"copyright", 0o644); err != nil {
		return "", err
	}
	// The phase2 job script template starts with #! but is no script.
	if err := p.addData(stage, []byte(lintianOverrides), false, "/usr/share/lintian/overrides/runbook", 0o644); err != nil {
		return "", err
	}
	for _, c := range p.contents {
		if _, err := os.Stat(c.Source); err != nil {
			return "", err
		}
	}

	info := &nfpm.Info{
		Name:            "runbook",
		Arch:            arch,
		Platform:        "linux",
		Version:         debVersion(version),
		VersionSchema:   "none",
		Section:         "admin",
		Priority:        "optional",
		Maintainer:      maintainer,
		Description:     description,
		License:         "Apache-2.0",
		DisableGlobbing: true,
		MTime:           mtime,
		Overridables: nfpm.Overridables{
			Depends:  depends,
			Suggests: []string{"bash-completion"},
			Contents: p.contents,
			Umask:    0o022,
		},
	}
	if err := nfpm.Validate(info); err != nil {
		return "", err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	name := filepath.Join(out, deb.Default.ConventionalFileName(info))
	tmp, err := os.CreateTemp(out, ".runbook-*.deb")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if err := deb.Default.Package(info, tmp); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	return name, os.Rename(tmp.Name(), name)
}

// pack collects the package's files.
type pack struct {
	mtime    time.Time
	contents files.Contents
}

func (p *pack) add(src, dst string, mode os.FileMode) {
	p.contents = append(p.contents, &files.Content{
		Source:      src,
		Destination: dst,
		Type:        files.TypeFile,
		FileInfo:    &files.ContentFileInfo{Owner: "root", Group: "root", Mode: mode, MTime: p.mtime},
	})
}

// addData adds a generated file (gzipped when gz), staged under stage.
func (p *pack) addData(stage string, data []byte, gz bool, dst string, mode os.FileMode) error {
	if gz {
		var err error
		if data, err = gzipped(data); err != nil {
			return err
		}
	}
	f, err := os.CreateTemp(stage, "data-")
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	p.add(f.Name(), dst, mode)
	return nil
}

const lintianOverrides = `# a template of the test job's batch script (templatefile), not a script to run
runbook: script-not-executable [usr/share/runbook/phase2/test_moonlight_qos.sh.tftpl]
`

// runBinary runs the binary being packed, with SOURCE_DATE_EPOCH set so
// what it generates (the man pages' date) is reproducible.
func runBinary(binary string, mtime time.Time, args ...string) ([]byte, error) {
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH="+strconv.FormatInt(mtime.Unix(), 10), "NO_COLOR=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v: %s", binary, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// binaryVersion is what `runbook version` prints after "runbook ".
func binaryVersion(binary string) (string, error) {
	out, err := runBinary(binary, time.Unix(0, 0), "version")
	if err != nil {
		return "", err
	}
	v, ok := strings.CutPrefix(strings.TrimSpace(string(out)), "runbook ")
	if !ok || v == "" || strings.ContainsAny(v, " \n") {
		return "", fmt.Errorf("%s version printed %q, not \"runbook VERSION\"", binary, out)
	}
	return v, nil
}

// describe is git describe's form past a tag: TAG-N-gHASH.
var describe = regexp.MustCompile(`^(.+)-([0-9]+)-g([0-9a-f]+)$`)

// debVersion turns runbook's version (semantic versioning, or git
// describe's form past a tag) into a Debian version that sorts the same
// way: a pre-release sorts before its release (0.2.0-rc.1 → 0.2.0~rc.1),
// commits past a tag after it (0.2.0-3-gabc1234 → 0.2.0+3.gabc1234), and
// uncommitted changes are marked (+dirty / .dirty). A hyphen would start
// a Debian revision, so none is left; a version that does not start with
// a digit (dev) gets 0~ in front, below every release.
func debVersion(v string) string {
	v = strings.TrimPrefix(v, "v")
	dirty := false
	if s, ok := strings.CutSuffix(v, "-dirty"); ok {
		v, dirty = s, true
	}
	var build []string
	if m := describe.FindStringSubmatch(v); m != nil {
		v = m[1]
		build = append(build, m[2], "g"+m[3])
	}
	core, meta, _ := strings.Cut(v, "+")
	if meta != "" {
		build = append([]string{meta}, build...)
	}
	if dirty {
		build = append(build, "dirty")
	}
	if base, pre, ok := strings.Cut(core, "-"); ok {
		core = base + "~" + pre
	}
	out := core
	if len(build) > 0 {
		out += "+" + strings.Join(build, ".")
	}
	out = strings.Map(func(r rune) rune {
		switch {
		case r >= '0' && r <= '9', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '.', r == '+', r == '~':
			return r
		}
		return '.'
	}, out)
	if out == "" || out[0] < '0' || out[0] > '9' {
		out = "0~" + out
	}
	return out
}

// elfFacts reads the binary's Debian architecture and, when it is linked
// against the C library, the libc6 it needs (the newest GLIBC_ symbol
// version it imports).
func elfFacts(binary string) (arch string, depends []string, err error) {
	f, err := elf.Open(binary)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", binary, err)
	}
	defer f.Close()
	switch f.Machine {
	case elf.EM_X86_64:
		arch = "amd64"
	case elf.EM_AARCH64:
		arch = "arm64"
	case elf.EM_386:
		arch = "i386"
	case elf.EM_PPC64:
		arch = "ppc64el"
	case elf.EM_RISCV:
		arch = "riscv64"
	case elf.EM_S390:
		arch = "s390x"
	default:
		return "", nil, fmt.Errorf("%s: no Debian architecture for machine %v", binary, f.Machine)
	}
	libs, err := f.ImportedLibraries()
	if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
		return "", nil, err
	}
	for _, l := range libs {
		if l != "libc.so.6" {
			continue
		}
		need := "libc6"
		syms, _ := f.DynamicSymbols()
		best := []int{0}
		for _, s := range syms {
			if v, ok := strings.CutPrefix(s.Version, "GLIBC_"); ok {
				if n := versionInts(v); n != nil && lessInts(best, n) {
					best = n
				}
			}
		}
		if best[0] > 0 {
			parts := make([]string, len(best))
			for i, n := range best {
				parts[i] = strconv.Itoa(n)
			}
			need += " (>= " + strings.Join(parts, ".") + ")"
		}
		depends = append(depends, need)
	}
	return arch, depends, nil
}

func versionInts(v string) []int {
	var out []int
	for _, p := range strings.Split(v, ".") {
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil
		}
		out = append(out, n)
	}
	return out
}

func lessInts(a, b []int) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return len(a) < len(b)
}

// sourceDate is SOURCE_DATE_EPOCH, else the time of the source tree's last
// commit, else now.
func sourceDate(src string) time.Time {
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return time.Unix(n, 0).UTC()
		}
	}
	if out, err := exec.Command("git", "-C", src, "log", "-1", "--format=%ct").Output(); err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil {
			return time.Unix(n, 0).UTC()
		}
	}
	return time.Now().UTC().Truncate(time.Second)
}

// gzipped is b compressed as gzip -9n does it.
func gzipped(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// debianChangelog is /usr/share/doc/runbook/changelog.gz (before
// compression) in the format dpkg-parsechangelog reads.
func debianChangelog(version, maintainer string, date time.Time) string {
	return fmt.Sprintf(`runbook (%s) unstable; urgency=medium

  * Built from the upstream source; its changes are listed in
    /usr/share/doc/runbook/CHANGELOG.md.

 -- %s  %s
`, version, maintainer, date.UTC().Format("Mon, 02 Jan 2006 15:04:05 -0700"))
}

// copyrightNotice is the holder line of LICENSE's notice ("2026 The
// runbook authors" from "Copyright 2026 The runbook authors").
func copyrightNotice(license string) (string, error) {
	b, err := os.ReadFile(license)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if n, ok := strings.CutPrefix(strings.TrimSpace(line), "Copyright "); ok && n != "" && n[0] >= '0' && n[0] <= '9' {
			return n, nil
		}
	}
	return "", fmt.Errorf("%s has no line \"Copyright YEAR HOLDER\"", license)
}

// copyrightFile is /usr/share/doc/runbook/copyright in Debian's
// machine-readable format: runbook's own license, and the Go modules
// compiled into the binary (from its build information) under theirs.
func copyrightFile(notice, binary string) string {
	var b strings.Builder
	b.WriteString(`Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: runbook

Files: *
Copyright: ` + notice + `
License: Apache-2.0
`)
	if info, err := buildinfo.ReadFile(binary); err == nil && len(info.Deps) > 0 {
		var mods []string
		for _, d := range info.Deps {
			if d.Replace != nil {
				d = d.Replace
			}
			mods = append(mods, d.Path+" "+d.Version)
		}
		sort.Strings(mods)
		b.WriteString("Comment: /usr/bin/runbook is statically linked with these Go modules,\n each under its own license (see each module's LICENSE file):\n")
		for _, m := range mods {
			b.WriteString(" " + m + "\n")
		}
	}
	b.WriteString(`
License: Apache-2.0
 Licensed under the Apache License, Version 2.0 (the "License");
 you may not use this file except in compliance with the License.
 You may obtain a copy of the License at
 .
     http://www.apache.org/licenses/LICENSE-2.0
 .
 Unless required by applicable law or agreed to in writing, software
 distributed under the License is distributed on an "AS IS" BASIS,
 WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 See the License for the specific language governing permissions and
 limitations under the License.
 .
 On Debian systems, the full text of the Apache License, Version 2.0
 can be found in /usr/share/common-licenses/Apache-2.0.
`)
	return b.String()
}
