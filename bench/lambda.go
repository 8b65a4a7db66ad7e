package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The Lambda figures, on a fresh nephele at real time: warm invoke
// overhead, cold starts of Go (provided.al2023) and Python functions,
// SnapStart restore against a cold start, 1,000 asynchronous events
// drained within reserved concurrency, and synchronous invokes per second
// at several concurrencies. Invokes go over plain HTTP (keep-alive), so
// the figures are nephele's, not an SDK's.

// lambdaRoleARN is the execution role every bench function names.
const lambdaRoleARN = "arn:aws:iam::000000000000:role/bench"

// pyInstant returns at once.
const pyInstant = "def handler(event, context):\n    return None\n"

// pyHold returns at once, or after {"hold": seconds}.
const pyHold = `import time

def handler(event, context):
    if event and event.get("hold"):
        time.sleep(event["hold"])
    return None
`

// pySpans appends "start end" (monotonic ns, comparable across processes)
// to $OUT for each event, in one write; it sleeps 2 ms between the two, so
// that executions allowed to overlap do.
const pySpans = `import os, time

def handler(event, context):
    start = time.monotonic_ns()
    time.sleep(0.002)
    end = time.monotonic_ns()
    fd = os.open(os.environ["OUT"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, ("%d %d\n" % (start, end)).encode())
    finally:
        os.close(fd)
`

// lambdaClient talks Lambda's rest-json API to one nephele.
type lambdaClient struct {
	http *http.Client
	base string
}

// do sends one request and returns the status, headers and body; a status
// of 400 or more is an error carrying the body.
func (c *lambdaClient) do(method, path string, headers map[string]string, body []byte) (http.Header, []byte, error) {
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amz-Date", "20261123T000000Z")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261123/us-east-1/lambda"+
		"/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode >= 400 {
		return resp.Header, b, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return resp.Header, b, nil
}

// create makes a function and waits until it is Active.
func (c *lambdaClient) create(name, rt, handler string, code []byte, extra map[string]any) error {
	in := map[string]any{
		"FunctionName": name, "Runtime": rt, "Handler": handler, "Role": lambdaRoleARN, "Timeout": 30,
		"Code": map[string]any{"ZipFile": base64.StdEncoding.EncodeToString(code)},
	}
	for k, v := range extra {
		in[k] = v
	}
	body, _ := json.Marshal(in)
	if _, _, err := c.do("POST", "/2015-03-31/functions", nil, body); err != nil {
		return err
	}
	return c.waitActive(name, "")
}

// waitActive polls a function's (or a version's) State until Active.
func (c *lambdaClient) waitActive(name, qualifier string) error {
	path := "/2015-03-31/functions/" + name + "/configuration"
	if qualifier != "" {
		path += "?Qualifier=" + url.QueryEscape(qualifier)
	}
	deadline := wall.Now().Add(30 * time.Second)
	for wall.Now().Before(deadline) {
		_, b, err := c.do("GET", path, nil, nil)
		if err != nil {
			return err
		}
		var cfg struct{ State string }
		json.Unmarshal(b, &cfg)
		if cfg.State == "Active" {
			return nil
		}
		wall.Sleep(context.Background(), 20*time.Millisecond)
	}
	return fmt.Errorf("%s:%s not Active after 30 s", name, qualifier)
}

// report is what one invoke's REPORT line says, in milliseconds.
type report struct {
	duration, init, restore float64
}

var (
	reDuration = regexp.MustCompile(`\tDuration: ([0-9.]+) ms`)
	reInit     = regexp.MustCompile(`Init Duration: ([0-9.]+) ms`)
	reRestore  = regexp.MustCompile(`Restore Duration: ([0-9.]+) ms`)
)

// invoke runs a function synchronously; with tail, it reads the REPORT
// line of the log tail.
func (c *lambdaClient) invoke(name, qualifier string, payload []byte, tail bool) (report, error) {
	path := "/2015-03-31/functions/" + name + "/invocations"
	if qualifier != "" {
		path += "?Qualifier=" + url.QueryEscape(qualifier)
	}
	h := map[string]string{}
	if tail {
		h["X-Amz-Log-Type"] = "Tail"
	}
	hdr, _, err := c.do("POST", path, h, payload)
	if err != nil {
		return report{}, err
	}
	if fe := hdr.Get("X-Amz-Function-Error"); fe != "" {
		return report{}, fmt.Errorf("%s: function error %s", name, fe)
	}
	var r report
	if !tail {
		return r, nil
	}
	log, _ := base64.StdEncoding.DecodeString(hdr.Get("X-Amz-Log-Result"))
	num := func(re *regexp.Regexp) float64 {
		if m := re.FindSubmatch(log); m != nil {
			v, _ := strconv.ParseFloat(string(m[1]), 64)
			return v
		}
		return -1
	}
	r.duration, r.init, r.restore = num(reDuration), num(reInit), num(reRestore)
	if r.duration < 0 {
		return r, fmt.Errorf("%s: no REPORT in the log tail:\n%s", name, log)
	}
	return r, nil
}

