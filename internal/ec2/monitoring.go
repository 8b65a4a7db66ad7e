package ec2

import (
	"context"
	"sync"
	"time"

	"github.com/nephele-dev/nephele/internal/ec2/catalog"
	"github.com/nephele-dev/nephele/internal/metrics"
	"github.com/nephele-dev/nephele/internal/store"
)

// The monitor measures each running instance's CPU from the operating
// system once a simulated minute and publishes AWS/EC2 metrics:
// CPUUtilization (the tree's CPU time over the interval, as a share of the
// instance type's vCPUs) and the status checks. Like EC2, an instance with
// basic monitoring reports every five minutes (the average of its minutes)
// and one with detailed monitoring every minute. Instances of an Auto
// Scaling group (tagged aws:autoscaling:groupName) also feed the group's
// aggregate series, as EC2 publishes them by AutoScalingGroupName.

// samplePeriod is how often CPU is sampled, and detailed monitoring's
// period.
const samplePeriod = time.Minute

// basicPeriod is basic monitoring's period, in samples.
const basicPeriod = 5

// monitor holds the previous sample of each instance.
type monitor struct {
	mu      sync.Mutex
	last    map[string]cpuSample // instance key → previous sample
	acc     map[string][]float64 // instance key → minutes not yet published (basic monitoring)
	accFrom map[string]time.Time // instance key → start of the first of those minutes
}

type cpuSample struct {
	cpu time.Duration
	at  time.Time
}

// runMonitor samples until ctx ends, on the minute boundaries of the
// clock, so that each datapoint covers one whole clock minute, as
// CloudWatch's one-minute buckets (and alarms' periods) expect.
func (s *Service) runMonitor(ctx context.Context) {
	now := s.clk.Now()
	if err := s.clk.Sleep(ctx, now.Truncate(samplePeriod).Add(samplePeriod).Sub(now)); err != nil {
		return
	}
	s.sample(ctx, s.clk.Now().Truncate(samplePeriod))
	t := s.clk.NewTicker(samplePeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C():
			s.sample(ctx, now.Truncate(samplePeriod))
		}
	}
}

// sample measures every running instance once and publishes what is due.
func (s *Service) sample(ctx context.Context, now time.Time) {
	type inst struct {
		key, id string
		sc      scope
		rec     instanceRecord
		group   string
	}
	var running []inst
	err := s.st.View(func(tx store.Tx) error {
		return tx.ForEach(instanceKind.bucket, "", func(key string, decode func(any) error) error {
			var r instanceRecord
			if err := decode(&r); err != nil {
				return err
			}
			if r.state() != "running" {
				return nil
			}
			account, region, id := splitKey(key)
			sc := scope{account: account, region: region}
			ts, err := readTags(tx, sc, id)
			if err != nil {
				return err
			}
			running = append(running, inst{key: key, id: id, sc: sc, rec: r, group: tagMap(ts)["aws:autoscaling:groupName"]})
			return nil
		})
	})
	if err != nil {
		s.log().Error("ec2: monitoring", "err", err)
		return
	}
	s.mon.mu.Lock()
	defer s.mon.mu.Unlock()
	seen := map[string]bool{}
	out := map[scope][]metrics.Datum{}
	type groupKey struct {
		sc    scope
		group string
	}
	groups := map[groupKey][]float64{}
	for _, in := range running {
		seen[in.key] = true
		cpu, ok := s.machine.CPUTime(in.id)
		if !ok {
			continue
		}
		prev, had := s.mon.last[in.key]
		s.mon.last[in.key] = cpuSample{cpu: cpu, at: now}
		if !had || !now.After(prev.at) {
			continue
		}
		util := s.utilization(cpu-prev.cpu, now.Sub(prev.at), str(in.rec.InstanceType))
		// EC2 stamps a datapoint with the start of the interval it
		// measures.
		at := prev.at
		if in.group != "" {
			k := groupKey{in.sc, in.group}
			groups[k] = append(groups[k], util)
		}
		if str(in.rec.Monitoring.State) != "enabled" {
			acc := append(s.mon.acc[in.key], util)
			if len(acc) == 1 {
				s.mon.accFrom[in.key] = at
			}
			if len(acc) < basicPeriod {
				s.mon.acc[in.key] = acc
				continue
			}
			at = s.mon.accFrom[in.key]
			delete(s.mon.acc, in.key)
			delete(s.mon.accFrom, in.key)
			util = mean(acc)
		}
		dims := map[string]string{"InstanceId": in.id}
		failed := 0.0
		if in.rec.Impaired {
			failed = 1
		}
		out[in.sc] = append(out[in.sc],
			metrics.Datum{Namespace: "AWS/EC2", Name: "CPUUtilization", Dimensions: dims, Unit: "Percent", Value: util, Timestamp: at, StorageResolution: 60},
			metrics.Datum{Namespace: "AWS/EC2", Name: "StatusCheckFailed", Dimensions: dims, Unit: "Count", Value: failed, Timestamp: at, StorageResolution: 60},
			metrics.Datum{Namespace: "AWS/EC2", Name: "StatusCheckFailed_Instance", Dimensions: dims, Unit: "Count", Value: failed, Timestamp: at, StorageResolution: 60},
			metrics.Datum{Namespace: "AWS/EC2", Name: "StatusCheckFailed_System", Dimensions: dims, Unit: "Count", Value: 0, Timestamp: at, StorageResolution: 60},
		)
	}
	for k, utils := range groups {
		// The group's series covers the minute just measured.
		out[k.sc] = append(out[k.sc], metrics.Datum{Namespace: "AWS/EC2", Name: "CPUUtilization",
			Dimensions: map[string]string{"AutoScalingGroupName": k.group}, Unit: "Percent", Value: mean(utils), Timestamp: now.Add(-samplePeriod), StorageResolution: 60})
	}
	for key := range s.mon.last {
		if !seen[key] {
			delete(s.mon.last, key)
			delete(s.mon.acc, key)
			delete(s.mon.accFrom, key)
		}
	}
	for sc, data := range out {
		if err := s.opts.Metrics.Publish(ctx, sc.account, sc.region, data); err != nil {
			s.log().Error("ec2: publishing metrics", "err", err)
		}
	}
}

// utilization is the share, in percent, of an instance type's vCPUs that
// cpu of CPU time used over a simulated interval. The processes ran in real
// time, so the interval is scaled back to real time first.
func (s *Service) utilization(cpu, interval time.Duration, instanceType string) float64 {
	vcpus := catalog.VCPUs(instanceType)
	if vcpus <= 0 {
		vcpus = 1
	}
	real := interval.Seconds() / s.opts.TimeScale
	if real <= 0 {
		return 0
	}
	u := cpu.Seconds() / (real * float64(vcpus)) * 100
	return min(max(u, 0), 100)
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}
