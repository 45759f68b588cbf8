package report_test

import (
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/runbook-hpc/runbook/engine/report"
)

// chromium finds the browser the screenshot test drives. The test fails,
// never skips, without one: CI installs it (Debian/Ubuntu: apt-get install
// chromium fonts-noto-cjk).
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("RUNBOOK_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no headless Chromium found (looked for /usr/bin/chromium, chromium, chromium-browser, google-chrome; " +
		"or set RUNBOOK_CHROMIUM): install it with `apt-get install -y chromium fonts-noto-cjk`")
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