// zipFiles builds a deployment package; mode 0o755 entries are
// executable.
func zipFiles(files map[string][]byte, exe map[string]bool) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for name, body := range files {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		h.SetMode(0o644)
		if exe[name] {
			h.SetMode(0o755)
		}
		w, _ := zw.CreateHeader(h)
		w.Write(body)
	}
	zw.Close()
	return b.Bytes()
}

// goHandlerZip builds execenv's aws-lambda-go test handler as a Linux
// bootstrap, zipped.
func goHandlerZip() ([]byte, error) {
	dir, err := os.MkdirTemp("", "nephele-bench-go-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-ldflags=-s -w", "-o", bin, "./internal/lambda/execenv/testdata/gohandler")
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build gohandler: %v\n%s", err, out)
	}
	body, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	return zipFiles(map[string][]byte{"bootstrap": body}, map[string]bool{"bootstrap": true}), nil
}

func msf(v float64) string { return fmt.Sprintf("%.2f ms", v) }

// pctile is the p-th percentile (0..100) of vs, sorted in place.
func pctile(vs []float64, p float64) float64 {
	sort.Float64s(vs)
	i := int(float64(len(vs)-1) * p / 100)
	return vs[i]
}

// runLambda prints the Lambda figures on a fresh nephele.
func runLambda() error {
	if _, err := exec.LookPath("python3"); err != nil {
		return fmt.Errorf("the Lambda figures need python3: %w", err)
	}
	bin, err := build()
	if err != nil {
		return err
	}
	s := server{name: "nephele", start: func(port int) *exec.Cmd {
		return exec.Command(bin, "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--log-level", "error")
	}}
	proc, base, err := launch(s)
	if err != nil {
		return err
	}
	defer stopGracefully(proc)
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	c := &lambdaClient{http: &http.Client{Transport: tr, Timeout: 60 * time.Second}, base: base}
	fmt.Printf("\nLambda on nephele (real time, loopback)\n")
	steps := []func(*lambdaClient) error{warmOverhead, coldStarts, snapStartRatio, asyncDrain, syncThroughput}
	for _, step := range steps {
		if err := step(c); err != nil {
			return err
		}
	}
	return nil
}

// warmOverhead: a Python function that returns at once, invoked warm one
// call at a time; overhead is the round trip less the REPORT's Duration.
func warmOverhead(c *lambdaClient) error {
	const calls = 2000
	code := zipFiles(map[string][]byte{"app.py": []byte(pyInstant)}, nil)
	if err := c.create("warm", "python3.12", "app.handler", code, nil); err != nil {
		return err
	}
	for range 50 { // cold start, then settle
		if _, err := c.invoke("warm", "", []byte(`{}`), true); err != nil {
			return err
		}
	}
	var over, rtts []float64
	deadline := wall.Now().Add(60 * time.Second)
	for i := 0; i < calls && wall.Now().Before(deadline); i++ {
		t0 := wall.Now()
		r, err := c.invoke("warm", "", []byte(`{}`), true)
		rtt := float64(wall.Since(t0)) / float64(time.Millisecond)
		if err != nil {
			return err
		}
		over = append(over, rtt-r.duration)
		rtts = append(rtts, rtt)
	}
	fmt.Printf("%-34s %12s  (p50 of %d; target < 1 ms)\n", "warm invoke overhead p50", msf(pctile(over, 50)), len(over))
	fmt.Printf("%-34s %12s  (target < 5 ms)\n", "warm invoke overhead p99", msf(pctile(over, 99)))
	fmt.Printf("%-34s %12s  (p50; p99 %s)\n", "warm invoke round trip", msf(pctile(rtts, 50)), msf(pctile(rtts, 99)))
	return nil
}

// coldInits creates n fresh functions and returns the Init Duration of
// each one's first invoke.
func coldInits(c *lambdaClient, prefix, rt, handler string, code []byte, payload []byte, n int) ([]float64, error) {
	var out []float64
	for i := range n {
		name := fmt.Sprintf("%s-%d", prefix, i)
		if err := c.create(name, rt, handler, code, nil); err != nil {
			return nil, err
		}
		r, err := c.invoke(name, "", payload, true)
		if err != nil {
			return nil, err
		}
		if r.init < 0 {
			return nil, fmt.Errorf("%s: first invoke without Init Duration", name)
		}
		out = append(out, r.init)
	}
	return out, nil
}

