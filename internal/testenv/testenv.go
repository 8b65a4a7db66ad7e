// Package testenv runs nephele for tests and points real clients at it: the
// Go SDK v2, the aws CLI, and terraform. Every test that shows user-visible
// behaviour starts here, in-process (Start) or as the real binary
// (StartProcess), on a free loopback port.
package testenv

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/nephele-dev/nephele/internal/server"
)

// Env is a running nephele and the clients a test points at it.
type Env struct {
	// Endpoint is nephele's URL, e.g. http://127.0.0.1:41234.
	Endpoint string
	// Server is the in-process server; nil for StartProcess.
	Server *server.Server
	// Region is the region clients sign for.
	Region string

	// transport carries this env's client connections only, so that one
	// test closing its connections cannot cut another's.
	transport *http.Transport
}

// Start runs nephele in-process on a free loopback port until the test ends.
func Start(t testing.TB, cfg server.Config) *Env {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	var logs *failureLog
	if cfg.Logger == nil {
		logs = &failureLog{}
		cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	transport := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(func() {
		transport.CloseIdleConnections()
		if logs != nil && t.Failed() {
			t.Logf("testenv: nephele's log (last %d KiB):\n%s", failureLogSize>>10, logs.tail())
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("testenv: serve: %v", err)
		}
		if err := srv.Close(); err != nil {
			t.Errorf("testenv: close: %v", err)
		}
	})
	return &Env{Endpoint: srv.Endpoint(), Server: srv, Region: "us-east-1", transport: transport}
}

// failureLogSize bounds the server log a failed test shows.
const failureLogSize = 64 << 10

// failureLog keeps the newest failureLogSize bytes of a server's log, to
// show when a test fails: a CI failure must explain itself.
type failureLog struct {
	mu  sync.Mutex
	buf []byte
}

func (l *failureLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	if over := len(l.buf) - failureLogSize; over > 0 {
		l.buf = append(l.buf[:0], l.buf[over:]...)
	}
	return len(p), nil
}

func (l *failureLog) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.buf)
}

// AWSConfig is a Go SDK v2 configuration for the env: static credentials,
// the env's endpoint for every service, and no retries, so a test sees the
// first answer.
func (e *Env) AWSConfig() aws.Config {
	return e.AWSConfigWith("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "")
}

// AWSConfigWith is AWSConfig with given credentials.
func (e *Env) AWSConfigWith(accessKey, secret, session string) aws.Config {
	var next http.RoundTripper = http.DefaultTransport
	if e.transport != nil {
		next = e.transport
	}
	client := &http.Client{Timeout: 60 * time.Second, Transport: ownBody{next}}
	return aws.Config{
		Region:           e.Region,
		Credentials:      credentials.NewStaticCredentialsProvider(accessKey, secret, session),
		BaseEndpoint:     aws.String(e.Endpoint),
		RetryMaxAttempts: 1,
		HTTPClient:       client,
	}
}

// ownBody hands the transport a request body of its own. The Go SDK closes
// its body stream once the response arrives, and a loopback server can
// answer before the transport's last read of the body (the read that
// checks for bytes beyond Content-Length); that read then fails, and the
// transport closes the connection under the response being read: "use of
// closed network connection" with a 200 (aws/aws-sdk-go-v2#1825, #2737).
// Against nephele's quick answers the race was common; with a copy of the
// body the SDK's close cannot reach the transport.
type ownBody struct{ next http.RoundTripper }

func (o ownBody) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return o.next.RoundTrip(r)
	}
	b, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return nil, err
	}
	r = r.Clone(r.Context())
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	return o.next.RoundTrip(r)
}

// ClientEnv is the environment for an AWS command-line client run against
// the env, isolated from the user's own AWS configuration.
func (e *Env) ClientEnv(dir string) []string {
	env := []string{
		"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
		"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AWS_DEFAULT_REGION=" + e.Region,
		"AWS_REGION=" + e.Region,
		"AWS_ENDPOINT_URL=" + e.Endpoint,
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "aws-credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_MAX_ATTEMPTS=1",
		"AWS_PAGER=",
		"HOME=" + dir,
	}
	for _, k := range []string{"PATH", "TMPDIR", "PYENV_ROOT", "PYENV_VERSION", "LANG"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// CLI runs `aws ARGS...` against the env and returns stdout and stderr. A
// non-zero exit is returned as an error that includes stderr, so tests can
// assert on AWS error codes.
func (e *Env) CLI(t testing.TB, args ...string) (string, error) {
	t.Helper()
	path, err := exec.LookPath("aws")
	if err != nil {
		t.Fatalf("testenv: the aws CLI is not installed: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, append([]string{"--output", "json"}, args...)...)
	cmd.Env = e.ClientEnv(t.TempDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("aws %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// RepoRoot is the module root, found from the test's working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testenv: no go.mod above the working directory")
		}
		dir = parent
	}
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds cmd/nephele once per test process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "nephele-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "nephele")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/nephele")
		cmd.Dir = RepoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("testenv: %v", buildErr)
	}
	return binPath
}

// Process is nephele running as its own binary.
type Process struct {
	*Env
	Cmd    *exec.Cmd
	stderr *lockedWriter
	done   chan struct{}
}

// StartProcess runs the nephele binary with args on a free loopback port
// and waits for its ready line. The test's cleanup kills it by PID if it is
// still running.
func StartProcess(t testing.TB, args ...string) *Process {
	t.Helper()
	bin := Binary(t)
	cmd := exec.Command(bin, append([]string{"--listen", "127.0.0.1:0"}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &Process{Cmd: cmd, stderr: &lockedWriter{}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("testenv: start nephele: %v", err)
	}
	go func() {
		cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	select {
	case line := <-lines:
		_, rest, ok := strings.Cut(line, " ready on ")
		if !ok {
			t.Fatalf("testenv: unexpected first line %q", line)
		}
		endpoint, _, _ := strings.Cut(rest, " ")
		p.Env = &Env{Endpoint: endpoint, Region: "us-east-1"}
	case <-p.done:
		t.Fatalf("testenv: nephele exited before it was ready: %s", p.Stderr())
	case <-ctx.Done():
		t.Fatalf("testenv: nephele not ready after 30s")
	}
	return p
}

// Signal sends sig to the nephele process and waits for it to exit.
func (p *Process) Signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if err := p.Cmd.Process.Signal(sig); err != nil {
		t.Fatalf("testenv: signal: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	select {
	case <-p.done:
	case <-ctx.Done():
		t.Fatalf("testenv: nephele did not exit after %v", sig)
	}
}

// Exited reports whether the process has ended, and its exit code.
func (p *Process) Exited() (bool, int) {
	select {
	case <-p.done:
		return true, p.Cmd.ProcessState.ExitCode()
	default:
		return false, 0
	}
}

// Stderr is what the process has logged so far.
func (p *Process) Stderr() string { return p.stderr.String() }

type lockedWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(b)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Alive reports whether a process exists and has not exited, for tests
// that check nothing outlives an instance: a zombie waiting for its parent
// to reap it has ended.
func Alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] != 'Z' && b[i+2] != 'X'
}
