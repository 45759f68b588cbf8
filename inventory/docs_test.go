package inventory

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The YAML inventories of docs/language.md load, with no warning.
func TestDocYAMLInventories(t *testing.T) {
	b, err := os.ReadFile("../docs/language.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?ms)^```yaml\n(.*?)^```").FindAllStringSubmatch(string(b), -1)
	n := 0
	for _, m := range blocks {
		if !strings.HasPrefix(m[1], "# hosts.yml") {
			continue
		}
		n++
		inv, diags := Parse(filepath.Join(t.TempDir(), "hosts.yml"), []byte(m[1]), Options{SSHConfigPath: "none", Home: t.TempDir(), User: "me"})
		if len(diags) > 0 || len(inv.Hosts) == 0 {
			t.Errorf("docs/language.md YAML inventory: %v\n%s", diags, m[1])
		}
	}
	if n == 0 {
		t.Error("docs/language.md has no YAML inventory (```yaml starting # hosts.yml)")
	}
}
