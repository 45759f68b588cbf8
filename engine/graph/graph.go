// Package graph orders steps: a directed acyclic graph of named nodes
// where an edge a→b means a must run before b.
package graph

import (
	"container/heap"
	"fmt"
	"sort"
)

// Graph holds nodes in insertion (declaration) order, which breaks ties.
type Graph struct {
	names []string
	index map[string]int
	// deps[i] are the nodes that must run before node i.
	deps [][]int
}

// New returns an empty graph.
func New() *Graph { return &Graph{index: map[string]int{}} }

// Add adds a node; adding twice is harmless.
func (g *Graph) Add(name string) {
	if _, ok := g.index[name]; ok {
		return
	}
	g.index[name] = len(g.names)
	g.names = append(g.names, name)
	g.deps = append(g.deps, nil)
}

// Connect records that before must run before after. Both must exist.
func (g *Graph) Connect(before, after string) error {
	b, ok1 := g.index[before]
	a, ok2 := g.index[after]
	if !ok1 || !ok2 {
		return fmt.Errorf("graph: unknown node in edge %s→%s", before, after)
	}
	g.deps[a] = append(g.deps[a], b)
	return nil
}

// Dependencies returns the direct predecessors of name, in declaration order.
func (g *Graph) Dependencies(name string) []string {
	i, ok := g.index[name]
	if !ok {
		return nil
	}
	idx := append([]int(nil), g.deps[i]...)
	sort.Ints(idx)
	var out []string
	for j, d := range idx {
		if j > 0 && idx[j-1] == d {
			continue
		}
		out = append(out, g.names[d])
	}
	return out
}

// CycleError names every node of each cycle found.
type CycleError struct{ Cycles [][]string }

func (e *CycleError) Error() string {
	return fmt.Sprintf("dependency cycle: %v", e.Cycles)
}

// Sort returns the nodes in an order where every node follows its
// dependencies; among ready nodes the earliest declared goes first, so a
// runbook without references runs top to bottom.
func (g *Graph) Sort() ([]string, error) {
	if cycles := g.cycles(); len(cycles) > 0 {
		return nil, &CycleError{Cycles: cycles}
	}
	n := len(g.names)
	indegree := make([]int, n)
	dependents := make([][]int, n)
	for i, ds := range g.deps {
		seen := map[int]bool{}
		for _, d := range ds {
			if seen[d] {
				continue
			}
			seen[d] = true
			indegree[i]++
			dependents[d] = append(dependents[d], i)
		}
	}
	ready := &intHeap{}
	for i := 0; i < n; i++ {
		if indegree[i] == 0 {
			heap.Push(ready, i)
		}
	}
	out := make([]string, 0, n)
	for ready.Len() > 0 {
		i := heap.Pop(ready).(int)
		out = append(out, g.names[i])
		for _, d := range dependents[i] {
			indegree[d]--
			if indegree[d] == 0 {
				heap.Push(ready, d)
			}
		}
	}
	return out, nil
}

// cycles finds strongly connected components with more than one node, or
// a node depending on itself (Tarjan's algorithm).
func (g *Graph) cycles() [][]string {
	n := len(g.names)
	index := make([]int, n)
	low := make([]int, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var stack []int
	var out [][]string
	next := 0
	var visit func(v int)
	visit = func(v int) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		onStack[v] = true
		for _, w := range g.deps[v] {
			if index[w] < 0 {
				visit(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] != index[v] {
			return
		}
		var comp []int
		for {
			w := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			onStack[w] = false
			comp = append(comp, w)
			if w == v {
				break
			}
		}
		self := false
		for _, d := range g.deps[v] {
			self = self || d == v
		}
		if len(comp) > 1 || self {
			sort.Ints(comp)
			names := make([]string, len(comp))
			for i, c := range comp {
				names[i] = g.names[c]
			}
			out = append(out, names)
		}
	}
	for v := 0; v < n; v++ {
		if index[v] < 0 {
			visit(v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return g.index[out[i][0]] < g.index[out[j][0]] })
	return out
}

type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
