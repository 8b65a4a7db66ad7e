package procs_test

import (
	"bytes"
	"sync"
	"testing"

	"github.com/nephele-dev/nephele/internal/procs"
)

func TestConsole(t *testing.T) {
	tests := []struct {
		name   string
		size   int
		writes []string
		want   string
	}{
		{"empty_is_empty", 4, nil, ""},
		{"short_output_is_kept_whole", 8, []string{"ab", "cd"}, "abcd"},
		{"exactly_full", 4, []string{"ab", "cd"}, "abcd"},
		{"keeps_only_the_last_bytes", 4, []string{"abc", "def"}, "cdef"},
		{"wraps_many_times", 3, []string{"a", "b", "c", "d", "e", "f", "g"}, "efg"},
		{"a_write_longer_than_the_console_keeps_its_tail", 4, []string{"xy", "0123456789"}, "6789"},
		{"a_write_after_a_long_one", 4, []string{"0123456789", "ab"}, "89ab"},
		{"size_0_keeps_nothing", 0, []string{"abc"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := procs.NewConsole(tt.size)
			for _, w := range tt.writes {
				if n, err := c.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write(%q) = %d, %v", w, n, err)
				}
			}
			if got := string(c.Bytes()); got != tt.want {
				t.Errorf("Bytes() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestConsoleConcurrentWritesKeepWholeWrites(t *testing.T) {
	const size, writers, each = 64, 8, 200
	c := procs.NewConsole(size)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			line := bytes.Repeat([]byte{byte('a' + w)}, 8)
			for range each {
				_, _ = c.Write(line)
				_ = c.Bytes()
			}
		})
	}
	wg.Wait()
	got := c.Bytes()
	if len(got) != size {
		t.Fatalf("kept %d bytes, want %d", len(got), size)
	}
	// Each write is 8 bytes and the console a multiple of 8, so every
	// 8-byte block must come from a single write.
	for i := 0; i < size; i += 8 {
		if block := got[i : i+8]; !bytes.Equal(block, bytes.Repeat(block[:1], 8)) {
			t.Errorf("block %d = %q mixes writes", i/8, block)
		}
	}
}
