package cloudwatch

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/cloudwatch"
	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/cloudwatch/alarmeval"
	"github.com/nephele-dev/nephele/internal/cloudwatch/alarmrule"
	"github.com/nephele-dev/nephele/internal/cloudwatch/tsdb"
	"github.com/nephele-dev/nephele/internal/store"
)

// The evaluator is CloudWatch's alarm loop on the clock. Every ten
// seconds of clock time it evaluates the alarms that are due: alarms with
// a period of a minute or more once a minute, high-resolution alarms (10,
// 20 or 30 seconds) every ten seconds, as CloudWatch does ("If the alarm
// period is 10 seconds or 30 seconds, the alarm is evaluated every 10
// seconds"). Each evaluation reads the alarm's evaluation range, ending at
// the tick, and lets alarmeval decide the state. A change is recorded with
// its history item, then the new state's actions run, and composite
// alarms that name the alarm are evaluated again.

const (
	// tick is how often the evaluator wakes.
	tick = 10 * time.Second
	// evalLag is how long after a tick its evaluation runs, so that
	// datapoints published on the tick (EC2's, each minute) are in.
	evalLag = 3 * time.Second
	// maintenanceEvery is how often datapoints are compacted, history
	// pruned and snapshots saved.
	maintenanceEvery = 5 * time.Minute
	// maxCatchUp bounds how far back a late evaluator makes up ticks.
	maxCatchUp = time.Minute
	// scalingRepeat is how often an Auto Scaling action runs again while
	// its alarm stays in the state: "the alarm continues to invoke the
	// action once per minute".
	scalingRepeat = time.Minute
)

// evaluator evaluates alarms on the clock.
type evaluator struct {
	s *Service

	mu     sync.Mutex
	alarms map[string]*cachedAlarm // store key → alarm
	// composites indexes the composite alarms among alarms, which a
	// state change looks through for parents.
	composites map[string]*cachedAlarm
	lastTick   time.Time
	// For the admin status: the size and real duration of the last
	// evaluation that had alarms due, ticks evaluated, and ticks given up
	// after a stall longer than maxCatchUp.
	lastEvaluated int
	lastDuration  time.Duration
	ticks         int64
	skipped       int64

	// changing serialises state changes, so each history item's old
	// state is the state it replaced.
	changing sync.Mutex

	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	started bool
}

// cachedAlarm is an alarm as the evaluator holds it between evaluations.
type cachedAlarm struct {
	sc  scope
	rec alarmRecord
	// rule is a composite's parsed AlarmRule.
	rule *alarmrule.Rule
	// lastScaling is when its Auto Scaling actions last ran.
	lastScaling time.Time
}

func newEvaluator(s *Service) *evaluator {
	ctx, cancel := context.WithCancel(context.Background())
	return &evaluator{s: s, alarms: map[string]*cachedAlarm{}, composites: map[string]*cachedAlarm{}, ctx: ctx, cancel: cancel}
}

// start loads every alarm and begins the loop.
func (e *evaluator) start() error {
	if err := e.loadAll(); err != nil {
		return err
	}
	e.mu.Lock()
	e.started = true
	e.mu.Unlock()
	e.wg.Add(1)
	go e.run()
	return nil
}

// stop ends the loop and waits for actions in flight.
func (e *evaluator) stop() {
	e.cancel()
	e.wg.Wait()
}

// loadAll reads every stored alarm into the cache.
func (e *evaluator) loadAll() error {
	alarms := map[string]*cachedAlarm{}
	err := e.s.st.View(func(tx store.Tx) error {
		return tx.ForEach(bucketAlarms, "", func(key string, decode func(any) error) error {
			var r alarmRecord
			if err := decode(&r); err != nil {
				return err
			}
			account, region, _ := strings.Cut(key, "/")
			region, _, _ = strings.Cut(region, "/")
			alarms[key] = newCached(scope{Account: account, Region: region}, r)
			return nil
		})
	})
	if err != nil {
		return err
	}
	composites := map[string]*cachedAlarm{}
	for k, c := range alarms {
		if c.rule != nil {
			composites[k] = c
		}
	}
	e.mu.Lock()
	e.alarms, e.composites = alarms, composites
	e.mu.Unlock()
	return nil
}

func newCached(sc scope, r alarmRecord) *cachedAlarm {
	c := &cachedAlarm{sc: sc, rec: r}
	if r.Composite != nil {
		c.rule, _ = alarmrule.Parse(str(r.Composite.AlarmRule))
	}
	return c
}

