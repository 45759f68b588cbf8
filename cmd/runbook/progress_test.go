package main

import (
	"bytes"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mattn/go-runewidth"
	"github.com/runbook-hpc/runbook/engine"
	"github.com/runbook-hpc/runbook/engine/report"
)

// Widths in these tests are those of a terminal that draws ambiguous
// characters (…, ▶) narrow, whatever the locale of the machine running
// them; RUNEWIDTH_EASTASIAN reaches the runbook processes tests start.
func init() {
	os.Setenv("RUNEWIDTH_EASTASIAN", "0")
	cellWidth = &runewidth.Condition{StrictEmojiNeutral: true}
}

// screen is a tiny VT100: enough of one to replay what the progress
// printer writes (text, \r, \n, cursor up, erase to end of screen/line,
// colours) and read the resulting screen.
type screen struct {
	rows     [][]rune
	row, col int
}

var csiRe = regexp.MustCompile(`^\x1b\[([0-9;?]*)([A-Za-z])`)

func (s *screen) write(t *testing.T, out string) {
	t.Helper()
	for i := 0; i < len(out); {
		if out[i] == 0x1b {
			m := csiRe.FindStringSubmatch(out[i:])
			if m == nil {
				t.Fatalf("unknown escape sequence at %q", out[i:min(len(out), i+10)])
			}
			n := 1
			if m[1] != "" && !strings.HasPrefix(m[1], "?") {
				n, _ = strconv.Atoi(strings.Split(m[1], ";")[0])
			}
			switch m[2] {
			case "A":
				s.row = max(0, s.row-n)
			case "J":
				s.grow()
				s.rows[s.row] = s.rows[s.row][:min(s.col, len(s.rows[s.row]))]
				s.rows = s.rows[:s.row+1]
			case "K":
				s.grow()
				s.rows[s.row] = s.rows[s.row][:min(s.col, len(s.rows[s.row]))]
			case "m":
			default:
				t.Fatalf("the printer wrote an escape sequence a plain VT100 may not know: %q", m[0])
			}
			i += len(m[0])
			continue
		}
		r, size := []rune(out[i:])[0], len(string([]rune(out[i:])[0]))
		i += size
		switch r {
		case '\r':
			s.col = 0
		case '\n': // the terminal's ONLCR: newline is CR LF
			s.row++
			s.col = 0
		default:
			s.grow()
			line := s.rows[s.row]
			for len(line) < s.col {
				line = append(line, ' ')
			}
			if s.col < len(line) {
				line[s.col] = r
			} else {
				line = append(line, r)
			}
			s.rows[s.row] = line
			s.col++
		}
	}
}

func (s *screen) grow() {
	for len(s.rows) <= s.row {
		s.rows = append(s.rows, nil)
	}
}

