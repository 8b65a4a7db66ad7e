package ec2

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/store"
)

// ConsoleLogGroupTag is the instance tag that mirrors an instance's
// console output into the CloudWatch Logs group it names, one stream per
// instance ID. It wins over Options.ConsoleLogGroup.
const ConsoleLogGroupTag = "nephele:console-log-group"

// ConsoleLogSink is what EC2 needs of CloudWatch Logs to mirror consoles:
// appending lines to a stream, creating the group and the stream if they
// do not exist. The server adapts the Logs service to it.
type ConsoleLogSink interface {
	Append(ctx context.Context, account, region, group, stream string, lines []ConsoleLine) error
}

// ConsoleLine is one line of an instance's console output, without its
// newline.
type ConsoleLine struct {
	// Time is when the line's first byte was written, on the clock.
	Time time.Time
	// Text is the line.
	Text string
}

// The limits of a mirrored console. AWS counts each event as its message
// in UTF-8 plus eventOverhead bytes, against 256 KB an event and 1 MB and
// 10,000 events a PutLogEvents batch (see PutLogEvents in the CloudWatch
// Logs API reference); the mirror keeps to them, so a line longer than an
// event holds is split, and a batch is at most 1,000 lines.
const (
	eventOverhead     = 26
	maxConsoleEvent   = 256<<10 - eventOverhead
	consoleBatchLines = 1_000
	consoleBatchBytes = 1 << 20
	// consoleFlushEvery bounds how long a line waits before it is sent.
	consoleFlushEvery = time.Second
	// consoleMaxPending bounds the bytes (counted as AWS counts them)
	// waiting to be sent across all instances: a slow or failing sink
	// makes lines past it be dropped, not the instances' output wait.
	consoleMaxPending = 16 << 20
)

// consoleMirror copies instances' console output into CloudWatch Logs.
// Writers (one per boot) cut the output into lines and queue them without
// waiting on anything but a mutex; one goroutine sends what is queued
// every consoleFlushEvery of the clock, or at once when an instance has a
// full batch. Which group an instance's lines go to is decided when they
// are sent, so a tag added by CreateTags takes effect within a flush.
type consoleMirror struct {
	sink ConsoleLogSink
	clk  clock.Clock
	log  *slog.Logger
	// group names the log group of an instance; "" is not mirrored.
	group func(sc scope, id string) (string, error)

	mu      sync.Mutex
	bufs    map[string]*consoleBuffer // instance ID → what waits to be sent
	pending int                       // bytes queued across bufs
	urgent  bool                      // a buffer holds a full batch
	kick    chan struct{}             // wakes run; holds one wake-up at most

	// flushing is held while lines are sent, so discard can wait for a
	// send under way.
	flushing sync.Mutex

	cancel context.CancelFunc
	done   chan struct{}
}

// consoleBuffer is one instance's output waiting to be sent.
type consoleBuffer struct {
	sc        scope
	writers   int       // boots whose writer is open
	partial   []byte    // a line whose newline has not come yet
	partialAt time.Time // when partial's first byte came
	lines     []ConsoleLine
	bytes     int    // lines' size as AWS counts it
	dropped   int    // lines lost to consoleMaxPending since the last send
	lastErr   string // the last failure reported, so it is logged once
}

