package ec2

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/store"
)

func TestCreateKeyPairRSA(t *testing.T) {
	f := newNetFixture(t)
	out, err := f.svc.CreateKeyPair(f.ctx, &api.CreateKeyPairInput{KeyName: ptr("deployer"),
		TagSpecifications: []api.TagSpecification{{ResourceType: ptr("key-pair"), Tags: []api.Tag{{Key: ptr("env"), Value: ptr("dev")}}}}})
	f.must(err)
	block, _ := pem.Decode([]byte(str(out.KeyMaterial)))
	if block == nil || block.Type != "RSA PRIVATE KEY" {
		t.Fatalf("KeyMaterial = %q, want a PKCS#1 PEM", str(out.KeyMaterial))
	}
	priv, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	f.must(err)
	if priv.N.BitLen() != 2048 || !strings.HasPrefix(str(out.KeyPairId), "key-") || len(out.Tags) != 1 {
		t.Fatalf("CreateKeyPair = %+v (%d bits)", out, priv.N.BitLen())
	}
	// EC2: the SHA-1 of the DER PKCS#8 private key.
	pkcs8, err := x509.MarshalPKCS8PrivateKey(priv)
	f.must(err)
	sum := sha1.Sum(pkcs8)
	if want := colonHex(sum[:]); str(out.KeyFingerprint) != want {
		t.Errorf("fingerprint = %s, want %s", str(out.KeyFingerprint), want)
	}

	desc, err := f.svc.DescribeKeyPairs(f.ctx, &api.DescribeKeyPairsInput{KeyNames: []string{"deployer"}})
	f.must(err)
	k := desc.KeyPairs[0]
	if k.PublicKey != nil || str(k.KeyType) != "rsa" || k.CreateTime == nil || str(k.KeyFingerprint) != str(out.KeyFingerprint) || len(k.Tags) != 1 {
		t.Fatalf("DescribeKeyPairs = %+v", k)
	}
	withKey, err := f.svc.DescribeKeyPairs(f.ctx, &api.DescribeKeyPairsInput{KeyPairIds: []string{str(out.KeyPairId)}, IncludePublicKey: ptr(true)})
	f.must(err)
	if want := authorizedKey(rsaPublicBlob(&priv.PublicKey), "deployer"); str(withKey.KeyPairs[0].PublicKey) != want {
		t.Errorf("PublicKey = %q, want %q", str(withKey.KeyPairs[0].PublicKey), want)
	}

	_, err = f.svc.CreateKeyPair(f.ctx, &api.CreateKeyPairInput{KeyName: ptr("deployer")})
	f.wantCode(err, "InvalidKeyPair.Duplicate")
	_, err = f.svc.CreateKeyPair(f.ctx, &api.CreateKeyPairInput{KeyName: ptr("clé")})
	f.wantCode(err, "InvalidParameterValue")
	_, err = f.svc.CreateKeyPair(f.ctx, &api.CreateKeyPairInput{KeyName: ptr("x"), TagSpecifications: []api.TagSpecification{{ResourceType: ptr("vpc")}}})
	f.wantCode(err, "InvalidParameterValue")
}

// TestCreateKeyPairED25519 checks the OpenSSH private key with ssh-keygen
// when it is installed: the public key it derives must be the one kept.
func TestCreateKeyPairED25519(t *testing.T) {
	f := newNetFixture(t)
	out, err := f.svc.CreateKeyPair(f.ctx, &api.CreateKeyPairInput{KeyName: ptr("ed"), KeyType: ptr("ed25519")})
	f.must(err)
	if !strings.HasPrefix(str(out.KeyMaterial), "-----BEGIN OPENSSH PRIVATE KEY-----") {
		t.Fatalf("KeyMaterial = %q", str(out.KeyMaterial))
	}
	desc, err := f.svc.DescribeKeyPairs(f.ctx, &api.DescribeKeyPairsInput{KeyNames: []string{"ed"}, IncludePublicKey: ptr(true)})
	f.must(err)
	k := desc.KeyPairs[0]
	fields := strings.Fields(str(k.PublicKey))
	blob, err := base64.StdEncoding.DecodeString(fields[1])
	f.must(err)
	if fields[0] != "ssh-ed25519" || str(k.KeyType) != "ed25519" || str(k.KeyFingerprint) != sha256Fingerprint(blob) || !strings.HasSuffix(str(k.KeyFingerprint), "=") {
		t.Fatalf("key pair = %+v", k)
	}
	keygen, err := exec.LookPath("ssh-keygen")
	if err != nil {
		t.Skip("ssh-keygen is not installed")
	}
	path := filepath.Join(t.TempDir(), "ed")
	f.must(os.WriteFile(path, []byte(str(out.KeyMaterial)), 0o600))
	derived, err := exec.Command(keygen, "-y", "-f", path).Output()
	f.must(err)
	if got := strings.Fields(string(derived)); got[0] != fields[0] || got[1] != fields[1] {
		t.Fatalf("ssh-keygen -y = %q, want %q", derived, str(k.PublicKey))
	}
	// ssh-keygen prints the same SHA-256 fingerprint, unpadded.
	fp, err := exec.Command(keygen, "-l", "-E", "sha256", "-f", path).Output()
	f.must(err)
	if !strings.Contains(string(fp), "SHA256:"+strings.TrimRight(str(k.KeyFingerprint), "=")) {
		t.Errorf("ssh-keygen -l = %q, fingerprint %s", fp, str(k.KeyFingerprint))
	}
}