// forgetAll drops the cache, after a reset emptied the store.
func (e *evaluator) forgetAll() {
	e.mu.Lock()
	e.alarms, e.composites = map[string]*cachedAlarm{}, map[string]*cachedAlarm{}
	e.mu.Unlock()
}

// refresh re-reads one alarm after a handler changed or deleted it.
func (e *evaluator) refresh(sc scope, name string) {
	key := sc.Key(name)
	var r alarmRecord
	err := e.s.st.View(func(tx store.Tx) error { return tx.Get(bucketAlarms, key, &r) })
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case errors.Is(err, store.ErrNotFound):
		delete(e.alarms, key)
		delete(e.composites, key)
	case err != nil:
		e.s.log().Error("cloudwatch: reading an alarm", "alarm", name, "err", err)
	default:
		c := newCached(sc, r)
		if old := e.alarms[key]; old != nil {
			c.lastScaling = old.lastScaling
		}
		e.alarms[key] = c
		delete(e.composites, key)
		if c.rule != nil {
			e.composites[key] = c
		}
	}
}

// run is the loop: it sleeps to each tick (plus the lag), evaluates what
// is due, and maintains the datapoints every few minutes.
func (e *evaluator) run() {
	defer e.wg.Done()
	clk := e.s.clk
	lastMaintenance := clk.Now()
	var prev time.Time
	for {
		now := clk.Now()
		next := now.Add(-evalLag).Truncate(tick).Add(tick)
		if err := clk.Sleep(e.ctx, next.Add(evalLag).Sub(now)); err != nil {
			return
		}
		// Evaluate every tick since the last one, so a pass that
		// outlasts a tick delays the next rather than losing it; after
		// a long stall (a jump of the clock) only the last minute of
		// ticks is made up.
		latest := clk.Now().Add(-evalLag).Truncate(tick)
		from := latest
		if !prev.IsZero() {
			from = prev.Add(tick)
		}
		if oldest := latest.Add(-maxCatchUp); from.Before(oldest) {
			e.mu.Lock()
			e.skipped += int64(oldest.Sub(from) / tick)
			e.mu.Unlock()
			from = oldest
		}
		for t := from; !t.After(latest); t = t.Add(tick) {
			e.evaluateAt(t)
		}
		prev = latest
		if clk.Since(lastMaintenance) >= maintenanceEvery {
			lastMaintenance = clk.Now()
			e.maintain(lastMaintenance)
		}
	}
}

// maintain compacts datapoints, prunes history and saves snapshots.
func (e *evaluator) maintain(now time.Time) {
	for _, db := range e.s.allDBs() {
		db.Compact(now)
	}
	if err := e.s.pruneHistory(now); err != nil {
		e.s.log().Error("cloudwatch: pruning alarm history", "err", err)
	}
	if err := e.s.saveSnapshots(); err != nil {
		e.s.log().Error("cloudwatch: saving datapoints", "err", err)
	}
}

// evaluateAt evaluates every metric alarm due at tick t, spread over the
// machine's cores.
func (e *evaluator) evaluateAt(t time.Time) {
	e.mu.Lock()
	e.lastTick = t
	due := make([]*cachedAlarm, 0, len(e.alarms))
	for _, c := range e.alarms {
		if c.rec.Metric == nil {
			continue
		}
		if every := alarmeval.Cadence(evalConfig(c.rec.Metric)); t.Truncate(every).Equal(t) {
			due = append(due, c)
		}
	}
	e.mu.Unlock()
	began := wallNow()
	workers := min(runtime.GOMAXPROCS(0), max(1, len(due)/64))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(due); i += workers {
				e.evaluateMetricAlarm(due[i], t)
			}
		}()
	}
	wg.Wait()
	e.mu.Lock()
	if len(due) > 0 {
		e.lastEvaluated, e.lastDuration = len(due), wallSince(began)
	}
	e.ticks++
	e.mu.Unlock()
}

// EvaluateNow evaluates every alarm due at the latest tick at once: for
// tests on a fake clock, which step the clock and then call it rather
// than wait for the loop.
func (s *Service) EvaluateNow() {
	t := s.clk.Now().Truncate(tick)
	s.eval.evaluateAt(t)
}

