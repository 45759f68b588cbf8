package planfile

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runbook-hpc/runbook/steps"
)

func testPlan() *File {
	return &File{Kind: Kind, FormatVersion: FormatVersion, Runbook: "rb", Limit: []string{"h1"},
		Hosts: []Host{{Name: "h1", Steps: []Step{{Name: "a", Status: "planned", Action: "create", Commands: []string{"apply a"}}}}}}
}

// Write never writes through a name another user can guess and create
// first: an existing PATH.tmp (another user's file, 0666) is neither
// written to nor renamed into place, and a PATH.tmp symlink is not
// followed. The plan lands at PATH, 0600, owned by whoever wrote it.
func TestWriteUsesNoPredictableTempName(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p.plan")
	const theirs = "someone else's file\n"
	if err := os.WriteFile(path+".tmp", []byte(theirs), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path+".tmp", 0o666); err != nil { // past the umask
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		// As root, make it really another user's (nobody's): root could
		// write it, which is the point.
		if err := os.Chown(path+".tmp", 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	if err := Write(path, testPlan()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path + ".tmp")
	if err != nil || string(b) != theirs {
		t.Errorf("the pre-created %s.tmp was used: %q, %v", path, b, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("plan mode %o, want 600", fi.Mode().Perm())
	}
	if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != os.Geteuid() {
		t.Errorf("plan owned by uid %d, want %d (the pre-created file was renamed into place)", st.Uid, os.Geteuid())
	}
	if got, err := Read(path); err != nil || got.Hosts[0].Name != "h1" || got.Limit[0] != "h1" {
		t.Errorf("read back: %+v, %v", got, err)
	}

	// A symlink at PATH.tmp to a file of the victim's is not followed.
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("precious\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path2 := filepath.Join(dir, "q.plan")
	if err := os.Symlink(victim, path2+".tmp"); err != nil {
		t.Fatal(err)
	}
	if err := Write(path2, testPlan()); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
		t.Errorf("the write followed the %s.tmp symlink: victim now %q", path2, b)
	}
	if fi, err := os.Lstat(path2); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("%s is not a regular file: %v %v", path2, fi, err)
	}

	// No temporary file is left behind.
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "p.plan p.plan.tmp q.plan q.plan.tmp victim" {
		t.Errorf("files left: %q", names)
	}
}

// A failed write leaves neither a temporary file nor a partial plan.
func TestWriteFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p.plan")
	if err := os.Mkdir(path, 0o700); err != nil { // rename onto a directory fails
		t.Fatal(err)
	}
	if err := Write(path, testPlan()); err == nil {
		t.Fatal("write over a directory succeeded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
}

// Reading a plan is capped: /dev/zero, or a file far larger than any plan,
// is an error at once, not a read into memory until the machine runs out.
func TestReadIsCapped(t *testing.T) {
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	if _, err := Read("/dev/zero"); err == nil || !strings.Contains(err.Error(), "/dev/zero is not a runbook plan") {
		t.Errorf("/dev/zero: %v", err)
	}
	if IsPlanFile("/dev/zero") {
		t.Error("/dev/zero is a plan file")
	}

	// A sparse file that starts like a plan and goes on for 1 GiB.
	huge := filepath.Join(t.TempDir(), "huge.plan")
	if err := os.WriteFile(huge, []byte(`{"kind": "runbook-plan", "pad": "`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(huge, 1<<30); err != nil {
		t.Fatal(err)
	}
	// It is told from a runbook by its first bytes, and then refused.
	if !IsPlanFile(huge) {
		t.Error("a file that starts as a plan is not taken for one")
	}
	_, err := Read(huge)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "more than 64 MiB") {
		t.Errorf("1 GiB file: %v", err)
	}

	// The same through a pipe, where the size is not known up front: the
	// read stops at the cap.
	fifo := filepath.Join(t.TempDir(), "endless.plan")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer f.Close()
		f.Write([]byte(`{"kind": "runbook-plan", "pad": "`))
		chunk := []byte(strings.Repeat("a", 1<<20))
		for i := 0; i < 100; i++ { // 100 MiB, then held open
			if _, err := f.Write(chunk); err != nil {
				return
			}
		}
		<-stop
	}()
	if _, err := Read(fifo); !errors.Is(err, ErrTooLarge) {
		t.Errorf("endless pipe: %v", err)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapSys) - int64(before.HeapSys); grew > 4*MaxFileBytes {
		t.Errorf("heap grew by %d MiB", grew>>20)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("took %s", d)
	}

	// A plan is still a plan, and data after it is refused.
	ok := filepath.Join(t.TempDir(), "ok.plan")
	if err := Write(ok, testPlan()); err != nil {
		t.Fatal(err)
	}
	if !IsPlanFile(ok) {
		t.Error("a written plan is not recognised")
	}
	b, _ := os.ReadFile(ok)
	if err := os.WriteFile(ok, append(b, []byte(`{"kind": "runbook-plan"}`)...), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(ok); err == nil || !strings.Contains(err.Error(), "more data after the plan") {
		t.Errorf("trailing data: %v", err)
	}
	// A plan with its keys sorted (jq -S) has its kind after its hosts.
	sorted := filepath.Join(t.TempDir(), "sorted.plan")
	if err := os.WriteFile(sorted, []byte(`{"created": "2026-01-01T00:00:00Z", "format_version": 2, "hosts": [{"name": "h1", "steps": []}], "kind": "runbook-plan"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if !IsPlanFile(sorted) {
		t.Error("a plan with sorted keys is not recognised")
	}
}

// The digests of the runbook and inventory a plan names are capped too.
func TestFileSHA256IsCapped(t *testing.T) {
	if _, err := FileSHA256("/dev/zero"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("/dev/zero: %v", err)
	}
}

// Write refuses a plan it could not read back.
func TestWriteRefusesAPlanOverTheCap(t *testing.T) {
	f := testPlan()
	f.Hosts[0].Steps[0].Summary = strings.Repeat("x", MaxFileBytes)
	err := Write(filepath.Join(t.TempDir(), "big.plan"), f)
	if err == nil || !strings.Contains(err.Error(), "--limit") {
		t.Errorf("write of a plan over the cap: %v", err)
	}
}

// A saved plan's hosts are its target set: a host it does not show, or
// one of its hosts not targeted now, is named; so is a step it does not
// show. Commands that differ from the shown ones are shown side by side.
func TestCompareTargetsAndCommands(t *testing.T) {
	saved := &File{Limit: []string{"h1"}, Hosts: []Host{{Name: "h1", Steps: []Step{
		{Name: "a", Status: "planned", Action: "create", Commands: []string{"apply a"},
			Changes: []steps.Change{{Field: "state", Current: "absent", Desired: "present"}}},
	}}}}

	d := CompareHosts(saved, []string{"h1", "h2"})
	if len(d) != 1 || d[0].Host != "h2" || !d[0].Outside || !strings.Contains(d[0].String(), "host h2: host is not in the saved plan, which was made for h1 (--limit h1)") {
		t.Errorf("extra host: %+v", d)
	}
	d = CompareHosts(saved, nil)
	if len(d) != 1 || d[0].Host != "h1" || !strings.Contains(d[0].What, "not targeted now") {
		t.Errorf("missing host: %+v", d)
	}
	twice := &File{Hosts: []Host{{Name: "h1"}, {Name: "h1"}}}
	if d := CompareHosts(twice, []string{"h1", "h1"}); len(d) != 2 {
		t.Errorf("duplicates: %+v", d)
	}

	fresh := &File{Hosts: []Host{{Name: "h1", Steps: []Step{
		{Name: "a", Status: "planned", Action: "create", Commands: []string{"apply a --other"},
			Changes: []steps.Change{{Field: "state", Current: "absent", Desired: "present"}}},
		{Name: "b", Status: "planned", Action: "run", Commands: []string{"apply b"}},
	}}}}
	d = Compare(saved, fresh)
	if len(d) != 2 {
		t.Fatalf("drifts: %+v", d)
	}
	if d[0].Step != "b" || !d[0].Outside || !strings.Contains(d[0].What, "step is not in the saved plan") {
		t.Errorf("extra step: %+v", d[0])
	}
	want := "host h1, step a: commands differ from the ones the plan showed\n      plan: $ apply a\n      now:  $ apply a --other"
	if d[1].Outside || d[1].String() != want {
		t.Errorf("commands:\n%s\nwant:\n%s", d[1], want)
	}
	if d := Compare(saved, saved); len(d) != 0 {
		t.Errorf("a plan differs from itself: %+v", d)
	}
}