// String is the screen's text, trailing blanks trimmed.
func (s *screen) String() string {
	var lines []string
	for _, r := range s.rows {
		lines = append(lines, strings.TrimRight(string(r), " "))
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n") + "\n"
}

// fakeClock is a settable clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time               { return c.t }
func (c *fakeClock) advance(d time.Duration)      { c.t = c.t.Add(d) }
func (c *fakeClock) at(d time.Duration) time.Time { return t0.Add(d) }

var t0 = time.Date(2026, 3, 14, 15, 4, 5, 0, time.UTC)

// scenario drives a printer through a run on two hosts: a quick change, a
// test job that waits in the queue, an unreachable host and a failure.
// mid is called while the test job is pending.
func scenario(t *testing.T, p *progress, clock *fakeClock, mid func()) {
	t.Helper()
	step := func(name, title string, start time.Duration) *report.Step {
		return &report.Step{Name: name, Kind: "x", Title: title, Started: clock.at(start)}
	}
	qos := step("qos", "Create the moonlight QoS", 0)
	p.event(engine.Event{Host: "ctl1", Step: qos, Kind: "step_started"})
	clock.advance(400 * time.Millisecond)
	qos.Ended, qos.Status, qos.Changed, qos.Summary = clock.now(), report.StatusChanged, true, "created qos moonlight"
	p.event(engine.Event{Host: "ctl1", Step: qos, Kind: "step_finished"})

	clock.advance(100 * time.Millisecond)
	job := step("gpu_test", "Submit the test job and wait for it", 500*time.Millisecond)
	p.event(engine.Event{Host: "ctl1", Step: job, Kind: "step_started"})
	for i := 1; i <= 60; i++ { // progress every 100 ms, as the poller does at first
		clock.advance(100 * time.Millisecond)
		p.event(engine.Event{Host: "ctl1", Step: job, Kind: "progress", Message: "job 17 PENDING (Priority), " + strconv.Itoa(i/10) + "s"})
		p.tick()
	}
	if mid != nil {
		mid()
	}
	p.event(engine.Event{Host: "node02", Kind: "host_error", Message: "dial tcp 10.0.0.2:22: connect: connection refused"})
	clock.t = clock.at(12300 * time.Millisecond)
	job.Ended, job.Status, job.Changed, job.Summary = clock.now(), report.StatusChanged, true, "job 17 COMPLETED under QoS moonlight on vm"
	p.event(engine.Event{Host: "ctl1", Step: job, Kind: "step_finished"})

	ro := step("read_qos", "Read the QoS back", 12300*time.Millisecond)
	p.event(engine.Event{Host: "ctl1", Step: ro, Kind: "step_started"})
	clock.advance(50 * time.Millisecond)
	ro.Ended, ro.Status, ro.Summary = clock.now(), report.StatusUnchanged, "unchanged: qos moonlight already has all 4 fields"
	p.event(engine.Event{Host: "ctl1", Step: ro, Kind: "step_finished"})

	boom := step("verify", "Read the QoS back and compare", clock.now().Sub(t0))
	p.event(engine.Event{Host: "ctl1", Step: boom, Kind: "step_started"})
	clock.advance(1500 * time.Millisecond)
	boom.Ended, boom.Status = clock.now(), report.StatusFailed
	boom.Error = "qos moonlight: MaxWall is 04:00:00, want 08:00:00\nsecond line"
	p.event(engine.Event{Host: "ctl1", Step: boom, Kind: "step_finished"})
	p.close()
}

func TestProgressTerminalGolden(t *testing.T) {
	clock := &fakeClock{t: t0}
	var out bytes.Buffer
	p := newProgress(&out, progressOptions{live: true, now: clock.now, hosts: []string{"ctl1", "node02"}})
	var midScreen string
	scenario(t, p, clock, func() {
		var s screen
		s.write(t, out.String())
		midScreen = s.String()
	})

	// While the job waits, its line spins, counts and says what it waits for.
	wantMid := "✓ ctl1   qos (0.4s, changed) created qos moonlight\n" +
		"⠴ ctl1   gpu_test (6.0s, running) job 17 PENDING (Priority), 6s\n"
	if midScreen != wantMid {
		t.Errorf("screen while the job is pending:\n%s\nwant:\n%s", midScreen, wantMid)
	}

	var s screen
	s.write(t, out.String())
	golden(t, "progress_tty.golden", s.String())
	if strings.Contains(out.String(), "\x1b[3") {
		t.Error("colour written with color off")
	}
}

// TestProgressThrottle: a flood of progress events redraws at most ~10
// times a second, and a tick with nothing running writes nothing.
func TestProgressThrottle(t *testing.T) {
	clock := &fakeClock{t: t0}
	var out bytes.Buffer
	p := newProgress(&out, progressOptions{live: true, now: clock.now, hosts: []string{"h"}})
	st := &report.Step{Name: "wait", Title: "Wait", Started: t0}
	p.event(engine.Event{Host: "h", Step: st, Kind: "step_started"})
	for i := 0; i < 1000; i++ { // 1000 events in one second
		clock.advance(time.Millisecond)
		p.event(engine.Event{Host: "h", Step: st, Kind: "progress", Message: "tick " + strconv.Itoa(i)})
	}
	redraws := strings.Count(out.String(), ansiClear)
	if redraws < 5 || redraws > 11 {
		t.Errorf("%d redraws for 1000 progress events in 1 s, want about 10", redraws)
	}
	st.Ended, st.Status = clock.now(), report.StatusOK
	p.event(engine.Event{Host: "h", Step: st, Kind: "step_finished"})
	n := out.Len()
	clock.advance(time.Second)
	p.tick()
	if out.Len() != n {
		t.Errorf("a tick with no running step wrote %q", out.String()[n:])
	}
	p.close()
	var s screen
	s.write(t, out.String())
	if want := "✓ h wait (1.0s, ok)\n"; s.String() != want {
		t.Errorf("final screen %q, want %q", s.String(), want)
	}
}

func TestProgressPlainGolden(t *testing.T) {
	clock := &fakeClock{t: t0}
	var out bytes.Buffer
	p := newProgress(&out, progressOptions{live: false, color: true, now: clock.now, hosts: []string{"ctl1", "node02"}})
	scenario(t, p, clock, nil)
	if strings.ContainsRune(out.String(), 0x1b) {
		t.Errorf("control codes in plain output:\n%q", out.String())
	}
	// One progress line per 5 s per step, not one per poll.
	if n := strings.Count(out.String(), "… gpu_test: job 17 PENDING"); n != 2 {
		t.Errorf("%d progress lines for a 6 s wait, want 2:\n%s", n, out.String())
	}
	golden(t, "progress_plain.golden", out.String())
}

// TestProgressColourAndWidth: colours only when asked; lines never wider
// than the terminal, so the live region can always be erased.
func TestProgressColourAndWidth(t *testing.T) {
	clock := &fakeClock{t: t0}
	var out bytes.Buffer
	p := newProgress(&out, progressOptions{live: true, color: true, width: func() int { return 40 }, now: clock.now, hosts: []string{"ctl1", "node02"}})
	var mid string
	scenario(t, p, clock, func() {
		var s screen
		s.write(t, out.String())
		mid = s.String()
	})
	for _, want := range []string{ansiGreen + "✓" + ansiReset, ansiRed + "✗" + ansiReset, ansiYellow + "changed" + ansiReset, ansiCyan} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("coloured output lacks %q", want)
		}
	}
	var s screen
	s.write(t, out.String())
	for _, text := range []string{mid, s.String()} {
		for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
			if w := displayWidth(line); w > 39 {
				t.Errorf("line %q is %d columns on a 40-column terminal", line, w)
			}
		}
	}
	if !strings.Contains(mid, "⠴ ctl1   gpu_test (6.0s, running) job …") {
		t.Errorf("the live line is not cut to the width:\n%s", mid)
	}
}