// evaluateMetricAlarm evaluates one metric alarm at tick t.
func (e *evaluator) evaluateMetricAlarm(c *cachedAlarm, t time.Time) {
	a := c.rec.Metric
	cfg := evalConfig(a)
	points, err := e.points(c.sc, a, cfg, t)
	if err != nil {
		e.s.log().Warn("cloudwatch: evaluating an alarm", "alarm", str(a.AlarmName), "err", err)
		return
	}
	current := str(a.StateValue)
	out := alarmeval.Evaluate(cfg, points, t, current)
	values := make([]float64, len(points))
	for i, p := range points {
		values[i] = p.Value
	}
	if !out.Keep && out.State != current {
		e.transition(c.sc, str(a.AlarmName), cfgStamp(a), transitionTo{
			state: out.State, reason: out.Reason, data: out.ReasonData, threshold: cfg.Threshold, values: values,
		})
		return
	}
	e.repeatScaling(c, t, values)
}

// repeatScaling runs an alarm's Auto Scaling actions again when it has
// stayed a minute or more in a state that has them.
func (e *evaluator) repeatScaling(c *cachedAlarm, t time.Time, values []float64) {
	rec := c.rec
	state := rec.state()
	if !rec.actionsEnabled() || !hasScalingAction(rec.actionsFor(state)) {
		return
	}
	e.mu.Lock()
	since := deref(rec.Metric.StateUpdatedTimestamp)
	if c.lastScaling.After(since) {
		since = c.lastScaling
	}
	due := t.Sub(since) >= scalingRepeat
	if due {
		c.lastScaling = t
	}
	e.mu.Unlock()
	if !due {
		return
	}
	ev := AlarmEvent{
		Account: c.sc.Account, Region: c.sc.Region, AlarmName: rec.name(), AlarmARN: rec.arn(),
		State: state, OldState: state, Reason: str(rec.Metric.StateReason), Time: t,
		Threshold: deref(rec.Metric.Threshold), Values: values,
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.s.runActions(e.ctx, c.sc, rec, ev, true)
	}()
}

func hasScalingAction(actions []string) bool {
	for _, a := range actions {
		if strings.HasPrefix(a, "arn:aws:autoscaling:") {
			return true
		}
	}
	return false
}

// cfgStamp identifies an alarm's configuration, so a change computed from
// one configuration is not applied to a newer one.
func cfgStamp(a *api.MetricAlarm) string {
	return deref(a.AlarmConfigurationUpdatedTimestamp).Format(time.RFC3339Nano)
}

// points reads an alarm's evaluation range ending at t: one point per
// period with data.
func (e *evaluator) points(sc scope, a *api.MetricAlarm, cfg alarmeval.Config, t time.Time) ([]alarmeval.Point, error) {
	start, _ := alarmeval.Window(cfg, t)
	db := e.s.peekDB(sc)
	if db == nil {
		return nil, nil
	}
	if len(a.Metrics) == 0 {
		buckets := db.Query(tsdb.Query{
			Metric: tsdb.NewMetric(str(a.Namespace), str(a.MetricName), dimsIn(a.Dimensions)),
			Start:  start, End: t, Period: cfg.Period, Unit: str(a.Unit),
		}, t)
		points := make([]alarmeval.Point, 0, len(buckets))
		for _, b := range buckets {
			if v, ok := b.Statistic(cfg.Statistic); ok {
				points = append(points, alarmeval.Point{Timestamp: b.Timestamp, Value: v, SampleCount: b.SampleCount})
			}
		}
		return points, nil
	}
	all, err := evalQueries(db, a.Metrics, start, t, t)
	if err != nil {
		return nil, err
	}
	var id string
	for _, q := range a.Metrics {
		if (q.ReturnData == nil || *q.ReturnData) && str(q.Id) != str(a.ThresholdMetricId) {
			id = str(q.Id)
		}
	}
	series := all[id]
	if len(series) == 0 {
		return nil, nil
	}
	var lower, upper map[time.Time]float64
	if band := all[str(a.ThresholdMetricId)]; len(band) == 2 {
		lower, upper = map[time.Time]float64{}, map[time.Time]float64{}
		for i, ts := range band[0].Timestamps {
			lower[ts] = band[0].Values[i]
		}
		for i, ts := range band[1].Timestamps {
			upper[ts] = band[1].Values[i]
		}
	}
	var points []alarmeval.Point
	for i, ts := range series[0].Timestamps {
		p := alarmeval.Point{Timestamp: ts, Value: series[0].Values[i], SampleCount: 1}
		if lower != nil {
			lo, okLo := lower[ts]
			hi, okHi := upper[ts]
			if !okLo || !okHi {
				continue
			}
			p.Lower, p.Upper = lo, hi
		}
		points = append(points, p)
	}
	return points, nil
}

// transitionTo is a state change to make.
type transitionTo struct {
	state, reason, data string
	threshold           float64
	values              []float64
}

