package inventory

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// sshGResolver asks OpenSSH itself: `ssh -G` prints the configuration
// ssh would connect with (system and user config, Match exec, Include,
// canonicalisation, the command line's overrides) without connecting.
type sshGResolver struct {
	bin string
	// config is -F's file; "" lets ssh read ~/.ssh/config and
	// /etc/ssh/ssh_config as it does by default.
	config string
}

// sshGTimeout bounds one `ssh -G` (a `Match exec` command may hang).
const sshGTimeout = 20 * time.Second

func (g sshGResolver) args(q sshQuery) []string {
	args := []string{"-G"}
	if g.config != "" {
		args = append(args, "-F", g.config)
	}
	if q.Port > 0 {
		args = append(args, "-p", strconv.Itoa(q.Port))
	}
	if q.User != "" {
		args = append(args, "-l", q.User)
	}
	for _, id := range q.IdentityFiles {
		args = append(args, "-i", id)
	}
	if q.Jump != "" {
		args = append(args, "-J", q.Jump)
	}
	return append(args, "--", q.Host)
}

func (g sshGResolver) resolve(q sshQuery) (sshDump, error) {
	ctx, cancel := context.WithTimeout(context.Background(), sshGTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, g.bin, g.args(q)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("%s %s: %s", g.bin, strings.Join(g.args(q), " "), msg)
	}
	return parseSSHG(stdout.String()), nil
}
