package machine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Storage beyond the root volume. An EBS data volume is a directory of its
// own under <Dir>/volumes, so that its files outlive the instances it is
// attached to; attaching it links it into the instance's root under mnt/,
// named after the device (/dev/sdf → mnt/sdf). An instance store is a
// directory beside the instance's root, <Dir>/<id>/ephemeral0, linked into
// the root as ephemeral0: it goes with the instance, and the EC2 service
// empties it when the instance stops, as instance store data does not
// survive a stop.

// instanceStoreName is the name of the instance store in an instance's
// directory and in its root.
const instanceStoreName = "ephemeral0"

// VolumeDir is the directory that holds an EBS volume's files.
func (m *Machine) VolumeDir(volumeID string) string {
	return filepath.Join(m.cfg.Dir, "volumes", volumeID)
}

// MountPoint is where a volume attached as device shows in an instance's
// root: mnt/ and the device's base name.
func (m *Machine) MountPoint(instanceID, device string) string {
	return filepath.Join(m.Root(instanceID), "mnt", filepath.Base(device))
}

// CreateVolume makes an empty volume directory.
func (m *Machine) CreateVolume(volumeID string) error {
	return os.MkdirAll(m.VolumeDir(volumeID), 0o755)
}

// RemoveVolume deletes a volume's files (DeleteVolume).
func (m *Machine) RemoveVolume(volumeID string) error {
	return os.RemoveAll(m.VolumeDir(volumeID))
}

// AttachVolume links a volume into an instance's root at device's mount
// point. The root must exist: EC2 attaches volumes only to instances that
// are running or stopped, which have booted.
func (m *Machine) AttachVolume(instanceID, volumeID, device string) error {
	if err := m.CreateVolume(volumeID); err != nil {
		return err
	}
	if _, err := os.Stat(m.Root(instanceID)); err != nil {
		return fmt.Errorf("machine: attaching %s: %w", volumeID, err)
	}
	return link(m.VolumeDir(volumeID), m.MountPoint(instanceID, device))
}

// DetachVolume removes a volume's link from an instance's root; the
// volume's files stay.
func (m *Machine) DetachVolume(instanceID, device string) error {
	err := os.Remove(m.MountPoint(instanceID, device))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// InstanceStore is the directory of an instance's instance store volume.
func (m *Machine) InstanceStore(instanceID string) string {
	return filepath.Join(m.cfg.Dir, instanceID, instanceStoreName)
}

// AddInstanceStore gives an instance an instance store, shown in its root
// as ephemeral0 (linked now if the root exists, else on its first boot).
func (m *Machine) AddInstanceStore(instanceID string) error {
	store := m.InstanceStore(instanceID)
	if err := os.MkdirAll(store, 0o755); err != nil {
		return err
	}
	return m.linkInstanceStore(instanceID)
}

// RemoveInstanceStore takes an instance's instance store away, as a
// change to an instance type without one does.
func (m *Machine) RemoveInstanceStore(instanceID string) error {
	link := filepath.Join(m.Root(instanceID), instanceStoreName)
	if fi, err := os.Lstat(link); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		if err := os.Remove(link); err != nil {
			return err
		}
	}
	return os.RemoveAll(m.InstanceStore(instanceID))
}

// WipeInstanceStore empties an instance's instance store, if it has one:
// "the data on instance store volumes is lost when the instance is
// stopped".
func (m *Machine) WipeInstanceStore(instanceID string) error {
	store := m.InstanceStore(instanceID)
	entries, err := os.ReadDir(store)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		errs = append(errs, os.RemoveAll(filepath.Join(store, e.Name())))
	}
	return errors.Join(errs...)
}

// linkInstanceStore links an instance's store into its root, if both
// exist.
func (m *Machine) linkInstanceStore(instanceID string) error {
	store := m.InstanceStore(instanceID)
	if _, err := os.Stat(store); err != nil {
		return nil
	}
	if _, err := os.Stat(m.Root(instanceID)); err != nil {
		return nil
	}
	return link(filepath.Join("..", instanceStoreName), filepath.Join(m.Root(instanceID), instanceStoreName))
}

// UnlinkStorage removes from an image's directory the links an instance's
// root had to its instance store and to volumes: an image carries the
// root's files, and an instance launched from it gets storage of its own.
func (m *Machine) UnlinkStorage(imageDir string) error {
	var errs []error
	if fi, err := os.Lstat(filepath.Join(imageDir, instanceStoreName)); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		errs = append(errs, os.Remove(filepath.Join(imageDir, instanceStoreName)))
	}
	entries, _ := os.ReadDir(filepath.Join(imageDir, "mnt"))
	volumes := filepath.Join(m.cfg.Dir, "volumes") + string(filepath.Separator)
	for _, e := range entries {
		path := filepath.Join(imageDir, "mnt", e.Name())
		if target, err := os.Readlink(path); err == nil && strings.HasPrefix(target, volumes) {
			errs = append(errs, os.Remove(path))
		}
	}
	return errors.Join(errs...)
}

// link makes newname a symbolic link to target, replacing a link already
// there; anything else in the way is an error.
func link(target, newname string) error {
	if err := os.MkdirAll(filepath.Dir(newname), 0o755); err != nil {
		return err
	}
	if fi, err := os.Lstat(newname); err == nil {
		if fi.Mode()&os.ModeSymlink == 0 {
			return fmt.Errorf("machine: %s exists and is not a link", newname)
		}
		if err := os.Remove(newname); err != nil {
			return err
		}
	}
	return os.Symlink(target, newname)
}
