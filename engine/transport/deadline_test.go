package transport

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A caller's deadline (a step's timeout) ends the command like the
// command's own Timeout does: ErrTimeout, with its hint, not a bare
// "context deadline exceeded".
func TestCallerDeadlineIsTimeout(t *testing.T) {
	l := NewLocal(LocalConfig{})
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := l.Run(ctx, Command{Line: "sleep 30"})
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrTimeout wrapping context.DeadlineExceeded", err)
	}
	if Hint(err) == "" {
		t.Error("no hint for a timeout")
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Run returned after %s", took)
	}

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	_, err = l.Run(ctx, Command{Line: "sleep 30"})
	if errors.Is(err, ErrTimeout) || !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancel (interrupt) is no timeout: %v", err)
	}
}
