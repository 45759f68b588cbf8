package inventory

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// The INI inventory of docs/language.md loads with no warning, and reads
// as the text around it says.
func TestDocINIInventory(t *testing.T) {
	b, err := os.ReadFile("../docs/language.md")
	if err != nil {
		t.Fatal(err)
	}
	var src string
	for _, m := range regexp.MustCompile("(?ms)^```ini\n(.*?)^```").FindAllStringSubmatch(string(b), -1) {
		if strings.HasPrefix(m[1], "# hosts.ini") {
			src = m[1]
		}
	}
	if src == "" {
		t.Fatal("docs/language.md has no INI inventory (```ini starting # hosts.ini)")
	}
	inv, diags := Parse(filepath.Join(t.TempDir(), "hosts.ini"), []byte(src), Options{SSHConfigPath: "none", Home: t.TempDir(), User: "me"})
	if len(diags) > 0 {
		t.Fatalf("docs/language.md INI inventory: %v\n%s", diags, src)
	}
	if len(inv.Hosts) != 1+2+128+8 {
		t.Errorf("%d hosts", len(inv.Hosts))
	}
	if h := inv.Host("ctl2.example.org"); h == nil || h.Port != 2222 {
		t.Errorf("[ctl2.example.org]:2222 = %+v", h)
	}
	g := inv.Host("gpu03")
	if g == nil || !g.Vars["gpus"].RawEquals(cty.NumberIntVal(4)) || !g.Vars["cpus"].RawEquals(cty.NumberIntVal(64)) || g.Vars["gres"].AsString() != "gpu:a100:4" {
		t.Errorf("gpu03 vars %#v", g.Vars)
	}
	if sel, err := inv.Select([]string{"cluster"}); err != nil || len(sel) != 2+128+8 {
		t.Errorf("cluster: %d hosts, %v", len(sel), err)
	}
}
