package execenv

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// nodeAddonSource is the Node-API addon that lets a node snapshot fork
// (nodeaddon/snapstart.c says how).
//
//go:embed nodeaddon/snapstart.c
var nodeAddonSource []byte

// nodeAddons builds the addon once per node and keeps the answer: the
// machine's node and C compiler are facts of the machine, as its
// interpreters are.
var nodeAddons = struct {
	mu    sync.Mutex
	built map[string]nodeAddon // by node executable and version
}{built: make(map[string]nodeAddon)}

type nodeAddon struct {
	path string
	err  error
}

// nodeSnapAddon returns the compiled addon for the node interpreter it,
// building it under cacheDir on first use. It needs a C compiler (cc, or
// $CC) and node's own headers (<prefix>/include/node, which Node.js
// installs beside the executable); without them the error says what is
// missing and SnapStart falls back to cold starts.
func nodeSnapAddon(ctx context.Context, cacheDir string, it interpreter, log *slog.Logger) (string, error) {
	key := it.path + "\x00" + it.version
	nodeAddons.mu.Lock()
	defer nodeAddons.mu.Unlock()
	if a, ok := nodeAddons.built[key]; ok {
		return a.path, a.err
	}
	path, err := buildNodeAddon(ctx, cacheDir, it)
	if ctx.Err() == nil {
		nodeAddons.built[key] = nodeAddon{path, err}
		if err != nil {
			log.Warn("SnapStart for Node.js is unavailable: nodejs functions with SnapStart cold-start", "error", err)
		}
	}
	return path, err
}

func buildNodeAddon(ctx context.Context, cacheDir string, it interpreter) (string, error) {
	exe, err := filepath.EvalSymlinks(it.path)
	if err != nil {
		exe = it.path
	}
	include := filepath.Join(filepath.Dir(filepath.Dir(exe)), "include", "node")
	for _, h := range []string{"node_api.h", "uv.h"} {
		if _, err := os.Stat(filepath.Join(include, h)); err != nil {
			return "", fmt.Errorf("SnapStart for Node.js needs node's headers, and %s has none", include)
		}
	}
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "cc"
	}
	ccPath, err := exec.LookPath(cc)
	if err != nil {
		return "", fmt.Errorf("SnapStart for Node.js needs a C compiler (%s) to build its addon: %w", cc, err)
	}
	h := sha256.New()
	for _, part := range []string{string(nodeAddonSource), exe, it.version, ccPath} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	out := filepath.Join(cacheDir, "snapstart-node", hex.EncodeToString(h.Sum(nil))[:16]+".node")
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", err
	}
	src, err := os.CreateTemp(filepath.Dir(out), ".snapstart-*.c")
	if err != nil {
		return "", err
	}
	defer os.Remove(src.Name())
	if _, err := src.Write(nodeAddonSource); err != nil {
		src.Close()
		return "", err
	}
	if err := src.Close(); err != nil {
		return "", err
	}
	tmp := strings.TrimSuffix(src.Name(), ".c") + ".node"
	defer os.Remove(tmp)
	cmd := exec.CommandContext(ctx, ccPath, "-O2", "-shared", "-fPIC", "-I"+include, "-o", tmp, src.Name())
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the SnapStart addon for Node.js: %w: %s", err, strings.TrimSpace(string(msg)))
	}
	// Renamed into place, so that a concurrent build never loads half a file.
	if err := os.Rename(tmp, out); err != nil {
		if _, serr := os.Stat(out); serr == nil {
			return out, nil
		}
		return "", err
	}
	return out, nil
}

// errNoSnapAddon marks a snapshot that cannot be made on this machine.
var errNoSnapAddon = errors.New("execenv: SnapStart unavailable")

// addonCache is where built addons are kept: the user's cache directory,
// so that a build outlives one nephele run, else the Pool's directory.
func (p *Pool) addonCache() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "nephele")
	}
	return p.opts.Dir
}
