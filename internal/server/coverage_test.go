package server

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/nephele-dev/nephele/internal/gateway"
)

var update = flag.Bool("update", false, "rewrite docs/coverage.md")

// TestCoverageDoc keeps docs/coverage.md equal to what the served-operations
// tables say.
func TestCoverageDoc(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := gateway.Coverage(s.services)
	path := filepath.Join("..", "..", "docs", "coverage.md")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil || string(want) != got {
		t.Errorf("docs/coverage.md is stale (%v): run go test ./internal/server -run TestCoverageDoc -update", err)
	}
}
