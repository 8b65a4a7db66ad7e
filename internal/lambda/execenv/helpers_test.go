package execenv

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	// The Go test function (testdata/gohandler) is built with aws-lambda-go;
	// importing it here keeps it in go.mod through go mod tidy, which does
	// not look into testdata.
	_ "github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/nephele-dev/nephele/internal/clock"
)

// recordingSink keeps what the Pool sends to CloudWatch Logs.
type recordingSink struct {
	mu      sync.Mutex
	streams map[string][]string // group + " " + stream -> messages
}

func (s *recordingSink) Append(_ context.Context, account, region, group, stream string, events []LogEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.streams == nil {
		s.streams = make(map[string][]string)
	}
	k := group + " " + stream
	for _, ev := range events {
		s.streams[k] = append(s.streams[k], ev.Message)
	}
	return nil
}

// all returns every stream's messages, joined.
func (s *recordingSink) all() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string)
	for k, v := range s.streams {
		out[k] = strings.Join(v, "\n")
	}
	return out
}

// zipFile is one entry of a test zip.
type zipFile struct {
	name, body string
	mode       os.FileMode
}

func makeZip(t testing.TB, files ...zipFile) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.name, Method: zip.Deflate}
		mode := f.mode
		if mode == 0 {
			mode = 0o644
		}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(f.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type testPool struct {
	*Pool
	clk  *clock.Fake
	sink *recordingSink
}

// newTestPool returns a Pool on a fake clock set to the wall clock's now,
// so that deadlines the runtimes compare with their own clocks make sense.
func newTestPool(t *testing.T, idle time.Duration) *testPool {
	t.Helper()
	clk := clock.NewFake(time.Now().Truncate(time.Millisecond))
	sink := &recordingSink{}
	p := New(Options{Clock: clk, Dir: t.TempDir(), IdleTimeout: idle, Logs: sink})
	t.Cleanup(func() { p.Close() })
	return &testPool{Pool: p, clk: clk, sink: sink}
}

var fnSeq struct {
	sync.Mutex
	n int
}

// function returns a Function of a fresh name.
func function(runtime, handler string, code []byte) *Function {
	fnSeq.Lock()
	fnSeq.n++
	n := fnSeq.n
	fnSeq.Unlock()
	name := "fn" + strconv.Itoa(n)
	return &Function{
		Account: "123456789012", Region: "us-east-1",
		Name:     name,
		ARN:      "arn:aws:lambda:us-east-1:123456789012:function:" + name,
		Version:  "$LATEST",
		Revision: "r1",
		Runtime:  runtime,
		Handler:  handler,
		Code:     code,
		Timeout:  3 * time.Second,
		MemoryMB: 128,
		Credentials: Credentials{
			AccessKeyID: "AKIDTEST", SecretAccessKey: "secret", SessionToken: "token",
		},
		Endpoint: "http://127.0.0.1:4566",
	}
}

func invoke(t *testing.T, p *testPool, fn *Function, payload string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := p.Invoke(ctx, fn, Request{ID: newUUID(), Payload: []byte(payload), Tail: true})
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	return res
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("payload %q: %v", b, err)
	}
	return m
}

func needPython(t *testing.T) {
	if err := CheckRuntime("python3.12"); err != nil {
		t.Skip(err)
	}
}

func needNode(t *testing.T) {
	if err := CheckRuntime("nodejs20.x"); err != nil {
		t.Skip(err)
	}
}

// envPIDs lists the leader PIDs of a function's environments.
func envPIDs(p *Pool, name string) []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var pids []int
	for k, list := range p.envs {
		if k.name != name {
			continue
		}
		for _, e := range list {
			e.mu.Lock()
			if e.tree != nil {
				pids = append(pids, e.tree.PID())
			}
			e.mu.Unlock()
		}
	}
	sort.Ints(pids)
	return pids
}

// alive reports whether a process exists (zombies count as gone).
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// eventually polls cond for up to 10 s of real time: it waits for real
// processes, not for the clock.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// goBootstrap builds testdata/gohandler once per test binary as a Linux
// executable named bootstrap, and returns its zip.
var goBootstrap = sync.OnceValues(func() ([]byte, error) {
	if _, err := exec.LookPath("go"); err != nil {
		return nil, errSkip
	}
	dir, err := os.MkdirTemp("", "execenv-gohandler-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-o", bin, "./testdata/gohandler")
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, errors.New("go build: " + err.Error() + "\n" + string(out))
	}
	body, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(body); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
})

var errSkip = errors.New("go is not installed")

func goZip(t *testing.T) []byte {
	t.Helper()
	z, err := goBootstrap()
	if errors.Is(err, errSkip) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return z
}

// TestMain starts building the Go test function at once, so the build
// overlaps the Python and Node.js tests instead of adding to them.
func TestMain(m *testing.M) {
	go goBootstrap()
	os.Exit(m.Run())
}
