package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nephele-dev/nephele/internal/benchnginx"
)

// The ELBv2 figures: HTTP requests per second through a real ALB listener
// of a nephele process to two local targets, side by side with the same
// load straight at one target and through nginx as a reverse proxy to the
// same two targets; the latency the ALB adds to one request; and many
// concurrent keep-alive connections held through the ALB.

// elbLoadConns is the fixed concurrency of the throughput runs: keep-alive
// connections, each with one request at a time.
const elbLoadConns = 32

// elbRounds is how many times each of direct, ALB and nginx is measured,
// interleaved so that the machine's other load falls on all three alike;
// the figures are medians over rounds.
const elbRounds = 3

var (
	subnetIDs = regexp.MustCompile(`<subnetId>(subnet-[0-9a-f]+)</subnetId>`)
	vpcIDs    = regexp.MustCompile(`<vpcId>(vpc-[0-9a-f]+)</vpcId>`)
)

// elbCall sends one signed ELBv2 query call and returns the body.
func elbCall(client *http.Client, base string, params url.Values) (string, error) {
	return queryCall(client, base, "elasticloadbalancing", "2015-12-01", params)
}

// benchTarget is one local HTTP target on its own loopback address,
// answering every request (health checks too) with a small body.
type benchTarget struct {
	srv  *http.Server
	addr string
	hits atomic.Int64
}

func startBenchTarget(ip string) (*benchTarget, error) {
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		return nil, err
	}
	t := &benchTarget{addr: ln.Addr().String()}
	t.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.hits.Add(1)
		w.Header().Set("Content-Length", "5")
		io.WriteString(w, "hello")
	})}
	go t.srv.Serve(ln)
	return t, nil
}

// runELBv2 prints the ELBv2 figures on a fresh nephele; conns is how many
// keep-alive connections the ALB is asked to hold at once.
func runELBv2(conns int, duration time.Duration, maxRequests int64) error {
	bin, err := build()
	if err != nil {
		return err
	}
	return elbFigures(bin, conns, duration, maxRequests)
}

