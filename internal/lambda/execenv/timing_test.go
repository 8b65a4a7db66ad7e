package execenv

import (
	"context"
	"testing"
	"time"

	"github.com/nephele-dev/nephele/internal/clock"
)

// BenchmarkInvoke measures invocations on the real clock, the figures
// behind the performance targets:
//
//	go test -run '^$' -bench Invoke ./internal/lambda/execenv
//
// warm is a round trip through a warm environment (the handler does
// nothing, so it is all overhead); cold retires the environment before
// each invocation, so each one starts a process and waits for its init
// (the code is already unpacked, as for every cold start but the first of
// a package). init-ms is the Init Duration the REPORT line shows.
func BenchmarkInvoke(b *testing.B) {
	cases := []struct {
		name, runtime, handler string
		code                   func(testing.TB) []byte
		snapStart              bool
	}{
		{"python", "python3.12", "app.handler", func(t testing.TB) []byte {
			return makeZip(t, zipFile{name: "app.py", body: "def handler(e, c):\n    return e\n"})
		}, false},
		{"python-snapstart", "python3.12", "app.handler", func(t testing.TB) []byte {
			return makeZip(t, zipFile{name: "app.py", body: "def handler(e, c):\n    return e\n"})
		}, true},
		{"node", "nodejs20.x", "index.handler", func(t testing.TB) []byte {
			return makeZip(t, zipFile{name: "index.js", body: "exports.handler = async (e) => e;\n"})
		}, false},
		{"go", "provided.al2023", "bootstrap", func(t testing.TB) []byte {
			z, err := goBootstrap()
			if err != nil {
				t.Skip(err)
			}
			return z
		}, false},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			if err := CheckRuntime(c.runtime); err != nil {
				b.Skip(err)
			}
			p := New(Options{Clock: clock.Real(), Dir: b.TempDir()})
			defer p.Close()
			fn := function(c.runtime, c.handler, c.code(b))
			fn.SnapStart = c.snapStart
			ctx := context.Background()
			call := func() Result {
				res, err := p.Invoke(ctx, fn, Request{ID: newUUID(), Payload: []byte(`{}`)})
				if err != nil || res.FunctionError != "" {
					b.Fatalf("%v %s", err, res.Payload)
				}
				return res
			}
			call() // unpack the code, resolve the interpreter
			b.Run("warm", func(b *testing.B) {
				var inRuntime time.Duration
				for b.Loop() {
					inRuntime += call().Duration
				}
				// runtime-ms is the REPORT Duration: from handing the
				// event to the runtime to its answer.
				b.ReportMetric(float64(inRuntime)/float64(b.N)/float64(time.Millisecond), "runtime-ms")
			})
			b.Run("cold", func(b *testing.B) {
				var init time.Duration
				for b.Loop() {
					if c.snapStart {
						dropEnvironments(p, fn) // keep the snapshot
					} else {
						p.Retire(fn.Account, fn.Region, fn.Name, "")
					}
					res := call()
					init += res.InitDuration + res.RestoreDuration
				}
				// init-ms is the Init Duration, or for SnapStart the
				// Restore Duration.
				b.ReportMetric(float64(init)/float64(b.N)/float64(time.Millisecond), "init-ms")
			})
		})
	}
}

// dropEnvironments kills fn's environments but not its snapshot.
func dropEnvironments(p *Pool, fn *Function) {
	p.mu.Lock()
	envs := append([]*env(nil), p.envs[keyOf(fn)]...)
	for _, e := range envs {
		p.removeLocked(e)
	}
	p.mu.Unlock()
	killAll(envs)
}
