package protocol

import (
	"net/http/httptest"
	"testing"
	"time"
)

func TestCredentialScope(t *testing.T) {
	cases := []struct {
		name, auth, url string
		want            Scope
		ok              bool
	}{
		{"header", "AWS4-HMAC-SHA256 Credential=AKID/20261123/eu-west-1/ec2/aws4_request, SignedHeaders=host, Signature=x", "/", Scope{"AKID", "20261123", "eu-west-1", "ec2"}, true},
		{"header without spaces", "AWS4-HMAC-SHA256 Credential=AKID/20261123/us-east-1/sts/aws4_request,SignedHeaders=host,Signature=x", "/", Scope{"AKID", "20261123", "us-east-1", "sts"}, true},
		{"presigned", "", "/?X-Amz-Credential=AKID%2F20261123%2Fus-west-2%2Flambda%2Faws4_request", Scope{"AKID", "20261123", "us-west-2", "lambda"}, true},
		{"sigv2 is not a scope", "AWS AKID:signature", "/", Scope{}, false},
		{"truncated credential", "AWS4-HMAC-SHA256 Credential=AKID/20261123/us-east-1", "/", Scope{}, false},
		{"no auth", "", "/", Scope{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tc.url, nil)
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			got, ok := CredentialScope(r)
			if got != tc.want || ok != tc.ok {
				t.Errorf("got %+v %v, want %+v %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	want := time.Date(2026, 11, 23, 8, 30, 15, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2026-11-23T08:30:15Z", want, true},
		{"2026-11-23T08:30:15.000Z", want, true},
		{"2026-11-23T10:30:15+02:00", want, true},
		{"2026-11-23T08:30:15", want, true},
		{"1795422615", want, true},
		{"1795422615.5", want.Add(500 * time.Millisecond), true},
		{"2026-11-23", time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), true},
		{"yesterday", time.Time{}, false},
		{"NaN", time.Time{}, false},
	}
	for _, tc := range cases {
		got, ok := ParseTime(tc.in)
		if ok != tc.ok || !got.Equal(tc.want) {
			t.Errorf("ParseTime(%q) = %v %v, want %v %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	if s := ISO8601(want.Add(250 * time.Millisecond)); s != "2026-11-23T08:30:15.250Z" {
		t.Errorf("ISO8601 = %s", s)
	}
	if f := EpochSeconds(want.Add(250 * time.Millisecond)); f != 1795422615.25 {
		t.Errorf("EpochSeconds = %v", f)
	}
}
