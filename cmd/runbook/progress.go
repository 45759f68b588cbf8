package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-runewidth"
	"github.com/runbook-hpc/runbook/engine"
	"github.com/runbook-hpc/runbook/engine/report"
	"golang.org/x/term"
)

// The progress printer shows an apply as it runs, on stderr.
//
// On a terminal it keeps a live region at the bottom of the screen: one
// line per running step with a spinner, the elapsed time and what the step
// waits for (`job 17 PENDING (Priority), 3s`), redrawn at most ten times a
// second. A finished step leaves a result line above the region:
//
//	✓ ctl1 qos (0.4s, changed) created qos moonlight
//
// Without a terminal (CI logs, pipes) it writes plain timestamped lines and
// no control codes:
//
//	15:04:05 ctl1 ▶ qos: Create the moonlight QoS
//	15:04:05 ctl1 ✓ qos (0.4s, changed) created qos moonlight
//
// It is written against an io.Writer and a clock so tests can drive it.

// progressOptions say how to render.
type progressOptions struct {
	// live redraws a status region with ANSI cursor movement; false
	// writes plain timestamped lines.
	live bool
	// color adds ANSI colours (only ever with live).
	color bool
	// width returns the terminal's columns; nil or 0 means unlimited.
	width func() int
	// now is the clock; nil means time.Now.
	now func() time.Time
	// hosts are the run's host names, to align the host column.
	hosts []string
	// redact hides secrets in messages; nil means none.
	redact func(string) string
}

// Redraw and plain-progress pacing.
const (
	redrawEvery       = 100 * time.Millisecond // at most ~10 redraws a second
	plainProgressGap  = 5 * time.Second        // plain mode: one progress line per step per 5 s
	spinnerFrameEvery = 100 * time.Millisecond
)

var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// ANSI sequences.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
	ansiClear  = "\x1b[J" // erase from the cursor to the end of the screen
)

// liveStep is a running step, copied out of the engine's record: the
// record keeps changing in the host's goroutine while the ticker draws.
type liveStep struct {
	host, name, title string
	started           time.Time
	message           string
	lastPlain         time.Time // plain mode: when progress was last written
}

type progress struct {
	w   io.Writer
	opt progressOptions

	mu        sync.Mutex
	running   []*liveStep // in the order they started
	drawn     int         // live lines currently on screen
	lastDraw  time.Time
	hostWidth int
	closed    bool
	done      chan struct{}
	stopped   chan struct{}
}

func newProgress(w io.Writer, opt progressOptions) *progress {
	if opt.now == nil {
		opt.now = time.Now
	}
	if opt.redact == nil {
		opt.redact = func(s string) string { return s }
	}
	if !opt.live {
		opt.color = false
	}
	p := &progress{w: w, opt: opt}
	for _, h := range opt.hosts {
		p.hostWidth = max(p.hostWidth, len(h))
	}
	return p
}

// terminalOptions decides how to render on w: live and coloured only on a
// terminal that understands cursor movement, colour never with NO_COLOR
// or --no-color.
func terminalOptions(w io.Writer) progressOptions {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) || os.Getenv("TERM") == "dumb" {
		return progressOptions{}
	}
	return progressOptions{
		live:  true,
		color: colorAllowed(),
		width: func() int {
			if wd, _, err := term.GetSize(int(f.Fd())); err == nil {
				return wd
			}
			return 0
		},
	}
}

// colorAllowed is false with NO_COLOR set (https://no-color.org) or
// --no-color given.
func colorAllowed() bool { return os.Getenv("NO_COLOR") == "" && !noColor }

// colorFor reports whether text written to w may be coloured.
func colorFor(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd())) && os.Getenv("TERM") != "dumb" && colorAllowed()
}

// start runs the redraw ticker (live mode only).
func (p *progress) start() {
	if !p.opt.live {
		return
	}
	p.done, p.stopped = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(p.stopped)
		t := time.NewTicker(redrawEvery)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				return
			case <-t.C:
				p.tick()
			}
		}
	}()
}

// close stops the ticker and removes whatever is left of the live region;
// result lines stay.
func (p *progress) close() {
	if p.done != nil {
		close(p.done)
		<-p.stopped
		p.done = nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	if p.opt.live {
		var b strings.Builder
		p.eraseLive(&b)
		p.flush(&b)
	}
}

// tick redraws the live region (spinner and elapsed times move on).
func (p *progress) tick() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || !p.opt.live || len(p.running) == 0 {
		return
	}
	p.redraw(false)
}

