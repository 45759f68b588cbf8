// Package facts gathers what a runbook may want to know about a host
// (host.facts: OS, family, package manager, init system, architecture,
// CPUs, memory, hostname, GPUs) with one remote shell command, and turns
// its output into a value expressions can read.
//
// Script is the command, Parse reads its stdout, and Facts.Value is the
// object a runbook sees. Nothing here talks to a host: the engine runs
// Script over whatever transport it has, once per host per run.
package facts

import (
	_ "embed"
	"strings"
)

// Facts is what one run of Script found on a host. A fact the host did
// not reveal is the zero value, and Notes says why.
type Facts struct {
	OS OS
	// PackageManager is the host's package manager as Ansible's pkg_mgr
	// names it: apt, dnf, yum, zypper, apk, pacman, portage; the one of
	// the OS family when several are installed (dnf before yum).
	PackageManager string
	// InitSystem is systemd when /run/systemd/system exists (systemd's
	// own test, sd_booted), openrc when /run/openrc does, else a guess
	// from PID 1's name (sysvinit for init, runit, s6), else unknown.
	InitSystem string
	// Architecture is uname -m as the host prints it (x86_64, aarch64, ppc64le).
	Architecture string
	// Hostname is uname -n: the kernel's host name, often the short name.
	Hostname string
	// FQDN is hostname -f when it succeeds (it asks the resolver); empty
	// when it fails or takes more than 3 seconds.
	FQDN string
	// Kernel is uname -r.
	Kernel string
	// CPUs is the number of CPUs a process may run on (nproc, which
	// honours CPU affinity; getconf _NPROCESSORS_ONLN when nproc is missing).
	CPUs int
	// MemoryMB is MemTotal of /proc/meminfo in MiB, rounded down (Ansible's
	// memtotal_mb).
	MemoryMB int64
	// GPUs are the NVIDIA GPUs, ordered by index: from nvidia-smi -L when
	// it is installed and works, else one per /dev/nvidiaN device file.
	GPUs []GPU
	// Notes say, one sentence each, which facts could not be gathered and why.
	Notes []string
}

// OS is what /etc/os-release (or /usr/lib/os-release) says.
type OS struct {
	// ID is os-release's ID (debian, ubuntu, rocky, sles).
	ID string
	// Name is os-release's NAME ("Debian GNU/Linux", "Rocky Linux").
	Name string
	// Version is os-release's VERSION ("12 (bookworm)", "15-SP5").
	Version string
	// VersionID is os-release's VERSION_ID ("12", "22.04", "9.3", "15.5").
	VersionID string
	// VersionMajor is VersionID up to its first dot ("22", "9", "15").
	VersionMajor string
	// Codename is VERSION_CODENAME (bookworm, jammy); empty where the
	// distribution has none (Rocky, SLES).
	Codename string
	// Family is Ansible's os_family: Debian, RedHat, Suse, Archlinux,
	// Alpine or Gentoo, from ID and then ID_LIKE; empty when neither is known.
	Family string
}

// GPU is one NVIDIA GPU.
type GPU struct {
	// Index is nvidia-smi's index, or N of /dev/nvidiaN.
	Index int
	// Name is the model as nvidia-smi prints it ("NVIDIA A100-SXM4-80GB");
	// empty when only the device file was seen.
	Name string
	// UUID is nvidia-smi's GPU-… identifier; empty without nvidia-smi.
	UUID string
	// Device is /dev/nvidiaN when that file exists. For a GPU listed by
	// nvidia-smi it is the file whose N is the GPU's index: the driver
	// numbers both the same way unless told otherwise, and nvidia-smi -L
	// does not print the minor number.
	Device string
}

//go:embed gather.sh
var gatherScript string

// script is gather.sh without its comment lines: the command goes over
// the wire, and sshd logs it, on every host of every run.
var script = func() string {
	var b strings.Builder
	for line := range strings.Lines(gatherScript) {
		if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		b.WriteString(line)
	}
	return b.String()
}()

// Script is the one remote shell command (POSIX sh: no bash-isms, no
// python) whose stdout Parse reads. It reads every file on the host
// itself and exits 0; a missing tool or file is reported in its output,
// not by its exit status.
func Script() string { return script }