// newConsoleMirror starts a mirror sending to sink; close stops it.
func newConsoleMirror(sink ConsoleLogSink, clk clock.Clock, log *slog.Logger, group func(scope, string) (string, error)) *consoleMirror {
	ctx, cancel := context.WithCancel(context.Background())
	m := &consoleMirror{sink: sink, clk: clk, log: log, group: group, bufs: map[string]*consoleBuffer{},
		kick: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	go m.run(ctx)
	return m
}

// run sends queued lines a consoleFlushEvery after the first of them was
// queued, or at once when a batch is full, until ctx ends; then it sends
// what is left.
func (m *consoleMirror) run(ctx context.Context) {
	defer close(m.done)
	timer := m.clk.NewTimer(consoleFlushEvery)
	timer.Stop()
	armed := false
	for {
		select {
		case <-ctx.Done():
			timer.Stop()
			m.flush(context.Background())
			return
		case <-timer.C():
			armed = false
			m.flush(ctx)
		case <-m.kick:
			m.mu.Lock()
			urgent, waiting := m.urgent, m.pending > 0
			m.mu.Unlock()
			if urgent {
				m.flush(ctx)
			} else if waiting && !armed {
				timer.Reset(consoleFlushEvery)
				armed = true
			}
		}
	}
}

// close sends what is queued, partial lines included, and stops the
// mirror. The instances' trees must have ended.
func (m *consoleMirror) close() {
	m.cancel()
	<-m.done
}

// wake tells run there is something to do, without waiting.
func (m *consoleMirror) wake() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// writer returns the console writer of one boot of instance id.
func (m *consoleMirror) writer(sc scope, id string) io.WriteCloser {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.bufs[id]
	if b == nil {
		b = &consoleBuffer{}
		m.bufs[id] = b
	}
	b.sc = sc
	b.writers++
	return &consoleWriter{m: m, b: b}
}

// consoleWriter is what machine.Spec.Console gets: it never blocks on the
// sink and never fails.
type consoleWriter struct {
	m      *consoleMirror
	b      *consoleBuffer
	closed bool
}

func (w *consoleWriter) Write(p []byte) (int, error) {
	now := w.m.clk.Now()
	w.m.mu.Lock()
	defer w.m.mu.Unlock()
	if !w.closed {
		w.m.add(w.b, p, now)
	}
	return len(p), nil
}

// Close queues the last line even without its newline: the tree has
// ended.
func (w *consoleWriter) Close() error {
	w.m.mu.Lock()
	defer w.m.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	w.m.endLine(w.b)
	w.b.writers--
	return nil
}

// add cuts p into lines, holding a last one without its newline until the
// newline comes, and splitting any longer than an event holds. m.mu is
// held.
func (m *consoleMirror) add(b *consoleBuffer, p []byte, now time.Time) {
	for len(p) > 0 {
		if len(b.partial) == 0 {
			b.partialAt = now
		}
		i := bytes.IndexByte(p, '\n')
		seg := p
		if i >= 0 {
			seg, p = p[:i], p[i+1:]
		} else {
			p = nil
		}
		b.partial = append(b.partial, seg...)
		for len(b.partial) > maxConsoleEvent {
			cut := splitPoint(b.partial, maxConsoleEvent)
			m.queue(b, string(b.partial[:cut]), b.partialAt)
			b.partial = b.partial[:copy(b.partial, b.partial[cut:])]
		}
		if i >= 0 {
			m.endLine(b)
		}
	}
}

// endLine queues the held line, if any. A carriage return before the
// newline goes with it, and an empty line is not sent: a Logs event needs
// at least one character. m.mu is held.
func (m *consoleMirror) endLine(b *consoleBuffer) {
	line := string(bytes.TrimSuffix(b.partial, []byte("\r")))
	b.partial = b.partial[:0]
	if line != "" {
		m.queue(b, line, b.partialAt)
	}
}

// splitPoint is where to cut p (longer than limit) so that the first
// part fits in limit without cutting a UTF-8 sequence in two, when p has
// one there.
func splitPoint(p []byte, limit int) int {
	for cut := limit; cut > limit-utf8.UTFMax && cut > 0; cut-- {
		if utf8.RuneStart(p[cut]) {
			return cut
		}
	}
	return limit
}

// queue adds a line to be sent, or counts it dropped when too much is
// waiting already. m.mu is held.
func (m *consoleMirror) queue(b *consoleBuffer, text string, at time.Time) {
	size := len(text) + eventOverhead
	if m.pending+size > consoleMaxPending {
		b.dropped++
		return
	}
	b.lines = append(b.lines, ConsoleLine{Time: at, Text: text})
	b.bytes += size
	m.pending += size
	full := len(b.lines) >= consoleBatchLines || b.bytes >= consoleBatchBytes
	if full {
		m.urgent = true
	}
	// The first line queued arms run's timer; a full batch goes now.
	if full || m.pending == size {
		m.wake()
	}
}

// consoleBatch is one instance's lines taken to be sent.
type consoleBatch struct {
	id      string
	b       *consoleBuffer
	sc      scope
	lines   []ConsoleLine
	dropped int
}

// flush sends every queued line. It takes the lines under m.mu and sends
// them without it, so writers never wait on the sink. Lines the sink
// refuses are dropped with a warning: the console itself still has them.
func (m *consoleMirror) flush(ctx context.Context) {
	m.flushing.Lock()
	defer m.flushing.Unlock()
	var batches []consoleBatch
	m.mu.Lock()
	for id, b := range m.bufs {
		if len(b.lines) > 0 || b.dropped > 0 {
			batches = append(batches, consoleBatch{id: id, b: b, sc: b.sc, lines: b.lines, dropped: b.dropped})
			b.lines, b.bytes, b.dropped = nil, 0, 0
		}
		if b.writers == 0 {
			delete(m.bufs, id)
		}
	}
	m.pending, m.urgent = 0, false
	m.mu.Unlock()

	for _, bt := range batches {
		group, err := m.group(bt.sc, bt.id)
		if err == nil && group == "" {
			continue
		}
		if bt.dropped > 0 {
			m.log.Warn("ec2: console output not mirrored: too much waiting to be sent", "instance", bt.id, "lines", bt.dropped)
		}
		for lines := bt.lines; len(lines) > 0 && err == nil; {
			n := batchSize(lines)
			err = m.sink.Append(ctx, bt.sc.account, bt.sc.region, group, bt.id, lines[:n])
			lines = lines[n:]
		}
		m.report(bt, group, err)
	}
}

// batchSize is how many of lines (at least one) make one batch.
func batchSize(lines []ConsoleLine) int {
	size := 0
	for i, l := range lines {
		size += len(l.Text) + eventOverhead
		if i > 0 && (i == consoleBatchLines || size > consoleBatchBytes) {
			return i
		}
	}
	return len(lines)
}

// report logs a failure to mirror an instance's lines, once while it
// lasts, and a recovery from it.
func (m *consoleMirror) report(bt consoleBatch, group string, err error) {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	m.mu.Lock()
	last := bt.b.lastErr
	bt.b.lastErr = msg
	m.mu.Unlock()
	switch {
	case err != nil && msg != last:
		m.log.Warn("ec2: console output not mirrored", "instance", bt.id, "group", group, "err", err)
	case err == nil && last != "":
		m.log.Info("ec2: console output mirrored again", "instance", bt.id, "group", group)
	}
}

// discard drops every queued line, after a send under way, for Reset: the
// instances are gone, and so will their groups be.
func (m *consoleMirror) discard() {
	m.flushing.Lock()
	defer m.flushing.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, b := range m.bufs {
		b.partial, b.lines, b.bytes, b.dropped = b.partial[:0], nil, 0, 0
		if b.writers == 0 {
			delete(m.bufs, id)
		}
	}
	m.pending, m.urgent = 0, false
}

// consoleWriter returns the writer mirroring one boot of an instance's
// console, nil when no sink is configured.
func (s *Service) consoleWriter(sc scope, id string) io.WriteCloser {
	if s.console == nil {
		return nil
	}
	return s.console.writer(sc, id)
}

// consoleLogGroup is the log group an instance's console goes to: its
// ConsoleLogGroupTag, else Options.ConsoleLogGroup; "" is none.
func (s *Service) consoleLogGroup(sc scope, id string) (string, error) {
	var ts []api.Tag
	err := s.st.View(func(tx store.Tx) error {
		var err error
		ts, err = readTags(tx, sc, id)
		return err
	})
	if err != nil {
		return "", err
	}
	for _, t := range ts {
		if str(t.Key) == ConsoleLogGroupTag && str(t.Value) != "" {
			return str(t.Value), nil
		}
	}
	return s.opts.ConsoleLogGroup, nil
}