// coldStarts: Init Duration of the first invoke of fresh Go
// (provided.al2023) and Python functions, median of several.
func coldStarts(c *lambdaClient) error {
	const n = 7
	goZip, err := goHandlerZip()
	if err != nil {
		return err
	}
	goInits, err := coldInits(c, "gocold", "provided.al2023", "bootstrap", goZip, []byte(`{"value":"x"}`), n)
	if err != nil {
		return err
	}
	pyZip := zipFiles(map[string][]byte{"app.py": []byte(pyInstant)}, nil)
	pyInits, err := coldInits(c, "pycold", "python3.12", "app.handler", pyZip, []byte(`{}`), n)
	if err != nil {
		return err
	}
	fmt.Printf("%-34s %12s  (median of %d fresh functions; target < 20 ms)\n", "cold start, Go provided.al2023", msf(pctile(goInits, 50)), n)
	fmt.Printf("%-34s %12s  (median of %d fresh functions; target < 150 ms)\n", "cold start, Python 3", msf(pctile(pyInits, 50)), n)
	return nil
}

// jsHold is pyHold for Node.js.
const jsHold = `exports.handler = async (event) => {
  if (event && event.hold) await new Promise((r) => setTimeout(r, event.hold * 1000));
  return null;
};
`

// snapStartRatio: Python and Node.js functions with SnapStart.
func snapStartRatio(c *lambdaClient) error {
	if err := snapStartRatioOf(c, "Python", "python3.12", "app.handler", map[string][]byte{"app.py": []byte(pyHold)}); err != nil {
		return err
	}
	return snapStartRatioOf(c, "Node.js", "nodejs20.x", "index.handler", map[string][]byte{"index.js": []byte(jsHold)})
}

// snapStartRatioOf: functions of one runtime with SnapStart on published
// versions; the first invoke of $LATEST is a cold start (Init Duration),
// the first of version 1 a restore (Restore Duration).
func snapStartRatioOf(c *lambdaClient, label, runtime, handler string, files map[string][]byte) error {
	const n = 7
	code := zipFiles(files, nil)
	var colds, firsts, restores []float64
	for i := range n {
		name := fmt.Sprintf("snap-%s-%d", strings.ToLower(strings.TrimSuffix(label, ".js")), i)
		if err := c.create(name, runtime, handler, code, map[string]any{"SnapStart": map[string]string{"ApplyOn": "PublishedVersions"}}); err != nil {
			return err
		}
		r, err := c.invoke(name, "", []byte(`{}`), true)
		if err != nil {
			return err
		}
		if r.init < 0 {
			return fmt.Errorf("%s: $LATEST's first invoke without Init Duration", name)
		}
		colds = append(colds, r.init)
		if _, _, err := c.do("POST", "/2015-03-31/functions/"+name+"/versions", nil, []byte(`{}`)); err != nil {
			return err
		}
		if err := c.waitActive(name, "1"); err != nil {
			return err
		}
		r, err = c.invoke(name, "1", []byte(`{}`), true)
		if err != nil {
			return err
		}
		if r.restore < 0 {
			return fmt.Errorf("%s:1: first invoke without Restore Duration", name)
		}
		firsts = append(firsts, r.restore)
		// A second environment, restored once the snapshot has had time
		// to fork its spare: one invoke holds the warm environment for
		// 400 ms while another starts.
		wall.Sleep(context.Background(), 300*time.Millisecond)
		held := make(chan error, 1)
		go func() {
			_, err := c.invoke(name, "1", []byte(`{"hold":0.4}`), false)
			held <- err
		}()
		wall.Sleep(context.Background(), 100*time.Millisecond)
		r, err = c.invoke(name, "1", []byte(`{}`), true)
		if herr := <-held; herr != nil {
			return herr
		}
		if err != nil {
			return err
		}
		if r.restore >= 0 {
			restores = append(restores, r.restore)
		}
	}
	if len(restores) == 0 {
		return fmt.Errorf("SnapStart, %s: no restore after the first", label)
	}
	cold, first, restore := pctile(colds, 50), pctile(firsts, 50), pctile(restores, 50)
	fmt.Printf("%-34s %12s  (median of %d; first restore of a version %s; cold start of the same code %s)\n",
		"SnapStart restore, "+label, msf(restore), len(restores), msf(first), msf(cold))
	fmt.Printf("%-34s %11.1f×  (cold / restore; target ≥ 3×; first restore %.1f×)\n", "SnapStart speed-up, "+label, cold/restore, cold/first)
	return nil
}

