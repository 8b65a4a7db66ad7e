package balancer

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
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
	conf := fmt.Sprintf(`daemon off;
worker_processes auto;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  upstream targets { server %[2]s; server %[3]s; keepalive 512; }
  server {
    listen %[4]s;
    location / {
      proxy_pass http://targets;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
    }
  }
}
`, dir, t1.Listener.Addr(), t2.Listener.Addr(), addr)
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
