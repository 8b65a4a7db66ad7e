package awsid

import (
	"encoding/base64"
	"regexp"
	"strings"
	"testing"
)

func TestFormats(t *testing.T) {
	tests := []struct {
		name string
		gen  func() string
		re   string
	}{
		{"ec2_instance_id_is_i_dash_17_hex", func() string { return New("i") }, `^i-[0-9a-f]{17}$`},
		{"ec2_subnet_id_keeps_long_prefix", func() string { return New("subnet") }, `^subnet-[0-9a-f]{17}$`},
		{"ec2_image_id_is_ami_dash_17_hex", func() string { return New("ami") }, `^ami-[0-9a-f]{17}$`},
		{"iam_role_id_is_21_upper_alnum", func() string { return IAM("AROA") }, `^AROA[A-Z0-9]{17}$`},
		{"iam_user_id_is_21_upper_alnum", func() string { return IAM("AIDA") }, `^AIDA[A-Z0-9]{17}$`},
		{"long_term_access_key_starts_AKIA", func() string { return AccessKeyID(false) }, `^AKIA[A-Z0-9]{16}$`},
		{"temporary_access_key_starts_ASIA", func() string { return AccessKeyID(true) }, `^ASIA[A-Z0-9]{16}$`},
		{"secret_key_is_40_base64_chars", SecretAccessKey, `^[A-Za-z0-9/+]{40}$`},
		{"session_token_has_sts_prefix_and_length", SessionToken, `^FwoGZXIvYXdzE[A-Za-z0-9/+]{343}$`},
		{"request_id_is_uuid_v4", RequestID, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			re := regexp.MustCompile(tt.re)
			for range 200 {
				if got := tt.gen(); !re.MatchString(got) {
					t.Fatalf("got %q, want match for %s", got, tt.re)
				}
			}
		})
	}
}

func TestSessionTokenDecodesAsBase64(t *testing.T) {
	tok := SessionToken()
	if len(tok) != SessionTokenLen {
		t.Fatalf("len = %d, want %d", len(tok), SessionTokenLen)
	}
	if _, err := base64.StdEncoding.DecodeString(tok); err != nil {
		t.Fatalf("token does not decode: %v", err)
	}
}

func TestUnique(t *testing.T) {
	tests := []struct {
		name string
		gen  func() string
	}{
		{"ec2_ids", func() string { return New("i") }},
		{"iam_ids", func() string { return IAM("AROA") }},
		{"access_key_ids", func() string { return AccessKeyID(false) }},
		{"secret_keys", SecretAccessKey},
		{"session_tokens", SessionToken},
		{"request_ids", RequestID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen := make(map[string]bool, 10000)
			for range 10000 {
				id := tt.gen()
				if seen[id] {
					t.Fatalf("duplicate %q", id)
				}
				seen[id] = true
			}
		})
	}
}

// TestChooseUsesWholeAlphabet guards against an off-by-one in the rejection
// sampling that would leave a character out.
func TestChooseUsesWholeAlphabet(t *testing.T) {
	for _, alphabet := range []string{upperDigits, secretChars} {
		s := choose(alphabet, 20000)
		for _, c := range alphabet {
			if !strings.ContainsRune(s, c) {
				t.Errorf("alphabet %q: %q never drawn in 20000 draws", alphabet, c)
			}
		}
	}
}

func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		New("i")
	}
}
