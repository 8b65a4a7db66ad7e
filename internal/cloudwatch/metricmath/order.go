package metricmath

import (
	"fmt"
	"slices"
	"strings"
)

// Order returns the Ids of exprs in an order in which each expression comes
// after the expressions it refers to, so that evaluating them in turn finds
// every input ready. MetricStat queries (metricIDs) need no evaluation and
// METRICS() sees only them, so neither adds an edge. Ids that are neither
// expressions nor metrics are left for Eval to report.
//
// The order is deterministic: expressions are visited by Id. A cycle (an
// expression that refers to itself, directly or through others) is an
// *Error whose ID is the first expression in it and whose Msg names the
// whole cycle: "Circular dependency detected between expressions: e1 -> e2
// -> e1".
func Order(exprs map[string]*Expr, metricIDs []string) ([]string, error) {
	metric := make(map[string]bool, len(metricIDs))
	for _, id := range metricIDs {
		metric[id] = true
	}
	ids := make([]string, 0, len(exprs))
	for id := range exprs {
		ids = append(ids, id)
	}
	slices.Sort(ids)

	const (
		unvisited = iota
		visiting
		done
	)
	state := make(map[string]int, len(exprs))
	var out, path []string
	var visit func(id string) error
	visit = func(id string) error {
		switch state[id] {
		case done:
			return nil
		case visiting:
			cycle := append(slices.Clone(path[slices.Index(path, id):]), id)
			return &Error{ID: cycle[0], Msg: fmt.Sprintf("Circular dependency detected between expressions: %s", strings.Join(cycle, " -> "))}
		}
		state[id] = visiting
		path = append(path, id)
		if e := exprs[id]; e != nil {
			for _, ref := range e.Refs() {
				if _, isExpr := exprs[ref]; !isExpr || metric[ref] {
					continue
				}
				if err := visit(ref); err != nil {
					return err
				}
			}
		}
		path = path[:len(path)-1]
		state[id] = done
		out = append(out, id)
		return nil
	}
	for _, id := range ids {
		if err := visit(id); err != nil {
			return nil, err
		}
	}
	return out, nil
}
