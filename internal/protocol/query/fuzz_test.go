package query

import (
	"net/http/httptest"
	"strings"
	"testing"

	ec2api "github.com/nephele-dev/nephele/internal/api/ec2"
	iamapi "github.com/nephele-dev/nephele/internal/api/iam"
	"github.com/nephele-dev/nephele/internal/api/model"
	"github.com/nephele-dev/nephele/internal/api/validate"
	"github.com/nephele-dev/nephele/internal/protocol"
)

func formRequest(svc *model.Service, body string) *protocol.Request {
	hr := httptest.NewRequest("POST", "/", strings.NewReader(body))
	hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return &protocol.Request{HTTP: hr, Body: []byte(body), Service: svc, RequestID: "r"}
}

// FuzzEC2Decode feeds arbitrary forms to the EC2 decoder for RunInstances,
// the widest EC2 input, then validates and re-encodes: none may panic.
func FuzzEC2Decode(f *testing.F) {
	for _, s := range []string{
		"Action=RunInstances&ImageId=ami-1&MinCount=1&MaxCount=2",
		"Action=RunInstances&TagSpecification.1.ResourceType=instance&TagSpecification.1.Tag.1.Key=a&TagSpecification.1.Tag.1.Value=b",
		"BlockDeviceMapping.1.Ebs.VolumeSize=8&BlockDeviceMapping.1.DeviceName=%2Fdev%2Fxvda&SecurityGroupId.3=sg-1",
		"MinCount=99999999999&DisableApiTermination=yes&UserData=!!",
		"Placement.AvailabilityZone=us-east-1a&LaunchTemplate.Version=%24Latest&..=&a..b=1&.=.&InstanceMarketOptions.SpotOptions.ValidUntil=2026-01-01T00:00:00Z",
		"%zz",
	} {
		f.Add(s)
	}
	svc := ec2api.Model()
	op := svc.Operations["RunInstances"]
	f.Fuzz(func(t *testing.T, body string) {
		r := formRequest(svc, body)
		in := &ec2api.RunInstancesInput{}
		if err := EC2.Decode(r, op, in); err != nil {
			return
		}
		validate.Input(in, op.Input.Shape)
		EC2.Encode(httptest.NewRecorder(), r, svc.Operations["DescribeInstances"], &ec2api.DescribeInstancesOutput{Reservations: []ec2api.Reservation{{Instances: []ec2api.Instance{{ImageId: in.ImageId, InstanceType: in.InstanceType}}}}})
	})
}

// FuzzQueryDecode does the same for the query protocol with IAM CreateRole,
// whose Tags are a list of structures.
func FuzzQueryDecode(f *testing.F) {
	for _, s := range []string{
		"Action=CreateRole&Version=2010-05-08&RoleName=r&AssumeRolePolicyDocument=%7B%7D",
		"RoleName=r&Tags.member.1.Key=a&Tags.member.1.Value=b&Tags.member.2.Key=c",
		"Tags.member.0.Key=a&Tags.member.-1.Key=b&Tags.member.x.Key=c&Tags=&MaxSessionDuration=abc",
		"Tags.member.99999999999999999999.Key=a",
	} {
		f.Add(s)
	}
	svc := iamapi.Model()
	op := svc.Operations["CreateRole"]
	f.Fuzz(func(t *testing.T, body string) {
		r := formRequest(svc, body)
		if _, err := Query.Operation(r); err != nil {
			_ = err
		}
		in := &iamapi.CreateRoleInput{}
		if err := Query.Decode(r, op, in); err != nil {
			return
		}
		validate.Input(in, op.Input.Shape)
		Query.Encode(httptest.NewRecorder(), r, op, &iamapi.CreateRoleOutput{Role: &iamapi.Role{RoleName: in.RoleName, Tags: in.Tags, Description: in.Description}})
	})
}
