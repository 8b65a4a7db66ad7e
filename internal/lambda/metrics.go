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

// maxValues bounds the individual values (Duration, AsyncEventAge)
// buffered per metric, account and region each period; beyond it, values
// are dropped (the counts stay exact).
const maxValues = 5000

// metricBuffer collects the AWS/Lambda metrics of invocations and
// publishes them each minute: counts summed, concurrency as its maximum,
// durations and event ages as individual values (so averages, maxima and
// percentiles work).
type metricBuffer struct {
	s *Service

	mu    sync.Mutex
	sums  map[metricKey]float64
	maxes map[metricKey]float64
	vals  map[valueKey][]metrics.Datum
}

// valueKey names the individual values of one metric in one region.
type valueKey struct{ account, region, name string }

// metricKey is one series: account, region, name and dimensions
// (rendered as "k=v,k=v").
type metricKey struct {
	account, region, name, unit, dims string
}

func newMetricBuffer(s *Service) *metricBuffer {
	return &metricBuffer{s: s, sums: map[metricKey]float64{}, maxes: map[metricKey]float64{}, vals: map[valueKey][]metrics.Datum{}}
}

// dimensionSets are the dimension sets of an invocation's metrics: the
// function, and the version or alias when it was invoked by one.
func dimensionSets(t *target) []map[string]string { return dimsOf(t.fn.Name, t.qualifier) }

