package e2e

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/nephele-dev/nephele/internal/server"
	"github.com/nephele-dev/nephele/internal/testenv"
)

// sshPublicKey returns a fresh ed25519 public key in OpenSSH's one-line
// format, as aws_key_pair takes it.
func sshPublicKey(t *testing.T) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var wire []byte
	for _, field := range [][]byte{[]byte("ssh-ed25519"), pub} {
		wire = binary.BigEndian.AppendUint32(wire, uint32(len(field)))
		wire = append(wire, field...)
	}
	return "ssh-ed25519 " + base64.StdEncoding.EncodeToString(wire) + " deployer@nephele"
}

// TestTerraformEC2Stack applies the stack the EC2 issue names with the
// hashicorp/aws provider: the newest Amazon Linux AMI, a key pair, a
// security group, a launch template and an instance whose user_data serves
// HTTP. The instance serves, a second plan sees no drift, and destroy
// leaves no instance and no process behind.
func TestTerraformEC2Stack(t *testing.T) {
	t.Parallel()
	env := testenv.Start(t, server.Config{})
	pids := t.TempDir()
	tf := env.NewTerraform(t, fmt.Sprintf(`
data "aws_ami" "al2023" {
  most_recent = true
  owners      = ["amazon"]
  filter {
    name   = "name"
    values = ["al2023-ami-2023.*-x86_64"]
  }
}

resource "aws_key_pair" "deployer" {
  key_name   = "deployer"
  public_key = %q
}

resource "aws_security_group" "web" {
  name        = "web"
  description = "HTTP in"
  ingress {
    from_port   = 8080
    to_port     = 8080
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_launch_template" "web" {
  name_prefix            = "web-"
  image_id               = data.aws_ami.al2023.id
  instance_type          = "t3.micro"
  key_name               = aws_key_pair.deployer.key_name
  vpc_security_group_ids = [aws_security_group.web.id]
  metadata_options {
    http_tokens = "optional"
  }
}

resource "aws_instance" "web" {
  launch_template {
    id      = aws_launch_template.web.id
    version = "$Latest"
  }
  user_data = <<-EOF
    #!/bin/sh
    IP=$(curl -s $${AWS_EC2_METADATA_SERVICE_ENDPOINT%%/}/latest/meta-data/local-ipv4)
    mkdir -p www && echo "terraform made me" > www/index.html
    cd www && python3 -m http.server 8080 --bind "$IP" &
    echo $! > %s
  EOF
  tags = {
    Name = "web"
  }
}

output "ami" { value = data.aws_ami.al2023.id }
output "private_ip" { value = aws_instance.web.private_ip }
output "instance_id" { value = aws_instance.web.id }
`, sshPublicKey(t), filepath.Join(pids, "server.pid")))

	tf.Run(t, "apply", "-auto-approve", "-input=false", "-no-color")
	var outputs map[string]struct{ Value string }
	if err := json.Unmarshal([]byte(tf.Run(t, "output", "-json")), &outputs); err != nil {
		t.Fatal(err)
	}
	ip, id := outputs["private_ip"].Value, outputs["instance_id"].Value
	if !strings.HasPrefix(ip, "127.") || !strings.HasPrefix(id, "i-") || !strings.HasPrefix(outputs["ami"].Value, "ami-") {
		t.Fatalf("outputs = %+v", outputs)
	}
	url := "http://" + ip + ":8080/index.html"
	eventually(t, "GET "+url, func() error {
		body, err := httpGet(url)
		if err == nil && body != "terraform made me\n" {
			err = fmt.Errorf("body %q", body)
		}
		return err
	})
	serverPID := readPID(t, filepath.Join(pids, "server.pid"))

	if plan := tf.Run(t, "plan", "-detailed-exitcode", "-input=false", "-no-color"); !strings.Contains(plan, "No changes") {
		t.Errorf("plan after apply is not empty:\n%s", plan)
	}

	tf.Run(t, "destroy", "-auto-approve", "-input=false", "-no-color")
	if testenv.Alive(serverPID) {
		t.Errorf("the instance's server (pid %d) outlived terraform destroy", serverPID)
	}
	c := ec2.NewFromConfig(env.AWSConfig())
	out, err := c.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range out.Reservations {
		for _, inst := range r.Instances {
			if inst.State.Name != ec2types.InstanceStateNameTerminated {
				t.Errorf("%s is %s after destroy", id, inst.State.Name)
			}
		}
	}
}