// event takes one engine event; safe for concurrent use.
func (p *progress) event(ev engine.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	now := p.opt.now()
	switch ev.Kind {
	case "host_error":
		p.permanent(now, p.mark("✗", ansiRed), ev.Host, "cannot reach the host: "+oneLine(p.opt.redact(ev.Message)))
	case "step_started":
		if ev.Step == nil {
			return
		}
		ls := &liveStep{host: ev.Host, name: ev.Step.Name, title: ev.Step.Title, started: ev.Step.Started}
		if ls.started.IsZero() {
			ls.started = now
		}
		p.running = append(p.running, ls)
		if p.opt.live {
			p.redraw(false)
		} else {
			p.plain(now, fmt.Sprintf("%s ▶ %s: %s", p.host(ev.Host), ls.name, oneLine(p.opt.redact(ls.title))))
		}
	case "progress":
		ls := p.find(ev)
		if ls == nil {
			return
		}
		ls.message = oneLine(p.opt.redact(ev.Message))
		if p.opt.live {
			p.redraw(false) // throttled: most progress shows on the next tick
		} else if ls.lastPlain.IsZero() || now.Sub(ls.lastPlain) >= plainProgressGap {
			ls.lastPlain = now
			p.plain(now, fmt.Sprintf("%s … %s: %s (%s)", p.host(ev.Host), ls.name, ls.message, report.HumanDuration(now.Sub(ls.started))))
		}
	case "step_finished":
		if ev.Step == nil {
			return
		}
		if ls := p.find(ev); ls != nil {
			p.remove(ls)
		}
		mark, rest := p.result(ev.Step, now)
		p.permanent(now, mark, ev.Host, rest)
	}
}

// result is a finished step's mark and `step (1.2s, changed) summary`.
func (p *progress) result(st *report.Step, now time.Time) (mark, rest string) {
	ok := st.Status != report.StatusFailed && st.Status != report.StatusInterrupted
	mark = p.mark("✓", ansiGreen)
	if !ok {
		mark = p.mark("✗", ansiRed)
	}
	end := st.Ended
	if end.IsZero() {
		end = now
	}
	dur := time.Duration(0)
	if !st.Started.IsZero() {
		dur = end.Sub(st.Started)
	}
	status := st.Status
	switch {
	case !p.opt.color:
	case status == report.StatusChanged:
		status = ansiYellow + status + ansiReset
	case !ok:
		status = ansiRed + status + ansiReset
	}
	what := st.Summary
	if st.Error != "" {
		what = st.Error
	}
	return mark, fmt.Sprintf("%s (%s, %s) %s", st.Name, report.HumanDuration(dur), status, oneLine(p.opt.redact(what)))
}

func (p *progress) find(ev engine.Event) *liveStep {
	if ev.Step == nil {
		return nil
	}
	for _, ls := range p.running {
		if ls.host == ev.Host && ls.name == ev.Step.Name {
			return ls
		}
	}
	return nil
}

func (p *progress) remove(ls *liveStep) {
	for i, x := range p.running {
		if x == ls {
			p.running = append(p.running[:i], p.running[i+1:]...)
			return
		}
	}
}

func (p *progress) host(h string) string { return fmt.Sprintf("%-*s", p.hostWidth, h) }

func (p *progress) mark(sym, color string) string {
	if p.opt.color {
		return color + sym + ansiReset
	}
	return sym
}

// permanent writes a line that stays: `✓ host rest` above the live
// region on a terminal, `15:04:05 host ✓ rest` otherwise.
func (p *progress) permanent(now time.Time, mark, host, rest string) {
	if !p.opt.live {
		p.plain(now, p.host(host)+" "+mark+" "+rest)
		return
	}
	var b strings.Builder
	p.eraseLive(&b)
	b.WriteString(p.fit(mark + " " + p.host(host) + " " + rest))
	b.WriteString("\n")
	p.drawLive(&b)
	p.flush(&b)
}

func (p *progress) plain(now time.Time, line string) {
	fmt.Fprintf(p.w, "%s %s\n", now.Format("15:04:05"), line)
}

// redraw repaints the live region; unless forced it waits for
// redrawEvery since the last paint.
func (p *progress) redraw(force bool) {
	now := p.opt.now()
	if !force && !p.lastDraw.IsZero() && now.Sub(p.lastDraw) < redrawEvery {
		return
	}
	var b strings.Builder
	p.eraseLive(&b)
	p.drawLive(&b)
	p.flush(&b)
}

