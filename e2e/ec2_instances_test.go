package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/nephele-dev/nephele/internal/server"
	"github.com/nephele-dev/nephele/internal/testenv"
)

// eventually retries check every 50 ms until it returns nil or 60 s have
// passed (a bounded wait for real processes; a stop may wait out the
// 30 s grace period), and fails with its last error.
func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	var err error
	for range 1200 {
		if err = check(); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: %v", what, err)
}

// instanceState waits until an instance is in state and returns it.
func instanceState(t *testing.T, c *ec2.Client, id, state string) ec2types.Instance {
	t.Helper()
	var inst ec2types.Instance
	eventually(t, id+" "+state, func() error {
		out, err := c.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
		if err != nil {
			return err
		}
		if len(out.Reservations) != 1 || len(out.Reservations[0].Instances) != 1 {
			return fmt.Errorf("reservations = %+v", out.Reservations)
		}
		inst = out.Reservations[0].Instances[0]
		if got := string(inst.State.Name); got != state {
			return fmt.Errorf("state %s", got)
		}
		return nil
	})
	return inst
}

// httpGet returns the body of a GET, or an error.
func httpGet(url string) (string, error) {
	client := http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// readPID reads a PID a user-data script wrote.
func readPID(t *testing.T, path string) int {
	t.Helper()
	var pid int
	eventually(t, "pid file "+path, func() error {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err
	})
	return pid
}

// TestEC2InstanceServesHTTP is the story of the EC2 issue: an instance's
// user-data asks its metadata service for its address and starts a web
// server there; the server answers on the instance's private IP; the
// console shows its log; stop and start keep the root volume's files;
// terminate leaves no process behind.
func TestEC2InstanceServesHTTP(t *testing.T) {
	env := testenv.Start(t, server.Config{})
	ctx := context.Background()
	c := ec2.NewFromConfig(env.AWSConfig())
	pids := t.TempDir()

	images, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{
		Owners:  []string{"amazon"},
		Filters: []ec2types.Filter{{Name: aws.String("name"), Values: []string{"al2023-ami-2023.*-x86_64"}}},
	})
	if err != nil || len(images.Images) == 0 {
		t.Fatalf("DescribeImages: %v, %d images", err, len(images.Images))
	}
	// The server starts on every boot, from a per-boot script the first
	// boot installs: cloud-init's way to run something on each start.
	userData := fmt.Sprintf(`#!/bin/sh
echo "first boot of $(curl -s -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' ${AWS_EC2_METADATA_SERVICE_ENDPOINT%%/}/latest/api/token >/dev/null && echo instance)"
mkdir -p www var/lib/cloud/scripts/per-boot
echo "hello from nephele" > www/index.html
cat > var/lib/cloud/scripts/per-boot/serve.sh <<'EOF'
#!/bin/sh
TOKEN=$(curl -s -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' ${AWS_EC2_METADATA_SERVICE_ENDPOINT%%/}/latest/api/token)
IP=$(curl -s -H "X-aws-ec2-metadata-token: $TOKEN" ${AWS_EC2_METADATA_SERVICE_ENDPOINT%%/}/latest/meta-data/local-ipv4)
cd www && python3 -u -m http.server 8080 --bind "$IP" &
echo $! > %s/server.pid
EOF
chmod +x var/lib/cloud/scripts/per-boot/serve.sh
./var/lib/cloud/scripts/per-boot/serve.sh
`, pids)
	run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: images.Images[0].ImageId, InstanceType: ec2types.InstanceTypeT3Micro, MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		UserData: aws.String(base64.StdEncoding.EncodeToString([]byte(userData))),
	})
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	id := aws.ToString(run.Instances[0].InstanceId)
	if run.Instances[0].State.Name != ec2types.InstanceStateNamePending {
		t.Errorf("RunInstances state = %s, want pending", run.Instances[0].State.Name)
	}
	inst := instanceState(t, c, id, "running")
	ip := aws.ToString(inst.PrivateIpAddress)
	if !strings.HasPrefix(ip, "127.") {
		t.Fatalf("PrivateIpAddress = %s, want a loopback address", ip)
	}
	url := "http://" + ip + ":8080/index.html"
	eventually(t, "GET "+url, func() error {
		body, err := httpGet(url)
		if err == nil && body != "hello from nephele\n" {
			err = fmt.Errorf("body %q", body)
		}
		return err
	})
	eventually(t, "console output", func() error {
		out, err := c.GetConsoleOutput(ctx, &ec2.GetConsoleOutputInput{InstanceId: aws.String(id)})
		if err != nil {
			return err
		}
		text, _ := base64.StdEncoding.DecodeString(aws.ToString(out.Output))
		if !strings.Contains(string(text), "first boot of instance") || !strings.Contains(string(text), "GET /index.html") {
			return fmt.Errorf("console = %q", text)
		}
		return nil
	})
	firstServer := readPID(t, filepath.Join(pids, "server.pid"))

	if _, err := c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	instanceState(t, c, id, "stopped")
	if testenv.Alive(firstServer) {
		t.Errorf("server process %d outlived the stop", firstServer)
	}
	if _, err := httpGet(url); err == nil {
		t.Errorf("a stopped instance still serves %s", url)
	}
	os.Remove(filepath.Join(pids, "server.pid"))

	if _, err := c.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	instanceState(t, c, id, "running")
	// www/index.html was written on the first boot only: it survived the
	// stop on the root volume.
	eventually(t, "GET after start", func() error {
		body, err := httpGet(url)
		if err == nil && body != "hello from nephele\n" {
			err = fmt.Errorf("body %q", body)
		}
		return err
	})
	secondServer := readPID(t, filepath.Join(pids, "server.pid"))

	if _, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	instanceState(t, c, id, "terminated")
	if testenv.Alive(secondServer) {
		t.Errorf("server process %d outlived the termination", secondServer)
	}
}

