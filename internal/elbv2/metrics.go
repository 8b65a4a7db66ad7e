package elbv2

import (
	"context"
	"time"

	"github.com/nephele-dev/nephele/internal/elbv2/balancer"
	"github.com/nephele-dev/nephele/internal/metrics"
)

// publish sends the data plane's counters of the last minute as
// CloudWatch metrics, as ELB does every minute: AWS/ApplicationELB per
// load balancer (dimension LoadBalancer=app/NAME/ID) and per target group
// (TargetGroup=targetgroup/NAME/ID with LoadBalancer), AWS/NetworkELB the
// basics. RequestCount and RequestCountPerTarget are published even when
// zero, so that target tracking on ALBRequestCountPerTarget sees quiet
// minutes and scales in.
func (s *Service) publish(ctx context.Context, at time.Time) {
	stats := s.plane.Collect()
	s.mu.Lock()
	lbs := make(map[string]pushedLB, len(s.pushedLBs))
	for k, v := range s.pushedLBs {
		lbs[k] = v
	}
	tgs := make(map[string]pushedTG, len(s.pushedTGs))
	for k, v := range s.pushedTGs {
		tgs[k] = v
	}
	s.mu.Unlock()
	byScope := map[scope][]metrics.Datum{}
	for _, st := range stats {
		lb, ok := lbs[st.LoadBalancerARN]
		if !ok {
			continue
		}
		var tg *pushedTG
		if st.TargetGroupARN != "" {
			t, ok := tgs[st.TargetGroupARN]
			if !ok {
				continue
			}
			tg = &t
		}
		byScope[lb.sc] = append(byScope[lb.sc], statData(lb, tg, st, at)...)
	}
	for sc, data := range byScope {
		if err := s.opts.Metrics.Publish(ctx, sc.Account, sc.Region, data); err != nil {
			s.log().Warn("elbv2: publishing metrics", "scope", sc.Prefix(), "err", err)
		}
	}
}

// statData turns one Stats into data points.
func statData(lb pushedLB, tg *pushedTG, st balancer.Stats, at time.Time) []metrics.Datum {
	ns := "AWS/ApplicationELB"
	if lb.desired.Type == "network" {
		ns = "AWS/NetworkELB"
	}
	dims := map[string]string{"LoadBalancer": lbDimension(lb.desired.ARN)}
	if tg != nil {
		dims["TargetGroup"] = tgDimension(tg.desired.ARN)
	}
	var out []metrics.Datum
	add := func(name, unit string, v float64, d map[string]string) {
		out = append(out, metrics.Datum{Namespace: ns, Name: name, Dimensions: d, Unit: unit, Value: v, Timestamp: at, StorageResolution: 60})
	}
	count := func(name string, v int64) {
		if v > 0 {
			add(name, "Count", float64(v), dims)
		}
	}
	if ns == "AWS/NetworkELB" {
		if tg == nil {
			add("ActiveFlowCount", "Count", float64(st.ActiveConnectionCount), dims)
			add("NewFlowCount", "Count", float64(st.NewConnectionCount), dims)
			add("ProcessedBytes", "Bytes", float64(st.ProcessedBytes), dims)
		} else {
			add("HealthyHostCount", "Count", float64(st.HealthyHostCount), dims)
			add("UnHealthyHostCount", "Count", float64(st.UnHealthyHostCount), dims)
		}
		return out
	}
	add("RequestCount", "Count", float64(st.RequestCount), dims)
	count("HTTPCode_Target_2XX_Count", st.HTTPCodeTarget2XX)
	count("HTTPCode_Target_3XX_Count", st.HTTPCodeTarget3XX)
	count("HTTPCode_Target_4XX_Count", st.HTTPCodeTarget4XX)
	count("HTTPCode_Target_5XX_Count", st.HTTPCodeTarget5XX)
	if st.RequestCount > 0 && st.TargetResponseTimeSum > 0 {
		add("TargetResponseTime", "Seconds", st.TargetResponseTimeSum.Seconds()/float64(st.RequestCount), dims)
	}
	if tg == nil {
		count("HTTPCode_ELB_4XX_Count", st.HTTPCodeELB4XX)
		count("HTTPCode_ELB_5XX_Count", st.HTTPCodeELB5XX)
		count("HTTPCode_ELB_502_Count", st.HTTPCodeELB502)
		count("HTTPCode_ELB_503_Count", st.HTTPCodeELB503)
		count("HTTPCode_ELB_504_Count", st.HTTPCodeELB504)
		add("ActiveConnectionCount", "Count", float64(st.ActiveConnectionCount), dims)
		count("NewConnectionCount", st.NewConnectionCount)
		add("ProcessedBytes", "Bytes", float64(st.ProcessedBytes), dims)
		return out
	}
	add("HealthyHostCount", "Count", float64(st.HealthyHostCount), dims)
	add("UnHealthyHostCount", "Count", float64(st.UnHealthyHostCount), dims)
	// RequestCountPerTarget divides by the healthy targets, or by all of
	// them when none is healthy (the load balancer then fails open).
	n := st.HealthyHostCount
	if n == 0 {
		n = st.HealthyHostCount + st.UnHealthyHostCount
	}
	per := float64(st.RequestCount)
	if n > 0 {
		per /= float64(n)
	}
	add("RequestCountPerTarget", "Count", per, dims)
	add("RequestCountPerTarget", "Count", per, map[string]string{"TargetGroup": dims["TargetGroup"]})
	return out
}
