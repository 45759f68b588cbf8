package graph

import (
	"errors"
	"reflect"
	"testing"
)

func TestSort(t *testing.T) {
	tests := []struct {
		name  string
		nodes []string
		edges [][2]string
		want  []string
	}{
		{"declaration order without edges", []string{"c", "a", "b"}, nil, []string{"c", "a", "b"}},
		{"dependency moves a node later", []string{"a", "b", "c"}, [][2]string{{"c", "a"}}, []string{"b", "c", "a"}},
		{"diamond", []string{"top", "l", "r", "bottom"}, [][2]string{{"top", "l"}, {"top", "r"}, {"l", "bottom"}, {"r", "bottom"}}, []string{"top", "l", "r", "bottom"}},
		{"duplicate edges", []string{"a", "b"}, [][2]string{{"a", "b"}, {"a", "b"}}, []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := New()
			for _, n := range tt.nodes {
				g.Add(n)
			}
			for _, e := range tt.edges {
				if err := g.Connect(e[0], e[1]); err != nil {
					t.Fatal(err)
				}
			}
			got, err := g.Sort()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Sort() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCycleNamesEveryStep(t *testing.T) {
	g := New()
	for _, n := range []string{"a", "b", "c", "d", "self"} {
		g.Add(n)
	}
	_ = g.Connect("a", "b")
	_ = g.Connect("b", "c")
	_ = g.Connect("c", "a")
	_ = g.Connect("self", "self")
	_, err := g.Sort()
	var ce *CycleError
	if !errors.As(err, &ce) {
		t.Fatalf("want CycleError, got %v", err)
	}
	want := [][]string{{"a", "b", "c"}, {"self"}}
	if !reflect.DeepEqual(ce.Cycles, want) {
		t.Fatalf("cycles = %v, want %v", ce.Cycles, want)
	}
}

func TestConnectUnknown(t *testing.T) {
	g := New()
	g.Add("a")
	if err := g.Connect("a", "zz"); err == nil {
		t.Fatal("want error for unknown node")
	}
}
