package execenv

import (
	"archive/zip"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUnzippedSizeRefusesBadPackages(t *testing.T) {
	symlink := func(name, target string) zipFile {
		return zipFile{name: name, body: target, mode: fs.ModeSymlink | 0o777}
	}
	for _, tc := range []struct {
		name  string
		files []zipFile
		want  string // substring of the CodeError; "" = accepted
	}{
		{"plain", []zipFile{{name: "a.py", body: "x"}, {name: "dir/b.py", body: "y"}}, ""},
		{"dot dot", []zipFile{{name: "../evil.py", body: "x"}}, "leaves the package directory"},
		{"nested dot dot", []zipFile{{name: "a/../../evil.py", body: "x"}}, "leaves the package directory"},
		{"absolute", []zipFile{{name: "/etc/evil", body: "x"}}, "absolute path"},
		{"backslash dot dot", []zipFile{{name: `..\evil.py`, body: "x"}}, "leaves the package directory"},
		{"inner symlink", []zipFile{{name: "a/real.py", body: "x"}, symlink("a/link.py", "real.py")}, ""},
		{"escaping symlink", []zipFile{symlink("a/link", "../../etc")}, "points outside"},
		{"absolute symlink", []zipFile{symlink("link", "/etc/passwd")}, "points outside"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := UnzippedSize(makeZip(t, tc.files...))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ce *CodeError
			if !errors.As(err, &ce) || !strings.Contains(ce.Message, tc.want) {
				t.Fatalf("err = %v, want a CodeError with %q", err, tc.want)
			}
		})
	}
	if _, err := UnzippedSize([]byte("not a zip")); err == nil || !strings.Contains(err.Error(), "Could not unzip uploaded file") {
		t.Errorf("not a zip: %v", err)
	}
}

// lyingZip makes a zip whose one entry claims to unzip to declared bytes:
// the limits are checked on the sizes the zip declares before anything is
// written (and on the bytes really written, see writeEntry).
func lyingZip(t *testing.T, declared uint64) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "big.bin", Method: zip.Store, CompressedSize64: 1, UncompressedSize64: declared})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte{0}); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestUnzippedSizeLimit(t *testing.T) {
	if _, err := UnzippedSize(lyingZip(t, MaxUnzippedBytes+1)); err == nil || err.Error() != "Unzipped size must be smaller than 262144000 bytes" {
		t.Errorf("over the limit: %v", err)
	}
	// Code and layers count together.
	half := lyingZip(t, MaxUnzippedBytes/2+1)
	u := &unpacker{dir: t.TempDir()}
	fn := &Function{Code: half, Layers: []Layer{{ARN: "l", Code: half}}}
	if _, _, err := u.code(fn); err == nil || !strings.Contains(err.Error(), "Function code combined with layers exceeds the maximum allowed size of 262144000 bytes") {
		t.Errorf("code plus layers over the limit: %v", err)
	}
}

func TestUnpack(t *testing.T) {
	dir := t.TempDir()
	u := &unpacker{dir: dir}
	fn := &Function{
		Code: makeZip(t,
			zipFile{name: "bootstrap", body: "#!/bin/sh\n", mode: 0o755},
			zipFile{name: "lib/data.txt", body: "data", mode: 0o600},
			zipFile{name: "lib/link.txt", body: "data.txt", mode: fs.ModeSymlink | 0o777},
		),
		Layers: []Layer{
			{ARN: "l1", Code: makeZip(t, zipFile{name: "python/m.py", body: "one"}, zipFile{name: "python/only1.py", body: "1"})},
			{ARN: "l2", Code: makeZip(t, zipFile{name: "python/m.py", body: "two"})},
		},
	}
	task, opt, err := u.code(fn)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(task, "bootstrap"))
	if err != nil || fi.Mode().Perm()&0o111 == 0 {
		t.Errorf("bootstrap mode %v, %v", fi.Mode(), err)
	}
	if b, err := os.ReadFile(filepath.Join(task, "lib", "link.txt")); err != nil || string(b) != "data" {
		t.Errorf("symlink: %q %v", b, err)
	}
	for name, want := range map[string]string{"python/m.py": "two", "python/only1.py": "1"} {
		if b, err := os.ReadFile(filepath.Join(opt, name)); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", name, b, err, want)
		}
	}
	// Unpacked once per CodeSHA256: a second call finds the directory.
	marker := filepath.Join(task, "marker")
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if task2, _, err := u.code(fn); err != nil || task2 != task {
		t.Fatalf("second unpack: %s %v", task2, err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Error("code unpacked again")
	}
	// A refused package writes nothing outside its directory, nor inside.
	evil := &Function{Code: makeZip(t, zipFile{name: "ok.py", body: "x"}, zipFile{name: "../../escaped", body: "x"})}
	if _, _, err := u.code(evil); err == nil {
		t.Fatal("zip-slip package accepted")
	}
	filepath.WalkDir(filepath.Dir(dir), func(p string, d fs.DirEntry, err error) error {
		if d != nil && d.Name() == "escaped" {
			t.Errorf("%s written", p)
		}
		return nil
	})
}
