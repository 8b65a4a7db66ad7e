package imds_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/imds"
)

// fakeSource is the EC2 service as the IMDS sees it.
type fakeSource struct {
	mu    sync.Mutex
	insts map[string]imds.Instance
}

func (f *fakeSource) Instance(id string) (imds.Instance, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	inst, ok := f.insts[id]
	return inst, ok
}

func (f *fakeSource) set(inst imds.Instance) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.insts == nil {
		f.insts = map[string]imds.Instance{}
	}
	f.insts[inst.InstanceID] = inst
}

// update changes a stored instance in place.
func (f *fakeSource) update(id string, change func(*imds.Instance)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	inst := f.insts[id]
	change(&inst)
	f.insts[id] = inst
}

// fakeCredentials issues numbered credentials valid for an hour on the
// clock, and counts the calls.
type fakeCredentials struct {
	clk   clock.Clock
	mu    sync.Mutex
	calls int
	err   error
}

func (f *fakeCredentials) issue(_ context.Context, inst imds.Instance) (imds.Credentials, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return imds.Credentials{}, f.err
	}
	return imds.Credentials{
		AccessKeyID:     fmt.Sprintf("ASIA%s%04d", strings.ToUpper(inst.IamInstanceProfile.RoleName[:4]), f.calls),
		SecretAccessKey: fmt.Sprintf("secret-%d", f.calls),
		Token:           fmt.Sprintf("session-token-%d", f.calls),
		Expiration:      f.clk.Now().Add(time.Hour),
	}, nil
}

func (f *fakeCredentials) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// start is the fake clock's start: now, to the second, so that clients
// comparing credential expiry with the wall clock see sensible times.
var start = time.Now().UTC().Truncate(time.Second)

type env struct {
	clk   *clock.Fake
	src   *fakeSource
	creds *fakeCredentials
	srv   *imds.Server
}

func newEnv(t *testing.T, port int) *env {
	t.Helper()
	clk := clock.NewFake(start)
	e := &env{clk: clk, src: &fakeSource{}, creds: &fakeCredentials{clk: clk}}
	e.srv = imds.New(imds.Config{Clock: clk, Source: e.src, Credentials: e.creds.issue, Port: port})
	t.Cleanup(func() { e.srv.Close() })
	return e
}

// add serves inst on ip and returns its endpoint.
func (e *env) add(t *testing.T, inst imds.Instance, ip string) string {
	t.Helper()
	e.src.set(inst)
	ep, err := e.srv.Add(inst.InstanceID, netip.MustParseAddr(ip))
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

// testInstance is an instance with every category filled in.
func testInstance(id, ip string) imds.Instance {
	return imds.Instance{
		InstanceID:         id,
		ImageID:            "ami-0abcdef1234567890",
		InstanceType:       "t3.micro",
		ReservationID:      "r-0efghijk987654321",
		AccountID:          "000000000000",
		Architecture:       "x86_64",
		LaunchTime:         start.Add(-time.Hour),
		Region:             "us-east-1",
		AvailabilityZone:   "us-east-1a",
		AvailabilityZoneID: "use1-az4",
		PrivateIPAddress:   ip,
		PrivateDNSName:     "ip-" + strings.ReplaceAll(ip, ".", "-") + ".ec2.internal",
		MACAddress:         "02:29:96:8f:6a:2d",
		NetworkInterfaceID: "eni-0f95d3625f5c521cc",
		SubnetID:           "subnet-be9b61d7",
		SubnetCIDRBlock:    "172.31.0.0/20",
		VpcID:              "vpc-d295a6a7",
		VpcCIDRBlock:       "172.31.0.0/16",
		SecurityGroups:     []imds.SecurityGroup{{GroupID: "sg-1", GroupName: "default"}, {GroupID: "sg-2", GroupName: "web"}},
		KeyName:            "my-public-key",
		PublicKey:          "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE my-public-key",
		BlockDeviceMapping: map[string]string{"ami": "/dev/xvda", "root": "/dev/xvda"},
		UserData:           []byte("#!/bin/sh\necho hello\n"),
		Tags:               map[string]string{"Name": "web-1", "Environment": "Dev"},
		IamInstanceProfile: &imds.IamInstanceProfile{
			Arn:      "arn:aws:iam::000000000000:instance-profile/web",
			ID:       "AIPAEXAMPLEPROFILE01",
			RoleName: "web-role",
		},
	}
}

type response struct {
	status int
	body   string
	header http.Header
}

// do sends one request on a fresh connection.
func do(t *testing.T, method, url string, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = []string{v}
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, string(body), resp.Header}
}

// token opens an IMDSv2 session.
func token(t *testing.T, ep string, ttl string) string {
	t.Helper()
	r := do(t, "PUT", ep+"latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": ttl})
	if r.status != 200 {
		t.Fatalf("PUT token: %d %s", r.status, r.body)
	}
	return r.body
}

// freePort finds a port free on ip, for tests that serve several
// instances on one port as cmd/nephele does.
func freePort(t *testing.T, ip string) int {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