// dimsOf are the dimension sets of a function invoked with a qualifier
// ("" for none): FunctionName, and FunctionName with Resource
// ("name:qualifier") when there is one.
func dimsOf(name, qualifier string) []map[string]string {
	sets := []map[string]string{{"FunctionName": name}}
	if qualifier != "" {
		sets = append(sets, map[string]string{"FunctionName": name, "Resource": name + ":" + qualifier})
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
	m.addTo(t.sc.account, t.sc.region, dimensionSets(t), name, unit, v)
}

// addTo adds v to the period's sum of a metric, for each dimension set.
func (m *metricBuffer) addTo(account, region string, sets []map[string]string, name, unit string, v float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, d := range sets {
		m.sums[metricKey{account, region, name, unit, renderDims(d)}] += v
	}
}

// value buffers one individual value of a metric, for each dimension set.
func (m *metricBuffer) value(account, region string, sets []map[string]string, name, unit string, v float64) {
	now := m.s.clk.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	k := valueKey{account, region, name}
	if len(m.vals[k]) >= maxValues {
		return
	}
	for _, d := range sets {
		m.vals[k] = append(m.vals[k], metrics.Datum{
			Namespace: "AWS/Lambda", Name: name, Dimensions: maps.Clone(d), Unit: unit,
			Value: v, Timestamp: now, StorageResolution: 60,
		})
	}
}

// maxTo raises the period's maximum of a metric to v.
func (m *metricBuffer) maxTo(account, region string, d map[string]string, name, unit string, v float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := metricKey{account, region, name, unit, renderDims(d)}
	if old, ok := m.maxes[k]; !ok || v > old {
		m.maxes[k] = v
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
	m.value(t.sc.account, t.sc.region, dimensionSets(t), "Duration", "Milliseconds", milliseconds(res.Duration))
}

func milliseconds(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// asyncReceived records an event queued for asynchronous invocation
// (AsyncEventsReceived).
func (m *metricBuffer) asyncReceived(ev *asyncEvent) {
	m.addTo(ev.Account, ev.Region, dimsOf(ev.Function, ev.Qualifier), "AsyncEventsReceived", "Count", 1)
}

// asyncDropped records an event given up without a successful execution
// (AsyncEventsDropped): retries exhausted or too old, whether or not a
// destination or dead-letter queue then received it, or its function
// gone.
func (m *metricBuffer) asyncDropped(ev *asyncEvent) {
	m.addTo(ev.Account, ev.Region, dimsOf(ev.Function, ev.Qualifier), "AsyncEventsDropped", "Count", 1)
}

// asyncAge records how long an event had been queued when the function
// was invoked with it (AsyncEventAge): each invocation, so retries and
// throttling show as a growing age, as on AWS.
func (m *metricBuffer) asyncAge(ev *asyncEvent, age time.Duration) {
	m.value(ev.Account, ev.Region, dimsOf(ev.Function, ev.Qualifier), "AsyncEventAge", "Milliseconds", milliseconds(age))
}

// throttle records a throttled invocation.
func (m *metricBuffer) throttle(t *target) { m.add(t, "Throttles", "Count", 1) }

// concurrent records the function's concurrency when an execution
// starts; the period's maximum is published, per function and for the
// region.
func (m *metricBuffer) concurrent(t *target, n int) {
	m.provisioned(t, n)
	region := m.s.conc.regionInFlight(t.sc.account, t.sc.region)
	m.mu.Lock()
	defer m.mu.Unlock()
	k := metricKey{t.sc.account, t.sc.region, "ConcurrentExecutions", "Count", renderDims(map[string]string{"FunctionName": t.fn.Name})}
	m.maxes[k] = max(m.maxes[k], float64(n))
	k = metricKey{t.sc.account, t.sc.region, "ConcurrentExecutions", "Count", ""}
	m.maxes[k] = max(m.maxes[k], float64(region))
}

// provisioned records, when an execution starts on a version with
// provisioned concurrency, how many of its provisioned environments are
// in use (ProvisionedConcurrentExecutions) and that count over the
// allocated concurrency (ProvisionedConcurrencyUtilization), each as the
// period's maximum, per function and per alias or version configured (the
// Resource dimension), as Lambda emits them on each invocation. n is the
// function's executions in flight, this one included.
//
// The environments in use are the version's busy ones plus this one
// (execenv serves from provisioned environments first), capped by the
// allocation and by n.
func (m *metricBuffer) provisioned(t *target, n int) {
	if len(t.fn.Provisioned) == 0 {
		return
	}
	version := t.executedVersion()
	busy := -1
	fnTotal := 0
	for _, q := range sortedKeys(t.fn.Provisioned) {
		rec := t.fn.Provisioned[q]
		if rec == nil || rec.Allocated <= 0 || provisionedVersion(t.fn, q) != version {
			continue
		}
		if busy < 0 {
			busy = m.s.env.Busy(t.sc.account, t.sc.region, t.fn.Name, version)
		}
		inUse := min(busy+1, n, int(rec.Allocated))
		fnTotal += inUse
		res := map[string]string{"FunctionName": t.fn.Name, "Resource": t.fn.Name + ":" + q}
		m.maxTo(t.sc.account, t.sc.region, res, "ProvisionedConcurrentExecutions", "Count", float64(inUse))
		util := float64(inUse) / float64(rec.Allocated)
		m.maxTo(t.sc.account, t.sc.region, res, "ProvisionedConcurrencyUtilization", "None", util)
		m.maxTo(t.sc.account, t.sc.region, map[string]string{"FunctionName": t.fn.Name}, "ProvisionedConcurrencyUtilization", "None", util)
	}
	if busy >= 0 {
		m.maxTo(t.sc.account, t.sc.region, map[string]string{"FunctionName": t.fn.Name}, "ProvisionedConcurrentExecutions", "Count", float64(fnTotal))
	}
}

// provisionedVersion is the version a provisioned concurrency
// configuration keeps environments of: its qualifier, or its alias's
// version.
func provisionedVersion(f *functionRecord, q string) string {
	if isVersion(q) {
		return q
	}
	if a := f.Aliases[q]; a != nil {
		return a.Version
	}
	return ""
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
	for k, d := range m.vals {
		rk := regionKey{k.account, k.region}
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
	m.sums, m.maxes, m.vals = map[metricKey]float64{}, map[metricKey]float64{}, map[valueKey][]metrics.Datum{}
	m.mu.Unlock()
	for rk, data := range byRegion {
		if err := m.s.opts.Metrics.Publish(ctx, rk.account, rk.region, data); err != nil {
			m.s.opts.Logger.Warn("lambda: publishing metrics", "err", err)
		}
	}
}
