package iam_test

import (
	"net/http"
	"regexp"
	"slices"
	"testing"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/iam"
)

var (
	akKeyID  = regexp.MustCompile(`^AKIA[A-Z0-9]{16}$`)
	akSecret = regexp.MustCompile(`^[A-Za-z0-9/+]{40}$`)
)

// akList returns "ID:Status:UserName" for each of a user's keys ("" for the
// caller's).
func (f *fixture) akList(userName string) []string {
	f.t.Helper()
	in := &api.ListAccessKeysInput{}
	if userName != "" {
		in.UserName = s(userName)
	}
	out := must(f.svc.ListAccessKeys(f.ctx, in))
	if out.AccessKeyMetadata == nil || out.IsTruncated == nil || *out.IsTruncated {
		f.t.Errorf("ListAccessKeys = %+v, want a complete, non-nil list", out)
	}
	var got []string
	for _, k := range out.AccessKeyMetadata {
		got = append(got, *k.AccessKeyId+":"+*k.Status+":"+*ptrOr(k.UserName, ""))
	}
	return got
}

func TestCreateAccessKey(t *testing.T) {
	f := newFixture(t)
	f.usrCreate("u")
	f.clk.Advance(time.Minute)
	k := must(f.svc.CreateAccessKey(f.ctx, &api.CreateAccessKeyInput{UserName: s("U")})).AccessKey
	if !akKeyID.MatchString(*k.AccessKeyId) {
		t.Errorf("AccessKeyId = %s, want AKIA and 16 upper-case letters or digits", *k.AccessKeyId)
	}
	if !akSecret.MatchString(*k.SecretAccessKey) {
		t.Errorf("SecretAccessKey = %s, want 40 base64 characters", *k.SecretAccessKey)
	}
	if *k.Status != "Active" || *k.UserName != "u" || !k.CreateDate.Equal(start.Add(time.Minute)) {
		t.Errorf("key = %+v", k)
	}
	k2 := must(f.svc.CreateAccessKey(f.ctx, &api.CreateAccessKeyInput{UserName: s("u")})).AccessKey
	if *k2.AccessKeyId == *k.AccessKeyId || *k2.SecretAccessKey == *k.SecretAccessKey {
		t.Error("two keys share an ID or a secret")
	}

	// A user may have two keys.
	_, err := f.svc.CreateAccessKey(f.ctx, &api.CreateAccessKeyInput{UserName: s("u")})
	usrErr(t, err, "LimitExceeded", http.StatusConflict, "Cannot exceed quota for AccessKeysPerUser: 2")
	if n := len(f.akList("u")); n != 2 {
		t.Errorf("keys after the refused create: %d", n)
	}
	// Deleting one makes room; inactive keys count.
	must(f.svc.UpdateAccessKey(f.ctx, &api.UpdateAccessKeyInput{UserName: s("u"), AccessKeyId: k2.AccessKeyId, Status: s("Inactive")}))
	if _, err := f.svc.CreateAccessKey(f.ctx, &api.CreateAccessKeyInput{UserName: s("u")}); code(err) != "LimitExceeded" {
		t.Errorf("third key while one is inactive: %v, want LimitExceeded", err)
	}
	must(f.svc.DeleteAccessKey(f.ctx, &api.DeleteAccessKeyInput{UserName: s("u"), AccessKeyId: k.AccessKeyId}))
	must(f.svc.CreateAccessKey(f.ctx, &api.CreateAccessKeyInput{UserName: s("u")}))

	// Another user's quota is their own.
	f.usrCreate("other")
	must(f.svc.CreateAccessKey(f.ctx, &api.CreateAccessKeyInput{UserName: s("other")}))

	_, err = f.svc.CreateAccessKey(f.ctx, &api.CreateAccessKeyInput{UserName: s("ghost")})
	usrErr(t, err, "NoSuchEntity", http.StatusNotFound, "The user with name ghost cannot be found.")
}