// asyncDrain: 1,000 Event invokes of a function with reserved concurrency
// 2, timed until every event has run; the handlers' recorded spans give
// the most that ran at once.
func asyncDrain(c *lambdaClient) error {
	const events, reserved = 1000, 2
	dir, err := os.MkdirTemp("", "nephele-bench-async-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "spans")
	code := zipFiles(map[string][]byte{"app.py": []byte(pySpans)}, nil)
	if err := c.create("drain", "python3.12", "app.handler", code, map[string]any{"Environment": map[string]any{"Variables": map[string]string{"OUT": out}}}); err != nil {
		return err
	}
	if _, _, err := c.do("PUT", "/2017-10-31/functions/drain/concurrency", nil, []byte(fmt.Sprintf(`{"ReservedConcurrentExecutions":%d}`, reserved))); err != nil {
		return err
	}
	t0 := wall.Now()
	var failed atomic.Int64
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= events {
				if _, _, err := c.do("POST", "/2015-03-31/functions/drain/invocations", map[string]string{"X-Amz-Invocation-Type": "Event"}, []byte(`{}`)); err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		return fmt.Errorf("%d Event invokes failed", failed.Load())
	}
	queued := wall.Since(t0)
	var lines []string
	for deadline := wall.Now().Add(120 * time.Second); ; {
		lines = readSpans(out)
		if len(lines) >= events {
			break
		}
		if wall.Now().After(deadline) {
			return fmt.Errorf("only %d of %d events ran within 120 s", len(lines), events)
		}
		wall.Sleep(context.Background(), 5*time.Millisecond)
	}
	drained := wall.Since(t0)
	type edge struct {
		at    int64
		delta int
	}
	var edges []edge
	for _, l := range lines {
		var start, end int64
		if _, err := fmt.Sscanf(l, "%d %d", &start, &end); err != nil {
			return fmt.Errorf("span %q: %w", l, err)
		}
		edges = append(edges, edge{start, 1}, edge{end, -1})
	}
	sort.Slice(edges, func(i, j int) bool {
		if edges[i].at != edges[j].at {
			return edges[i].at < edges[j].at
		}
		return edges[i].delta < edges[j].delta
	})
	running, most := 0, 0
	for _, e := range edges {
		running += e.delta
		most = max(most, running)
	}
	verdict := "within"
	if most > reserved {
		verdict = "OVER"
	}
	fmt.Printf("%-34s %12s  (handler sleeps 2 ms; queued in %s; at most %d ran at once, %s the reserved %d)\n",
		fmt.Sprintf("%d async events drained", events), fmt.Sprintf("%.2f s", drained.Seconds()), fmt.Sprintf("%.2f s", queued.Seconds()), most, verdict, reserved)
	if most > reserved {
		return errors.New("asynchronous events ran over the reserved concurrency")
	}
	return nil
}

// readSpans reads the span lines written so far.
func readSpans(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.Count(sc.Text(), " ") == 1 {
			lines = append(lines, sc.Text())
		}
	}
	return lines
}

// syncThroughput: synchronous invokes per second of a warm Python
// function that returns at once, at concurrency 1, 10 and 50, each for
// 3 s (at most 100,000 calls) after warming that many environments.
func syncThroughput(c *lambdaClient) error {
	code := zipFiles(map[string][]byte{"app.py": []byte(pyInstant)}, nil)
	if err := c.create("rate", "python3.12", "app.handler", code, nil); err != nil {
		return err
	}
	for _, workers := range []int{1, 10, 50} {
		// Warm: workers environments, each started by an overlapping call.
		if err := invokeLoad(c, "rate", workers, 500*time.Millisecond, int64(workers*20), nil); err != nil {
			return err
		}
		var ok atomic.Int64
		t0 := wall.Now()
		if err := invokeLoad(c, "rate", workers, 3*time.Second, 100_000, &ok); err != nil {
			return err
		}
		rate := float64(ok.Load()) / wall.Since(t0).Seconds()
		fmt.Printf("%-34s %10.0f/s  (%d calls)\n", fmt.Sprintf("sync invokes, concurrency %d", workers), rate, ok.Load())
	}
	return nil
}

// invokeLoad invokes name from workers clients for d or max calls; ok
// counts the successes. A failure other than a throttle ends it.
func invokeLoad(c *lambdaClient, name string, workers int, d time.Duration, maxCalls int64, ok *atomic.Int64) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var issued atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && issued.Add(1) <= maxCalls {
				if _, err := c.invoke(name, "", []byte(`{}`), false); err != nil {
					first.CompareAndSwap(nil, err)
					cancel()
					return
				}
				if ok != nil {
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := first.Load().(error); err != nil {
		return err
	}
	return nil
}
