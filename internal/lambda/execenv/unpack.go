package execenv

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
)

// MaxUnzippedBytes is Lambda's quota on the unzipped size of a function's
// deployment package and all its layers together: 250 MB.
const MaxUnzippedBytes = 262144000

// CodeError says a deployment package or layer cannot be used: not a zip,
// an entry that would land outside the function's directory (zip-slip), or
// too large once unzipped. The control plane turns it into
// InvalidParameterValueException with Message as the message.
type CodeError struct {
	Message string
}

func (e *CodeError) Error() string { return e.Message }

// UnzippedSize checks a deployment package or layer zip as Lambda does
// before accepting it and returns the sum of its entries' sizes: it must be
// a readable zip whose entries all stay inside the directory it is unpacked
// into, and at most MaxUnzippedBytes unzipped. The control plane calls it
// on CreateFunction, UpdateFunctionCode and PublishLayerVersion, so bad code
// is refused with nothing half-created; execenv checks again when
// unpacking.
func UnzippedSize(zipData []byte) (int64, error) {
	zr, err := zip.NewReader(bytes.NewReader(zipData), int64(len(zipData)))
	if err != nil {
		return 0, &CodeError{Message: "Could not unzip uploaded file. Please check your file, then try to upload again."}
	}
	var total int64
	for _, f := range zr.File {
		if _, err := entryPath(f.Name); err != nil {
			return 0, err
		}
		if f.Mode()&fs.ModeSymlink != 0 {
			if err := checkSymlink(f); err != nil {
				return 0, err
			}
		}
		total += int64(f.UncompressedSize64)
		if f.UncompressedSize64 > MaxUnzippedBytes || total > MaxUnzippedBytes {
			return 0, tooLarge()
		}
	}
	return total, nil
}

// tooLarge is Lambda's message for code over the unzipped quota.
func tooLarge() error {
	return &CodeError{Message: fmt.Sprintf("Unzipped size must be smaller than %d bytes", MaxUnzippedBytes)}
}

