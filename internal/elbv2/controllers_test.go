package elbv2

import (
	"context"
	"sync"
	"testing"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/elbv2"
	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/metrics"
	"github.com/nephele-dev/nephele/internal/service"
	"github.com/nephele-dev/nephele/internal/store"
)

// recordingSink keeps what is published.
type recordingSink struct {
	mu   sync.Mutex
	data []metrics.Datum
}

func (r *recordingSink) Publish(_ context.Context, account, region string, data []metrics.Datum) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.data = append(r.data, data...)
	return nil
}

func (r *recordingSink) find(name string, dims map[string]string) (metrics.Datum, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range r.data {
		if d.Name != name || len(d.Dimensions) != len(dims) {
			continue
		}
		match := true
		for k, v := range dims {
			if d.Dimensions[k] != v {
				match = false
			}
		}
		if match {
			return d, true
		}
	}
	return metrics.Datum{}, false
}

// TestMetricsEveryMinute: a minute on the clock publishes the ALB's
// metrics with AWS's dimensions, zero request counts included.
func TestMetricsEveryMinute(t *testing.T) {
	fake := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	sink := &recordingSink{}
	s := New(store.NewMemory(), fake, Options{Compute: newFakeCompute(), Metrics: sink, ResyncInterval: time.Hour})
	t.Cleanup(func() { s.Close() })
	ctx := service.WithRequest(context.Background(), service.Request{AccountID: "000000000000", Region: "us-east-1"})
	lb := mustLB(t, s, ctx, "web", "application")
	tg := mustTG(t, s, ctx, "web", "HTTP")
	mustListener(t, s, ctx, *lb.LoadBalancerArn, "HTTP", 80, *tg.TargetGroupArn)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	lbDim, tgDim := lbDimension(*lb.LoadBalancerArn), tgDimension(*tg.TargetGroupArn)
	// Minutes pass until the controller, whose tickers are armed in its
	// own goroutine, has published (bounded: 100 minutes).
	for i := 0; ; i++ {
		if _, ok := sink.find("RequestCountPerTarget", map[string]string{"TargetGroup": tgDim}); ok {
			break
		}
		if i == 100 {
			t.Fatal("no RequestCountPerTarget published after 100 minutes")
		}
		fake.Advance(time.Minute)
		time.Sleep(20 * time.Millisecond)
	}
	for _, want := range []struct {
		name string
		dims map[string]string
	}{
		{"RequestCount", map[string]string{"LoadBalancer": lbDim}},
		{"RequestCount", map[string]string{"LoadBalancer": lbDim, "TargetGroup": tgDim}},
		{"HealthyHostCount", map[string]string{"LoadBalancer": lbDim, "TargetGroup": tgDim}},
		{"UnHealthyHostCount", map[string]string{"LoadBalancer": lbDim, "TargetGroup": tgDim}},
		{"RequestCountPerTarget", map[string]string{"LoadBalancer": lbDim, "TargetGroup": tgDim}},
	} {
		d, ok := sink.find(want.name, want.dims)
		if !ok {
			t.Errorf("%s %v not published", want.name, want.dims)
			continue
		}
		if d.Namespace != "AWS/ApplicationELB" || d.Value != 0 {
			t.Errorf("%s = %+v", want.name, d)
		}
	}
}

// TestRestartReopensListeners: a new service on the same store opens the
// stored load balancers' listeners when it starts.
func TestRestartReopensListeners(t *testing.T) {
	st := store.NewMemory()
	fake := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	ctx := service.WithRequest(context.Background(), service.Request{AccountID: "000000000000", Region: "us-east-1"})
	first := New(st, fake, Options{Compute: newFakeCompute()})
	lb := mustLB(t, first, ctx, "web", "application")
	tg := mustTG(t, first, ctx, "web", "HTTP")
	l := mustListener(t, first, ctx, *lb.LoadBalancerArn, "HTTP", 80, *tg.TargetGroupArn)
	first.Close()

	second := New(st, fake, Options{Compute: newFakeCompute()})
	t.Cleanup(func() { second.Close() })
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	second.mu.Lock()
	addr := second.addrs[*l.ListenerArn]
	second.mu.Unlock()
	if addr == "" {
		t.Fatal("listener not reopened after restart")
	}
	out, err := second.DescribeTargetGroups(ctx, &api.DescribeTargetGroupsInput{LoadBalancerArn: lb.LoadBalancerArn})
	if err != nil || len(out.TargetGroups) != 1 || out.TargetGroups[0].LoadBalancerArns[0] != *lb.LoadBalancerArn {
		t.Errorf("DescribeTargetGroups by load balancer = %+v, %v", out, err)
	}
}
