package autoscaling

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/autoscaling"
	"github.com/nephele-dev/nephele/internal/metrics"
	"github.com/nephele-dev/nephele/internal/store"
)

// Group metrics: with metrics collection enabled, a group publishes its
// AWS/AutoScaling metrics to CloudWatch every minute, dimensioned by
// AutoScalingGroupName, as the AWS documentation lists them. Instance
// metrics count instances, capacity metrics their capacity units (the
// same, unless the group's types have weights).

// groupMetricNames are every group metric, in the order
// DescribeMetricCollectionTypes lists them.
var groupMetricNames = []string{
	"GroupMinSize", "GroupMaxSize", "GroupDesiredCapacity", "GroupInServiceInstances", "GroupPendingInstances",
	"GroupStandbyInstances", "GroupTerminatingInstances", "GroupTotalInstances",
	"GroupInServiceCapacity", "GroupPendingCapacity", "GroupStandbyCapacity", "GroupTerminatingCapacity", "GroupTotalCapacity",
	"WarmPoolDesiredCapacity", "WarmPoolWarmedCapacity", "WarmPoolPendingCapacity", "WarmPoolTerminatingCapacity", "WarmPoolTotalCapacity",
	"GroupAndWarmPoolDesiredCapacity", "GroupAndWarmPoolTotalCapacity",
}

// EnableMetricsCollection turns on the given group metrics (all when
// none are named), at the one granularity AWS offers, 1Minute.
func (s *Service) EnableMetricsCollection(ctx context.Context, in *api.EnableMetricsCollectionQuery) (*api.EnableMetricsCollectionOutput, error) {
	if g := str(in.Granularity); g != "1Minute" {
		return nil, validation("Valid metrics granularity type is: [1Minute]")
	}
	names, err := metricNames(in.Metrics)
	if err != nil {
		return nil, err
	}
	return &api.EnableMetricsCollectionOutput{}, s.setMetrics(ctx, str(in.AutoScalingGroupName), func(have []string) []string {
		for _, n := range names {
			if !slices.Contains(have, n) {
				have = append(have, n)
			}
		}
		return have
	})
}

// DisableMetricsCollection turns off the given group metrics (all when
// none are named).
func (s *Service) DisableMetricsCollection(ctx context.Context, in *api.DisableMetricsCollectionQuery) (*api.DisableMetricsCollectionOutput, error) {
	names, err := metricNames(in.Metrics)
	if err != nil {
		return nil, err
	}
	return &api.DisableMetricsCollectionOutput{}, s.setMetrics(ctx, str(in.AutoScalingGroupName), func(have []string) []string {
		return slices.DeleteFunc(have, func(n string) bool { return slices.Contains(names, n) })
	})
}

// DescribeMetricCollectionTypes lists the group metrics and granularities.
func (s *Service) DescribeMetricCollectionTypes(context.Context, *api.DescribeMetricCollectionTypesInput) (*api.DescribeMetricCollectionTypesAnswer, error) {
	out := &api.DescribeMetricCollectionTypesAnswer{Granularities: []api.MetricGranularityType{{Granularity: ptr("1Minute")}}}
	for _, n := range groupMetricNames {
		out.Metrics = append(out.Metrics, api.MetricCollectionType{Metric: ptr(n)})
	}
	return out, nil
}

// metricNames checks named metrics; none means all.
func metricNames(in []string) ([]string, error) {
	if len(in) == 0 {
		return groupMetricNames, nil
	}
	for _, n := range in {
		if !slices.Contains(groupMetricNames, n) {
			return nil, validation("Valid metrics types are: [%s]", strings.Join(groupMetricNames, ", "))
		}
	}
	return in, nil
}

func (s *Service) setMetrics(ctx context.Context, group string, change func([]string) []string) error {
	sc := scopeOf(ctx)
	return s.st.Update(func(tx store.Tx) error {
		g, err := loadGroup(tx, sc, group)
		if err != nil {
			return err
		}
		g.Metrics = change(g.Metrics)
		// Kept in the documented order, as DescribeAutoScalingGroups shows
		// them.
		slices.SortFunc(g.Metrics, func(a, b string) int {
			return slices.Index(groupMetricNames, a) - slices.Index(groupMetricNames, b)
		})
		return putGroup(tx, sc, g)
	})
}

// enabledMetricsOut is a group's EnabledMetrics.
func enabledMetricsOut(g groupRecord) []api.EnabledMetric {
	out := []api.EnabledMetric{}
	for _, n := range g.Metrics {
		out = append(out, api.EnabledMetric{Metric: ptr(n), Granularity: ptr("1Minute")})
	}
	return out
}

