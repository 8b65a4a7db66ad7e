package execenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/nephele-dev/nephele/internal/clock"
)

// tailBytes is how much of an invocation's log LogType=Tail returns.
const tailBytes = 4096

// maxLine is the longest log event: CloudWatch Logs' event size limit,
// 256 KB. A longer line, or output that never ends a line, is cut there.
const maxLine = 256 << 10

// maxPending bounds the events kept between two deliveries to the
// LogSink, against a background process that prints while no invocation
// runs; the oldest go first.
const maxPending = 100000

// syncMark starts the marker output.sync writes into the environment's
// output pipe. The NUL keeps it apart from anything a function prints.
var syncMark = []byte("\x00nephele-sync:")

// output turns an environment's standard output and error into log events.
//
// The environment writes into a pipe whose read end output drains. A
// function prints, then posts its response to the Runtime API; the bytes
// are in the pipe by then but perhaps not yet read. To put END after the
// last line the invocation printed, sync writes a marker into the same
// pipe (output keeps a write end of its own) and waits for the reader to
// reach it: a pipe is first in, first out, so everything written before
// the response is read by then.
type output struct {
	clk clock.Clock
	r   *os.File // read end
	w   *os.File // the write end, shared with the process, for sync markers

	done chan struct{} // closed when the reader has stopped

	mu      sync.Mutex
	partial []byte     // an incomplete last line
	events  []LogEvent // lines not yet sent to the LogSink
	syncs   map[uint64]chan struct{}
	seq     uint64
}

// newOutput makes the pipe. Its write end, o.w, is what the process is
// given as standard output and error; output keeps it open for sync
// markers, so the reader never sees end of file before close.
func newOutput(clk clock.Clock) (*output, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	o := &output{clk: clk, r: pr, w: pw, done: make(chan struct{}), syncs: make(map[uint64]chan struct{})}
	go o.read()
	return o, nil
}

// read drains the pipe until every writer has gone, or until close, having
// found the tree gone, sets a past deadline: then it takes what is left in
// the pipe without waiting for writers that escaped the tree.
func (o *output) read() {
	defer close(o.done)
	defer o.r.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := o.r.Read(buf)
		if n > 0 {
			o.consume(buf[:n])
		}
		if err == nil {
			continue
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if rc, err := o.r.SyscallConn(); err == nil {
				_ = rc.Control(func(fd uintptr) {
					for {
						n, err := syscall.Read(int(fd), buf)
						if n <= 0 || err != nil {
							return
						}
						o.consume(buf[:n])
					}
				})
			}
		}
		o.mu.Lock()
		if len(o.partial) > 0 {
			o.events = append(o.events, LogEvent{Time: o.clk.Now(), Message: string(o.partial)})
			o.partial = nil
		}
		for _, ch := range o.syncs {
			close(ch)
		}
		o.syncs = nil
		o.mu.Unlock()
		return
	}
}

// consume splits output into lines, each a log event, and answers sync
// markers.
func (o *output) consume(p []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.partial = append(o.partial, p...)
	for {
		i := bytes.IndexByte(o.partial, '\n')
		if i < 0 {
			break
		}
		line := o.partial[:i]
		if m := bytes.Index(line, syncMark); m >= 0 {
			// A marker ends whatever partial line came before it, since
			// the invocation that printed it is over.
			if m > 0 {
				o.events = append(o.events, LogEvent{Time: o.clk.Now(), Message: string(line[:m])})
			}
			if seq, err := strconv.ParseUint(string(line[m+len(syncMark):]), 10, 64); err == nil {
				if ch := o.syncs[seq]; ch != nil {
					close(ch)
					delete(o.syncs, seq)
				}
			}
		} else {
			o.events = append(o.events, LogEvent{Time: o.clk.Now(), Message: string(line)})
		}
		o.partial = o.partial[i+1:]
	}
	for len(o.partial) >= maxLine {
		// Never cut through a marker still arriving: it starts with a NUL.
		cut := maxLine
		if i := bytes.LastIndexByte(o.partial[maxLine-64:maxLine], 0); i >= 0 {
			cut = maxLine - 64 + i
		}
		o.events = append(o.events, LogEvent{Time: o.clk.Now(), Message: string(o.partial[:cut])})
		o.partial = o.partial[cut:]
		if cut < maxLine {
			break
		}
	}
	if len(o.partial) == 0 {
		o.partial = nil // let a large buffer go
	}
	if n := len(o.events) - maxPending; n > 0 {
		o.events = append(o.events[:0:0], o.events[n:]...)
	}
}

// sync returns once everything written into the pipe before it was called
// has become events, or ctx ends, or the reader has stopped.
func (o *output) sync(ctx context.Context) {
	o.mu.Lock()
	if o.syncs == nil {
		o.mu.Unlock()
		return
	}
	o.seq++
	seq := o.seq
	ch := make(chan struct{})
	o.syncs[seq] = ch
	o.mu.Unlock()
	if _, err := fmt.Fprintf(o.w, "%s%d\n", syncMark, seq); err != nil {
		return
	}
	select {
	case <-ch:
	case <-o.done:
	case <-ctx.Done():
	}
}

// add appends a line of nephele's own (START, END, REPORT...).
func (o *output) add(format string, args ...any) {
	o.mu.Lock()
	o.events = append(o.events, LogEvent{Time: o.clk.Now(), Message: fmt.Sprintf(format, args...)})
	o.mu.Unlock()
}

// mark is the index the next event will have, to find an invocation's
// lines later.
func (o *output) mark() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.events)
}

// take removes and returns the pending events, with the last tailBytes of
// those from index from on, as LogType=Tail returns them.
func (o *output) take(from int) (events []LogEvent, tail []byte) {
	o.mu.Lock()
	events, o.events = o.events, nil
	o.mu.Unlock()
	if from >= 0 {
		from = min(from, len(events))
		var b bytes.Buffer
		for _, ev := range events[from:] {
			b.WriteString(ev.Message)
			b.WriteByte('\n')
		}
		tail = b.Bytes()
		if len(tail) > tailBytes {
			tail = tail[len(tail)-tailBytes:]
		}
	}
	return events, tail
}

// close stops the reader once the environment's processes are gone,
// keeping whatever they wrote, and returns the last events.
func (o *output) close() []LogEvent {
	o.w.Close()
	// Every process of the tree is gone, so all it wrote is in the pipe;
	// a process outside the tree may still hold the pipe open, so do not
	// wait for end of file.
	_ = o.r.SetReadDeadline(time.Unix(1, 0))
	<-o.done
	events, _ := o.take(-1)
	return events
}