// elbFigures measures the ELBv2 figures of the nephele binary bin.
func elbFigures(bin string, conns int, duration time.Duration, maxRequests int64) error {
	// Go raises its own soft RLIMIT_NOFILE to the hard limit at start-up;
	// this makes sure of it and sizes the connection test to what is
	// allowed (the targets' connections live in this process too).
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && uint64(conns)+2048 > lim.Cur {
		fmt.Printf("  (open-file limit %d: holding %d connections instead of %d)\n", lim.Cur, int(lim.Cur)-2048, conns)
		conns = max(int(lim.Cur)-2048, 0)
	}

	var targets []*benchTarget
	for _, ip := range []string{"127.0.0.2", "127.0.0.3"} {
		t, err := startBenchTarget(ip)
		if err != nil {
			return err
		}
		defer t.srv.Close()
		targets = append(targets, t)
	}

	s := server{name: "nephele", start: func(port int) *exec.Cmd {
		return exec.Command(bin, "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--log-level", "error", "--imds-port", "0")
	}}
	proc, base, err := launch(s)
	if err != nil {
		return err
	}
	defer stopGracefully(proc)
	client := &http.Client{Timeout: 30 * time.Second}
	albAddr, host, err := setUpALB(client, base, targets)
	if err != nil {
		return err
	}

	fmt.Printf("\nELBv2: ALB (a nephele listener) → 2 ip targets, vs nginx → the same 2, vs one target straight; %d keep-alive connections, %s × %d rounds\n",
		elbLoadConns, duration, elbRounds)
	nginxAddr, nginxPID, stopNginx, note := startNginx(targets[0].addr, targets[1].addr)
	if stopNginx != nil {
		defer stopNginx()
	}
	if note != "" {
		fmt.Printf("  (nginx left out: %s)\n", note)
	}

	type system struct {
		name, addr, host string
		pids             func() []int // processes whose CPU is the proxy's
		rates            []float64
		p99s             []time.Duration
		serial, serial50 []time.Duration
		failed, reqs     int64
		cpu              int64    // clock ticks over the throughput runs
		hits             [2]int64 // of each target over the throughput runs
	}
	systems := []*system{
		{name: "direct", addr: targets[0].addr, host: "localhost"},
		{name: "ALB", addr: albAddr, host: host, pids: func() []int { return []int{proc.Process.Pid} }},
	}
	if nginxAddr != "" {
		systems = append(systems, &system{name: "nginx", addr: nginxAddr, host: "localhost", pids: func() []int {
			return append([]int{nginxPID}, children(nginxPID)...)
		}})
	}
	ticks := func(s *system) int64 {
		if s.pids == nil {
			return 0
		}
		var n int64
		for _, pid := range s.pids() {
			n += cpuTicks(pid)
		}
		return n
	}
	for _, s := range systems {
		httpLoad(s.addr, s.host, elbLoadConns, 300*time.Millisecond, 10000) // warm up: connections, pools
	}
	for range elbRounds {
		for _, s := range systems {
			c0, h0, h1 := ticks(s), targets[0].hits.Load(), targets[1].hits.Load()
			r := httpLoad(s.addr, s.host, elbLoadConns, duration, maxRequests)
			s.cpu += ticks(s) - c0
			s.hits[0] += targets[0].hits.Load() - h0
			s.hits[1] += targets[1].hits.Load() - h1
			s.reqs += r.done
			s.rates = append(s.rates, r.rate)
			s.p99s = append(s.p99s, r.p99)
			s.failed += r.failed
			// One request at a time: the latency of the path itself,
			// without queueing behind other requests.
			r = httpLoad(s.addr, s.host, 1, duration/2, maxRequests)
			s.serial, s.serial50 = append(s.serial, r.p99), append(s.serial50, r.p50)
			s.failed += r.failed
		}
	}
	rate := func(s *system) float64 { return medianFloat(s.rates) }
	direct, alb := systems[0], systems[1]
	for _, s := range systems {
		if s.failed > 0 {
			fmt.Printf("  (%s: %d requests failed)\n", s.name, s.failed)
		}
	}
	fmt.Printf("%-34s %12s %12s %12s\n", "measure", "ALB", "nginx", "direct")
	row := func(label string, f func(*system) string, note string) {
		cells := []string{f(alb), "-", f(direct)}
		if len(systems) > 2 {
			cells[1] = f(systems[2])
		}
		fmt.Printf("%-34s %12s %12s %12s  %s\n", label, cells[0], cells[1], cells[2], note)
	}
	row("requests/s (median)", func(s *system) string { return fmt.Sprintf("%.0f/s", rate(s)) }, "")
	if len(systems) > 2 {
		fmt.Printf("%-34s %12s  (target ≥ 0.8×)\n", "  ALB / nginx", fmt.Sprintf("%.2f×", rate(alb)/rate(systems[2])))
	}
	fmt.Printf("%-34s %12s\n", "  ALB / direct", fmt.Sprintf("%.2f×", rate(alb)/rate(direct)))
	row(fmt.Sprintf("p99 latency at %d connections", elbLoadConns), func(s *system) string { return ms(median(s.p99s)) }, "")
	row("p50 latency, one at a time", func(s *system) string { return us(median(s.serial50)) }, "")
	row("p99 latency, one at a time", func(s *system) string { return us(median(s.serial)) }, "")
	fmt.Printf("%-34s %12s  (target < 1 ms)\n", "  p99 added by the ALB", us(median(alb.serial)-median(direct.serial)))
	if len(systems) > 2 {
		fmt.Printf("%-34s %12s\n", "  p99 added by nginx", us(median(systems[2].serial)-median(direct.serial)))
	}
	row("proxy CPU per request", func(s *system) string {
		if s.pids == nil || s.reqs == 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f µs", float64(s.cpu)*1e4/float64(s.reqs)) // 100 ticks a second
	}, "(the proxy process alone)")
	row("share of the 2nd target", func(s *system) string {
		return fmt.Sprintf("%.0f%%", 100*float64(s.hits[1])/float64(max(s.hits[0]+s.hits[1], 1)))
	}, "(health checks included)")
	if stopNginx != nil {
		stopNginx() // its connections and CPU are no longer wanted; the deferred stop does nothing
	}

	if conns > 0 {
		return holdConnections(albAddr, host, conns, proc.Process.Pid)
	}
	return nil
}