func TestCreateAccessKeyForCaller(t *testing.T) {
	tests := []struct {
		name string
		// key is the ID the request is signed with; "user" signs with a
		// key of the user "u".
		key      string
		wantUser string // "" for the root user
		code     string
		msg      string
	}{
		{name: "iam_user_caller", key: "user", wantUser: "u"},
		{name: "root_caller", key: "AKIDEXAMPLE"},
		{name: "temporary_credentials", key: "ASIAEXAMPLE123456789", code: "ValidationError",
			msg: "Must specify userName when calling with non-User credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.usrCreate("u")
			key := tt.key
			if key == "user" {
				key = f.usrKey("u")
			}
			out, err := f.svc.CreateAccessKey(as(key), &api.CreateAccessKeyInput{})
			if tt.code != "" {
				usrErr(t, err, tt.code, http.StatusBadRequest, tt.msg)
				_, err = f.svc.ListAccessKeys(as(key), &api.ListAccessKeysInput{})
				usrErr(t, err, tt.code, http.StatusBadRequest, tt.msg)
				return
			}
			if err != nil {
				t.Fatalf("CreateAccessKey: %v", err)
			}
			if got := *ptrOr(out.AccessKey.UserName, ""); got != tt.wantUser {
				t.Errorf("UserName = %q, want %q", got, tt.wantUser)
			}
			// ListAccessKeys without a UserName lists the caller's keys.
			var ids []string
			for _, k := range must(f.svc.ListAccessKeys(as(key), &api.ListAccessKeysInput{})).AccessKeyMetadata {
				ids = append(ids, *k.AccessKeyId)
			}
			if !slices.Contains(ids, *out.AccessKey.AccessKeyId) {
				t.Errorf("caller's keys %v lack the new key %s", ids, *out.AccessKey.AccessKeyId)
			}
			// The caller can update and delete it without naming itself.
			must(f.svc.UpdateAccessKey(as(key), &api.UpdateAccessKeyInput{AccessKeyId: out.AccessKey.AccessKeyId, Status: s("Inactive")}))
			must(f.svc.DeleteAccessKey(as(key), &api.DeleteAccessKeyInput{AccessKeyId: out.AccessKey.AccessKeyId}))
		})
	}
}

func TestRootAccessKeys(t *testing.T) {
	f := newFixture(t)
	f.usrCreate("u")
	user := f.usrKey("u")
	root := *must(f.svc.CreateAccessKey(f.ctx, &api.CreateAccessKeyInput{})).AccessKey.AccessKeyId
	// The root user's keys and a user's are listed apart.
	if got := f.akList(""); !slices.Equal(got, []string{root + ":Active:"}) {
		t.Errorf("root keys = %v", got)
	}
	if got := f.akList("u"); !slices.Equal(got, []string{user + ":Active:u"}) {
		t.Errorf("user keys = %v", got)
	}
	// The root user has the same quota of two.
	must(f.svc.CreateAccessKey(f.ctx, &api.CreateAccessKeyInput{}))
	_, err := f.svc.CreateAccessKey(f.ctx, &api.CreateAccessKeyInput{})
	usrErr(t, err, "LimitExceeded", http.StatusConflict, "Cannot exceed quota for AccessKeysPerUser: 2")
	// A user's key is not the root user's to change without naming the user.
	_, err = f.svc.DeleteAccessKey(f.ctx, &api.DeleteAccessKeyInput{AccessKeyId: s(user)})
	usrErr(t, err, "NoSuchEntity", http.StatusNotFound, "The Access Key with id "+user+" cannot be found.")
}