// entryPath validates a zip entry name and returns it as a clean relative
// slash path ("" for the root itself). Absolute names, drive letters and
// names that climb out with ".." are refused: that is zip-slip.
func entryPath(name string) (string, error) {
	n := strings.ReplaceAll(name, `\`, "/")
	if strings.HasPrefix(n, "/") || (len(n) > 1 && n[1] == ':') {
		return "", &CodeError{Message: fmt.Sprintf("Could not unzip uploaded file: entry %q has an absolute path.", name)}
	}
	for _, part := range strings.Split(n, "/") {
		if part == ".." {
			return "", &CodeError{Message: fmt.Sprintf("Could not unzip uploaded file: entry %q leaves the package directory.", name)}
		}
	}
	c := path.Clean(n)
	if c == "." {
		return "", nil
	}
	return c, nil
}

// checkSymlink refuses a symlink entry whose target is absolute or climbs
// out of the package directory. Every symlink being confined lexically, and
// symlinks being created only after every file is written, no write goes
// through a link and no link leads outside.
func checkSymlink(f *zip.File) error {
	target, err := readLink(f)
	if err != nil {
		return &CodeError{Message: "Could not unzip uploaded file. Please check your file, then try to upload again."}
	}
	name, _ := entryPath(f.Name)
	if path.IsAbs(target) || !local(path.Join(path.Dir(name), target)) {
		return &CodeError{Message: fmt.Sprintf("Could not unzip uploaded file: symlink %q points outside the package directory.", f.Name)}
	}
	return nil
}

// local reports whether a cleaned relative slash path stays inside its root.
func local(p string) bool {
	p = path.Clean(p)
	return p != ".." && !strings.HasPrefix(p, "../") && !path.IsAbs(p)
}

// readLink reads a symlink entry's target, which is its content.
func readLink(f *zip.File) (string, error) {
	if f.UncompressedSize64 > 4096 {
		return "", errors.New("symlink target too long")
	}
	rc, err := f.Open()
	if err != nil {
		return "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 4097))
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// unpacker unpacks code and layers once per content into a cache under
// Options.Dir: code/<sha> for a deployment package, opt/<sha of the layer
// list> for the layers of a function, unpacked in order over one directory.
// A directory appears under its final name only once complete (it is
// unpacked beside it and renamed), so a crash never leaves half of one to
// be reused.
type unpacker struct {
	dir string

	mu    sync.Mutex
	locks map[string]*sync.Mutex // per cache directory, so each is unpacked once
}

// lockFor returns the mutex that serialises unpacking into dir.
func (u *unpacker) lockFor(dir string) *sync.Mutex {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.locks == nil {
		u.locks = make(map[string]*sync.Mutex)
	}
	m := u.locks[dir]
	if m == nil {
		m = new(sync.Mutex)
		u.locks[dir] = m
	}
	return m
}

// cacheName turns a Lambda CodeSHA256 (base64) into a directory name,
// computing the hash of the content when none is given.
func cacheName(sha string, content []byte) string {
	if raw, err := base64.StdEncoding.DecodeString(sha); err == nil && len(raw) == sha256.Size {
		return hex.EncodeToString(raw)
	}
	if sha == "" {
		sum := sha256.Sum256(content)
		return hex.EncodeToString(sum[:])
	}
	sum := sha256.Sum256([]byte(sha))
	return hex.EncodeToString(sum[:])
}

// code returns the directory holding fn's unpacked deployment package and
// the one holding its layers (the /opt equivalent), unpacking on first use.
// The unzipped total of code and layers is limited to MaxUnzippedBytes.
func (u *unpacker) code(fn *Function) (task, opt string, err error) {
	var total int64
	size, err := UnzippedSize(fn.Code)
	if err != nil {
		return "", "", err
	}
	total += size
	layerKey := sha256.New()
	for _, l := range fn.Layers {
		size, err := UnzippedSize(l.Code)
		if err != nil {
			return "", "", fmt.Errorf("layer %s: %w", l.ARN, err)
		}
		total += size
		fmt.Fprintf(layerKey, "%s\n", cacheName(l.CodeSHA256, l.Code))
	}
	if total > MaxUnzippedBytes {
		return "", "", &CodeError{Message: fmt.Sprintf("Function code combined with layers exceeds the maximum allowed size of %d bytes. The actual size is %d bytes.", MaxUnzippedBytes, total)}
	}

	task = filepath.Join(u.dir, "code", cacheName(fn.CodeSHA256, fn.Code))
	if err := u.ensure(task, [][]byte{fn.Code}); err != nil {
		return "", "", err
	}
	opt = filepath.Join(u.dir, "opt", hex.EncodeToString(layerKey.Sum(nil)))
	layers := make([][]byte, len(fn.Layers))
	for i, l := range fn.Layers {
		layers[i] = l.Code
	}
	if err := u.ensure(opt, layers); err != nil {
		return "", "", err
	}
	return task, opt, nil
}

// ensure unpacks zips, in order, into dir unless dir already exists.
func (u *unpacker) ensure(dir string, zips [][]byte) error {
	m := u.lockFor(dir)
	m.Lock()
	defer m.Unlock()
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".unpack-")
	if err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	for _, z := range zips {
		if err := unzip(z, tmp); err != nil {
			os.RemoveAll(tmp)
			return err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	return nil
}

// unzip unpacks a zip into root, keeping the entries' permission bits (so
// a bootstrap marked executable stays so) but never less than owner
// read/write. Files are written first and symlinks made last, so no file
// is written through a link.
func unzip(data []byte, root string) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return &CodeError{Message: "Could not unzip uploaded file. Please check your file, then try to upload again."}
	}
	var links []*zip.File
	var written int64
	for _, f := range zr.File {
		name, err := entryPath(f.Name)
		if err != nil {
			return err
		}
		if name == "" {
			continue
		}
		dst := filepath.Join(root, filepath.FromSlash(name))
		mode := f.Mode()
		switch {
		case mode.IsDir():
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
		case mode&fs.ModeSymlink != 0:
			if err := checkSymlink(f); err != nil {
				return err
			}
			links = append(links, f)
		case mode.IsRegular():
			n, err := writeEntry(f, dst, mode.Perm(), MaxUnzippedBytes-written)
			written += n
			if err != nil {
				return err
			}
		default:
			// Devices, pipes and sockets have no place in a package.
		}
	}
	for _, f := range links {
		name, _ := entryPath(f.Name)
		dst := filepath.Join(root, filepath.FromSlash(name))
		target, err := readLink(f)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.RemoveAll(dst); err != nil {
			return err
		}
		if err := os.Symlink(target, dst); err != nil {
			return err
		}
	}
	return nil
}

// writeEntry writes one file entry, refusing to write more than budget
// bytes whatever the entry's header claims.
func writeEntry(f *zip.File, dst string, perm fs.FileMode, budget int64) (int64, error) {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return 0, err
	}
	// A later layer replaces what an earlier one put here, link or file.
	if fi, err := os.Lstat(dst); err == nil && !fi.Mode().IsRegular() {
		if err := os.RemoveAll(dst); err != nil {
			return 0, err
		}
	}
	perm |= 0o600
	if perm&0o111 != 0 {
		perm |= 0o055 // executable by owner: readable and executable by all, as Lambda's files are
	} else {
		perm |= 0o044
	}
	rc, err := f.Open()
	if err != nil {
		return 0, &CodeError{Message: "Could not unzip uploaded file. Please check your file, then try to upload again."}
	}
	defer rc.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, io.LimitReader(rc, budget+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, &CodeError{Message: "Could not unzip uploaded file. Please check your file, then try to upload again."}
	}
	if n > budget {
		return n, tooLarge()
	}
	// O_CREATE's mode is filtered by the umask and ignored for an existing
	// file; the package's modes are what the function sees on Lambda.
	return n, os.Chmod(dst, perm)
}
