package balancer

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/nephele-dev/nephele/internal/benchnginx"
)

// BenchmarkNginx is BenchmarkProxy's peer: nginx as a keep-alive reverse
// proxy to two targets, with the same client. It is skipped where nginx is
// not installed. Compare ns/op with BenchmarkProxy from the same run.
func BenchmarkNginx(b *testing.B) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		b.Skip("nginx not installed")
	}
	t1, t2 := benchTarget(b), benchTarget(b)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := b.TempDir()
	conf := benchnginx.Config(dir, addr, t1.Listener.Addr().String(), t2.Listener.Addr().String())
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	children0 := cpuTime(syscall.RUSAGE_CHILDREN)
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			b.Fatalf("nginx did not start: %s", log)
		}
		time.Sleep(10 * time.Millisecond)
	}
	runBench(b, "http://"+addr+"/")
	// nginx's own CPU: a graceful stop makes the master wait for its
	// workers, so their time reaches our RUSAGE_CHILDREN once it exits.
	_ = cmd.Process.Signal(syscall.SIGQUIT)
	_ = cmd.Wait()
	b.ReportMetric(float64((cpuTime(syscall.RUSAGE_CHILDREN)-children0).Microseconds())/float64(b.N), "nginx-cpu-µs/op")
}
