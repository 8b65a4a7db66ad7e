package procs

import (
	"io"
	"sync"
)

// Console keeps the last bytes written to it, as an instance's console
// does: EC2 GetConsoleOutput returns the most recent 64 KB of output. It is
// safe for concurrent use.
type Console struct {
	mu   sync.Mutex
	size int    // how many bytes are kept
	buf  []byte // grows up to size as output comes, then is a ring
	next int    // where the next byte goes
	full bool   // buf has wrapped at least once
}

var _ io.Writer = (*Console)(nil)

// NewConsole returns a Console that keeps the last n bytes; n <= 0 keeps
// nothing.
// Its memory grows with the output, so a quiet instance costs little.
func NewConsole(n int) *Console {
	return &Console{size: max(n, 0)}
}

// Write keeps the tail of p; it never fails, so a tree's output is never
// held up by its console.
func (c *Console) Write(p []byte) (int, error) {
	n := len(p)
	c.mu.Lock()
	defer c.mu.Unlock()
	size := c.size
	if size == 0 {
		return n, nil
	}
	if !c.full && len(c.buf) < size {
		if len(c.buf)+len(p) <= size {
			c.buf = append(c.buf, p...)
			c.next = len(c.buf) % size
			c.full = len(c.buf) == size
			return n, nil
		}
		// From here on the buffer is a ring of its full size.
		c.next = len(c.buf)
		c.buf = append(c.buf, make([]byte, size-len(c.buf))...)
	}
	if len(p) >= size {
		copy(c.buf, p[len(p)-size:])
		c.next, c.full = 0, true
		return n, nil
	}
	k := copy(c.buf[c.next:], p)
	if k < len(p) {
		copy(c.buf, p[k:])
		c.full = true
	}
	c.next = (c.next + len(p)) % size
	if c.next == 0 {
		c.full = true
	}
	return n, nil
}

// Bytes returns a copy of the kept bytes, oldest first.
func (c *Console) Bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.full {
		return append([]byte(nil), c.buf[:c.next]...)
	}
	out := make([]byte, 0, len(c.buf))
	out = append(out, c.buf[c.next:]...)
	return append(out, c.buf[:c.next]...)
}
