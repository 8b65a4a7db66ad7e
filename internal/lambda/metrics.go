package lambda

import (
	"context"
	"maps"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nephele-dev/nephele/internal/lambda/execenv"
	"github.com/nephele-dev/nephele/internal/metrics"
)

// metricsPeriod is how often the AWS/Lambda metrics are published: their
// period is one minute.
const metricsPeriod = time.Minute

// maxDurations bounds the Duration values buffered per period; beyond
// it, values are dropped (the counts stay exact).
const maxDurations = 5000

// metricBuffer collects the AWS/Lambda metrics of invocations and
// publishes them each minute: counts summed, concurrency as its maximum,
// durations as individual values (so percentiles work).
type metricBuffer struct {
	s *Service

	mu    sync.Mutex
	sums  map[metricKey]float64
	maxes map[metricKey]float64
	durs  map[regionKey][]metrics.Datum
}

// metricKey is one series: account, region, name and dimensions
// (rendered as "k=v,k=v").
type metricKey struct {
	account, region, name, unit, dims string
}

func newMetricBuffer(s *Service) *metricBuffer {
	return &metricBuffer{s: s, sums: map[metricKey]float64{}, maxes: map[metricKey]float64{}, durs: map[regionKey][]metrics.Datum{}}
}

// dimensionSets are the dimension sets of an invocation's metrics: the
// function, and the version or alias when it was invoked by one.
func dimensionSets(t *target) []map[string]string {
	sets := []map[string]string{{"FunctionName": t.fn.Name}}
	if t.qualifier != "" {
		sets = append(sets, map[string]string{"FunctionName": t.fn.Name, "Resource": t.fn.Name + ":" + t.qualifier})
	}
	return sets
}

func renderDims(d map[string]string) string {
	var parts []string
	for k, v := range d {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func parseDims(s string) map[string]string {
	if s == "" {
		return nil
	}
	d := map[string]string{}
	for _, p := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(p, "=")
		d[k] = v
	}
	return d
}

func (m *metricBuffer) add(t *target, name, unit string, v float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, d := range dimensionSets(t) {
		m.sums[metricKey{t.sc.account, t.sc.region, name, unit, renderDims(d)}] += v
	}
}

// invocation records a completed invocation.
func (m *metricBuffer) invocation(t *target, res execenv.Result) {
	errs := 0.0
	if res.FunctionError != "" {
		errs = 1
	}
	m.add(t, "Invocations", "Count", 1)
	m.add(t, "Errors", "Count", errs)
	now := m.s.clk.Now()
	ms := float64(res.Duration) / float64(time.Millisecond)
	m.mu.Lock()
	defer m.mu.Unlock()
	rk := regionKey{t.sc.account, t.sc.region}
	if len(m.durs[rk]) < maxDurations {
		for _, d := range dimensionSets(t) {
			m.durs[rk] = append(m.durs[rk], metrics.Datum{
				Namespace: "AWS/Lambda", Name: "Duration", Dimensions: maps.Clone(d), Unit: "Milliseconds",
				Value: ms, Timestamp: now, StorageResolution: 60,
			})
		}
	}
}

// throttle records a throttled invocation.
func (m *metricBuffer) throttle(t *target) { m.add(t, "Throttles", "Count", 1) }

// concurrent records the function's concurrency when an execution
// starts; the period's maximum is published, per function and for the
// region.
func (m *metricBuffer) concurrent(t *target, n int) {
	region := m.s.conc.regionInFlight(t.sc.account, t.sc.region)
	m.mu.Lock()
	defer m.mu.Unlock()
	k := metricKey{t.sc.account, t.sc.region, "ConcurrentExecutions", "Count", renderDims(map[string]string{"FunctionName": t.fn.Name})}
	m.maxes[k] = max(m.maxes[k], float64(n))
	k = metricKey{t.sc.account, t.sc.region, "ConcurrentExecutions", "Count", ""}
	m.maxes[k] = max(m.maxes[k], float64(region))
}

// run publishes every period until ctx ends.
func (m *metricBuffer) run(ctx context.Context) {
	tick := m.s.clk.NewTicker(metricsPeriod)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			m.flush(context.Background())
			return
		case <-tick.C():
			m.flush(ctx)
		}
	}
}

// flush publishes what was collected.
func (m *metricBuffer) flush(ctx context.Context) {
	now := m.s.clk.Now()
	m.mu.Lock()
	byRegion := map[regionKey][]metrics.Datum{}
	for rk, d := range m.durs {
		byRegion[rk] = append(byRegion[rk], d...)
	}
	for k, v := range m.sums {
		rk := regionKey{k.account, k.region}
		byRegion[rk] = append(byRegion[rk], metrics.Datum{Namespace: "AWS/Lambda", Name: k.name, Dimensions: parseDims(k.dims), Unit: k.unit, Value: v, Timestamp: now, StorageResolution: 60})
	}
	for k, v := range m.maxes {
		rk := regionKey{k.account, k.region}
		byRegion[rk] = append(byRegion[rk], metrics.Datum{Namespace: "AWS/Lambda", Name: k.name, Dimensions: parseDims(k.dims), Unit: k.unit, Value: v, Timestamp: now, StorageResolution: 60})
	}
	m.sums, m.maxes, m.durs = map[metricKey]float64{}, map[metricKey]float64{}, map[regionKey][]metrics.Datum{}
	m.mu.Unlock()
	for rk, data := range byRegion {
		if err := m.s.opts.Metrics.Publish(ctx, rk.account, rk.region, data); err != nil {
			m.s.opts.Logger.Warn("lambda: publishing metrics", "err", err)
		}
	}
}
