package imds_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	sdkimds "github.com/aws/aws-sdk-go-v2/feature/ec2/imds"

	"github.com/nephele-dev/nephele/internal/imds"
)

func sdkClient(ep string) *sdkimds.Client {
	return sdkimds.New(sdkimds.Options{Endpoint: ep, ClientEnableState: sdkimds.ClientEnabled})
}

func TestGoSDK(t *testing.T) {
	for _, tokens := range []string{"optional", "required"} {
		t.Run("tokens_"+tokens, func(t *testing.T) {
			e := newEnv(t, 0)
			inst := testInstance("i-0000000000000000a", "127.0.42.20")
			inst.MetadataOptions.HTTPTokens = tokens
			c := sdkClient(e.add(t, inst, "127.0.42.20"))
			ctx := context.Background()

			if got := metadata(t, c, "instance-id"); got != inst.InstanceID {
				t.Errorf("instance-id = %q", got)
			}
			if got := metadata(t, c, "placement/availability-zone"); got != "us-east-1a" {
				t.Errorf("availability-zone = %q", got)
			}
			region, err := c.GetRegion(ctx, nil)
			if err != nil || region.Region != "us-east-1" {
				t.Errorf("GetRegion = %+v, %v", region, err)
			}
			ud, err := c.GetUserData(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := readClose(t, ud.Content); got != string(inst.UserData) {
				t.Errorf("user data = %q", got)
			}
			doc, err := c.GetInstanceIdentityDocument(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			d := doc.InstanceIdentityDocument
			if d.InstanceID != inst.InstanceID || d.AccountID != "000000000000" || d.Region != "us-east-1" ||
				d.AvailabilityZone != "us-east-1a" || d.PrivateIP != "127.0.42.20" || d.Version != "2017-09-30" ||
				d.ImageID != inst.ImageID || d.InstanceType != "t3.micro" || d.Architecture != "x86_64" ||
				!d.PendingTime.Equal(inst.LaunchTime) {
				t.Errorf("identity document %+v", d)
			}
			info, err := c.GetIAMInfo(ctx, nil)
			if err != nil || info.InstanceProfileArn != inst.IamInstanceProfile.Arn ||
				info.InstanceProfileID != inst.IamInstanceProfile.ID || info.Code != "Success" {
				t.Errorf("GetIAMInfo = %+v, %v", info, err)
			}

			creds, err := ec2rolecreds.New(func(o *ec2rolecreds.Options) { o.Client = c }).Retrieve(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if creds.AccessKeyID != "ASIAWEB-0001" || creds.SecretAccessKey != "secret-1" ||
				creds.SessionToken != "session-token-1" || !creds.Expires.Equal(start.Add(time.Hour)) {
				t.Errorf("ec2rolecreds = %+v", creds)
			}

			_, err = c.GetMetadata(ctx, &sdkimds.GetMetadataInput{Path: "no-such-thing"})
			var status interface{ HTTPStatusCode() int }
			if !errors.As(err, &status) || status.HTTPStatusCode() != 404 {
				t.Errorf("unknown path: %v, want a 404", err)
			}
		})
	}
}

// The SDK caches its token by the wall clock; when the simulated clock has
// expired it, the 401 makes the SDK fetch a new one and retry.
func TestGoSDKRenewsTokenExpiredOnTheClock(t *testing.T) {
	e := newEnv(t, 0)
	inst := testInstance("i-0000000000000000a", "127.0.42.21")
	inst.MetadataOptions.HTTPTokens = "required"
	c := sdkClient(e.add(t, inst, "127.0.42.21"))
	for i := range 2 {
		if got := metadata(t, c, "instance-id"); got != inst.InstanceID {
			t.Fatalf("request %d: instance-id = %q", i, got)
		}
		e.clk.Advance(7 * time.Hour) // past the longest token
	}
}

func TestGoSDKInstancesSeeTheirOwnData(t *testing.T) {
	port := freePort(t, "127.0.42.22")
	e := newEnv(t, port)
	ids := map[string]string{"127.0.42.22": "i-000000000000000aa", "127.0.42.23": "i-000000000000000bb"}
	for ip, id := range ids {
		inst := testInstance(id, ip)
		inst.IamInstanceProfile.RoleName = "role-" + id[len(id)-2:]
		c := sdkClient(e.add(t, inst, ip))
		doc, err := c.GetInstanceIdentityDocument(context.Background(), nil)
		if err != nil || doc.InstanceID != id || doc.PrivateIP != ip {
			t.Errorf("%s: identity document %+v, %v", ip, doc, err)
		}
		if got := metadata(t, c, "iam/security-credentials/"); got != inst.IamInstanceProfile.RoleName {
			t.Errorf("%s: role %q", ip, got)
		}
	}
}

// metadata gets one path with the SDK's GetMetadata.
func metadata(t *testing.T, c *sdkimds.Client, path string) string {
	t.Helper()
	out, err := c.GetMetadata(context.Background(), &sdkimds.GetMetadataInput{Path: path})
	if err != nil {
		t.Fatalf("GetMetadata %s: %v", path, err)
	}
	return readClose(t, out.Content)
}

func readClose(t *testing.T, rc io.ReadCloser) string {
	t.Helper()
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// botocoreScript fetches the region and the credentials the ways botocore
// does on an instance: the fetchers configured from the session (which
// reads AWS_EC2_METADATA_SERVICE_ENDPOINT), the InstanceMetadataProvider,
// and the session's whole credential chain.
const botocoreScript = `
import json, botocore.session
from botocore.utils import InstanceMetadataFetcher, InstanceMetadataRegionFetcher
from botocore.credentials import InstanceMetadataProvider
s = botocore.session.get_session()
cfg = {
    'ec2_metadata_service_endpoint': s.get_config_variable('ec2_metadata_service_endpoint'),
    'ec2_metadata_service_endpoint_mode': 'ipv4',
    'ec2_metadata_v1_disabled': s.get_config_variable('ec2_metadata_v1_disabled'),
}
def fetcher(cls):
    return cls(timeout=5, num_attempts=2, config=cfg)
out = {'endpoint': cfg['ec2_metadata_service_endpoint']}
out['region'] = fetcher(InstanceMetadataRegionFetcher).retrieve_region()
out['fetched'] = fetcher(InstanceMetadataFetcher).retrieve_iam_role_credentials()
p = InstanceMetadataProvider(iam_role_fetcher=fetcher(InstanceMetadataFetcher)).load()
f = p.get_frozen_credentials()
out['provider'] = {'method': p.method, 'access_key': f.access_key, 'secret_key': f.secret_key, 'token': f.token}
chain = s.get_credentials()
out['chain'] = chain.method if chain else None
print(json.dumps(out, default=str))
`

func TestBotocore(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is needed for the botocore test: %v", err)
	}
	for _, tokens := range []string{"optional", "required"} {
		t.Run("tokens_"+tokens, func(t *testing.T) {
			e := newEnv(t, 0)
			inst := testInstance("i-0000000000000000a", "127.0.42.24")
			inst.MetadataOptions.HTTPTokens = tokens
			ep := e.add(t, inst, "127.0.42.24")

			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, python, "-c", botocoreScript)
			dir := t.TempDir()
			cmd.Env = []string{
				"PATH=" + os.Getenv("PATH"),
				"HOME=" + dir,
				"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"),
				"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials"),
				"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + ep,
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("botocore: %v\n%s", err, stderr.String())
			}
			var got struct {
				Endpoint string
				Region   string
				Fetched  map[string]string
				Provider map[string]string
				Chain    string
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("botocore output %q: %v", out, err)
			}
			if got.Endpoint != ep || got.Region != "us-east-1" {
				t.Errorf("endpoint %q, region %q", got.Endpoint, got.Region)
			}
			if f := got.Fetched; f["role_name"] != "web-role" || f["access_key"] != "ASIAWEB-0001" ||
				f["secret_key"] != "secret-1" || f["token"] != "session-token-1" ||
				f["expiry_time"] != start.Add(time.Hour).Format("2006-01-02T15:04:05Z") {
				t.Errorf("InstanceMetadataFetcher: %v", f)
			}
			// The IMDS hands out the same credentials until they near expiry.
			if p := got.Provider; p["method"] != "iam-role" || p["access_key"] != "ASIAWEB-0001" || p["token"] != "session-token-1" {
				t.Errorf("InstanceMetadataProvider: %v", p)
			}
			if got.Chain != "iam-role" {
				t.Errorf("session credential chain ended at %q, want iam-role", got.Chain)
			}
			if n := e.creds.count(); n != 1 {
				t.Errorf("%d credentials issued, want 1", n)
			}
		})
	}
}

