package evidence_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/runbook-hpc/runbook/engine/evidence"
	"github.com/runbook-hpc/runbook/engine/transport"
)

type nop struct{}

func (nop) Run(context.Context, transport.Command) (transport.Result, error) {
	return transport.Result{Stdout: []byte("ok\n")}, nil
}
func (nop) Describe() string { return "nop" }
func (nop) Close() error     { return nil }

func TestRecorderKeepsLabels(t *testing.T) {
	r := &evidence.Recorder{Transport: nop{}, Redactor: evidence.NewRedactor("s3cret")}
	ctx := context.Background()
	r.Run(ctx, transport.Command{Argv: []string{"id", "-un"}})
	r.Run(ctx, transport.Command{Argv: []string{"sbatch", "x"}, Proves: 1})
	r.Run(ctx, transport.Command{Argv: []string{"cat", "/tmp/s3cret"}, Become: true, BecomeUser: "koopark", Proves: 3})
	var got []string
	var proves []int
	for _, c := range r.Commands() {
		got, proves = append(got, c.Command), append(proves, c.Proves)
	}
	if want := []string{"id -un", "sbatch x", "sudo -u koopark cat '/tmp/(sensitive)'"}; !reflect.DeepEqual(got, want) {
		t.Errorf("commands %q, want %q", got, want)
	}
	if !reflect.DeepEqual(proves, []int{0, 1, 3}) {
		t.Errorf("labels %v", proves)
	}

	// No labelled note: no labels at all (the record stays as before).
	r.Note("plain")
	if p := r.NoteProves(); p != nil {
		t.Errorf("NoteProves = %v with no labelled note", p)
	}
	// The first labelled note labels the earlier ones 0.
	r.NoteFor(2, "job %s: QOS=%s", "42", "moonlight")
	r.Note("plain again")
	r.NoteFor(-1, "negative is none")
	if p, n := r.NoteProves(), r.Notes(); !reflect.DeepEqual(p, []int{0, 2, 0, 0}) || len(n) != 4 || n[1] != "job 42: QOS=moonlight" {
		t.Errorf("notes %q labels %v", n, p)
	}
}
