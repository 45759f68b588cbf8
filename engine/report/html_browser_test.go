package report_test

import (
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runbook-hpc/runbook/engine/report"
)

// requireBrowserEnv set to 1 makes a missing Chromium a failure instead
// of a skip: `make test` installs Chromium (`make deps`) and sets it, so
// the screenshot test always runs there, while `go test ./...` on a fresh
// clone without a browser stays green.
const requireBrowserEnv = "RUNBOOK_REQUIRE_BROWSER"

// chromiumCandidates are the names the screenshot test looks for, in order.
var chromiumCandidates = []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"}

// chromium finds the browser the screenshot test drives (RUNBOOK_CHROMIUM,
// else the first of chromiumCandidates found). Without one the test is
// skipped, or fails when RUNBOOK_REQUIRE_BROWSER=1. Debian/Ubuntu:
// apt-get install chromium fonts-noto-cjk.
func chromium(t *testing.T) string {
	t.Helper()
	return findChromium(t, os.Getenv, exec.LookPath)
}

func findChromium(t testing.TB, getenv func(string) string, lookPath func(string) (string, error)) string {
	t.Helper()
	if p := getenv("RUNBOOK_CHROMIUM"); p != "" {
		return p // asked for by name: if it does not run, the test fails
	}
	for _, name := range chromiumCandidates {
		if p, err := lookPath(name); err == nil {
			return p
		}
	}
	msg := "no headless Chromium found (looked for " + strings.Join(chromiumCandidates, ", ") +
		"; or set RUNBOOK_CHROMIUM): install it with `apt-get install -y chromium fonts-noto-cjk` (`make deps`)"
	if getenv(requireBrowserEnv) == "1" {
		t.Fatal(msg + "; " + requireBrowserEnv + "=1 requires it")
	} else {
		t.Skip(msg + "; set " + requireBrowserEnv + "=1 to make this a failure")
	}
	return ""
}

// screenshot renders page in headless Chromium at width×height and
// returns the decoded PNG.
func screenshot(t *testing.T, browser, page string, width, height int) image.Image {
	t.Helper()
	dir := t.TempDir()
	htmlPath := filepath.Join(dir, "report.html")
	if err := os.WriteFile(htmlPath, []byte(page), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "shot.png")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--hide-scrollbars", "--force-device-scale-factor=1",
		"--user-data-dir="+filepath.Join(dir, "profile"),
		"--window-size="+strconv.Itoa(width)+","+strconv.Itoa(height),
		"--screenshot="+out,
		"file://"+htmlPath)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	log, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s failed: %v\n%s", browser, err, log)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatalf("no screenshot was written: %v\n%s", err, log)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("the screenshot is not a PNG: %v", err)
	}
	if keep := os.Getenv("RUNBOOK_SCREENSHOT_DIR"); keep != "" {
		b, _ := os.ReadFile(out)
		name := filepath.Join(keep, "report-"+strconv.Itoa(width)+"x"+strconv.Itoa(height)+".png")
		if err := os.WriteFile(name, b, 0o644); err != nil {
			t.Error(err)
		}
		t.Logf("screenshot kept as %s", name)
	}
	return img
}

// near reports whether a pixel is within tol of an sRGB colour.
func near(r, g, b uint32, want [3]uint32, tol uint32) bool {
	d := func(a, b uint32) uint32 {
		if a > b {
			return a - b
		}
		return b - a
	}
	return d(r>>8, want[0]) <= tol && d(g>>8, want[1]) <= tol && d(b>>8, want[2]) <= tol
}