// verifySignatures checks the signature of doc against the server's
// certificate, and the PKCS #7 signatures with openssl as the user guide
// has users verify them.
func verifySignatures(t *testing.T, srv *imds.Server, ep string, doc []byte) {
	t.Helper()
	cert, err := srv.Certificate()
	if err != nil {
		t.Fatal(err)
	}
	r := do(t, "GET", ep+"latest/dynamic/instance-identity/signature", nil)
	sig, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(r.body, "\n", ""))
	if err != nil {
		t.Fatalf("signature %q: %v", r.body, err)
	}
	sum := sha256.Sum256(doc)
	if err := rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, sum[:], sig); err != nil {
		t.Errorf("signature does not verify: %v", err)
	}

	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Logf("openssl not found; PKCS #7 signatures not verified")
		return
	}
	dir := t.TempDir()
	certFile := filepath.Join(dir, "certificate")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600)
	for _, kind := range []string{"pkcs7", "rsa2048"} {
		r := do(t, "GET", ep+"latest/dynamic/instance-identity/"+kind, nil)
		file := filepath.Join(dir, kind)
		os.WriteFile(file, []byte("-----BEGIN PKCS7-----\n"+r.body+"\n-----END PKCS7-----\n"), 0o600)
		out, err := exec.Command(openssl, "smime", "-verify", "-in", file, "-inform", "PEM",
			"-certfile", certFile, "-noverify").CombinedOutput()
		if err != nil || !bytes.Contains(out, doc) {
			t.Errorf("openssl smime -verify of %s: %v\n%s", kind, err, out)
		}
	}
}