// setUpALB creates a target group of the two targets, an ALB with an
// HTTP listener forwarding to it, waits until both targets are healthy,
// and returns where the listener really listens and the ALB's DNS name.
func setUpALB(client *http.Client, base string, targets []*benchTarget) (string, string, error) {
	subnets, err := ec2Call(client, base, url.Values{"Action": {"DescribeSubnets"},
		"Filter.1.Name": {"default-for-az"}, "Filter.1.Value.1": {"true"}})
	if err != nil {
		return "", "", err
	}
	ids, vpc := subnetIDs.FindAllStringSubmatch(subnets, -1), vpcIDs.FindStringSubmatch(subnets)
	if len(ids) < 2 || vpc == nil {
		return "", "", fmt.Errorf("no two default subnets: %.300s", subnets)
	}
	body, err := elbCall(client, base, url.Values{"Action": {"CreateTargetGroup"}, "Name": {"bench"}, "Protocol": {"HTTP"},
		"Port": {"80"}, "VpcId": {vpc[1]}, "TargetType": {"ip"}, "HealthCheckPath": {"/"},
		"HealthCheckIntervalSeconds": {"5"}, "HealthCheckTimeoutSeconds": {"2"}, "HealthyThresholdCount": {"2"}})
	if err != nil {
		return "", "", err
	}
	tg := between(body, "<TargetGroupArn>", "</TargetGroupArn>")
	reg := url.Values{"Action": {"RegisterTargets"}, "TargetGroupArn": {tg}}
	for i, t := range targets {
		host, port, _ := net.SplitHostPort(t.addr)
		p := fmt.Sprintf("Targets.member.%d.", i+1)
		reg.Set(p+"Id", host)
		reg.Set(p+"Port", port)
		// Loopback is outside the VPC: an IP target there names its zone.
		reg.Set(p+"AvailabilityZone", "all")
	}
	if _, err := elbCall(client, base, reg); err != nil {
		return "", "", err
	}
	body, err = elbCall(client, base, url.Values{"Action": {"CreateLoadBalancer"}, "Name": {"bench"},
		"Subnets.member.1": {ids[0][1]}, "Subnets.member.2": {ids[1][1]}})
	if err != nil {
		return "", "", err
	}
	lb, dns := between(body, "<LoadBalancerArn>", "</LoadBalancerArn>"), between(body, "<DNSName>", "</DNSName>")
	body, err = elbCall(client, base, url.Values{"Action": {"CreateListener"}, "LoadBalancerArn": {lb}, "Protocol": {"HTTP"}, "Port": {"80"},
		"DefaultActions.member.1.Type": {"forward"}, "DefaultActions.member.1.TargetGroupArn": {tg}})
	if err != nil {
		return "", "", err
	}
	listener := between(body, "<ListenerArn>", "</ListenerArn>")
	resp, err := client.Get(base + "/_nephele/elasticloadbalancing/listeners")
	if err != nil {
		return "", "", err
	}
	var where map[string]struct {
		Address string `json:"address"`
	}
	err = json.NewDecoder(resp.Body).Decode(&where)
	resp.Body.Close()
	if err != nil || where[listener].Address == "" {
		return "", "", fmt.Errorf("listener %s not in the admin listener map (%v)", listener, err)
	}
	for t0 := wall.Now(); ; wall.Sleep(context.Background(), 200*time.Millisecond) {
		body, err := elbCall(client, base, url.Values{"Action": {"DescribeTargetHealth"}, "TargetGroupArn": {tg}})
		if err != nil {
			return "", "", err
		}
		if strings.Count(body, "<State>healthy</State>") == len(targets) {
			break
		}
		if wall.Since(t0) > 60*time.Second {
			return "", "", fmt.Errorf("targets not healthy after 60 s: %.500s", body)
		}
	}
	return where[listener].Address, dns, nil
}

// loadResult is one load run's figures.
type loadResult struct {
	rate         float64 // answered requests per second
	done, failed int64
	p50, p99     time.Duration
}

