package slurm

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fixture is one captured command run: testdata/DIR/NAME.{stdout,stderr,rc}.
type fixture struct {
	stdout, stderr []byte
	rc             int
}

func load(tb testing.TB, name string) fixture {
	tb.Helper()
	read := func(ext string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name+"."+ext))
		if err != nil {
			tb.Fatalf("fixture %s: %v", name, err)
		}
		return b
	}
	rc, err := strconv.Atoi(strings.TrimSpace(string(read("rc"))))
	if err != nil {
		tb.Fatalf("fixture %s: rc: %v", name, err)
	}
	return fixture{stdout: read("stdout"), stderr: read("stderr"), rc: rc}
}