func TestTruncateDisplay(t *testing.T) {
	for _, tc := range []struct {
		in   string
		cols int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"much too long", 8, "much to…"},
		{"큐오에스 설정 확인", 9, "큐오에스…"},
		{"큐오에스 설정 확인", 8, "큐오에…"}, // a wide character that does not fit is left out whole
		{ansiRed + "✗" + ansiReset + " abcdefgh", 5, ansiRed + "✗" + ansiReset + " ab…" + ansiReset},
		// The Korean checklist lines of runbooks/phase2.hcl.
		{"sacctmgr show qos로 현재 QoS 목록 확인", 38, "sacctmgr show qos로 현재 QoS 목록 확인"},
		{"sacctmgr show qos로 현재 QoS 목록 확인", 37, "sacctmgr show qos로 현재 QoS 목록 확…"},
		{"sacctmgr show qos로 현재 QoS 목록 확인", 36, "sacctmgr show qos로 현재 QoS 목록 …"},
		{"QoS 파라미터 설정 (GraceTime, MaxWall, MaxTRESPerUser)", 20, "QoS 파라미터 설정 (…"},
		// Emoji are two cells, however many runes: a skin tone, a flag, a
		// ZWJ family are one glyph and are never cut apart.
		{"✅ done", 4, "✅ …"},
		{"ok 👍🏽 fine", 5, "ok …"},
		{"ok 👍🏽 fine", 6, "ok 👍🏽…"},
		{"🇰🇷🇰🇷🇰🇷", 5, "🇰🇷🇰🇷…"},
		{"👨\u200d👩\u200d👧 family", 4, "👨\u200d👩\u200d👧 …"},
		// Combining marks and zero-width spaces take no cell, and stay
		// with their character.
		{"e\u0301e\u0301e\u0301e\u0301", 4, "e\u0301e\u0301e\u0301e\u0301"},
		{"e\u0301e\u0301e\u0301e\u0301e\u0301", 4, "e\u0301e\u0301e\u0301…"},
		{"a\u200bb\u200bc\u200bd", 4, "a\u200bb\u200bc\u200bd"},
		{"a\u200bb\u200bc\u200bde", 4, "a\u200bb\u200bc\u200b…"},
	} {
		got := truncateDisplay(tc.in, tc.cols)
		if got != tc.want {
			t.Errorf("truncateDisplay(%q, %d) = %q, want %q", tc.in, tc.cols, got, tc.want)
		}
		if displayWidth(got) > tc.cols {
			t.Errorf("truncateDisplay(%q, %d) is %d columns", tc.in, tc.cols, displayWidth(got))
		}
	}
}

