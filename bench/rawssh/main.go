// Command rawssh is the raw-SSH floor for the runbook benchmark: the
// least a Go program must do to run the same steps over SSH. It opens one
// connection per host (all hosts in parallel), then runs the steps one
// after the other on each host, one session per step, collecting stdout
// and stderr and checking the exit status. No timeout wrapper, no sudo, no
// report: whatever runbook spends above this is engine overhead.
//
//	rawssh -hosts hosts.txt -key id_ed25519 -known-hosts known_hosts -user rbbench -steps 20 -cmd 'echo 1'
//
// hosts.txt has one "address port" per line.
//
// With -cmd-file, each host runs its own commands instead: the file's
// lines are "ADDRESS<TAB>COMMAND", in order, and the output is not
// checked (-want is ignored), only the exit status. The benchmark's
// files workload replays runbook's recorded probe commands with it.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func main() {
	hostsFile := flag.String("hosts", "", "file with one \"address port\" per line")
	keyFile := flag.String("key", "", "private key (no passphrase)")
	khFile := flag.String("known-hosts", "", "known_hosts file")
	user := flag.String("user", "rbbench", "login user")
	steps := flag.Int("steps", 20, "commands per host")
	cmd := flag.String("cmd", "echo 1", "command line each step runs")
	want := flag.String("want", "1\n", "expected stdout of each step (empty: not checked)")
	cmdFile := flag.String("cmd-file", "", "per-host commands, \"ADDRESS<TAB>COMMAND\" lines (instead of -steps and -cmd)")
	flag.Parse()

	hosts, err := readHosts(*hostsFile)
	if err != nil {
		fail(err)
	}
	pem, err := os.ReadFile(*keyFile)
	if err != nil {
		fail(err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		fail(err)
	}
	hk, err := knownhosts.New(*khFile)
	if err != nil {
		fail(err)
	}
	cfg := &ssh.ClientConfig{
		User:              *user,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback:   hk,
		HostKeyAlgorithms: []string{ssh.KeyAlgoED25519},
		Timeout:           30 * time.Second,
	}

	var perHost map[string][]string
	if *cmdFile != "" {
		if perHost, err = readCmdFile(*cmdFile); err != nil {
			fail(err)
		}
		*want = ""
	}

	errs := make([]error, len(hosts))
	var wg sync.WaitGroup
	for i, addr := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmds := make([]string, *steps)
			for k := range cmds {
				cmds[k] = *cmd
			}
			if perHost != nil {
				h, _, _ := net.SplitHostPort(addr)
				if cmds = perHost[h]; len(cmds) == 0 {
					errs[i] = fmt.Errorf("no commands for %s in %s", h, *cmdFile)
					return
				}
			}
			errs[i] = runHost(addr, cfg, cmds, *want)
		}()
	}
	wg.Wait()
	bad := 0
	for i, err := range errs {
		if err != nil {
			bad++
			fmt.Fprintf(os.Stderr, "rawssh: %s: %v\n", hosts[i], err)
		}
	}
	if bad > 0 {
		os.Exit(1)
	}
	if perHost != nil {
		fmt.Printf("rawssh: %d host(s) ok, commands from %s\n", len(hosts), *cmdFile)
		return
	}
	fmt.Printf("rawssh: %d host(s) × %d step(s) ok\n", len(hosts), *steps)
}

// readCmdFile reads "ADDRESS<TAB>COMMAND" lines into address → commands.
func readCmdFile(path string) (map[string][]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for n, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		addr, cmd, ok := strings.Cut(line, "\t")
		if !ok || cmd == "" {
			return nil, fmt.Errorf("%s:%d: want ADDRESS<TAB>COMMAND", path, n+1)
		}
		out[addr] = append(out[addr], cmd)
	}
	return out, nil
}

func runHost(addr string, cfg *ssh.ClientConfig, cmds []string, want string) error {
	c, err := ssh.Dial("tcp", addr, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	for i, cmd := range cmds {
		s, err := c.NewSession()
		if err != nil {
			return fmt.Errorf("step %d: %w", i+1, err)
		}
		var out, errb bytes.Buffer
		s.Stdout, s.Stderr = &out, &errb
		err = s.Run(cmd)
		s.Close()
		if err != nil {
			return fmt.Errorf("step %d: %w (stderr %q)", i+1, err, errb.String())
		}
		if want != "" && out.String() != want {
			return fmt.Errorf("step %d: stdout %q, want %q", i+1, out.String(), want)
		}
	}
	return nil
}

func readHosts(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		port := 22
		if len(fields) > 1 {
			if port, err = strconv.Atoi(fields[1]); err != nil {
				return nil, fmt.Errorf("%s: bad port %q", path, fields[1])
			}
		}
		out = append(out, net.JoinHostPort(fields[0], strconv.Itoa(port)))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no hosts", path)
	}
	return out, sc.Err()
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "rawssh:", err)
	os.Exit(2)
}