// transition moves an alarm to a new state, if it is not in it already
// and (when stamp is set) its configuration is still the one evaluated:
// the change and its history item are stored together, then the state's
// actions run and the composites that name the alarm are evaluated.
func (e *evaluator) transition(sc scope, name, stamp string, to transitionTo) {
	e.changing.Lock()
	now := e.s.now()
	var rec alarmRecord
	var old string
	changed := false
	err := e.s.st.Update(func(tx store.Tx) error {
		if err := tx.Get(bucketAlarms, sc.Key(name), &rec); err != nil {
			return err
		}
		if stamp != "" && (rec.Metric == nil || cfgStamp(rec.Metric) != stamp) {
			return nil
		}
		old = rec.state()
		st := rec.stateOf()
		oldReason, oldData := str(*st.reason), str(*st.data)
		if old == to.state {
			return nil
		}
		rec.setState(to.state, to.reason, to.data, now)
		changed = true
		if err := tx.Put(bucketAlarms, sc.Key(name), rec); err != nil {
			return err
		}
		return e.s.addHistory(tx, sc, api.AlarmHistoryItem{
			AlarmName: &name, AlarmType: ptr(rec.kind()), HistoryItemType: ptr("StateUpdate"), Timestamp: ptr(now),
			HistorySummary: ptr(alarmeval.HistorySummary(name, old, to.state)),
			HistoryData: ptr(alarmeval.HistoryData(alarmeval.Snapshot{Value: old, Reason: oldReason, ReasonData: oldData},
				alarmeval.Snapshot{Value: to.state, Reason: to.reason, ReasonData: to.data})),
		})
	})
	e.changing.Unlock()
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			e.s.log().Error("cloudwatch: changing an alarm's state", "alarm", name, "err", err)
		}
		return
	}
	if !changed {
		return
	}
	e.refresh(sc, name)
	if rec.actionsEnabled() {
		ev := AlarmEvent{
			Account: sc.Account, Region: sc.Region, AlarmName: name, AlarmARN: rec.arn(),
			State: to.state, OldState: old, Reason: to.reason, Time: now, Threshold: to.threshold, Values: to.values,
		}
		e.mu.Lock()
		if c := e.alarms[sc.Key(name)]; c != nil && hasScalingAction(rec.actionsFor(to.state)) {
			c.lastScaling = now
		}
		e.mu.Unlock()
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			e.s.runActions(e.ctx, sc, rec, ev, false)
		}()
	}
	for _, parent := range e.parentsOf(sc, name, rec.arn()) {
		e.evaluateComposite(sc, parent)
	}
}

// parentsOf lists the composites whose rules name an alarm.
func (e *evaluator) parentsOf(sc scope, name, alarmARN string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, c := range e.composites {
		if c.sc != sc {
			continue
		}
		for _, ref := range c.rule.Alarms() {
			if ref == name || ref == alarmARN {
				out = append(out, c.rec.name())
				break
			}
		}
	}
	return out
}

// evaluateComposite sets a composite alarm's state from its rule: ALARM
// when the rule is true, OK when it is false.
func (e *evaluator) evaluateComposite(sc scope, name string) {
	e.mu.Lock()
	c := e.alarms[sc.Key(name)]
	if c == nil || c.rule == nil {
		e.mu.Unlock()
		return
	}
	rule := c.rule
	states := map[string]*cachedAlarm{}
	for _, ref := range rule.Alarms() {
		states[ref] = e.alarms[sc.Key(refName(sc, ref))]
	}
	current := c.rec.state()
	e.mu.Unlock()
	lookup := func(ref string) (string, bool) {
		child := states[ref]
		if child == nil {
			return "", false
		}
		return child.rec.state(), true
	}
	state := "OK"
	if rule.Eval(lookup) {
		state = "ALARM"
	}
	if state == current {
		return
	}
	var children []alarmrule.Child
	for _, ref := range rule.Triggering(lookup) {
		if child := states[ref]; child != nil {
			children = append(children, alarmrule.Child{ARN: child.rec.arn(), State: child.rec.state(), Timestamp: deref(*child.rec.stateOf().updated)})
		}
	}
	reason, data := alarmrule.Reason(children)
	e.transition(sc, name, "", transitionTo{state: state, reason: reason, data: data})
}

// wall measures how long evaluations take in real time, for the admin
// status: the simulated clock would scale it.
var wall = clock.Real()

func wallNow() time.Time                  { return wall.Now() }
func wallSince(t time.Time) time.Duration { return wall.Since(t) }
