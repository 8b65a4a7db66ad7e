package sts_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/sts"
	"github.com/nephele-dev/nephele/internal/store"
)

// sessionsBucket is where STS keeps issued credentials; it is part of the
// persisted layout (--data-dir), so tests may name it.
const sessionsBucket = "sts/sessions"

// sessionCount is the number of stored sessions.
func sessionCount(t *testing.T, f *fixture) int {
	t.Helper()
	n := 0
	err := f.st.View(func(tx store.Tx) error {
		return tx.ForEach(sessionsBucket, "", func(string, func(any) error) error { n++; return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSessionPruning(t *testing.T) {
	issue := func(f *fixture, d int32) *api.Credentials {
		return must(f.svc.AssumeRole(as(userKey), &api.AssumeRoleInput{RoleArn: s(roleARN), RoleSessionName: s("s"), DurationSeconds: i32(d)})).Credentials
	}

	t.Run("recently_expired_are_kept_and_still_ExpiredToken", func(t *testing.T) {
		f := newFixture(t)
		old := issue(f, 900)
		f.clk.Advance(time.Hour) // expired 45 minutes ago
		issue(f, 900)
		if n := sessionCount(t, f); n != 2 {
			t.Errorf("%d sessions stored, want 2", n)
		}
		_, err := f.svc.GetCallerIdentity(signedWith(old), &api.GetCallerIdentityInput{})
		if code(err) != "ExpiredToken" {
			t.Errorf("GetCallerIdentity with recently expired credentials: %s, want ExpiredToken", code(err))
		}
	})

	t.Run("long_expired_are_pruned_on_next_issue", func(t *testing.T) {
		f := newFixture(t)
		issue(f, 900)
		live := issue(f, 43200)
		// The 15-minute session is now exactly 24 h past its expiry, the
		// 12-hour one 12 h past its.
		f.clk.Set(start.Add(900*time.Second + 24*time.Hour))
		if n := sessionCount(t, f); n != 2 {
			t.Fatalf("%d sessions before the next issue, want 2 (pruning happens on issue)", n)
		}
		fresh := issue(f, 900)
		if n := sessionCount(t, f); n != 2 {
			t.Errorf("%d sessions after issue, want 2 (the 12 h one and the new one)", n)
		}
		if got := f.whoami(signedWith(fresh)).Arn; got != "arn:aws:sts::"+account+":assumed-role/deployer/s" {
			t.Errorf("new credentials resolve to %q", got)
		}
		_, err := f.svc.GetCallerIdentity(signedWith(live), &api.GetCallerIdentityInput{})
		if code(err) != "ExpiredToken" {
			t.Errorf("12 h credentials 12 h after expiry: %s, want ExpiredToken (kept for retention)", code(err))
		}
	})

	t.Run("live_credentials_are_never_pruned", func(t *testing.T) {
		f := newFixture(t)
		live := issue(f, 43200)
		for range 10 {
			f.clk.Advance(time.Hour)
			issue(f, 900)
		}
		if got := f.whoami(signedWith(live)).Arn; got != "arn:aws:sts::"+account+":assumed-role/deployer/s" {
			t.Errorf("live credentials resolve to %q after pruning", got)
		}
	})
}

// Many clients assuming roles at once each get their own credentials, and
// every one of them resolves to its own session. Run with -race.
func TestConcurrentAssumeRole(t *testing.T) {
	f := newFixture(t)
	const n = 64
	var wg sync.WaitGroup
	creds := make([]*api.Credentials, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			out, err := f.svc.AssumeRole(as(userKey), &api.AssumeRoleInput{RoleArn: s(roleARN), RoleSessionName: s(fmt.Sprintf("worker-%d", i))})
			if err != nil {
				errs[i] = err
				return
			}
			creds[i] = out.Credentials
			// Readers run alongside the writers.
			_, errs[i] = f.svc.GetCallerIdentity(signedWith(out.Credentials), &api.GetCallerIdentityInput{})
		})
	}
	wg.Wait()

	seen := map[string]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("worker %d: %v", i, errs[i])
		}
		key := *creds[i].AccessKeyId
		if seen[key] {
			t.Fatalf("access key %s issued twice", key)
		}
		seen[key] = true
		want := fmt.Sprintf("arn:aws:sts::%s:assumed-role/deployer/worker-%d", account, i)
		if got := f.whoami(signedWith(creds[i])).Arn; got != want {
			t.Errorf("worker %d credentials resolve to %q, want %q", i, got, want)
		}
	}
	if got := sessionCount(t, f); got != n {
		t.Errorf("%d sessions stored, want %d", got, n)
	}
}
