package execenv

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// bootstraps are nephele's own runtime clients for the managed runtimes:
// they play the part of Lambda's runtime interface clients (awslambdaric,
// the Node.js runtime's index.mjs), polling the Runtime API and calling the
// handler with (event, context).
//
//go:embed bootstrap.py bootstrap.js
var bootstraps embed.FS

// family is the kind of runtime an identifier names.
type family int

const (
	unsupported family = iota
	provided           // provided, provided.al2, provided.al2023: the zip's bootstrap
	python             // python3.x: bootstrap.py on the machine's python3
	node               // nodejsNN.x: bootstrap.js on the machine's node
)

// familyOf classifies a runtime identifier.
func familyOf(runtime string) family {
	switch {
	case runtime == "provided" || strings.HasPrefix(runtime, "provided."):
		return provided
	case strings.HasPrefix(runtime, "python3."):
		return python
	case strings.HasPrefix(runtime, "nodejs") && strings.HasSuffix(runtime, ".x"):
		return node
	}
	return unsupported
}

// interpreterName is the program a runtime family needs on this machine.
func (f family) interpreterName() string {
	switch f {
	case python:
		return "python3"
	case node:
		return "node"
	}
	return ""
}

// Error says which interpreter is missing, or that nephele has no way to
// run the runtime at all.
func (e *RuntimeUnavailableError) Error() string {
	if e.Missing == "" {
		return fmt.Sprintf("nephele cannot run runtime %s on this machine; it runs provided.al2023, provided.al2, python3.x and nodejs*.x", e.Runtime)
	}
	return fmt.Sprintf("runtime %s needs %s, which is not installed on this machine (not found in PATH)", e.Runtime, e.Missing)
}

// CheckRuntime reports whether a runtime identifier can run on this
// machine: python3.x needs python3, nodejs* needs node, provided.* needs
// nothing. The error is a *RuntimeUnavailableError naming what is missing.
func CheckRuntime(runtime string) error {
	f := familyOf(runtime)
	if f == unsupported {
		return &RuntimeUnavailableError{Runtime: runtime}
	}
	if name := f.interpreterName(); name != "" {
		if _, err := exec.LookPath(name); err != nil {
			return &RuntimeUnavailableError{Runtime: runtime, Missing: name}
		}
	}
	return nil
}

// interpreter is a resolved language interpreter.
type interpreter struct {
	path    string // the real executable, past shims such as pyenv's
	version string // e.g. "3.11.7", "v20.20.2"
}

// machineInterpreters is shared by every Pool: which python3 and node this
// machine has is a fact of the machine, and asking costs a process start
// (hundreds of milliseconds through a pyenv shim).
var machineInterpreters interpreters

// interpreters resolves interpreters once. Resolving asks the interpreter
// itself where it lives: a pyenv or asdf shim is a shell script that costs
// tens of milliseconds per start, which every cold start would otherwise
// pay. A failed lookup is not kept, so installing the interpreter later
// is enough.
type interpreters struct {
	mu    sync.Mutex
	found map[family]interpreter
}

// get resolves the interpreter of a family.
func (in *interpreters) get(ctx context.Context, f family, runtime string) (interpreter, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if it, ok := in.found[f]; ok {
		return it, nil
	}
	name := f.interpreterName()
	p, err := exec.LookPath(name)
	if err != nil {
		return interpreter{}, &RuntimeUnavailableError{Runtime: runtime, Missing: name}
	}
	var out []byte
	switch f {
	case python:
		out, err = exec.CommandContext(ctx, p, "-c", "import sys; print(sys.executable); print(sys.version.split()[0])").Output()
	case node:
		out, err = exec.CommandContext(ctx, p, "-e", "console.log(process.execPath); console.log(process.version)").Output()
	}
	if err != nil {
		return interpreter{}, fmt.Errorf("execenv: asking %s where it lives: %w", p, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	it := interpreter{path: p}
	if len(lines) == 2 {
		if real := strings.TrimSpace(lines[0]); filepath.IsAbs(real) {
			it.path = real
		}
		it.version = strings.TrimSpace(lines[1])
	}
	if in.found == nil {
		in.found = make(map[family]interpreter)
	}
	in.found[f] = it
	return it, nil
}

// runtimeDir writes the embedded bootstraps under dir, in a directory named
// after their content so that a newer nephele never runs an older copy,
// and returns it: LAMBDA_RUNTIME_DIR.
func runtimeDir(dir string) (string, error) {
	h := sha256.New()
	var files []string
	entries, err := bootstraps.ReadDir(".")
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		b, err := bootstraps.ReadFile(e.Name())
		if err != nil {
			return "", err
		}
		h.Write(b)
		files = append(files, e.Name())
	}
	rt := filepath.Join(dir, "runtime", hex.EncodeToString(h.Sum(nil))[:16])
	if _, err := os.Stat(rt); err == nil {
		return rt, nil
	}
	tmp, err := os.MkdirTemp(dir, ".runtime-")
	if err != nil {
		return "", err
	}
	for _, name := range files {
		b, _ := bootstraps.ReadFile(name)
		if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
			os.RemoveAll(tmp)
			return "", err
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(rt), 0o755); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := os.Rename(tmp, rt); err != nil {
		os.RemoveAll(tmp)
		if _, serr := os.Stat(rt); serr == nil {
			return rt, nil // another Pool on the same Dir won the race
		}
		return "", err
	}
	return rt, nil
}