func TestCreateKeyPairPPK(t *testing.T) {
	f := newNetFixture(t)
	for _, keyType := range []string{"rsa", "ed25519"} {
		out, err := f.svc.CreateKeyPair(f.ctx, &api.CreateKeyPairInput{KeyName: ptr("putty-" + keyType), KeyType: ptr(keyType), KeyFormat: ptr("ppk")})
		f.must(err)
		text := str(out.KeyMaterial)
		lines := strings.Split(strings.TrimSpace(text), "\n")
		if !strings.HasPrefix(lines[0], "PuTTY-User-Key-File-2: ssh-") || lines[1] != "Encryption: none" || lines[2] != "Comment: putty-"+keyType {
			t.Fatalf("%s ppk = %q", keyType, text)
		}
		// Recompute the MAC from the file's own blobs.
		section := func(label string) []byte {
			for i, l := range lines {
				if n, ok := strings.CutPrefix(l, label+"-Lines: "); ok {
					count := 0
					for _, c := range n {
						count = count*10 + int(c-'0')
					}
					b, err := base64.StdEncoding.DecodeString(strings.Join(lines[i+1:i+1+count], ""))
					f.must(err)
					return b
				}
			}
			t.Fatalf("no %s lines in %q", label, text)
			return nil
		}
		alg := strings.TrimPrefix(lines[0], "PuTTY-User-Key-File-2: ")
		macKey := sha1.Sum([]byte("putty-private-key-file-mac-key"))
		mac := hmac.New(sha1.New, macKey[:])
		for _, part := range [][]byte{[]byte(alg), []byte("none"), []byte("putty-" + keyType), section("Public"), section("Private")} {
			mac.Write(sshString(part))
		}
		if want := "Private-MAC: " + hex.EncodeToString(mac.Sum(nil)); lines[len(lines)-1] != want {
			t.Errorf("%s: %s, want %s", keyType, lines[len(lines)-1], want)
		}
	}
}

func TestImportKeyPair(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	md5sum := md5.Sum(spki)
	rsaFingerprint := colonHex(md5sum[:])
	rsaLine := authorizedKey(rsaPublicBlob(&rsaKey.PublicKey), "me@host")
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edBlob := ed25519PublicBlob(edPub)
	b64 := base64.StdEncoding.EncodeToString(rsaPublicBlob(&rsaKey.PublicKey))
	var rfc4716 strings.Builder
	rfc4716.WriteString("---- BEGIN SSH2 PUBLIC KEY ----\nComment: \"2048-bit RSA, converted by me@host from \\\n OpenSSH\"\n")
	for len(b64) > 70 {
		rfc4716.WriteString(b64[:70] + "\n")
		b64 = b64[70:]
	}
	rfc4716.WriteString(b64 + "\n---- END SSH2 PUBLIC KEY ----\n")

	tests := []struct {
		name, material, keyType, fingerprint string
	}{
		{"openssh_rsa", rsaLine + "\n", "rsa", rsaFingerprint},
		{"rfc4716_rsa", rfc4716.String(), "rsa", rsaFingerprint},
		{"pem_spki", string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki})), "rsa", rsaFingerprint},
		{"pem_pkcs1", string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)})), "rsa", rsaFingerprint},
		{"base64_der", base64.StdEncoding.EncodeToString(spki), "rsa", rsaFingerprint},
		{"raw_der", string(spki), "rsa", rsaFingerprint},
		{"openssh_ed25519", authorizedKey(edBlob, "me@host"), "ed25519", sha256Fingerprint(edBlob)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newNetFixture(t)
			out, err := f.svc.ImportKeyPair(f.ctx, &api.ImportKeyPairInput{KeyName: ptr("imported"), PublicKeyMaterial: []byte(tt.material)})
			f.must(err)
			if str(out.KeyFingerprint) != tt.fingerprint || !strings.HasPrefix(str(out.KeyPairId), "key-") {
				t.Fatalf("ImportKeyPair = %+v, want fingerprint %s", out, tt.fingerprint)
			}
			desc, err := f.svc.DescribeKeyPairs(f.ctx, &api.DescribeKeyPairsInput{Filters: []api.Filter{{Name: ptr("fingerprint"), Values: []string{tt.fingerprint}}}, IncludePublicKey: ptr(true)})
			f.must(err)
			if len(desc.KeyPairs) != 1 || str(desc.KeyPairs[0].KeyType) != tt.keyType || !strings.HasSuffix(str(desc.KeyPairs[0].PublicKey), " imported") {
				t.Fatalf("DescribeKeyPairs = %+v", desc.KeyPairs)
			}
			_, err = f.svc.ImportKeyPair(f.ctx, &api.ImportKeyPairInput{KeyName: ptr("imported"), PublicKeyMaterial: []byte(tt.material)})
			f.wantCode(err, "InvalidKeyPair.Duplicate")
		})
	}

	// A 768-bit modulus: Go refuses to generate such keys, but only the
	// public half matters here.
	small := &rsa.PublicKey{N: new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), 767), big.NewInt(1)), E: 65537}
	bad := []struct {
		name, material, code string
	}{
		{"garbage", "not a key", "InvalidKey.Format"},
		{"ecdsa", "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEmKSENjQEezOmxkZMy7opKgwFB9nkt5YRrYMjNuG5N87uRgg6CLrbo5wAdT/y6v0mKV0U2w0WZ2YB/++Tpockg= me@host", "InvalidKey.Format"},
		{"type_mismatch", "ssh-ed25519 " + strings.Fields(rsaLine)[1], "InvalidKey.Format"},
		{"truncated", "ssh-rsa " + strings.Fields(rsaLine)[1][:40], "InvalidKey.Format"},
		{"short_rsa", authorizedKey(rsaPublicBlob(small), ""), "InvalidParameterValue"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			f := newNetFixture(t)
			_, err := f.svc.ImportKeyPair(f.ctx, &api.ImportKeyPairInput{KeyName: ptr("k"), PublicKeyMaterial: []byte(tt.material)})
			f.wantCode(err, tt.code)
		})
	}
}