// TestHTMLScreenshot renders a realistic failed phase2 report (Korean
// checklist lines, a failed step with a hint) in headless Chromium, on a
// desktop and on a phone, and checks the page really paints: a PNG of the
// window's size, many colours (text, code, tints), and the green and red
// of the status colours (ok pills and ticks, the failed banner and pill).
// RUNBOOK_SCREENSHOT_DIR=dir keeps the screenshots to look at.
func TestHTMLScreenshot(t *testing.T) {
	browser := chromium(t)
	r := phase2Run()
	r.BuildChecklist()
	page, err := report.HTML(r)
	if err != nil {
		t.Fatal(err)
	}
	green := [3]uint32{0x1a, 0x7f, 0x37} // --ok
	red := [3]uint32{0xcf, 0x22, 0x2e}   // --fail
	for _, size := range []struct {
		name          string
		width, height int
	}{{"desktop", 1280, 2000}, {"phone", 390, 2000}} {
		t.Run(size.name, func(t *testing.T) {
			img := screenshot(t, browser, string(page), size.width, size.height)
			bounds := img.Bounds()
			if bounds.Dx() != size.width || bounds.Dy() != size.height {
				t.Fatalf("screenshot is %dx%d, want %dx%d", bounds.Dx(), bounds.Dy(), size.width, size.height)
			}
			colours := map[[3]uint32]bool{}
			greens, reds, white := 0, 0, 0
			for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
				for x := bounds.Min.X; x < bounds.Max.X; x++ {
					r, g, b, _ := img.At(x, y).RGBA()
					colours[[3]uint32{r >> 8, g >> 8, b >> 8}] = true
					switch {
					case near(r, g, b, green, 6):
						greens++
					case near(r, g, b, red, 6):
						reds++
					case r>>8 >= 0xf0 && g>>8 >= 0xf0 && b>>8 >= 0xf0:
						white++
					}
				}
			}
			total := bounds.Dx() * bounds.Dy()
			t.Logf("%d colours; %d green, %d red, %d near-white of %d pixels", len(colours), greens, reds, white, total)
			if len(colours) <= 20 {
				t.Errorf("only %d distinct colours: the page looks blank", len(colours))
			}
			if white > total*97/100 {
				t.Errorf("%d of %d pixels are (near) white: the page looks blank", white, total)
			}
			// The failed banner alone is far more than this; the green
			// is the ok pills, the ticks and the tally bar.
			if reds < 20000 {
				t.Errorf("%d pixels of the failure red %x, want the failed banner", reds, red)
			}
			if greens < 300 {
				t.Errorf("%d pixels of the success green %x, want ok pills and ticks", greens, green)
			}
		})
	}
}

// tbRecorder records how findChromium ends a test, without ending this
// one (Skip and Fatal return here instead of stopping the goroutine).
type tbRecorder struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (r *tbRecorder) Helper()                      {}
func (r *tbRecorder) Skip(args ...any)             { r.skipped, r.msg = true, fmt.Sprint(args...) }
func (r *tbRecorder) Fatal(args ...any)            { r.failed, r.msg = true, fmt.Sprint(args...) }
func (r *tbRecorder) Skipf(f string, args ...any)  { r.Skip(fmt.Sprintf(f, args...)) }
func (r *tbRecorder) Fatalf(f string, args ...any) { r.Fatal(fmt.Sprintf(f, args...)) }

// A machine without Chromium skips the screenshot test (so `go test ./...`
// passes on a fresh clone) unless RUNBOOK_REQUIRE_BROWSER=1, which `make
// test` sets, makes it fail.
func TestChromiumMissing(t *testing.T) {
	env := func(vars map[string]string) func(string) string {
		return func(k string) string { return vars[k] }
	}
	none := func(string) (string, error) { return "", exec.ErrNotFound }

	var r tbRecorder
	if p := findChromium(&r, env(nil), none); p != "" || !r.skipped || r.failed {
		t.Errorf("no browser, nothing required: got %q, skipped=%v failed=%v; want a skip", p, r.skipped, r.failed)
	}
	if !strings.Contains(r.msg, "apt-get install") || !strings.Contains(r.msg, requireBrowserEnv) {
		t.Errorf("the skip does not say how to install a browser or require one: %q", r.msg)
	}

	r = tbRecorder{}
	if p := findChromium(&r, env(map[string]string{requireBrowserEnv: "1"}), none); p != "" || !r.failed || r.skipped {
		t.Errorf("no browser, %s=1: got %q, skipped=%v failed=%v; want a failure", requireBrowserEnv, p, r.skipped, r.failed)
	}

	// Found: no skip, no failure, whatever the variable says.
	r = tbRecorder{}
	look := func(name string) (string, error) {
		if name == "chromium-browser" {
			return "/opt/bin/chromium-browser", nil
		}
		return "", exec.ErrNotFound
	}
	if p := findChromium(&r, env(map[string]string{requireBrowserEnv: "1"}), look); p != "/opt/bin/chromium-browser" || r.failed || r.skipped {
		t.Errorf("browser on PATH: got %q, skipped=%v failed=%v", p, r.skipped, r.failed)
	}
	r = tbRecorder{}
	if p := findChromium(&r, env(map[string]string{"RUNBOOK_CHROMIUM": "/x/chrome"}), none); p != "/x/chrome" || r.failed || r.skipped {
		t.Errorf("RUNBOOK_CHROMIUM: got %q, skipped=%v failed=%v", p, r.skipped, r.failed)
	}
}
