package machine

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// A boot is the shell script an instance's leader runs each time the
// instance starts, written the way cloud-init orders its stages: bootcmd
// (every boot), then scripts in var/lib/cloud/scripts/per-boot/ (every
// boot), then, on the first boot only, write_files and runcmd of a
// #cloud-config or the user-data script itself. The script then stays
// alive as the instance's "init", so the instance is running until it is
// stopped, whether or not the user-data left a server behind.

// cloudConfig is the subset of #cloud-config nephele runs.
type cloudConfig struct {
	BootCmd    []command   `yaml:"bootcmd"`
	RunCmd     []command   `yaml:"runcmd"`
	WriteFiles []writeFile `yaml:"write_files"`
	Packages   []any       `yaml:"packages"`
}

// command is one bootcmd or runcmd entry: a string run by the shell, or a
// list run as an argument vector.
type command struct {
	shell string
	argv  []string
}

func (c *command) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		return n.Decode(&c.shell)
	case yaml.SequenceNode:
		return n.Decode(&c.argv)
	}
	return fmt.Errorf("line %d: a command is a string or a list of strings", n.Line)
}

// script renders the command as a line of shell.
func (c command) script() string {
	if c.argv == nil {
		return c.shell
	}
	quoted := make([]string, len(c.argv))
	for i, a := range c.argv {
		quoted[i] = shellQuote(a)
	}
	return strings.Join(quoted, " ")
}

// writeFile is one write_files entry.
type writeFile struct {
	Path        string `yaml:"path"`
	Content     string `yaml:"content"`
	Encoding    string `yaml:"encoding"`
	Permissions string `yaml:"permissions"`
	Append      bool   `yaml:"append"`
	Owner       string `yaml:"owner"`
}

// decoded returns the entry's content after its encoding (b64, gzip,
// gz+b64 and their spellings, as cloud-init accepts them).
func (w writeFile) decoded() ([]byte, error) {
	data := []byte(w.Content)
	enc := strings.ToLower(w.Encoding)
	if strings.Contains(enc, "b64") || strings.Contains(enc, "base64") {
		d, err := base64.StdEncoding.DecodeString(strings.TrimSpace(w.Content))
		if err != nil {
			return nil, fmt.Errorf("write_files %s: %w", w.Path, err)
		}
		data = d
	}
	if strings.Contains(enc, "gz") || strings.Contains(enc, "gzip") {
		r, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("write_files %s: %w", w.Path, err)
		}
		if data, err = io.ReadAll(r); err != nil {
			return nil, fmt.Errorf("write_files %s: %w", w.Path, err)
		}
	}
	return data, nil
}

// kind of user-data, from its first line, as cloud-init tells them apart.
type kind int

const (
	kindNone kind = iota
	kindScript
	kindCloudConfig
	kindUnknown
)

func kindOf(userData []byte) kind {
	switch {
	case len(bytes.TrimSpace(userData)) == 0:
		return kindNone
	case bytes.HasPrefix(userData, []byte("#!")):
		return kindScript
	case bytes.HasPrefix(userData, []byte("#cloud-config")):
		return kindCloudConfig
	}
	return kindUnknown
}

// bootPlan is what one boot runs.
type bootPlan struct {
	// script is the shell script the leader runs.
	script string
}

// Paths inside an instance root, as cloud-init lays them out.
const (
	cloudDir      = "var/lib/cloud"
	instanceDir   = cloudDir + "/instance"
	perBootDir    = cloudDir + "/scripts/per-boot"
	userDataFile  = instanceDir + "/user-data.txt"
	userScript    = instanceDir + "/scripts/part-001"
	bootScript    = instanceDir + "/boot.sh"
	bootFinished  = instanceDir + "/boot-finished"
	cloudInitLogs = "var/log/cloud-init-output.log"
)

// plan writes what a boot needs into root and returns the plan. firstBoot
// is true until an earlier boot has finished its user-data.
func plan(root string, userData []byte, firstBoot bool) (bootPlan, error) {
	for _, d := range []string{instanceDir + "/scripts", perBootDir, "var/log", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return bootPlan{}, err
		}
	}
	var b strings.Builder
	b.WriteString("#!/bin/sh\n# Written by nephele for each boot of this instance.\ncd \"$INSTANCE_ROOT\" || exit 1\n")
	var cfg cloudConfig
	k := kindOf(userData)
	if k == kindCloudConfig {
		if err := yaml.Unmarshal(userData, &cfg); err != nil {
			// cloud-init logs a bad #cloud-config and boots anyway.
			fmt.Fprintf(&b, "echo %s\n", shellQuote("nephele: user-data is not valid #cloud-config: "+err.Error()))
			cfg = cloudConfig{}
		}
	}
	for _, c := range cfg.BootCmd {
		b.WriteString(c.script() + "\n")
	}
	fmt.Fprintf(&b, "for f in %s/*; do [ -x \"$f\" ] && \"$f\"; done\n", perBootDir)
	if firstBoot {
		if err := os.WriteFile(filepath.Join(root, userDataFile), userData, 0o600); err != nil {
			return bootPlan{}, err
		}
		switch k {
		case kindScript:
			if err := os.WriteFile(filepath.Join(root, userScript), userData, 0o700); err != nil {
				return bootPlan{}, err
			}
			fmt.Fprintf(&b, "./%s\n", userScript)
		case kindCloudConfig:
			for _, w := range cfg.WriteFiles {
				if err := writeInto(root, w); err != nil {
					fmt.Fprintf(&b, "echo %s\n", shellQuote("nephele: "+err.Error()))
				}
			}
			if len(cfg.Packages) > 0 {
				fmt.Fprintf(&b, "echo %s\n", shellQuote(fmt.Sprintf("nephele: skipping packages %v: a local instance has no package manager of its own", cfg.Packages)))
			}
			for _, c := range cfg.RunCmd {
				b.WriteString(c.script() + "\n")
			}
		case kindUnknown:
			b.WriteString("echo 'nephele: user-data is neither a #! script nor #cloud-config; not run'\n")
		}
		fmt.Fprintf(&b, ": > %s\n", bootFinished)
	}
	// Stay alive as the instance's init: the instance runs until stopped.
	b.WriteString("exec sleep infinity\n")
	if err := os.WriteFile(filepath.Join(root, bootScript), []byte(b.String()), 0o700); err != nil {
		return bootPlan{}, err
	}
	return bootPlan{script: filepath.Join(root, bootScript)}, nil
}

// writeInto writes a write_files entry under root: an instance's absolute
// paths live inside its root directory.
func writeInto(root string, w writeFile) error {
	if w.Path == "" {
		return fmt.Errorf("write_files: an entry has no path")
	}
	target := filepath.Join(root, filepath.Clean("/"+w.Path))
	data, err := w.decoded()
	if err != nil {
		return err
	}
	perm := os.FileMode(0o644)
	if w.Permissions != "" {
		p, err := strconv.ParseUint(w.Permissions, 8, 32)
		if err != nil {
			return fmt.Errorf("write_files %s: permissions %q: %w", w.Path, w.Permissions, err)
		}
		perm = os.FileMode(p)
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if w.Append {
		flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
	}
	f, err := os.OpenFile(target, flags, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(target, perm)
	}
	return err
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