// httpLoad sends GET / over conns keep-alive connections to addr, each
// with one request at a time, for d or until maxRequests have gone out. It
// speaks HTTP/1.1 itself (a request written in one go, the answer parsed
// from a buffered reader) so that the client costs little of the CPU the
// servers share with it.
func httpLoad(addr, host string, conns int, d time.Duration, maxRequests int64) loadResult {
	req := []byte("GET / HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: nephele-bench\r\n\r\n")
	var issued, ok, failed atomic.Int64
	var stop atomic.Bool
	timer := wall.AfterFunc(d, func() { stop.Store(true) })
	defer timer.Stop()
	lats := make([][]time.Duration, conns)
	var wg sync.WaitGroup
	t0 := wall.Now()
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c net.Conn
			var br *bufio.Reader
			defer func() {
				if c != nil {
					c.Close()
				}
			}()
			for !stop.Load() && issued.Add(1) <= maxRequests {
				if c == nil {
					var err error
					if c, err = net.DialTimeout("tcp", addr, 5*time.Second); err != nil {
						failed.Add(1)
						c = nil
						wall.Sleep(context.Background(), 10*time.Millisecond)
						continue
					}
					c.SetDeadline(wall.Now().Add(d + 10*time.Second))
					br = bufio.NewReaderSize(c, 4096)
				}
				start := wall.Now()
				code, closing, err := roundTrip(c, br, req)
				if err != nil || code != 200 {
					failed.Add(1)
					c.Close()
					c = nil
					continue
				}
				ok.Add(1)
				lats[w] = append(lats[w], wall.Since(start))
				if closing { // the server ends the connection (nginx does after 1,000 requests)
					c.Close()
					c = nil
				}
			}
		}()
	}
	wg.Wait()
	elapsed := wall.Since(t0)
	all := slices.Concat(lats...)
	slices.Sort(all)
	r := loadResult{rate: float64(ok.Load()) / elapsed.Seconds(), done: ok.Load(), failed: failed.Load()}
	if len(all) > 0 {
		r.p50, r.p99 = all[len(all)/2], all[len(all)*99/100]
	}
	return r
}

// roundTrip writes one request and reads its answer, returning the status
// and whether the server closes the connection after it.
func roundTrip(c net.Conn, br *bufio.Reader, req []byte) (int, bool, error) {
	if _, err := c.Write(req); err != nil {
		return 0, false, err
	}
	return readResponse(br)
}

// readResponse reads one HTTP/1.1 response with a Content-Length body,
// discarding the body, and returns its status code and whether it says
// Connection: close.
func readResponse(br *bufio.Reader) (int, bool, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, false, fmt.Errorf("bad status line %q", line)
	}
	code := atoi(line[9:12])
	length, closing := -1, false
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return 0, false, err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			break
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		switch {
		case !ok:
		case bytes.EqualFold(k, []byte("Content-Length")):
			length = atoi(bytes.TrimSpace(v))
		case bytes.EqualFold(k, []byte("Connection")):
			closing = bytes.EqualFold(bytes.TrimSpace(v), []byte("close"))
		}
	}
	if length < 0 {
		return 0, false, errors.New("response without Content-Length")
	}
	_, err = br.Discard(length)
	return code, closing, err
}

// atoi parses decimal digits, or is -1.
func atoi(b []byte) int {
	if len(b) == 0 {
		return -1
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// holdConnections opens n keep-alive connections through the ALB, each
// answered once, holds them all open at once, then asks each again and
// prints how many answered, how long opening took and nephele's memory.
func holdConnections(addr, host string, n, pid int) error {
	req := []byte("GET / HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: nephele-bench\r\n\r\n")
	type held struct {
		c  net.Conn
		br *bufio.Reader
	}
	conns := make([]held, n)
	defer func() {
		for _, h := range conns {
			if h.c != nil {
				h.c.Close()
			}
		}
	}()
	rss0 := rssKiB(pid)
	// each runs f on every index with 64 goroutines and counts failures.
	each := func(f func(i int) error) (int64, error) {
		var next, failed atomic.Int64
		var first atomic.Value
		var wg sync.WaitGroup
		for range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
					if err := f(i); err != nil {
						failed.Add(1)
						first.CompareAndSwap(nil, err)
					}
				}
			}()
		}
		wg.Wait()
		err, _ := first.Load().(error)
		return failed.Load(), err
	}
	ask := func(h held) error {
		h.c.SetDeadline(wall.Now().Add(30 * time.Second))
		code, closing, err := roundTrip(h.c, h.br, req)
		switch {
		case err != nil:
		case code != 200:
			err = fmt.Errorf("HTTP %d", code)
		case closing:
			err = errors.New("the ALB closed a keep-alive connection")
		}
		return err
	}
	t0 := wall.Now()
	failed, err := each(func(i int) error {
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			return err
		}
		conns[i] = held{c: c, br: bufio.NewReaderSize(c, 512)}
		return ask(conns[i])
	})
	opened := wall.Since(t0)
	if failed > 0 {
		return fmt.Errorf("%d of %d connections through the ALB failed to open: %v", failed, n, err)
	}
	wall.Sleep(context.Background(), time.Second) // all of them idle and open at once
	rss := rssKiB(pid)
	failed, err = each(func(i int) error { return ask(conns[i]) })
	verdict := "all answer"
	if failed > 0 {
		verdict = fmt.Sprintf("%d failed", failed)
	}
	fmt.Printf("%-34s %12s  (opened in %.2f s; each asked again after all were open; nephele RSS +%.0f MiB)\n",
		fmt.Sprintf("%d keep-alive connections held", n), verdict, opened.Seconds(), float64(rss-rss0)/1024)
	if failed > 0 {
		return fmt.Errorf("%d of %d held connections got no answer: %v", failed, n, err)
	}
	return nil
}

