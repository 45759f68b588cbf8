package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// process is one started command as the shared run loop sees it; the
// local and SSH transports differ only in how they start and stop one.
type process interface {
	// Wait blocks until the command ended and its output was copied.
	// exitCode is meaningful only when err is nil.
	Wait() (exitCode int, err error)
	// Stop ends the command early. Wait returns soon after.
	Stop()
}

// startFunc starts line with its output going to stdout and stderr, and
// returns the write end of its stdin (never closed by the starter).
type startFunc func(line string, stdout, stderr io.Writer) (io.WriteCloser, process, error)

type runOptions struct {
	becomePassword string
	// remoteTimeout wraps the line in timeout(1): over SSH, ending our side
	// does not necessarily end the remote process.
	remoteTimeout bool
}

var (
	// becomeGrace is how long a NoStdin command without the ready marker
	// (see waitsForReady) waits for a sudo prompt before we decide sudo
	// will not ask (NOPASSWD) and close its stdin. A prompt that comes
	// later reads end-of-file and sudo fails; data is never sent on a
	// guess like this.
	becomeGrace = 2 * time.Second
	// stopWait bounds how long Run waits for a stopped command to report
	// back; a frozen connection must not hold Run beyond its timeout.
	stopWait = 5 * time.Second
)

// execute is the run loop shared by all transports: it builds the line
// (become, remote timeout), feeds stdin, caps output and enforces the
// timeout, and maps sudo refusals to ErrBecome.
func execute(ctx context.Context, cmd Command, opt runOptions, start startFunc) (Result, error) {
	res := Result{ExitCode: -1}
	timeout := cmd.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	limit := cmd.OutputCap
	if limit <= 0 {
		limit = DefaultOutputCap
	}
	plan, err := planBecome(cmd, opt.becomePassword)
	if err != nil {
		return res, err
	}
	line := plan.line
	if opt.remoteTimeout && timeout > 0 {
		line = remoteTimeoutLine(line, timeout)
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}

	stopCh := make(chan error, 1)
	trip := func(err error) {
		select {
		case stopCh <- err:
		default:
		}
	}
	stdout := newCappedBuffer(limit, func() { trip(fmt.Errorf("stdout: %w (%d bytes)", ErrOutputCap, limit)) })
	stderr := newCappedBuffer(limit, func() { trip(fmt.Errorf("stderr: %w (%d bytes)", ErrOutputCap, limit)) })
	var errW io.Writer = stderr
	var watch, ready *promptWatch
	if plan.ready != "" {
		ready = newPromptWatch(plan.ready, errW)
		errW = ready
	}
	if plan.marker != "" {
		watch = newPromptWatch(plan.marker, errW)
		errW = watch
	}

	// A tee inside the buffer, not an io.MultiWriter: the copier then
	// keeps reading through the pooled buffer instead of allocating its
	// own 32 KiB for as long as the command lives.
	stdout.tee = cmd.Stdout
	res.Started = time.Now()
	stdin, proc, err := start(line, stdout, errW)
	if err != nil {
		res.Ended = time.Now()
		return res, err
	}

	finished := make(chan struct{})
	go feedStdin(stdin, cmd, plan, watch, ready, becomeGrace, stdout.seen, finished)

	type waited struct {
		code int
		err  error
	}
	done := make(chan waited, 1)
	go func() {
		code, err := proc.Wait()
		done <- waited{code, err}
	}()

	var expired <-chan time.Time
	if timeout > 0 {
		timer := time.NewTimer(timeout)
		defer timer.Stop()
		expired = timer.C
	}
	var again <-chan struct{}
	if watch != nil {
		again = watch.again
	}
	var (
		reason error
		w      waited
	)
	select {
	case w = <-done:
	case <-expired:
		reason = fmt.Errorf("%w after %v", ErrTimeout, timeout)
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			// The caller's deadline (a step's timeout) is a timeout too:
			// callers and hints must see ErrTimeout, not a bare cancel.
			reason = fmt.Errorf("%w: the deadline passed (%w)", ErrTimeout, ctx.Err())
		} else {
			reason = fmt.Errorf("command canceled: %w", ctx.Err())
		}
	case reason = <-stopCh:
	case <-again:
		reason = &BecomeError{Reason: BecomeWrongPassword, Message: "sudo asked for the password again"}
	}
	if reason != nil {
		// Stop may block (a signal request written to a frozen link), and
		// Run must still return on time; the keepalive ends such a link.
		go proc.Stop()
		select {
		case <-done:
		case <-time.After(stopWait):
		}
	}
	close(finished)
	stdin.Close()

	res.Ended = time.Now()
	res.Stdout = stdout.Bytes()
	res.Stderr = stderr.Bytes()
	if plan.marker != "" {
		res.Stderr = bytes.ReplaceAll(res.Stderr, []byte(plan.marker), nil)
	}
	if plan.ready != "" {
		// Only the wrapper's: the same text printed by the command is its
		// output.
		res.Stderr = bytes.Replace(res.Stderr, []byte(plan.ready), nil, 1)
	}
	if reason != nil {
		return res, reason
	}
	if w.err != nil {
		return res, w.err
	}
	res.ExitCode = w.code
	if cmd.Become {
		if be := becomeFailure(res.ExitCode, res.Stderr); be != nil {
			return res, be
		}
	}
	return res, nil
}