// TestEC2InstanceErrors checks the errors a bad launch gets, and that none
// changes anything.
func TestEC2InstanceErrors(t *testing.T) {
	env := testenv.Start(t, server.Config{})
	ctx := context.Background()
	c := ec2.NewFromConfig(env.AWSConfig())
	images, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"}, Filters: []ec2types.Filter{{Name: aws.String("architecture"), Values: []string{"x86_64"}}}})
	if err != nil || len(images.Images) == 0 {
		t.Fatalf("DescribeImages: %v", err)
	}
	ami := images.Images[0].ImageId
	one := aws.Int32(1)
	tests := []struct {
		name string
		in   ec2.RunInstancesInput
		code string
	}{
		{"unknown_ami", ec2.RunInstancesInput{ImageId: aws.String("ami-0123456789abcdef0"), MinCount: one, MaxCount: one}, "InvalidAMIID.NotFound"},
		{"malformed_ami", ec2.RunInstancesInput{ImageId: aws.String("image-1"), MinCount: one, MaxCount: one}, "InvalidAMIID.Malformed"},
		{"unknown_type", ec2.RunInstancesInput{ImageId: ami, InstanceType: "t9.huge", MinCount: one, MaxCount: one}, "InvalidParameterValue"},
		{"min_above_max", ec2.RunInstancesInput{ImageId: ami, MinCount: aws.Int32(3), MaxCount: aws.Int32(2)}, "InvalidParameterValue"},
		{"unknown_subnet", ec2.RunInstancesInput{ImageId: ami, SubnetId: aws.String("subnet-0123456789abcdef0"), MinCount: one, MaxCount: one}, "InvalidSubnetID.NotFound"},
		{"user_data_not_base64", ec2.RunInstancesInput{ImageId: ami, UserData: aws.String("#!/bin/sh"), MinCount: one, MaxCount: one}, "InvalidParameterValue"},
		{"user_data_too_big", ec2.RunInstancesInput{ImageId: ami, UserData: aws.String(base64.StdEncoding.EncodeToString(make([]byte, 16<<10+1))), MinCount: one, MaxCount: one}, "InvalidParameterValue"},
		{"unknown_key", ec2.RunInstancesInput{ImageId: ami, KeyName: aws.String("nokey"), MinCount: one, MaxCount: one}, "InvalidKeyPair.NotFound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			if in.InstanceType == "" {
				in.InstanceType = ec2types.InstanceTypeT3Micro
			}
			if _, err := c.RunInstances(ctx, &in); apiCode(err) != tt.code {
				t.Errorf("err = %v, want %s", err, tt.code)
			}
		})
	}
	out, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	if err != nil || len(out.Reservations) != 0 {
		t.Errorf("after failed launches: %+v, %v; want no instances", out, err)
	}

	run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: ami, InstanceType: ec2types.InstanceTypeT3Micro, MinCount: one, MaxCount: one, DisableApiTermination: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(run.Instances[0].InstanceId)
	if _, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}}); apiCode(err) != "OperationNotPermitted" {
		t.Errorf("terminating a protected instance: %v", err)
	}
	instanceState(t, c, id, "running")
	if _, err := c.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id, "i-0123456789abcdef0"}}); apiCode(err) != "InvalidInstanceID.NotFound" {
		t.Errorf("starting a missing instance: %v", err)
	}
}

