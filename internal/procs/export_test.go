package procs

// StartWithoutCgroup starts a tree tracked through /proc even where a
// cgroup is available, so tests cover both ways of tracking.
func StartWithoutCgroup(spec Spec) (*Tree, error) {
	return start(spec, false)
}
