package slurm

import (
	"errors"
	"strings"
	"testing"
)

func TestParseTRES(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"billing=1,cpu=1,gres/gpu=1,node=1", "billing=1,cpu=1,gres/gpu=1,node=1"},               // sacct AllocTRES
		{"cpu=1,mem=2G,node=1,billing=1,gres/gpu=1", "billing=1,cpu=1,gres/gpu=1,mem=2G,node=1"}, // scontrol TRES (id order)
		{"cpu=1,gres/gpu=1,mem=0,node=1", "cpu=1,gres/gpu=1,mem=0,node=1"},
		{"gres/gpu=2", "gres/gpu=2"},
		{"gpu=2", "gres/gpu=2"}, // the seed's spelling, recognised
		{"GPU=2", "gres/gpu=2"},
		{" gres/gpu = 2 , cpu=4 ", "cpu=4,gres/gpu=2"},
		{"gres/gpu=20000", "gres/gpu=20000"},
		{"gres/gpu:a100=1", "gres/gpu:a100=1"},
		{"mem=2048", "mem=2G"},
		{"mem=1500", "mem=1500M"}, // verified: MaxTRESPerUser=mem=1500 reads mem=1500M
		{"mem=2048M", "mem=2G"},
		{"mem=1T", "mem=1T"},
		{"mem=1048575G", "mem=1048575G"}, // just under 1024P: no unit past P, as Slurm prints
		{"mem=1048576K", "mem=1G"},
		{"license/matlab=3,bb/cray=1G", "bb/cray=1G,license/matlab=3"},
		{"gres/gpu=-1", "gres/gpu=-1"},
		{"", ""},
		{"-1", ""},
		{"mps=100", "gres/mps=100"},
	}
	for _, tc := range tests {
		got, err := ParseTRES(tc.in)
		if err != nil {
			t.Errorf("ParseTRES(%q): %v", tc.in, err)
			continue
		}
		if got.String() != tc.want {
			t.Errorf("ParseTRES(%q) = %q, want %q", tc.in, got.String(), tc.want)
		}
	}
}

func TestParseTRESRejects(t *testing.T) {
	tests := []struct {
		in      string
		is      error
		mention string
	}{
		{"gpu:2", ErrColonTRES, "gres/gpu=2"},
		{"gres/gpu:2", ErrColonTRES, "no TRES id found for gres/gpu:2"},
		{"gres/gpu:20000", ErrColonTRES, "GPU-memory"},
		{"gres/gpumem=20000", ErrGPUMemoryTRES, "20000 GPUs"},
		{"gpumem=20G", ErrGPUMemoryTRES, "no GPU-memory TRES"},
		{"gpu_mem=20000", ErrGPUMemoryTRES, ""},
		{"mem_per_gpu=20000", ErrGPUMemoryTRES, ""},
		{"gres/gpumem:20000", ErrGPUMemoryTRES, ""},
		{"gres/gpu=2:1", ErrColonTRES, ""},
		{"gres/gpu:2=1", ErrColonTRES, ""},
		{"gpus=2", nil, "did you mean gres/gpu"},
		{"cpus=4", nil, "did you mean cpu"},
		{"memory=4G", nil, "did you mean mem"},
		{"foo=1", nil, "unknown TRES type"},
		{"gres/gpu", nil, "missing =COUNT"},
		{"gres/gpu=", nil, "missing count"},
		{"gres/gpu=two", nil, "not a whole number"},
		{"gres/gpu=-2", nil, "not a whole number"},
		{"cpu=1,,node=1", nil, "empty item"},
		{"cpu=1,cpu=2", nil, "twice"},
		{"mem=1500K", nil, "whole number of MB"},
		{"cpu=2G", nil, "not a whole number"},
		{"mem=99999999999999999P", nil, "out of range"},
		{"mem=1024P", nil, "out of range"}, // sacctmgr prints it back as mem=1? (fuzz find)
		{"bb/x=1048576P", nil, "out of range"},
		{"license/a:b=1", nil, "only gres/"},
		{"gres/GPU X=1", nil, "invalid name"},
	}
	for _, tc := range tests {
		got, err := ParseTRES(tc.in)
		if err == nil {
			t.Errorf("ParseTRES(%q) = %v, want error", tc.in, got)
			continue
		}
		if tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("ParseTRES(%q) error %v, want errors.Is %v", tc.in, err, tc.is)
		}
		if !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("ParseTRES(%q) error %q does not mention %q", tc.in, err, tc.mention)
		}
	}
}

func TestTRESHelpers(t *testing.T) {
	alloc, err := ParseTRES("billing=1,cpu=1,gres/gpu=1,node=1")
	if err != nil {
		t.Fatal(err)
	}
	if !Contains(alloc, "gres/gpu", 1) || !Contains(alloc, "gpu", 1) || Contains(alloc, "gres/gpu", 2) || Contains(alloc, "mem", 0) {
		t.Error("Contains")
	}
	a, _ := ParseTRES("cpu=1,mem=2G,node=1,billing=1,gres/gpu=1")
	b, _ := ParseTRES("gres/gpu=1,billing=1,node=1,mem=2048,cpu=1,license/x=-1")
	if !a.Equal(b) || a.Equal(alloc) {
		t.Error("Equal")
	}
	live, _ := ParseTRES("cpu=4,gres/gpu=2,mem=2G")
	want, _ := ParseTRES("gres/gpu=3")
	if got := ReplaceArg(want, live).String(); got != "cpu=-1,gres/gpu=3,mem=-1" {
		t.Errorf("ReplaceArg = %q", got)
	}
	if got := ReplaceArg(TRES{}, live).String(); got != "cpu=-1,gres/gpu=-1,mem=-1" {
		t.Errorf("ReplaceArg(clear) = %q", got)
	}
	big, _ := ParseTRES("gres/gpu=20000")
	if w := big.Warnings(); len(w) != 1 || !strings.Contains(w[0], "NUMBER of GPUs") {
		t.Errorf("Warnings = %q", w)
	}
}
