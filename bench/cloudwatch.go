package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// putMetricDataCall is a query-protocol PutMetricData of metrics values,
// one per metric of one namespace, as both servers take it.
func putMetricDataCall(first, metrics int) call {
	form := url.Values{"Action": {"PutMetricData"}, "Version": {"2010-08-01"}, "Namespace": {"Bench"}}
	for i := range metrics {
		p := fmt.Sprintf("MetricData.member.%d.", i+1)
		form.Set(p+"MetricName", "CPU")
		form.Set(p+"Dimensions.member.1.Name", "InstanceId")
		form.Set(p+"Dimensions.member.1.Value", fmt.Sprintf("i-%05d", first+i))
		form.Set(p+"Value", strconv.Itoa(40+i%30))
		form.Set(p+"Unit", "Percent")
	}
	return call{name: "cloudwatch PutMetricData", service: "monitoring", body: form.Encode()}
}

// valuesPerCall is how many values each ingest request carries.
const valuesPerCall = 20

// ingestCloudWatch prints PutMetricData ingest side by side with moto.
func ingestCloudWatch(nURL, mURL string, workers int, duration time.Duration, maxRequests int64) {
	ingest := putMetricDataCall(0, valuesPerCall)
	load(mURL, ingest, workers, 300*time.Millisecond, 1000)
	load(nURL, ingest, workers, 300*time.Millisecond, 1000)
	mRate, mErr := load(mURL, ingest, workers, duration, maxRequests)
	nRate, nErr := load(nURL, ingest, workers, duration, maxRequests)
	if nErr > 0 || mErr > 0 {
		fmt.Printf("  (PutMetricData: %d nephele and %d moto requests failed)\n", nErr, mErr)
	}
	fmt.Printf("%-34s %9.0f/s %9.0f/s %9.1f×  (values/s, %d a call; nephele/moto; target ≥ 20×)\n", "cloudwatch PutMetricData ingest",
		nRate*valuesPerCall, mRate*valuesPerCall, nRate/mRate, valuesPerCall)
}

// alarmLoad runs a fresh nephele at --time-scale 60 with alarms one-minute
// alarms, their metrics getting a datapoint each simulated minute, and
// reports its CPU share and whether evaluation kept up.
func alarmLoad(bin string, workers, alarms int) error {
	s := server{name: "nephele", start: func(port int) *exec.Cmd {
		return exec.Command(bin, "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--log-level", "error", "--time-scale", "60")
	}}
	proc, base, err := launch(s)
	if err != nil {
		return err
	}
	defer stop(proc)
	client := &http.Client{Timeout: 30 * time.Second}
	send := func(c call) error {
		req, err := newRequest(base, c)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("%s: %d %s", c.name, resp.StatusCode, body)
		}
		return nil
	}
	// Create the alarms with a bounded pool of workers.
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	t0 := wall.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= alarms {
					return
				}
				form := url.Values{"Action": {"PutMetricAlarm"}, "Version": {"2010-08-01"},
					"AlarmName": {fmt.Sprintf("cpu-%05d", i)}, "Namespace": {"Bench"}, "MetricName": {"CPU"},
					"Dimensions.member.1.Name": {"InstanceId"}, "Dimensions.member.1.Value": {fmt.Sprintf("i-%05d", i)},
					"Statistic": {"Average"}, "Period": {"60"}, "EvaluationPeriods": {"3"}, "Threshold": {"50"},
					"ComparisonOperator": {"GreaterThanThreshold"}}
				if err := send(call{name: "PutMetricAlarm", service: "monitoring", body: form.Encode()}); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return err
	}
	created := wall.Since(t0)
	// Feed every metric a datapoint each simulated minute (a real
	// second), measuring nephele's CPU over the window.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cpu0, at0 := cpuTicks(proc.Process.Pid), wall.Now()
	feed := func() {
		var fw sync.WaitGroup
		var idx atomic.Int64
		for range workers {
			fw.Add(1)
			go func() {
				defer fw.Done()
				for {
					i := int(idx.Add(valuesPerCall)) - valuesPerCall
					if i >= alarms || ctx.Err() != nil {
						return
					}
					send(putMetricDataCall(i, min(valuesPerCall, alarms-i)))
				}
			}()
		}
		fw.Wait()
	}
	for ctx.Err() == nil {
		began := wall.Now()
		feed()
		wall.Sleep(ctx, time.Second-wall.Since(began))
	}
	cpuSec := float64(cpuTicks(proc.Process.Pid)-cpu0) / 100
	window := wall.Since(at0).Seconds()
	st, err := evaluatorStats(client, base)
	if err != nil {
		return err
	}
	fmt.Printf("%-34s %12s\n", fmt.Sprintf("%d alarms created", alarms), fmt.Sprintf("%.1f s", created.Seconds()))
	fmt.Printf("%-34s %11.0f%%  (of one core, incl. ingesting %d datapoints a second; %d cores)\n",
		"CPU at --time-scale 60", cpuSec/window*100, alarms, numCPU())
	fmt.Printf("%-34s %9.1f ms  (%d alarms; ticks evaluated %d, skipped late %d, lag %.0f s of clock)\n",
		"one evaluation pass", st.LastDurationMs, st.LastEvaluated, st.TicksEvaluated, st.TicksSkippedLate, st.LagSeconds)
	return nil
}

// evaluatorState is what /_nephele/monitoring/evaluator reports: how many
// alarms the last pass evaluated and how long it took, and whether the
// evaluator keeps up with the clock.
type evaluatorState struct {
	Alarms           int
	LastEvaluated    int
	LastDurationMs   float64
	LagSeconds       float64
	TicksEvaluated   int64
	TicksSkippedLate int64
}

// evaluatorStats reads the alarm evaluator's state.
func evaluatorStats(client *http.Client, base string) (evaluatorState, error) {
	var st evaluatorState
	resp, err := client.Get(base + "/_nephele/monitoring/evaluator")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// cpuTicks is a process's user and system time, in clock ticks (1/100 s).
func cpuTicks(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(fields) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(fields[11], 10, 64)
	k, _ := strconv.ParseInt(fields[12], 10, 64)
	return u + k
}

func numCPU() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return strings.Count(string(b), "processor\t:")
}