func TestDescribeAndDeleteKeyPairs(t *testing.T) {
	f := newNetFixture(t)
	a, err := f.svc.CreateKeyPair(f.ctx, &api.CreateKeyPairInput{KeyName: ptr("a")})
	f.must(err)
	_, err = f.svc.CreateKeyPair(f.ctx, &api.CreateKeyPairInput{KeyName: ptr("b"), KeyType: ptr("ed25519")})
	f.must(err)

	_, err = f.svc.DescribeKeyPairs(f.ctx, &api.DescribeKeyPairsInput{KeyNames: []string{"a", "missing"}})
	f.wantCode(err, "InvalidKeyPair.NotFound")
	_, err = f.svc.DescribeKeyPairs(f.ctx, &api.DescribeKeyPairsInput{KeyPairIds: []string{"key-0123456789abcdef0"}})
	f.wantCode(err, "InvalidKeyPair.NotFound")
	for _, tt := range []struct {
		filter, value string
		want          int
	}{
		{"key-name", "*", 2}, {"key-name", "a", 1}, {"key-pair-id", str(a.KeyPairId), 1}, {"key-type", "ed25519", 1},
	} {
		out, err := f.svc.DescribeKeyPairs(f.ctx, &api.DescribeKeyPairsInput{Filters: []api.Filter{{Name: ptr(tt.filter), Values: []string{tt.value}}}})
		f.must(err)
		if len(out.KeyPairs) != tt.want {
			t.Errorf("filter %s=%s found %d", tt.filter, tt.value, len(out.KeyPairs))
		}
	}

	_, err = f.svc.DeleteKeyPair(f.ctx, &api.DeleteKeyPairInput{})
	f.wantCode(err, "MissingParameter")
	out, err := f.svc.DeleteKeyPair(f.ctx, &api.DeleteKeyPairInput{KeyName: ptr("a")})
	f.must(err)
	if !boolean(out.Return) || str(out.KeyPairId) != str(a.KeyPairId) {
		t.Errorf("DeleteKeyPair = %+v", out)
	}
	// Deleting what does not exist succeeds, as in EC2.
	for _, in := range []api.DeleteKeyPairInput{{KeyName: ptr("a")}, {KeyPairId: ptr("key-0123456789abcdef0")}} {
		out, err := f.svc.DeleteKeyPair(f.ctx, &in)
		f.must(err)
		if !boolean(out.Return) || out.KeyPairId != nil {
			t.Errorf("DeleteKeyPair of a missing pair = %+v", out)
		}
	}
	rest, err := f.svc.DescribeKeyPairs(f.ctx, &api.DescribeKeyPairsInput{})
	f.must(err)
	if len(rest.KeyPairs) != 1 || str(rest.KeyPairs[0].KeyName) != "b" {
		t.Fatalf("left = %+v", rest.KeyPairs)
	}
	_, err = f.svc.DeleteKeyPair(f.ctx, &api.DeleteKeyPairInput{KeyPairId: rest.KeyPairs[0].KeyPairId})
	f.must(err)
	f.must(f.st.View(func(tx store.Tx) error {
		_, err := loadKeyPairByName(tx, f.sc, "b")
		f.wantCode(err, "InvalidKeyPair.NotFound")
		return nil
	}))
}
