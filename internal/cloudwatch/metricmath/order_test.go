package metricmath

import (
	"errors"
	"slices"
	"testing"
)

func TestOrder(t *testing.T) {
	tests := []struct {
		name    string
		exprs   map[string]string
		metrics []string
		want    []string
		wantErr *Error
	}{
		{
			name:    "dependencies_first",
			exprs:   map[string]string{"e1": "m1 + e2", "e2": "m2 * 2", "e3": "e1 + e2"},
			metrics: []string{"m1", "m2"},
			want:    []string{"e2", "e1", "e3"},
		},
		{
			name:    "independent_expressions_by_id",
			exprs:   map[string]string{"b": "m1", "a": "m1", "c": "m1"},
			metrics: []string{"m1"},
			want:    []string{"a", "b", "c"},
		},
		{
			name:    "metrics_adds_no_edge",
			exprs:   map[string]string{"e1": "SUM(METRICS())", "e0": "e1 * 2"},
			metrics: []string{"m1", "m2"},
			want:    []string{"e1", "e0"},
		},
		{
			name:  "unknown_ids_are_left_to_eval",
			exprs: map[string]string{"e1": "m9 + 1"},
			want:  []string{"e1"},
		},
		{
			name:    "self_reference",
			exprs:   map[string]string{"e1": "e1 + 1"},
			wantErr: &Error{ID: "e1", Msg: "Circular dependency detected between expressions: e1 -> e1"},
		},
		{
			name:    "three_way_cycle",
			exprs:   map[string]string{"a": "b + 1", "b": "c", "c": "a * 2"},
			wantErr: &Error{ID: "a", Msg: "Circular dependency detected between expressions: a -> b -> c -> a"},
		},
		{
			name:    "cycle_behind_a_good_expression",
			exprs:   map[string]string{"a": "m1 + b", "b": "c", "c": "FILL(b, 0)"},
			metrics: []string{"m1"},
			wantErr: &Error{ID: "b", Msg: "Circular dependency detected between expressions: b -> c -> b"},
		},
		{
			name: "empty",
			want: nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			exprs := map[string]*Expr{}
			for id, src := range tc.exprs {
				e, err := Parse(src)
				if err != nil {
					t.Fatal(err)
				}
				exprs[id] = e
			}
			got, err := Order(exprs, tc.metrics)
			if tc.wantErr != nil {
				var me *Error
				if !errors.As(err, &me) || *me != *tc.wantErr {
					t.Fatalf("Order() error = %v, want %+v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Order() = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestOrderThenEval runs a small GetMetricData the way its handler does:
// expressions in Order's order, each result an input to the next.
func TestOrderThenEval(t *testing.T) {
	env := testEnv()
	srcs := map[string]string{
		"total":  "SUM(METRICS())",
		"share":  "m1 / total * 100",
		"smooth": "FILL(share, LINEAR)",
	}
	exprs := map[string]*Expr{}
	for id, src := range srcs {
		e, err := Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		exprs[id] = e
	}
	order, err := Order(exprs, env.Order)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range order {
		v, err := exprs[id].Eval(env)
		if err != nil {
			t.Fatal(WithID(err, id))
		}
		env.Inputs[id] = v.Series
	}
	// total {0:50 1:20 2:20 3:0}; share drops the division by zero at 3.
	if got, want := renderSeries(env.Inputs["smooth"][0]), "M1{0:60 1:100 2:0}"; got != want {
		t.Errorf("smooth = %s, want %s", got, want)
	}
}