func (p *progress) eraseLive(b *strings.Builder) {
	if p.drawn > 0 {
		fmt.Fprintf(b, "\x1b[%dA\r%s", p.drawn, ansiClear)
		p.drawn = 0
	}
}

func (p *progress) drawLive(b *strings.Builder) {
	now := p.opt.now()
	p.lastDraw = now
	frame := spinnerFrames[int(now.UnixNano()/int64(spinnerFrameEvery))%len(spinnerFrames)]
	if p.opt.color {
		frame = ansiCyan + frame + ansiReset
	}
	for _, ls := range p.running {
		what := ls.message
		if what == "" {
			what = ls.title
		}
		b.WriteString(p.fit(fmt.Sprintf("%s %s %s (%s, running) %s", frame, p.host(ls.host), ls.name, report.HumanDuration(now.Sub(ls.started)), what)))
		b.WriteString("\n")
		p.drawn++
	}
}

func (p *progress) flush(b *strings.Builder) {
	if b.Len() > 0 {
		io.WriteString(p.w, b.String())
	}
}

// fit cuts a line to the terminal width so it never wraps: a wrapped line
// would throw off the cursor movement that erases the live region.
func (p *progress) fit(line string) string {
	if p.opt.width == nil {
		return line
	}
	w := p.opt.width()
	if w <= 0 {
		return line
	}
	return truncateDisplay(line, w-1)
}

// cellWidth measures text in terminal cells (go-runewidth): by grapheme
// cluster, so an emoji sequence (👍🏽, 🇰🇷, 👨‍👩‍👧) is two cells, a
// combining mark and a zero-width space none, Hangul and other East Asian
// wide text two per character. Characters of ambiguous width (…, ▶) are
// one cell, or two under a CJK locale (LANG=ko_KR.UTF-8, or
// RUNEWIDTH_EASTASIAN=1), where terminals may draw them wide: counting a
// cell too many only cuts a line early, one too few wraps it.
var cellWidth = runewidth.NewCondition()

// ellipsis ends a line that was cut.
const ellipsis = "…"

// ansiSegments calls f with each run of text and each ANSI escape
// sequence of s in order (esc tells which), until f returns false.
func ansiSegments(s string, f func(seg string, esc bool) bool) {
	for s != "" {
		i := strings.IndexByte(s, 0x1b)
		if i < 0 {
			f(s, false)
			return
		}
		if i > 0 && !f(s[:i], false) {
			return
		}
		j := i + 1 // a lone ESC, or ESC [ parameters final-byte
		if j < len(s) && s[j] == '[' {
			j++
			for j < len(s) && !(s[j] >= 0x40 && s[j] <= 0x7e) {
				j++
			}
			j++
		}
		j = min(j, len(s))
		if !f(s[i:j], true) {
			return
		}
		s = s[j:]
	}
}

// truncateDisplay cuts s to at most cols terminal columns, ending in "…"
// when cut; ANSI escape sequences take no columns and are kept whole, and
// a grapheme cluster is never split.
func truncateDisplay(s string, cols int) string {
	if displayWidth(s) <= cols {
		return s
	}
	budget := cols - cellWidth.StringWidth(ellipsis)
	var b strings.Builder
	used, colored := 0, false
	ansiSegments(s, func(seg string, esc bool) bool {
		if esc {
			b.WriteString(seg)
			colored = true
			return true
		}
		if w := cellWidth.StringWidth(seg); used+w <= budget {
			b.WriteString(seg)
			used += w
			return true
		}
		b.WriteString(cellWidth.Truncate(seg, max(budget-used, 0), ""))
		return false
	})
	b.WriteString(ellipsis)
	if colored {
		b.WriteString(ansiReset)
	}
	return b.String()
}

// displayWidth counts terminal columns, skipping ANSI escape sequences.
func displayWidth(s string) int {
	n := 0
	ansiSegments(s, func(seg string, esc bool) bool {
		if !esc {
			n += cellWidth.StringWidth(seg)
		}
		return true
	})
	return n
}

// oneLine keeps the first line of a message, marking that more followed.
// Tabs and other control characters (a command's output can hold them)
// become spaces: a terminal moves the cursor for them by a distance no
// width count can know, and a live line that wraps breaks the redraw.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	more := ""
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s, more = strings.TrimSpace(s[:i]), " …"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != 0x1b || r == 0x7f {
			return ' '
		}
		return r
	}, s) + more
}