func TestDisplayWidth(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"", 0},
		{"ctl1 qos", 8},
		{ansiGreen + "✓" + ansiReset + " ctl1", 6},
		{"큐오에스", 8},
		{"sacctmgr show qos로 현재 QoS 목록 확인", 38},
		{"✅", 2},
		{"👍🏽", 2},              // thumbs up + skin tone modifier
		{"🇰🇷", 2},              // two regional indicators
		{"👨\u200d👩\u200d👧", 2}, // ZWJ sequence
		{"ｶﾀｶﾅ", 4},            // half-width katakana
		{"Ａ", 2},               // full-width Latin
		{"e\u0301", 1},         // combining acute accent
		{"x\u0300\u0301\u0302", 1},
		{"a\u200bb", 2}, // zero-width space
		{"⠋ …", 3},
	} {
		if got := displayWidth(tc.in); got != tc.want {
			t.Errorf("displayWidth(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// TestTruncateDisplayEastAsian: under a CJK locale the ambiguous "…" and
// "▶" count two cells, and a cut line still fits.
func TestTruncateDisplayEastAsian(t *testing.T) {
	old := cellWidth
	cellWidth = &runewidth.Condition{EastAsianWidth: true, StrictEmojiNeutral: true}
	defer func() { cellWidth = old }()
	for _, tc := range []struct {
		in   string
		cols int
		want string
	}{
		{"▶ 큐오에스 설정", 6, "▶ …"},
		{"much too long", 8, "much t…"},
	} {
		got := truncateDisplay(tc.in, tc.cols)
		if got != tc.want {
			t.Errorf("truncateDisplay(%q, %d) = %q, want %q", tc.in, tc.cols, got, tc.want)
		}
		if w := displayWidth(got); w > tc.cols {
			t.Errorf("truncateDisplay(%q, %d) is %d columns", tc.in, tc.cols, w)
		}
	}
}

// TestProgressWideText: a live line holding emoji and Hangul is cut to the
// terminal's width by cells, not by runes.
func TestProgressWideText(t *testing.T) {
	clock := &fakeClock{t: t0}
	var out bytes.Buffer
	p := newProgress(&out, progressOptions{live: true, width: func() int { return 30 }, now: clock.now, hosts: []string{"ctl1"}})
	st := &report.Step{Name: "qos", Title: "QoS 파라미터 설정 ✅🇰🇷👍🏽 (GraceTime, MaxWall)", Started: t0}
	p.event(engine.Event{Host: "ctl1", Step: st, Kind: "step_started"})
	clock.advance(time.Second)
	st.Ended, st.Status, st.Summary = clock.now(), report.StatusOK, "현재 QoS 목록 확인 ✅✅✅✅✅✅✅✅"
	p.event(engine.Event{Host: "ctl1", Step: st, Kind: "step_finished"})
	p.close()
	for _, line := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
		line = line[strings.LastIndex(line, ansiClear)+len(ansiClear):]
		if w := displayWidth(line); w > 29 {
			t.Errorf("line %q is %d cells on a 30-column terminal", line, w)
		}
	}
	if !strings.Contains(out.String(), "✓ ctl1 qos (1.0s, ok) 현재 Q…") {
		t.Errorf("result line not cut by cells:\n%q", out.String())
	}
}

// TestOneLine: the first line only, control characters made spaces (a tab
// moves a terminal's cursor by an unknown number of cells).
func TestOneLine(t *testing.T) {
	for in, want := range map[string]string{
		"  job 17 PENDING  ":      "job 17 PENDING",
		"first\nsecond":           "first …",
		"col1\tcol2\rx\x00y\x7fz": "col1 col2 x y z",
		"\t":                      "",
		"큐오에스 ✅":                  "큐오에스 ✅",
	} {
		if got := oneLine(in); got != want {
			t.Errorf("oneLine(%q) = %q, want %q", in, got, want)
		}
	}
}
