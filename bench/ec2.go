package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"sort"
	"syscall"
	"time"
)

// The EC2 figures: how fast an instance runs its user-data, how fast a big
// launch is all running, nephele's own memory per idle instance, and
// DescribeInstances throughput over 1,000 instances, side by side with
// moto (whose instances are records only).

var (
	instanceIDs = regexp.MustCompile(`<instanceId>(i-[0-9a-f]+)</instanceId>`)
	imageIDs    = regexp.MustCompile(`<imageId>(ami-[0-9a-f]+)</imageId>`)
	running     = regexp.MustCompile(`<instanceState>\s*<code>16</code>\s*<name>running</name>`)
)

// ec2Call sends one signed EC2 query call and returns the body.
func ec2Call(client *http.Client, base string, params url.Values) (string, error) {
	return queryCall(client, base, "ec2", "2016-11-15", params)
}

// queryCall sends one query-protocol request of a service and API version
// and returns the body; an answer other than 200 is an error.
func queryCall(client *http.Client, base, service, version string, params url.Values) (string, error) {
	params.Set("Version", version)
	req, err := newRequest(base, call{service: service, body: params.Encode()})
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("%s: HTTP %d: %.300s", params.Get("Action"), resp.StatusCode, b)
	}
	return string(b), err
}

// x86Image returns an x86_64 Amazon Linux image ID a server knows.
func x86Image(client *http.Client, base string) (string, error) {
	body, err := ec2Call(client, base, url.Values{"Action": {"DescribeImages"}, "Owner.1": {"amazon"},
		"Filter.1.Name": {"architecture"}, "Filter.1.Value.1": {"x86_64"}})
	if err != nil {
		return "", err
	}
	m := imageIDs.FindStringSubmatch(body)
	if m == nil {
		return "", fmt.Errorf("no x86_64 image")
	}
	return m[1], nil
}

// runInstances launches count instances and returns their IDs.
func runInstances(client *http.Client, base, image string, count int, userData string) ([]string, error) {
	body, err := ec2Call(client, base, url.Values{"Action": {"RunInstances"}, "ImageId": {image}, "InstanceType": {"t2.micro"},
		"MinCount": {fmt.Sprint(count)}, "MaxCount": {fmt.Sprint(count)}, "UserData": {base64.StdEncoding.EncodeToString([]byte(userData))}})
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, m := range instanceIDs.FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[1])
	}
	return ids, nil
}

// runningCount is how many of the region's instances are running.
func runningCount(client *http.Client, base string) (int, error) {
	body, err := ec2Call(client, base, url.Values{"Action": {"DescribeInstances"}})
	if err != nil {
		return 0, err
	}
	return len(running.FindAllStringIndex(body, -1)), nil
}