func TestAccessKeyLifecycle(t *testing.T) {
	f := newFixture(t)
	f.usrCreate("u")
	a := f.usrKey("u")
	f.clk.Advance(time.Second)
	b := f.usrKey("u")
	want := []string{a + ":Active:u", b + ":Active:u"}
	slices.Sort(want)
	if got := f.akList("u"); !slices.Equal(got, want) {
		t.Errorf("keys = %v, want %v", got, want)
	}

	must(f.svc.UpdateAccessKey(f.ctx, &api.UpdateAccessKeyInput{UserName: s("u"), AccessKeyId: s(a), Status: s("Inactive")}))
	if got := f.akList("u"); !slices.Contains(got, a+":Inactive:u") || !slices.Contains(got, b+":Active:u") {
		t.Errorf("after deactivating %s: %v", a, got)
	}
	must(f.svc.UpdateAccessKey(f.ctx, &api.UpdateAccessKeyInput{UserName: s("u"), AccessKeyId: s(a), Status: s("Active")}))
	if got := f.akList("u"); !slices.Contains(got, a+":Active:u") {
		t.Errorf("after reactivating %s: %v", a, got)
	}

	// ListAccessKeys pages.
	first := must(f.svc.ListAccessKeys(f.ctx, &api.ListAccessKeysInput{UserName: s("u"), MaxItems: i32(1)}))
	if len(first.AccessKeyMetadata) != 1 || !*first.IsTruncated || first.Marker == nil {
		t.Fatalf("first page = %+v", first)
	}
	next := must(f.svc.ListAccessKeys(f.ctx, &api.ListAccessKeysInput{UserName: s("u"), MaxItems: i32(1), Marker: first.Marker}))
	if len(next.AccessKeyMetadata) != 1 || *next.IsTruncated || *next.AccessKeyMetadata[0].AccessKeyId == *first.AccessKeyMetadata[0].AccessKeyId {
		t.Errorf("second page = %+v", next)
	}

	must(f.svc.DeleteAccessKey(f.ctx, &api.DeleteAccessKeyInput{UserName: s("u"), AccessKeyId: s(a)}))
	must(f.svc.DeleteAccessKey(f.ctx, &api.DeleteAccessKeyInput{UserName: s("u"), AccessKeyId: s(b)}))
	if got := f.akList("u"); len(got) != 0 {
		t.Errorf("keys after deleting both = %v", got)
	}
	// A deleted key is gone for every operation.
	_, err := f.svc.DeleteAccessKey(f.ctx, &api.DeleteAccessKeyInput{UserName: s("u"), AccessKeyId: s(a)})
	usrErr(t, err, "NoSuchEntity", http.StatusNotFound, "The Access Key with id "+a+" cannot be found.")
	_, err = f.svc.GetAccessKeyLastUsed(f.ctx, &api.GetAccessKeyLastUsedInput{AccessKeyId: s(a)})
	usrErr(t, err, "NoSuchEntity", http.StatusNotFound, "The Access Key with id "+a+" cannot be found.")
	if _, err := f.svc.GetUser(as(a), &api.GetUserInput{}); err != nil {
		t.Errorf("GetUser signed with a deleted key: %v", err)
	}
}