// groupMetricValues are a group's metrics at one moment.
func groupMetricValues(g groupRecord) map[string]float64 {
	v := map[string]float64{"GroupMinSize": float64(g.Min), "GroupMaxSize": float64(g.Max), "GroupDesiredCapacity": float64(g.Desired)}
	// Each state: instances, and their capacity units (weights).
	type tally struct{ n, units float64 }
	var inService, pending, inStandby, terminating, total tally
	var warmed, warmPending, warmTerminating, warmTotal float64
	add := func(t *tally, m member) { t.n++; t.units += float64(m.units()) }
	for _, m := range g.Members {
		switch {
		case warm(m):
			w := float64(m.units())
			warmTotal += w
			switch {
			case warmReady(m):
				warmed += w
			case m.Lifecycle == "Warmed:Terminating":
				warmTerminating += w
			default:
				warmPending += w
			}
			continue
		case m.Lifecycle == "InService":
			add(&inService, m)
		case strings.HasPrefix(m.Lifecycle, "Pending"):
			add(&pending, m)
		case standby(m):
			add(&inStandby, m)
		case strings.HasPrefix(m.Lifecycle, "Terminating"):
			add(&terminating, m)
		}
		add(&total, m)
	}
	v["GroupInServiceInstances"], v["GroupInServiceCapacity"] = inService.n, inService.units
	v["GroupPendingInstances"], v["GroupPendingCapacity"] = pending.n, pending.units
	v["GroupStandbyInstances"], v["GroupStandbyCapacity"] = inStandby.n, inStandby.units
	v["GroupTerminatingInstances"], v["GroupTerminatingCapacity"] = terminating.n, terminating.units
	v["GroupTotalInstances"], v["GroupTotalCapacity"] = total.n, total.units
	v["WarmPoolDesiredCapacity"] = float64(poolTarget(g))
	v["WarmPoolWarmedCapacity"] = warmed
	v["WarmPoolPendingCapacity"] = warmPending
	v["WarmPoolTerminatingCapacity"] = warmTerminating
	v["WarmPoolTotalCapacity"] = warmTotal
	v["GroupAndWarmPoolDesiredCapacity"] = float64(g.Desired) + v["WarmPoolDesiredCapacity"]
	v["GroupAndWarmPoolTotalCapacity"] = total.units + warmTotal
	return v
}

// collector publishes the enabled group metrics at the start of every
// clock minute.
type collector struct {
	s      *Service
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newCollector(s *Service) *collector {
	ctx, cancel := context.WithCancel(context.Background())
	return &collector{s: s, ctx: ctx, cancel: cancel}
}

func (c *collector) start() {
	c.wg.Add(1)
	go c.run()
}

func (c *collector) stop() {
	c.cancel()
	c.wg.Wait()
}

func (c *collector) run() {
	defer c.wg.Done()
	clk := c.s.clk
	for {
		now := clk.Now()
		t := clk.NewTimer(now.Truncate(time.Minute).Add(time.Minute).Sub(now))
		select {
		case <-c.ctx.Done():
			t.Stop()
			return
		case at := <-t.C():
			c.publish(at.Truncate(time.Minute))
		}
	}
}

// publish sends every group's enabled metrics, stamped at minute.
func (c *collector) publish(minute time.Time) {
	sink := c.s.opts.MetricSink
	if sink == nil {
		return
	}
	perScope := map[scope][]metrics.Datum{}
	err := c.s.st.View(func(tx store.Tx) error {
		return tx.ForEach(bucketGroups, "", func(key string, decode func(any) error) error {
			var g groupRecord
			if err := decode(&g); err != nil {
				return err
			}
			if len(g.Metrics) == 0 {
				return nil
			}
			parts := strings.SplitN(key, "/", 3)
			if len(parts) != 3 {
				return nil
			}
			sc := scope{Account: parts[0], Region: parts[1]}
			vals := groupMetricValues(g)
			for _, n := range g.Metrics {
				perScope[sc] = append(perScope[sc], metrics.Datum{Namespace: "AWS/AutoScaling", Name: n, Unit: "None", Value: vals[n],
					Dimensions: map[string]string{"AutoScalingGroupName": g.Name}, Timestamp: minute, StorageResolution: 60})
			}
			return nil
		})
	})
	if err != nil {
		c.s.log().Error("autoscaling: reading groups for their metrics", "err", err)
		return
	}
	for sc, data := range perScope {
		if err := sink.Publish(c.ctx, sc.Account, sc.Region, data); err != nil {
			c.s.log().Warn("autoscaling: publishing group metrics", "err", err)
		}
	}
}