// TestEC2InstanceSurvivesRestart kills nephele with SIGKILL while an
// instance serves HTTP, restarts it on the same --data-dir, and finds the
// instance running again: its processes from before are gone, and it
// booted again (per-boot scripts only), serving the same files.
func TestEC2InstanceSurvivesRestart(t *testing.T) {
	dir, pids := t.TempDir(), t.TempDir()
	ctx := context.Background()
	p := testenv.StartProcess(t, "--data-dir", dir, "--imds-port", "0")
	c := ec2.NewFromConfig(p.AWSConfig())
	images, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"},
		Filters: []ec2types.Filter{{Name: aws.String("name"), Values: []string{"al2023-ami-2023.*-x86_64"}}}})
	if err != nil || len(images.Images) == 0 {
		t.Fatalf("DescribeImages: %v", err)
	}
	userData := fmt.Sprintf(`#!/bin/sh
mkdir -p www var/lib/cloud/scripts/per-boot
echo "still here" > www/index.html
cat > var/lib/cloud/scripts/per-boot/serve.sh <<'END'
#!/bin/sh
IP=$(curl -s -H "X-aws-ec2-metadata-token: $(curl -s -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' ${AWS_EC2_METADATA_SERVICE_ENDPOINT%%/}/latest/api/token)" ${AWS_EC2_METADATA_SERVICE_ENDPOINT%%/}/latest/meta-data/local-ipv4)
cd www && python3 -m http.server 8080 --bind "$IP" &
echo $! > %s/server.pid
END
chmod +x var/lib/cloud/scripts/per-boot/serve.sh
./var/lib/cloud/scripts/per-boot/serve.sh
`, pids)
	run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: images.Images[0].ImageId, InstanceType: ec2types.InstanceTypeT3Micro,
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1), UserData: aws.String(base64.StdEncoding.EncodeToString([]byte(userData)))})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(run.Instances[0].InstanceId)
	ip := aws.ToString(instanceState(t, c, id, "running").PrivateIpAddress)
	url := "http://" + ip + ":8080/index.html"
	serving := func() error {
		body, err := httpGet(url)
		if err == nil && body != "still here\n" {
			err = fmt.Errorf("body %q", body)
		}
		return err
	}
	eventually(t, "GET before the restart", serving)
	before := readPID(t, filepath.Join(pids, "server.pid"))
	os.Remove(filepath.Join(pids, "server.pid"))

	p.Signal(t, syscall.SIGKILL)
	p2 := testenv.StartProcess(t, "--data-dir", dir, "--imds-port", "0")
	c = ec2.NewFromConfig(p2.AWSConfig())
	t.Cleanup(func() {
		c.TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
	})
	eventually(t, "the end of the server from before the restart", func() error {
		if testenv.Alive(before) {
			return fmt.Errorf("pid %d still runs", before)
		}
		return nil
	})
	instanceState(t, c, id, "running")
	after := readPID(t, filepath.Join(pids, "server.pid"))
	if after == before {
		t.Errorf("the server did not start again (pid %d)", after)
	}
	eventually(t, "GET after the restart", serving)
	if _, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	instanceState(t, c, id, "terminated")
	if testenv.Alive(after) {
		t.Errorf("server %d outlived the termination", after)
	}
}

// TestEC2GoSDKInsideInstance runs a Go program that uses the Go SDK's own
// IMDS client as an instance's user-data: it reads the instance's ID and
// region from the metadata service, tokens and all, unchanged.
func TestEC2GoSDKInsideInstance(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "imdsclient")
	build := exec.Command("go", "build", "-o", bin, "./e2e/testdata/imdsclient")
	build.Dir = testenv.RepoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	env := testenv.Start(t, server.Config{})
	ctx := context.Background()
	c := ec2.NewFromConfig(env.AWSConfig(), func(o *ec2.Options) { o.Region = "eu-west-1" })
	images, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"},
		Filters: []ec2types.Filter{{Name: aws.String("name"), Values: []string{"al2023-ami-2023.*-x86_64"}}}})
	if err != nil || len(images.Images) == 0 {
		t.Fatalf("DescribeImages: %v", err)
	}
	run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: images.Images[0].ImageId, InstanceType: ec2types.InstanceTypeT3Micro,
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1), UserData: aws.String(base64.StdEncoding.EncodeToString([]byte("#!/bin/sh\n" + bin + "\n")))})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(run.Instances[0].InstanceId)
	t.Cleanup(func() {
		c.TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
		instanceState(t, c, id, "terminated")
	})
	want := "imdsclient instance=" + id + " region=eu-west-1"
	eventually(t, "the Go SDK's answer in the console", func() error {
		out, err := c.GetConsoleOutput(ctx, &ec2.GetConsoleOutputInput{InstanceId: aws.String(id)})
		if err != nil {
			return err
		}
		text, _ := base64.StdEncoding.DecodeString(aws.ToString(out.Output))
		if !strings.Contains(string(text), want) {
			return fmt.Errorf("console = %q, want %q", text, want)
		}
		return nil
	})
}
