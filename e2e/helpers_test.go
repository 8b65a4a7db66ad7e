package e2e

import (
	"context"
	"os/exec"
	"time"
)

// runBriefly runs a command that is expected to exit on its own, killing it
// after 20 s, and returns its combined output.
func runBriefly(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}
