package balancer

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nephele-dev/nephele/internal/clock"
)

// benchTarget is a minimal HTTP target answering a small body.
func benchTarget(b *testing.B) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "5")
		io.WriteString(w, "hello")
	}))
	b.Cleanup(s.Close)
	return s
}

func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024, DisableCompression: true}}
}

// runBench drives url with parallel keep-alive clients, or with one
// client at a time when serial (for the latency the proxy adds, p50/p99
// minus BenchmarkDirect's, without queueing behind other requests).
func runBench(b *testing.B, url string) { runBenchWith(b, url, false) }

func runBenchWith(b *testing.B, url string, serial bool) {
	c := benchClient()
	defer c.Transport.(*http.Transport).CloseIdleConnections()
	b.ReportAllocs()
	one := func() (time.Duration, bool) {
		start := time.Now()
		resp, err := c.Get(url)
		if err != nil {
			b.Error(err)
			return 0, false
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Errorf("status %d", resp.StatusCode)
			return 0, false
		}
		return time.Since(start), true
	}
	var mu sync.Mutex
	var lat []time.Duration
	cpu0 := cpuTime(syscall.RUSAGE_SELF)
	b.ResetTimer()
	if serial {
		for range b.N {
			d, ok := one()
			if !ok {
				return
			}
			lat = append(lat, d)
		}
	} else {
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			var mine []time.Duration
			defer func() {
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			}()
			for pb.Next() {
				d, ok := one()
				if !ok {
					return
				}
				mine = append(mine, d)
			}
		})
	}
	b.StopTimer()
	// CPU per request of this process (client, targets and, for
	// BenchmarkProxy, the balancer): unlike ns/op it does not depend on
	// what else the machine runs.
	b.ReportMetric(float64((cpuTime(syscall.RUSAGE_SELF)-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
	if len(lat) > 0 {
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	}
}

// cpuTime is the user and system CPU time used so far by who.
func cpuTime(who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkProxySerial and BenchmarkDirectSerial send one request at a
// time: their p99 difference is the latency the proxy adds.
func BenchmarkProxySerial(b *testing.B) { benchProxy(b, true) }

// BenchmarkDirectSerial is BenchmarkProxySerial without the proxy.
func BenchmarkDirectSerial(b *testing.B) { runBenchWith(b, benchTarget(b).URL+"/", true) }

// BenchmarkProxy measures requests through an ALB listener to two targets
// (round robin); compare with BenchmarkDirect for the proxy's cost.
func BenchmarkProxy(b *testing.B) { benchProxy(b, false) }

func benchProxy(b *testing.B, serial bool) {
	p := New(Options{Clock: clock.Real()})
	defer p.Close()
	var targets []Target
	for i := range 2 {
		s := benchTarget(b)
		host, port, _ := net.SplitHostPort(s.Listener.Addr().String())
		n, _ := strconv.Atoi(port)
		targets = append(targets, Target{ID: "i-" + strconv.Itoa(i), Addr: host, Port: n})
	}
	tg := httpGroup("tg", targets...)
	tg.HealthCheck.Enabled = false
	p.SetTargetGroup(tg)
	addrs, err := p.SetLoadBalancer(LoadBalancer{ARN: "lb", Type: "application", IP: "127.0.0.1", IdleTimeout: time.Minute,
		Listeners: []Listener{{ARN: "l", Protocol: "HTTP", Rules: []Rule{defaultRule(forwardTo("tg"))}}}})
	if err != nil {
		b.Fatal(err)
	}
	runBenchWith(b, "http://"+addrs["l"]+"/", serial)
}

// BenchmarkDirect measures the same requests straight at one target.
func BenchmarkDirect(b *testing.B) {
	runBench(b, benchTarget(b).URL+"/")
}