// feedStdin implements the stdin rules of Command. With a sudo password
// it first gives the prompt marker to sudoPromptScript, then waits for
// sudo's prompt (then writes the password), for the ready marker, for the
// command's first output, or (a NoStdin command without the ready marker
// only) a grace period, whichever comes first. The Env preamble goes
// before the caller's stdin; when ready is set, only after the wrapper
// said sudo is done reading.
func feedStdin(w io.WriteCloser, cmd Command, plan becomePlan, watch, ready *promptWatch, graceTime time.Duration, outputSeen <-chan struct{}, finished <-chan struct{}) {
	var readyCh <-chan struct{}
	if ready != nil {
		readyCh = ready.prompted
	}
	if watch != nil {
		if _, err := io.WriteString(w, plan.marker+"\n"); err != nil {
			return
		}
		var grace <-chan time.Time
		if cmd.NoStdin && ready == nil {
			t := time.NewTimer(graceTime)
			defer t.Stop()
			grace = t.C
		}
		select {
		case <-watch.prompted:
			if _, err := io.WriteString(w, plan.password+"\n"); err != nil {
				return
			}
		case <-readyCh:
		case <-outputSeen:
		case <-grace:
		case <-finished:
			return
		}
	}
	if readyCh != nil {
		select {
		case <-readyCh:
		case <-finished:
			return
		}
	}
	if len(plan.preamble) > 0 {
		if _, err := w.Write(plan.preamble); err != nil {
			return
		}
	}
	switch {
	case cmd.NoStdin:
		w.Close()
	case cmd.Stdin != nil:
		_, _ = io.Copy(w, cmd.Stdin)
		w.Close()
	default:
		// Left open on purpose and closed by execute when the command has
		// ended: a command that prompts waits instead of reading EOF.
	}
}

// cappedBuffer keeps the first max bytes and discards the rest while still
// accepting writes, so the copier keeps draining (no blocked channel
// windows) until the command is stopped; memory stays bounded.
type cappedBuffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	max    int64
	over   bool
	onOver func()
	seen   chan struct{} // closed at the first byte
	saw    bool
	tee    io.Writer // Command.Stdout
}

func newCappedBuffer(max int64, onOver func()) *cappedBuffer {
	return &cappedBuffer{max: max, onOver: onOver, seen: make(chan struct{})}
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tee != nil {
		_, _ = c.tee.Write(p)
	}
	if len(p) > 0 && !c.saw {
		c.saw = true
		close(c.seen)
	}
	room := c.max - int64(c.buf.Len())
	if int64(len(p)) <= room {
		c.buf.Write(p)
		return len(p), nil
	}
	if room > 0 {
		c.buf.Write(p[:room])
	}
	if !c.over {
		c.over = true
		c.onOver()
	}
	return len(p), nil
}

// copyBufs are the buffers ReadFrom reads through. Without ReadFrom,
// io.Copy (x/crypto/ssh copies each session's stdout and stderr with it)
// allocates a new 32 KiB buffer per stream: 64 KiB of garbage per command.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 8<<10); return &b }}

// ReadFrom implements io.ReaderFrom with a pooled buffer.
func (c *cappedBuffer) ReadFrom(r io.Reader) (int64, error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	var n int64
	for {
		m, err := r.Read(buf)
		if m > 0 {
			c.Write(buf[:m])
			n += int64(m)
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

func (c *cappedBuffer) Bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.buf.Bytes())
}