func TestAccessKeyErrors(t *testing.T) {
	f := newFixture(t)
	f.usrCreate("u")
	f.usrCreate("v")
	uKey := f.usrKey("u")
	unknown := "AKIAAAAAAAAAAAAAAAAA"
	tests := []struct {
		name   string
		err    error
		code   string
		status int
		msg    string
	}{
		{"update_key_of_another_user", second(f.svc.UpdateAccessKey(f.ctx, &api.UpdateAccessKeyInput{UserName: s("v"), AccessKeyId: s(uKey), Status: s("Inactive")})),
			"NoSuchEntity", http.StatusNotFound, "The Access Key with id " + uKey + " cannot be found."},
		{"delete_key_of_another_user", second(f.svc.DeleteAccessKey(f.ctx, &api.DeleteAccessKeyInput{UserName: s("v"), AccessKeyId: s(uKey)})),
			"NoSuchEntity", http.StatusNotFound, "The Access Key with id " + uKey + " cannot be found."},
		{"update_unknown_key", second(f.svc.UpdateAccessKey(f.ctx, &api.UpdateAccessKeyInput{UserName: s("u"), AccessKeyId: s(unknown), Status: s("Active")})),
			"NoSuchEntity", http.StatusNotFound, "The Access Key with id " + unknown + " cannot be found."},
		{"delete_unknown_key", second(f.svc.DeleteAccessKey(f.ctx, &api.DeleteAccessKeyInput{UserName: s("u"), AccessKeyId: s(unknown)})),
			"NoSuchEntity", http.StatusNotFound, "The Access Key with id " + unknown + " cannot be found."},
		{"update_for_missing_user", second(f.svc.UpdateAccessKey(f.ctx, &api.UpdateAccessKeyInput{UserName: s("ghost"), AccessKeyId: s(uKey), Status: s("Active")})),
			"NoSuchEntity", http.StatusNotFound, "The user with name ghost cannot be found."},
		{"delete_for_missing_user", second(f.svc.DeleteAccessKey(f.ctx, &api.DeleteAccessKeyInput{UserName: s("ghost"), AccessKeyId: s(uKey)})),
			"NoSuchEntity", http.StatusNotFound, "The user with name ghost cannot be found."},
		{"list_for_missing_user", second(f.svc.ListAccessKeys(f.ctx, &api.ListAccessKeysInput{UserName: s("ghost")})),
			"NoSuchEntity", http.StatusNotFound, "The user with name ghost cannot be found."},
		{"last_used_of_unknown_key", second(f.svc.GetAccessKeyLastUsed(f.ctx, &api.GetAccessKeyLastUsedInput{AccessKeyId: s(unknown)})),
			"NoSuchEntity", http.StatusNotFound, "The Access Key with id " + unknown + " cannot be found."},
		{"key_of_another_account", second(f.svc.DeleteAccessKey(usrInAccount("210987654321", "AKIDEXAMPLE"), &api.DeleteAccessKeyInput{AccessKeyId: s(uKey)})),
			"NoSuchEntity", http.StatusNotFound, "The Access Key with id " + uKey + " cannot be found."},
		{"last_used_from_another_account", second(f.svc.GetAccessKeyLastUsed(usrInAccount("210987654321", "AKIDEXAMPLE"), &api.GetAccessKeyLastUsedInput{AccessKeyId: s(uKey)})),
			"NoSuchEntity", http.StatusNotFound, "The Access Key with id " + uKey + " cannot be found."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			usrErr(t, tt.err, tt.code, tt.status, tt.msg)
		})
	}
	// None of the refused requests changed the key.
	if got := f.akList("u"); !slices.Equal(got, []string{uKey + ":Active:u"}) {
		t.Errorf("u's keys = %v", got)
	}
}

func TestGetAccessKeyLastUsed(t *testing.T) {
	f := newFixture(t)
	f.usrCreate("u")
	k := f.usrKey("u")
	// nephele does not track use, so every key answers as a never-used key
	// does in IAM: no date, and "N/A" for the region and service.
	out := must(f.svc.GetAccessKeyLastUsed(f.ctx, &api.GetAccessKeyLastUsedInput{AccessKeyId: s(k)}))
	if *out.UserName != "u" || out.AccessKeyLastUsed == nil {
		t.Fatalf("GetAccessKeyLastUsed = %+v", out)
	}
	last := out.AccessKeyLastUsed
	if last.LastUsedDate != nil || *last.Region != "N/A" || *last.ServiceName != "N/A" {
		t.Errorf("AccessKeyLastUsed = %+v", last)
	}
	// Any caller of the account may ask, without naming the user.
	if out := must(f.svc.GetAccessKeyLastUsed(as(k), &api.GetAccessKeyLastUsedInput{AccessKeyId: s(k)})); *out.UserName != "u" {
		t.Errorf("UserName = %s", *out.UserName)
	}
}
