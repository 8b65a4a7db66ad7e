package ec2

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/store"
)

// consoleStart is when the console tests' fake clock starts.
var consoleStart = time.Date(2024, time.March, 1, 12, 0, 0, 0, time.UTC)

// consoleAppend is one call to a fakeLogSink.
type consoleAppend struct {
	account, region, group, stream string
	lines                          []ConsoleLine
}

// fakeLogSink records the batches it is given; until release is closed
// (if set) it blocks, standing in for a slow CloudWatch Logs, and err, if
// set, fails every call.
type fakeLogSink struct {
	mu      sync.Mutex
	calls   []consoleAppend
	release chan struct{}
	err     error
	got     chan struct{} // a value per call, never blocking
}

func newFakeLogSink() *fakeLogSink { return &fakeLogSink{got: make(chan struct{}, 1<<10)} }

func (f *fakeLogSink) Append(ctx context.Context, account, region, group, stream string, lines []ConsoleLine) error {
	if f.release != nil {
		<-f.release
	}
	f.mu.Lock()
	f.calls = append(f.calls, consoleAppend{account, region, group, stream, slices.Clone(lines)})
	f.mu.Unlock()
	select {
	case f.got <- struct{}{}:
	default:
	}
	return f.err
}

// texts is every line sent, in order.
func (f *fakeLogSink) texts() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		for _, l := range c.lines {
			out = append(out, l.Text)
		}
	}
	return out
}

// waitLines waits (bounded) until n lines have been sent.
func (f *fakeLogSink) waitLines(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for len(f.texts()) < n {
		select {
		case <-f.got:
		case <-deadline:
			t.Fatalf("sink has %d lines, want %d", len(f.texts()), n)
		}
	}
}

// newTestMirror is a mirror on a fake clock sending every instance's lines
// to group "/g" of sink, closed when the test ends.
func newTestMirror(t *testing.T, sink ConsoleLogSink, log *slog.Logger) (*consoleMirror, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(consoleStart)
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := newConsoleMirror(sink, clk, log, func(scope, string) (string, error) { return "/g", nil })
	t.Cleanup(m.close)
	return m, clk
}

var consoleScope = scope{account: "123456789012", region: "eu-west-1"}