// startNginx runs nginx as a keep-alive reverse proxy to the two targets
// on a free loopback port. It returns its address, its master's PID and
// how to stop it, or a note saying why nginx is left out.
func startNginx(t1, t2 string) (string, int, func(), string) {
	bin, note := findNginx()
	if bin == "" {
		return "", 0, nil, note
	}
	port, err := freePort()
	if err != nil {
		return "", 0, nil, err.Error()
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	dir, err := os.MkdirTemp("", "nephele-bench-nginx-")
	if err != nil {
		return "", 0, nil, err.Error()
	}
	conf := benchnginx.Config(dir, addr, t1, t2)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		os.RemoveAll(dir)
		return "", 0, nil, err.Error()
	}
	cmd := exec.Command(bin, "-p", dir, "-c", path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return "", 0, nil, err.Error()
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			// A graceful stop lets the master wait for its workers; if it
			// does not end soon, the whole process group goes.
			syscall.Kill(cmd.Process.Pid, syscall.SIGQUIT)
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			t := wall.NewTimer(5 * time.Second)
			defer t.Stop()
			select {
			case <-done:
			case <-t.C():
				syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				<-done
			}
			os.RemoveAll(dir)
		})
	}
	for t0 := wall.Now(); ; wall.Sleep(context.Background(), 10*time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr, cmd.Process.Pid, stop, ""
		}
		if wall.Since(t0) > 5*time.Second {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			stop()
			return "", 0, nil, fmt.Sprintf("nginx did not start: %.300s", log)
		}
	}
}

// findNginx returns nginx's path. Where it is missing, it installs
// Debian's nginx-light with apt-get if this runs as root and the package
// is available (without starting its service), else returns why not.
func findNginx() (string, string) {
	look := func() string {
		for _, p := range []string{"nginx", "/usr/sbin/nginx"} {
			if path, err := exec.LookPath(p); err == nil {
				return path
			}
		}
		return ""
	}
	if p := look(); p != "" {
		return p, ""
	}
	if os.Geteuid() != 0 {
		return "", "nginx is not installed (and installing it needs root)"
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return "", "nginx is not installed and there is no apt-get"
	}
	policy, err := exec.Command("apt-cache", "policy", "nginx-light").Output()
	if err != nil || !bytes.Contains(policy, []byte("Candidate:")) || bytes.Contains(policy, []byte("Candidate: (none)")) {
		return "", "nginx is not installed and apt has no nginx-light"
	}
	cmd := exec.Command("apt-get", "install", "-y", "--no-install-recommends", "nginx-light")
	// RUNLEVEL=1 keeps invoke-rc.d from starting the packaged service.
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive", "RUNLEVEL=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Sprintf("apt-get install nginx-light failed: %v: %.300s", err, out)
	}
	if p := look(); p != "" {
		return p, ""
	}
	return "", "nginx-light installed but no nginx binary found"
}

// us renders a duration in microseconds.
func us(d time.Duration) string { return fmt.Sprintf("%d µs", d.Microseconds()) }

// medianFloat is the median of xs.
func medianFloat(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
