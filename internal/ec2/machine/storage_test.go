package machine_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestInstanceStoreWipedVolumeKept: an instance store shows in the root as
// ephemeral0 and is emptied by a wipe (a stop), while a volume's files
// outlive a detach and show again where it is attached next.
func TestInstanceStoreWipedVolumeKept(t *testing.T) {
	m := newMachine(t, nil)
	if err := m.AddInstanceStore("i-1"); err != nil {
		t.Fatal(err)
	}
	root := boot(t, m, "i-1", "#!/bin/sh\necho scratch > ephemeral0/tmp.txt\necho kept > kept.txt\n")
	waitFile(t, filepath.Join(root, "kept.txt"))
	if got := waitFile(t, filepath.Join(m.InstanceStore("i-1"), "tmp.txt")); got != "scratch\n" {
		t.Errorf("instance store file = %q", got)
	}
	if err := m.Stop(context.Background(), "i-1", 0); err != nil {
		t.Fatal(err)
	}
	if err := m.WipeInstanceStore("i-1"); err != nil {
		t.Fatal(err)
	}
	if entries, err := os.ReadDir(filepath.Join(root, "ephemeral0")); err != nil || len(entries) != 0 {
		t.Errorf("instance store after wipe: %v, %v", entries, err)
	}

	if err := m.AttachVolume("i-1", "vol-1", "/dev/sdf"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "mnt", "sdf", "data.txt"), []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir, err := m.SaveImage("i-1", "ami-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.UnlinkStorage(dir); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"ephemeral0", "mnt/sdf"} {
		if _, err := os.Lstat(filepath.Join(dir, p)); !os.IsNotExist(err) {
			t.Errorf("image keeps %s: %v", p, err)
		}
	}
	if err := m.DetachVolume("i-1", "/dev/sdf"); err != nil {
		t.Fatal(err)
	}
	boot(t, m, "i-2", "#!/bin/sh\necho up > up.txt\n")
	waitFile(t, filepath.Join(m.Root("i-2"), "up.txt"))
	if err := m.AttachVolume("i-2", "vol-1", "/dev/xvdg"); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(m.Root("i-2"), "mnt", "xvdg", "data.txt")); err != nil || string(b) != "data" {
		t.Errorf("volume on the second instance: %q, %v", b, err)
	}
}
