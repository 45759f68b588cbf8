package transport

import "testing"

func TestDisplay(t *testing.T) {
	tests := []struct {
		cmd  Command
		want string
	}{
		{Command{Argv: []string{"sacctmgr", "-i", "add", "qos", "moonlight"}}, "sacctmgr -i add qos moonlight"},
		{Command{Argv: []string{"sacctmgr", "-i", "add", "qos", "moonlight"}, Become: true}, "sudo sacctmgr -i add qos moonlight"},
		{Command{Argv: []string{"cat", "/tmp/a b"}, Become: true, BecomeUser: "koopark"}, "sudo -u koopark cat '/tmp/a b'"},
		{Command{Line: "echo hi | wc -c"}, "echo hi | wc -c"},
		{Command{Line: "echo hi", Become: true}, "sudo echo hi"},
		// BecomeUser without Become runs nothing through sudo.
		{Command{Argv: []string{"id", "-un"}, BecomeUser: "koopark"}, "id -un"},
		// Argv wins over Line, as in the transports.
		{Command{Argv: []string{"A=1", "x"}, Line: "ignored"}, "'A=1' x"},
	}
	for _, tt := range tests {
		if got := Display(tt.cmd); got != tt.want {
			t.Errorf("Display(%+v) = %q, want %q", tt.cmd, got, tt.want)
		}
	}
}
