// Command bench measures nephele side by side with moto_server, the peer
// installed on this machine: start-up time (exec to first answered request),
// request throughput with the same client and concurrency for the same
// calls, and resident memory. It prints each figure with its ratio to moto.
//
//	go run ./bench                   # defaults: 8 workers, 3 s per call
//	go run ./bench -workers 4 -duration 5s -startups 20
//
// Everything runs on loopback; every load loop is bounded by time and count.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nephele-dev/nephele/internal/clock"
)

// wall is the real clock: a benchmark measures real time.
var wall = clock.Real()

// call is one API request both servers answer.
type call struct {
	name, service, body string
}

var calls = []call{
	{"sts GetCallerIdentity", "sts", "Action=GetCallerIdentity&Version=2011-06-15"},
	// A query call shaped like an empty DescribeInstances: a signed form in,
	// a small XML list out.
	{"iam ListRoles (empty)", "iam", "Action=ListRoles&Version=2010-05-08"},
	{"ec2 DescribeInstances (empty)", "ec2", "Action=DescribeInstances&Version=2016-11-15"},
}

func main() {
	workers := flag.Int("workers", 8, "concurrent clients per server")
	duration := flag.Duration("duration", 3*time.Second, "load time per call and server")
	maxRequests := flag.Int64("max-requests", 2_000_000, "upper bound on requests per call and server")
	startups := flag.Int("startups", 15, "start-up samples for nephele (moto gets a third, at least 3)")
	launches := flag.Int("launches", 50, "single-instance launches timed on nephele (moto gets a fifth, at least 3)")
	fleet := flag.Int("fleet", 500, "instances of the one big RunInstances (MaxCount)")
	skipEC2 := flag.Bool("skip-ec2", false, "leave out the EC2 figures")
	alarms := flag.Int("alarms", 10000, "one-minute alarms evaluated at --time-scale 60 (0 leaves the figure out)")
	groupSize := flag.Int("group", 200, "instances of the Auto Scaling group scaled from 0 (0 leaves the figures out)")
	groups := flag.Int("groups", 100, "one-instance Auto Scaling groups with target tracking run at --time-scale 60 (0 leaves the figure out)")
	warmRounds := flag.Int("warm-rounds", 5, "cold and warm-pool scale-outs timed (0 leaves the figure out)")
	lambdaOnly := flag.Bool("lambda", false, "print only the Lambda figures (warm overhead, cold starts, SnapStart, async drain, invokes per second)")
	elbConns := flag.Int("elb-conns", 10000, "keep-alive connections held at once through an ALB (0 leaves the ELBv2 figures out)")
	elbOnly := flag.Bool("elb", false, "print only the ELBv2 figures (ALB against nginx and a direct target, added latency, connections held)")
	flag.Parse()
	if *elbOnly {
		if err := runELBv2(*elbConns, *duration, *maxRequests); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *lambdaOnly {
		if err := runLambda(); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*workers, *duration, *maxRequests, *startups, *launches, *fleet, *alarms, *groupSize, *skipEC2); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if err := runGroups(*groups, *warmRounds); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if *elbConns > 0 {
		if err := runELBv2(*elbConns, *duration, *maxRequests); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
}

// runGroups prints the Auto Scaling figures of many groups and of warm
// pools, each on a fresh nephele.
func runGroups(groups, warmRounds int) error {
	bin, err := build()
	if err != nil {
		return err
	}
	if groups > 0 {
		if err := groupsAtScale(bin, groups); err != nil {
			return err
		}
	}
	if warmRounds > 0 {
		return warmPoolSpeedup(bin, warmRounds)
	}
	return nil
}

// server is one system under test.
type server struct {
	name  string
	start func(port int) *exec.Cmd
	ready func(line string) bool // a line of output that means ready, or nil to poll
}

func run(workers int, duration time.Duration, maxRequests int64, startups, launches, fleet, alarms, groupSize int, skipEC2 bool) error {
	bin, err := build()
	if err != nil {
		return err
	}
	moto, err := exec.LookPath("moto_server")
	if err != nil {
		return fmt.Errorf("moto_server is not installed: %w", err)
	}
	neph := server{name: "nephele", start: func(port int) *exec.Cmd {
		return exec.Command(bin, "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--log-level", "error")
	}}
	peer := server{name: "moto", start: func(port int) *exec.Cmd {
		return exec.Command(moto, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	}}

	fmt.Printf("nephele vs moto_server on loopback, %d workers, %s per call\n\n", workers, duration)
	nStart, err := startupTimes(neph, startups)
	if err != nil {
		return err
	}
	mStart, err := startupTimes(peer, max(3, startups/3))
	if err != nil {
		return err
	}
	fmt.Printf("%-34s %12s %12s %10s\n", "measure", "nephele", "moto", "ratio")
	fmt.Printf("%-34s %12s %12s %9.1f×  (moto/nephele; target: nephele < 50 ms)\n", "start-up, exec to first answer (median)",
		ms(median(nStart)), ms(median(mStart)), float64(median(mStart))/float64(median(nStart)))

	nProc, nURL, err := launch(neph)
	if err != nil {
		return err
	}
	defer stop(nProc)
	mProc, mURL, err := launch(peer)
	if err != nil {
		return err
	}
	defer stop(mProc)
	wall.Sleep(context.Background(), 500*time.Millisecond) // let both settle before reading idle memory
	nIdle, mIdle := rssKiB(nProc.Process.Pid), rssKiB(mProc.Process.Pid)
	fmt.Printf("%-34s %9.1f MiB %8.1f MiB %9.1f×  (moto/nephele; target: nephele < 20 MiB)\n", "idle RSS", float64(nIdle)/1024, float64(mIdle)/1024, float64(mIdle)/float64(nIdle))

	// Ingest goes first: moto keeps working through requests the load
	// gave up on (its empty DescribeInstances takes seconds), which would
	// starve whatever came after.
	ingestCloudWatch(nURL, mURL, workers, duration, maxRequests)
	for _, c := range calls {
		// Warm both up, then measure one after the other so they never share the CPU.
		load(mURL, c, workers, 300*time.Millisecond, 1000)
		load(nURL, c, workers, 300*time.Millisecond, 1000)
		mRate, mErr := load(mURL, c, workers, duration, maxRequests)
		nRate, nErr := load(nURL, c, workers, duration, maxRequests)
		if nErr > 0 || mErr > 0 {
			fmt.Printf("  (%s: %d nephele and %d moto requests failed)\n", c.name, nErr, mErr)
		}
		fmt.Printf("%-34s %9.0f/s %9.0f/s %9.1f×  (nephele/moto; target ≥ 20×)\n", c.name, nRate, mRate, nRate/mRate)
	}
	nLoaded, mLoaded := rssKiB(nProc.Process.Pid), rssKiB(mProc.Process.Pid)
	fmt.Printf("%-34s %9.1f MiB %8.1f MiB %9.1f×\n", "RSS after load", float64(nLoaded)/1024, float64(mLoaded)/1024, float64(mLoaded)/float64(nLoaded))
	if alarms > 0 {
		if err := alarmLoad(bin, workers, alarms); err != nil {
			return err
		}
	}
	if groupSize > 0 {
		if err := runAutoScaling(bin, groupSize); err != nil {
			return err
		}
	}
	if skipEC2 {
		return nil
	}
	// EC2 runs on fresh servers, nephele allowed enough instances.
	neph.start = func(port int) *exec.Cmd {
		return exec.Command(bin, "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--log-level", "error",
			"--max-instances", "1100", "--imds-port", "0")
	}
	return runEC2(neph, peer, workers, duration, maxRequests, launches, fleet)
}

func build() (string, error) {
	dir, err := os.MkdirTemp("", "nephele-bench-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "nephele")
	out, err := exec.Command("go", "build", "-o", bin, "./cmd/nephele").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// launch starts s and waits until it answers a request.
func launch(s server) (*exec.Cmd, string, error) {
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	cmd := s.start(port)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := waitReady(url, 60*time.Second); err != nil {
		stop(cmd)
		return nil, "", fmt.Errorf("%s: %w", s.name, err)
	}
	return cmd, url, nil
}

// waitReady polls with a real API call until it is answered.
func waitReady(url string, limit time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := wall.Now().Add(limit)
	for wall.Now().Before(deadline) {
		req, _ := newRequest(url, calls[0])
		if resp, err := client.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		wall.Sleep(context.Background(), time.Millisecond)
	}
	return fmt.Errorf("not ready after %s", limit)
}

func stop(cmd *exec.Cmd) {
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	cmd.Wait()
}

func startupTimes(s server, n int) ([]time.Duration, error) {
	var out []time.Duration
	for i := 0; i < n; i++ {
		t0 := wall.Now()
		cmd, _, err := launch(s)
		if err != nil {
			return nil, err
		}
		out = append(out, wall.Since(t0))
		stop(cmd)
	}
	return out, nil
}

func newRequest(url string, c call) (*http.Request, error) {
	req, err := http.NewRequest("POST", url+"/", strings.NewReader(c.body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.Header.Set("X-Amz-Date", "20261123T000000Z")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261123/us-east-1/"+c.service+
		"/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000")
	return req, nil
}

// load drives c with workers concurrent keep-alive clients for d or until
// maxRequests, and returns successful requests per second and failures.
func load(url string, c call, workers int, d time.Duration, maxRequests int64) (float64, int64) {
	tr := &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var ok, failed, issued atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	t0 := wall.Now()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && issued.Add(1) <= maxRequests {
				req, _ := newRequest(url, c)
				resp, err := client.Do(req.WithContext(ctx))
				if err != nil {
					if ctx.Err() == nil {
						failed.Add(1)
					}
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					ok.Add(1)
				} else {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return float64(ok.Load()) / wall.Since(t0).Seconds(), failed.Load()
}

// rssKiB reads the resident set of a process and its children from /proc.
func rssKiB(pid int) int64 {
	var total int64
	for _, p := range append([]int{pid}, children(pid)...) {
		total += vmRSS(p)
	}
	return total
}

// vmRSS is the resident set of one process alone, in KiB.
func vmRSS(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return kb
		}
	}
	return 0
}

func children(pid int) []int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return nil
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if c, err := strconv.Atoi(f); err == nil {
			out = append(out, c)
			out = append(out, children(c)...)
		}
	}
	return out
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
