package clock_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nephele-dev/nephele/internal/testenv"
)

// forbidden are the package time functions that read or wait on the wall
// clock, bypassing --time-scale and the fake clock.
var forbidden = map[string]bool{
	"Now": true, "Sleep": true, "After": true, "AfterFunc": true, "NewTimer": true,
	"NewTicker": true, "Tick": true, "Since": true, "Until": true,
}

// TestNoDirectWallClock keeps every controller and timestamp on the project
// clock: outside this package, non-test Go code must not call time.Now,
// time.Sleep or the other wall-clock functions. Test files may, since some
// (like this package's) test real time itself.
func TestNoDirectWallClock(t *testing.T) {
	root := testenv.RepoRoot(t)
	self := filepath.Join(root, "internal", "clock")
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			// The go tool ignores "." and "_" directories and testdata;
			// vendor is not ours and gen holds generators, not the server.
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") ||
				name == "testdata" || name == "vendor" || name == "gen" || path == self) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		for _, c := range wallClockCalls(f) {
			t.Errorf("%s:%d: time.%s reads the wall clock; use clock.Clock", rel, fset.Position(c.pos).Line, c.name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// wallClockUse is one reference to a forbidden time function.
type wallClockUse struct {
	name string
	pos  token.Pos
}

// wallClockCalls finds references to forbidden time functions in f, under
// whatever name f imports "time" as. Uses count as well as calls, since
// passing time.Now as a func value escapes the clock just the same.
func wallClockCalls(f *ast.File) []wallClockUse {
	var names []string // the file's local names for package time
	dot := false
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p != "time" {
			continue
		}
		switch {
		case imp.Name == nil:
			names = append(names, "time")
		case imp.Name.Name == ".":
			dot = true
		case imp.Name.Name != "_":
			names = append(names, imp.Name.Name)
		}
	}
	var uses []wallClockUse
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			if id, ok := n.X.(*ast.Ident); ok && slices.Contains(names, id.Name) && forbidden[n.Sel.Name] {
				uses = append(uses, wallClockUse{n.Sel.Name, n.Sel.Pos()})
			}
		case *ast.CallExpr:
			// Without type information a dot-imported Now is only
			// recognisable as a bare call.
			if id, ok := n.Fun.(*ast.Ident); ok && dot && forbidden[id.Name] {
				uses = append(uses, wallClockUse{id.Name, id.Pos()})
			}
		}
		return true
	})
	return uses
}

func TestWallClockCalls(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"plain import", `import "time"; func f() { time.Sleep(time.Now().Sub(time.Time{})) }`, []string{"Sleep", "Now"}},
		{"renamed import", `import stdtime "time"; func f() { stdtime.After(1) }`, []string{"After"}},
		{"dot import", `import . "time"; func f() { _ = Since(Time{}) }`, []string{"Since"}},
		{"func value", `import "time"; var now = time.Now`, []string{"Now"}},
		{"time types and constants are fine", `import "time"; var d time.Duration = time.Second; var t time.Time`, nil},
		{"unrelated package named time", `import time "example.com/mytime"; func f() { time.Now() }`, nil},
		{"blank import", `import _ "time"; func f() { clk.Now() }`, nil},
		{"no import", `func f() { c.Now(); time.Now() }`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parser.ParseFile(token.NewFileSet(), "x.go", "package p; "+tt.src, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, u := range wallClockCalls(f) {
				got = append(got, u.name)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