// launchLatencies runs n instances one at a time and measures each from the
// request to the first DescribeInstances that shows it running (for
// nephele: its user-data has started).
func launchLatencies(client *http.Client, base, image string, n int) ([]time.Duration, error) {
	var out []time.Duration
	for range n {
		t0 := wall.Now()
		ids, err := runInstances(client, base, image, 1, "#!/bin/sh\necho started\n")
		if err != nil {
			return nil, err
		}
		for i := 0; ; i++ {
			body, err := ec2Call(client, base, url.Values{"Action": {"DescribeInstances"}, "InstanceId.1": {ids[0]}})
			if err != nil {
				return nil, err
			}
			if running.MatchString(body) {
				break
			}
			if i > 20000 {
				return nil, fmt.Errorf("%s never ran", ids[0])
			}
			wall.Sleep(context.Background(), 200*time.Microsecond)
		}
		out = append(out, wall.Since(t0))
		if _, err := ec2Call(client, base, url.Values{"Action": {"TerminateInstances"}, "InstanceId.1": {ids[0]}}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// percentile is the p-th percentile of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(p/100*float64(len(s))))]
}

// waitRunning polls until want instances run, and returns how long it took.
func waitRunning(client *http.Client, base string, want int, t0 time.Time, limit time.Duration) (time.Duration, error) {
	for wall.Since(t0) < limit {
		n, err := runningCount(client, base)
		if err != nil {
			return 0, err
		}
		if n >= want {
			return wall.Since(t0), nil
		}
		// Polling lightly: a describe of hundreds of instances costs CPU the launch needs.
		wall.Sleep(context.Background(), 250*time.Millisecond)
	}
	return 0, fmt.Errorf("fewer than %d instances running after %s", want, limit)
}

// stopGracefully ends a server with SIGTERM, so nephele stops its
// instances' processes, and SIGKILLs what is left after 20 s.
func stopGracefully(cmd *exec.Cmd) {
	syscall.Kill(cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t := wall.NewTimer(20 * time.Second)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C():
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// runEC2 prints the EC2 figures for two fresh servers.
func runEC2(neph, peer server, workers int, duration time.Duration, maxRequests int64, launches, fleet int) error {
	nProc, nURL, err := launch(neph)
	if err != nil {
		return err
	}
	defer stopGracefully(nProc)
	mProc, mURL, err := launch(peer)
	if err != nil {
		return err
	}
	defer stop(mProc)
	client := &http.Client{Timeout: 180 * time.Second}
	nImage, err := x86Image(client, nURL)
	if err != nil {
		return fmt.Errorf("nephele: %w", err)
	}
	mImage, err := x86Image(client, mURL)
	if err != nil {
		return fmt.Errorf("moto: %w", err)
	}

	nLat, err := launchLatencies(client, nURL, nImage, launches)
	if err != nil {
		return fmt.Errorf("nephele: %w", err)
	}
	mLat, err := launchLatencies(client, mURL, mImage, max(3, launches/5))
	if err != nil {
		return fmt.Errorf("moto: %w", err)
	}
	fmt.Printf("%-34s %12s %12s %9.1f×  (moto/nephele; target: nephele p50 < 50 ms)\n", "RunInstances → running, p50",
		ms(percentile(nLat, 50)), ms(percentile(mLat, 50)), float64(percentile(mLat, 50))/float64(percentile(nLat, 50)))
	fmt.Printf("%-34s %12s %12s %9.1f×  (nephele's instances run their user-data; moto's are records)\n", "RunInstances → running, p99",
		ms(percentile(nLat, 99)), ms(percentile(mLat, 99)), float64(percentile(mLat, 99))/float64(percentile(nLat, 99)))

	// Let terminations finish so only the fleet is counted.
	wall.Sleep(context.Background(), time.Second)
	before := vmRSS(nProc.Process.Pid)
	t0 := wall.Now()
	if _, err := runInstances(client, nURL, nImage, fleet, "#!/bin/sh\nsleep 3600 &\n"); err != nil {
		return fmt.Errorf("nephele MaxCount=%d: %w", fleet, err)
	}
	nAll, err := waitRunning(client, nURL, fleet, t0, 120*time.Second)
	if err != nil {
		return fmt.Errorf("nephele: %w", err)
	}
	t0 = wall.Now()
	if _, err := runInstances(client, mURL, mImage, fleet, "#!/bin/sh\nsleep 3600 &\n"); err != nil {
		return fmt.Errorf("moto MaxCount=%d: %w", fleet, err)
	}
	mAll, err := waitRunning(client, mURL, fleet, t0, 120*time.Second)
	if err != nil {
		return fmt.Errorf("moto: %w", err)
	}
	fmt.Printf("%-34s %12s %12s %9.1f×  (moto/nephele; target: nephele < 10 s)\n", fmt.Sprintf("MaxCount=%d all running", fleet),
		ms(nAll), ms(mAll), float64(mAll)/float64(nAll))
	wall.Sleep(context.Background(), 2*time.Second) // let the instances go idle
	after := vmRSS(nProc.Process.Pid)
	perInstance := float64(after-before) / float64(fleet)
	fmt.Printf("%-34s %9.0f KiB %12s %10s  (nephele's own RSS growth / instances; target < 200 KiB)\n", "nephele memory per idle instance", perInstance, "-", "-")

	// Top both up to 1,000 instances, then load DescribeInstances.
	for _, s := range []struct {
		url, image string
	}{{nURL, nImage}, {mURL, mImage}} {
		for have := fleet; have < 1000; {
			n := min(500, 1000-have)
			if _, err := runInstances(client, s.url, s.image, n, "#!/bin/sh\n"); err != nil {
				return err
			}
			have += n
		}
	}
	if _, err := waitRunning(client, nURL, 1000, wall.Now(), 120*time.Second); err != nil {
		return fmt.Errorf("nephele: %w", err)
	}
	describe := call{name: "ec2 DescribeInstances (1,000)", service: "ec2", body: "Action=DescribeInstances&Version=2016-11-15"}
	load(mURL, describe, workers, 300*time.Millisecond, 50)
	load(nURL, describe, workers, 300*time.Millisecond, 50)
	// moto needs over a second for one such request: give it a window in
	// which it can finish some, or its rate reads as zero.
	mRate, mErr := load(mURL, describe, workers, max(duration, 30*time.Second), maxRequests)
	nRate, nErr := load(nURL, describe, workers, duration, maxRequests)
	if nErr > 0 || mErr > 0 {
		fmt.Printf("  (%s: %d nephele and %d moto requests failed)\n", describe.name, nErr, mErr)
	}
	fmt.Printf("%-34s %9.1f/s %9.1f/s %9.1f×  (nephele/moto; target ≥ 20×)\n", describe.name, nRate, mRate, nRate/mRate)
	// A server too slow to finish a request inside the load window shows
	// 0/s above; one request at a time shows its real cost.
	nOne, err := describeLatency(client, nURL, 5)
	if err != nil {
		return err
	}
	mOne, err := describeLatency(client, mURL, 3)
	if err != nil {
		return err
	}
	fmt.Printf("%-34s %12s %12s %9.1f×  (moto/nephele, one request at a time)\n", "DescribeInstances (1,000), latency",
		ms(nOne), ms(mOne), float64(mOne)/float64(nOne))
	return nil
}

// describeLatency is the median time of n sequential DescribeInstances.
func describeLatency(client *http.Client, base string, n int) (time.Duration, error) {
	var ds []time.Duration
	for range n {
		t0 := wall.Now()
		if _, err := ec2Call(client, base, url.Values{"Action": {"DescribeInstances"}}); err != nil {
			return 0, err
		}
		ds = append(ds, wall.Since(t0))
	}
	return percentile(ds, 50), nil
}
