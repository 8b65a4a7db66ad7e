package logs

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/logs"
	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/service"
	"github.com/nephele-dev/nephele/internal/store"
)

var t0 = time.Date(2024, time.March, 1, 12, 0, 0, 0, time.UTC)

func newService(t *testing.T, st store.Store, clk clock.Clock) (*Service, context.Context) {
	t.Helper()
	svc := New(st, clk, Options{})
	t.Cleanup(func() { svc.Close() })
	return svc, service.WithRequest(context.Background(), service.Request{AccountID: "123456789012", Region: "eu-west-1"})
}

// chunks counts the chunk records in the store.
func chunks(t *testing.T, st store.Store) int {
	t.Helper()
	n := 0
	err := st.View(func(tx store.Tx) error {
		return tx.ForEach(bucketChunks, "", func(string, func(any) error) error {
			n++
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSmallAppendsShareChunks: events appended one at a time fill a chunk
// before a new one starts, and a batch larger than a chunk is one record.
func TestSmallAppendsShareChunks(t *testing.T) {
	st := store.NewMemory()
	defer st.Close()
	svc, ctx := newService(t, st, clock.NewFake(t0))
	for i := range 600 {
		if err := svc.Append(ctx, "123456789012", "eu-west-1", "g", "s", []Event{{Timestamp: t0, Message: fmt.Sprint("line ", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if n := chunks(t, st); n != 3 {
		t.Errorf("600 one-line appends made %d chunks, want 3", n)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := svc.CreateLogStream(ctx, &api.CreateLogStreamInput{LogGroupName: ptr("g"), LogStreamName: ptr("big")})
	must(err)
	big := strings.Repeat("x", chunkMaxBytes)
	_, err = svc.PutLogEvents(ctx, &api.PutLogEventsInput{LogGroupName: ptr("g"), LogStreamName: ptr("big"),
		LogEvents: []api.InputLogEvent{{Timestamp: ptr(t0.UnixMilli()), Message: &big}, {Timestamp: ptr(t0.UnixMilli()), Message: &big}}})
	must(err)
	if n := chunks(t, st); n != 4 {
		t.Errorf("a batch of two chunks' worth made %d chunks, want 1", n-3)
	}
	out, err := svc.GetLogEvents(ctx, &api.GetLogEventsInput{LogGroupName: ptr("g"), LogStreamName: ptr("s"), StartFromHead: ptr(true)})
	must(err)
	if len(out.Events) != 600 || *out.Events[599].Message != "line 599" {
		t.Errorf("read back %d events", len(out.Events))
	}
}

// TestRetentionControllerDeletesExpiredChunks runs the controller on the
// fake clock inside a synctest bubble, so each pass has finished when
// synctest.Wait returns.
func TestRetentionControllerDeletesExpiredChunks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := store.NewMemory()
		defer st.Close()
		clk := clock.NewFake(t0)
		svc, ctx := newService(t, st, clk)
		synctest.Wait() // the controller has armed its ticker
		for _, n := range []string{"kept", "pruned"} {
			if _, err := svc.CreateLogGroup(ctx, &api.CreateLogGroupInput{LogGroupName: ptr(n)}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := svc.PutRetentionPolicy(ctx, &api.PutRetentionPolicyInput{LogGroupName: ptr("pruned"), RetentionInDays: ptr(int32(1))}); err != nil {
			t.Fatal(err)
		}
		for _, g := range []string{"kept", "pruned"} {
			// Two chunks: an old one, and one that stays live longer.
			for _, at := range []time.Time{t0.Add(-20 * time.Hour), t0.Add(-time.Hour)} {
				if err := svc.Append(ctx, "123456789012", "eu-west-1", g, "s", []Event{{Timestamp: at, Message: strings.Repeat("x", chunkMaxBytes)}}); err != nil {
					t.Fatal(err)
				}
			}
		}
		storedBytes := func(group string) int64 {
			out, err := svc.DescribeLogGroups(ctx, &api.DescribeLogGroupsInput{LogGroupNamePrefix: ptr(group)})
			if err != nil {
				t.Fatal(err)
			}
			return *out.LogGroups[0].StoredBytes
		}
		one := int64(chunkMaxBytes + eventOverhead)

		tests := []struct {
			advance     time.Duration
			chunks      int
			prunedBytes int64
		}{
			{time.Hour, 4, 2 * one},    // nothing expired yet
			{4 * time.Hour, 3, one},    // 25 h: the older chunk of "pruned" is gone
			{19 * time.Hour, 2, 0},     // 44 h: all of "pruned" is gone
			{7 * 24 * time.Hour, 2, 0}, // "kept" has no retention
		}
		for _, tt := range tests {
			clk.Advance(tt.advance)
			synctest.Wait()
			if n := chunks(t, st); n != tt.chunks {
				t.Errorf("at %s: %d chunks, want %d", clk.Now().Sub(t0), n, tt.chunks)
			}
			if b := storedBytes("pruned"); b != tt.prunedBytes {
				t.Errorf("at %s: storedBytes %d, want %d", clk.Now().Sub(t0), b, tt.prunedBytes)
			}
		}
		if b := storedBytes("kept"); b != 2*one {
			t.Errorf("kept storedBytes %d", b)
		}
		// A stream whose open chunk was pruned takes new events in a new chunk.
		if err := svc.Append(ctx, "123456789012", "eu-west-1", "pruned", "s", []Event{{Timestamp: clk.Now(), Message: "again"}}); err != nil {
			t.Fatal(err)
		}
		out, err := svc.GetLogEvents(ctx, &api.GetLogEventsInput{LogGroupName: ptr("pruned"), LogStreamName: ptr("s")})
		if err != nil || len(out.Events) != 1 || *out.Events[0].Message != "again" {
			t.Errorf("after pruning: %v %+v", err, out)
		}
	})
}

// TestDurableStoreKeepsEvents reopens a durable store: groups, streams,
// events and tokens survive a restart.
func TestDurableStoreKeepsEvents(t *testing.T) {
	dir := t.TempDir()
	clk := clock.NewFake(t0)
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	svc := New(st, clk, Options{})
	ctx := service.WithRequest(context.Background(), service.Request{AccountID: "123456789012", Region: "eu-west-1"})
	if err := svc.Append(ctx, "123456789012", "eu-west-1", "g", "s", []Event{{Timestamp: t0, Message: "before restart"}}); err != nil {
		t.Fatal(err)
	}
	first, err := svc.GetLogEvents(ctx, &api.GetLogEventsInput{LogGroupName: ptr("g"), LogStreamName: ptr("s"), StartFromHead: ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	svc.Close()
	st.Close()

	st, err = store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc, _ = newService(t, st, clk)
	if err := svc.Append(ctx, "123456789012", "eu-west-1", "g", "s", []Event{{Timestamp: t0.Add(time.Second), Message: "after restart"}}); err != nil {
		t.Fatal(err)
	}
	next, err := svc.GetLogEvents(ctx, &api.GetLogEventsInput{LogGroupName: ptr("g"), LogStreamName: ptr("s"), StartFromHead: ptr(true), NextToken: first.NextForwardToken})
	if err != nil || len(next.Events) != 1 || *next.Events[0].Message != "after restart" {
		t.Fatalf("after restart: %v %+v", err, next)
	}
}
