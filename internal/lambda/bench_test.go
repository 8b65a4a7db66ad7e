package lambda

import (
	"testing"

	api "github.com/nephele-dev/nephele/internal/api/lambda"
)

// BenchmarkInvokeControlPlane measures what the control plane adds to a
// synchronous invoke (lookup, concurrency accounting, metrics) with an
// executor that answers at once: the share of the warm invoke overhead
// that is not execenv's.
func BenchmarkInvokeControlPlane(b *testing.B) {
	fx := newFixture(b)
	fx.create(b, "f")
	in := &api.InvokeInput{FunctionName: ptr("f"), Payload: []byte(`{"k":"v"}`)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := fx.s.Invoke(fx.ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInvokeControlPlaneParallel is the same with invocations in
// parallel, for lock contention in the limiter and metrics.
func BenchmarkInvokeControlPlaneParallel(b *testing.B) {
	fx := newFixture(b)
	fx.create(b, "f")
	in := &api.InvokeInput{FunctionName: ptr("f"), Payload: []byte(`{"k":"v"}`)}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := fx.s.Invoke(fx.ctx, in); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
