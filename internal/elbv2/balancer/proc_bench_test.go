package balancer

import (
	"bufio"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nephele-dev/nephele/internal/clock"
)

// TestHelperProxyProcess is not a test: BenchmarkProxyProcess runs this
// test binary again with NEPHELE_BALANCER_TARGETS set, and this function
// then serves an ALB in that separate process until its stdin closes, so
// the balancer competes for the CPU as nginx does in BenchmarkNginx,
// outside the benchmark's own process.
func TestHelperProxyProcess(t *testing.T) {
	spec := os.Getenv("NEPHELE_BALANCER_TARGETS")
	if spec == "" {
		t.Skip("helper process for BenchmarkProxyProcess")
	}
	p := New(Options{Clock: clock.Real()})
	defer p.Close()
	var targets []Target
	for i, addr := range strings.Split(spec, ",") {
		host, port, _ := net.SplitHostPort(addr)
		n, _ := strconv.Atoi(port)
		targets = append(targets, Target{ID: "i-" + strconv.Itoa(i), Addr: host, Port: n})
	}
	tg := httpGroup("tg", targets...)
	tg.HealthCheck.Enabled = false
	p.SetTargetGroup(tg)
	addrs, err := p.SetLoadBalancer(LoadBalancer{ARN: "lb", Type: "application", IP: "127.0.0.1", IdleTimeout: time.Minute,
		Listeners: []Listener{{ARN: "l", Protocol: "HTTP", Rules: []Rule{defaultRule(forwardTo("tg"))}}}})
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("ADDR " + addrs["l"] + "\n")
	io.Copy(io.Discard, os.Stdin)
}

// BenchmarkProxyProcess is BenchmarkProxy with the balancer in its own
// process, the fair peer of BenchmarkNginx: same client, same two
// targets in this process, proxy CPU reported separately
// (proxy-cpu-µs/op).
func BenchmarkProxyProcess(b *testing.B) {
	t1, t2 := benchTarget(b), benchTarget(b)
	args := []string{"-test.run=^TestHelperProxyProcess$"}
	if prof := os.Getenv("NEPHELE_BALANCER_CPUPROFILE"); prof != "" {
		args = append(args, "-test.cpuprofile="+prof) // to profile the balancer alone
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "NEPHELE_BALANCER_TARGETS="+t1.Listener.Addr().String()+","+t2.Listener.Addr().String())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	children0 := cpuTime(syscall.RUSAGE_CHILDREN)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	}()
	addr := ""
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "ADDR "); ok {
			addr = a
			break
		}
	}
	if addr == "" {
		b.Fatal("helper process printed no address")
	}
	go io.Copy(io.Discard, stdout)
	runBench(b, "http://"+addr+"/")
	stdin.Close()
	_ = cmd.Wait()
	b.ReportMetric(float64((cpuTime(syscall.RUSAGE_CHILDREN)-children0).Microseconds())/float64(b.N), "proxy-cpu-µs/op")
}
