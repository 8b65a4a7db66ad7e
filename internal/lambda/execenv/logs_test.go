package execenv

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nephele-dev/nephele/internal/clock"
)

func TestOutputLinesAndSync(t *testing.T) {
	o, err := newOutput(clock.NewFake(time.Unix(0, 0)))
	if err != nil {
		t.Fatal(err)
	}
	pw := o.w
	// What a process writes, in pieces that split lines.
	for _, piece := range []string{"one\ntw", "o\n", "partial"} {
		if _, err := pw.WriteString(piece); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	o.sync(ctx)
	if ctx.Err() != nil {
		t.Fatal("sync did not return")
	}
	long := strings.Repeat("z", maxLine+10)
	pw.WriteString(long + "\n")
	o.sync(ctx)
	o.add("END")
	events, tail := o.take(0)
	var msgs []string
	for _, e := range events {
		msgs = append(msgs, e.Message)
	}
	want := []string{"one", "two", "partial", long[:maxLine], long[maxLine:], "END"}
	if len(msgs) != len(want) {
		t.Fatalf("events %d: %.80q", len(msgs), msgs)
	}
	for i := range want {
		if msgs[i] != want[i] {
			t.Errorf("event %d = %.40q, want %.40q", i, msgs[i], want[i])
		}
	}
	if len(tail) != tailBytes || !strings.HasSuffix(string(tail), "zzz\nEND\n") {
		t.Errorf("tail %d bytes ending %q", len(tail), tail[len(tail)-10:])
	}
	pw.WriteString("last words")
	if got := o.close(); len(got) != 1 || got[0].Message != "last words" {
		t.Errorf("close returned %v", got)
	}
}