// TestConsoleLines checks how output becomes log events: one per line,
// the newline (and a carriage return before it) left out, empty lines
// skipped, a line held until its newline or the tree's end, and lines
// longer than an event split without cutting a UTF-8 character.
func TestConsoleLines(t *testing.T) {
	long := strings.Repeat("x", 2*maxConsoleEvent+10)
	accent := strings.Repeat("x", maxConsoleEvent-1) + "é" // é is 2 bytes, across the limit
	tests := []struct {
		name   string
		writes []string
		before []string // sent before the tree ends
		after  []string // sent once it has
	}{
		{"one_event_per_line", []string{"one\ntwo\n"}, []string{"one", "two"}, nil},
		{"partial_line_held_until_newline", []string{"par", "tial\nnext"}, []string{"partial"}, []string{"next"}},
		{"crlf_and_empty_lines", []string{"a\r\n\n\r\nb\n"}, []string{"a", "b"}, nil},
		{"long_line_split", []string{long[:100], long[100:] + "\n"}, []string{long[:maxConsoleEvent], long[maxConsoleEvent : 2*maxConsoleEvent], long[2*maxConsoleEvent:]}, nil},
		{"split_keeps_utf8_whole", []string{accent + "\n"}, []string{accent[:maxConsoleEvent-1], "é"}, nil},
		{"long_partial_split_before_its_newline", []string{long}, []string{long[:maxConsoleEvent], long[maxConsoleEvent : 2*maxConsoleEvent]}, []string{long[2*maxConsoleEvent:]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := newFakeLogSink()
			m, _ := newTestMirror(t, sink, nil)
			w := m.writer(consoleScope, "i-0123456789abcdef0")
			for _, s := range tt.writes {
				if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			m.flush(context.Background())
			if got := sink.texts(); !slices.Equal(got, tt.before) {
				t.Errorf("before the end: %d lines %.40q, want %d %.40q", len(got), got, len(tt.before), tt.before)
			}
			w.Close()
			m.flush(context.Background())
			if got, want := sink.texts(), append(slices.Clone(tt.before), tt.after...); !slices.Equal(got, want) {
				t.Errorf("after the end: %d lines %.40q, want %d %.40q", len(got), got, len(want), want)
			}
			sink.mu.Lock()
			defer sink.mu.Unlock()
			for _, c := range sink.calls {
				if c.account != consoleScope.account || c.region != consoleScope.region || c.group != "/g" || c.stream != "i-0123456789abcdef0" {
					t.Errorf("sent to %+v", c)
				}
				for _, l := range c.lines {
					if len(l.Text) > maxConsoleEvent {
						t.Errorf("event of %d bytes", len(l.Text))
					}
				}
			}
		})
	}
}

// TestConsoleLineTimes checks that a line carries the time its first
// byte was written.
func TestConsoleLineTimes(t *testing.T) {
	sink := newFakeLogSink()
	m, clk := newTestMirror(t, sink, nil)
	w := m.writer(consoleScope, "i-1")
	w.Write([]byte("first\nsec"))
	clk.Advance(300 * time.Millisecond)
	w.Write([]byte("ond\n"))
	m.flush(context.Background())
	var got []time.Time
	sink.mu.Lock()
	defer sink.mu.Unlock()
	for _, c := range sink.calls {
		for _, l := range c.lines {
			got = append(got, l.Time)
		}
	}
	if want := []time.Time{consoleStart, consoleStart}; !slices.Equal(got, want) {
		t.Errorf("times = %v, want %v", got, want)
	}
}

// TestConsoleMirrorBatches checks when lines are sent: a second of the
// clock after the first of them is written, or at once at 1,000 lines, in
// batches of at most 1,000.
func TestConsoleMirrorBatches(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sink := newFakeLogSink()
	m, clk := newTestMirror(t, sink, nil)
	w := m.writer(consoleScope, "i-1")

	w.Write([]byte("a\nb\nc\n"))
	if err := clk.BlockUntilWaiters(ctx, 1); err != nil {
		t.Fatal("the flush timer was never armed")
	}
	clk.Advance(consoleFlushEvery - time.Millisecond)
	if got := sink.texts(); len(got) != 0 {
		t.Fatalf("sent %q before a second had passed", got)
	}
	clk.Advance(time.Millisecond)
	sink.waitLines(t, 3)

	// 2,500 lines at once: no waiting for the clock, and no batch over
	// 1,000 lines.
	w.Write([]byte(strings.Repeat("line\n", 2500)))
	sink.waitLines(t, 3+2500)
	sink.mu.Lock()
	defer sink.mu.Unlock()
	for _, c := range sink.calls {
		if len(c.lines) > consoleBatchLines {
			t.Errorf("a batch of %d lines", len(c.lines))
		}
	}
}

// TestConsoleMirrorSlowSink checks that a sink that does not answer never
// holds up the instance's output: lines past the bound are dropped, with
// a warning, and the rest arrive once the sink answers.
func TestConsoleMirrorSlowSink(t *testing.T) {
	sink := newFakeLogSink()
	sink.release = make(chan struct{})
	var logged bytes.Buffer
	var logMu sync.Mutex
	m, _ := newTestMirror(t, sink, slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logged}, nil)))
	w := m.writer(consoleScope, "i-1")

	// The first full batch goes to the sink, which holds on to it.
	line := strings.Repeat("y", 1000) + "\n"
	w.Write([]byte(strings.Repeat(line, consoleBatchLines)))
	// Far more than the bound, written without waiting.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 2 * consoleMaxPending / len(line) {
			w.Write([]byte(line))
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("writes blocked on a slow sink")
	}
	close(sink.release)
	w.Close()
	m.close()

	sent := len(sink.texts())
	wrote := consoleBatchLines + 2*consoleMaxPending/len(line)
	if sent >= wrote || sent < consoleMaxPending/(len(line)+eventOverhead) {
		t.Errorf("sent %d of %d lines, want all but those past the %d byte bound", sent, wrote, consoleMaxPending)
	}
	logMu.Lock()
	defer logMu.Unlock()
	if !strings.Contains(logged.String(), "too much waiting to be sent") {
		t.Errorf("no warning of the dropped lines in %q", logged.String())
	}
}

// TestConsoleMirrorFailingSink checks that a failing sink is reported
// once while it fails, not on every flush.
func TestConsoleMirrorFailingSink(t *testing.T) {
	sink := newFakeLogSink()
	sink.err = errors.New("no such group")
	var logged bytes.Buffer
	var logMu sync.Mutex
	m, _ := newTestMirror(t, sink, slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logged}, nil)))
	w := m.writer(consoleScope, "i-1")
	for range 3 {
		w.Write([]byte("line\n"))
		m.flush(context.Background())
	}
	logMu.Lock()
	defer logMu.Unlock()
	if n := strings.Count(logged.String(), "no such group"); n != 1 {
		t.Errorf("failure logged %d times, want once: %q", n, logged.String())
	}
}

// lockedWriter serialises writes to a buffer the test reads.
type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// TestConsoleLogGroup checks where an instance's console goes: the group
// its tag names, else the configured one, else nowhere.
func TestConsoleLogGroup(t *testing.T) {
	f := newNetFixture(t)
	err := f.st.Update(func(tx store.Tx) error {
		return writeTags(tx, f.sc, "i-tagged", []api.Tag{{Key: ptr(ConsoleLogGroupTag), Value: ptr("/from/tag")}})
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, flag, id, want string
	}{
		{"tag_without_flag", "", "i-tagged", "/from/tag"},
		{"tag_wins_over_flag", "/from/flag", "i-tagged", "/from/tag"},
		{"flag_without_tag", "/from/flag", "i-plain", "/from/flag"},
		{"neither", "", "i-plain", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.svc.opts.ConsoleLogGroup = tt.flag
			got, err := f.svc.consoleLogGroup(f.sc, tt.id)
			if err != nil || got != tt.want {
				t.Errorf("consoleLogGroup = %q, %v, want %q", got, err, tt.want)
			}
		})
	}
}
