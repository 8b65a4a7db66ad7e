// Package e2e drives nephele with the clients users have: the Go SDK v2,
// the aws CLI, boto3 and terraform, against a real server on loopback.
package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/nephele-dev/nephele/internal/server"
	"github.com/nephele-dev/nephele/internal/testenv"
)

const trustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// TestSDKIAMAndSTS walks the first calls every client makes, through the Go
// SDK v2: who am I, create a role and an instance profile, assume the role
// and see the new identity.
func TestSDKIAMAndSTS(t *testing.T) {
	env := testenv.Start(t, server.Config{})
	ctx := context.Background()
	cfg := env.AWSConfig()
	stsc := sts.NewFromConfig(cfg)
	iamc := iam.NewFromConfig(cfg)

	id, err := stsc.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	if aws.ToString(id.Account) != "000000000000" || aws.ToString(id.Arn) != "arn:aws:iam::000000000000:root" {
		t.Errorf("identity = %s %s", aws.ToString(id.Account), aws.ToString(id.Arn))
	}

	created, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName: aws.String("web"), AssumeRolePolicyDocument: aws.String(trustPolicy),
		Tags: []iamtypes.Tag{{Key: aws.String("env"), Value: aws.String("dev")}},
	})
	if err != nil {
		t.Fatalf("CreateRole: %v", err)
	}
	roleARN := aws.ToString(created.Role.Arn)
	if roleARN != "arn:aws:iam::000000000000:role/web" || !strings.HasPrefix(aws.ToString(created.Role.RoleId), "AROA") || created.Role.CreateDate == nil {
		t.Errorf("created role = %+v", created.Role)
	}
	if _, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("web"), AssumeRolePolicyDocument: aws.String(trustPolicy)}); apiCode(err) != "EntityAlreadyExists" {
		t.Errorf("duplicate CreateRole: err = %v, want EntityAlreadyExists", err)
	}
	got, err := iamc.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("web")})
	if err != nil {
		t.Fatalf("GetRole: %v", err)
	}
	doc, err := url.QueryUnescape(aws.ToString(got.Role.AssumeRolePolicyDocument))
	if err != nil || doc != trustPolicy {
		t.Errorf("GetRole document = %q (%v), want the trust policy URL-encoded", aws.ToString(got.Role.AssumeRolePolicyDocument), err)
	}
	if _, err := iamc.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("nobody")}); apiCode(err) != "NoSuchEntity" {
		t.Errorf("GetRole missing: err = %v, want NoSuchEntity", err)
	}

	if _, err := iamc.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("web")}); err != nil {
		t.Fatalf("CreateInstanceProfile: %v", err)
	}
	if _, err := iamc.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("web"), RoleName: aws.String("web")}); err != nil {
		t.Fatalf("AddRoleToInstanceProfile: %v", err)
	}
	prof, err := iamc.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String("web")})
	if err != nil {
		t.Fatalf("GetInstanceProfile: %v", err)
	}
	if len(prof.InstanceProfile.Roles) != 1 || aws.ToString(prof.InstanceProfile.Roles[0].RoleName) != "web" {
		t.Errorf("instance profile roles = %+v", prof.InstanceProfile.Roles)
	}
	if _, err := iamc.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("web"), PolicyArn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")}); err != nil {
		t.Fatalf("AttachRolePolicy: %v", err)
	}
	att, err := iamc.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("web")})
	if err != nil || len(att.AttachedPolicies) != 1 || aws.ToString(att.AttachedPolicies[0].PolicyName) != "ReadOnlyAccess" {
		t.Errorf("ListAttachedRolePolicies = %+v, %v", att, err)
	}
	if _, err := iamc.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("web")}); apiCode(err) != "DeleteConflict" {
		t.Errorf("DeleteRole with attachments: err = %v, want DeleteConflict", err)
	}

	assumed, err := stsc.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("build")})
	if err != nil {
		t.Fatalf("AssumeRole: %v", err)
	}
	c := assumed.Credentials
	if !strings.HasPrefix(aws.ToString(c.AccessKeyId), "ASIA") || c.Expiration == nil {
		t.Errorf("assumed credentials = %+v", c)
	}
	asRole := sts.NewFromConfig(env.AWSConfigWith(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken)))
	who, err := asRole.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity as role: %v", err)
	}
	if want := "arn:aws:sts::000000000000:assumed-role/web/build"; aws.ToString(who.Arn) != want {
		t.Errorf("assumed identity = %s, want %s", aws.ToString(who.Arn), want)
	}
	if _, err := stsc.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::000000000000:role/ghost"), RoleSessionName: aws.String("xx")}); apiCode(err) != "AccessDenied" {
		t.Errorf("AssumeRole of a missing role: err = %v, want AccessDenied", err)
	}
	if _, err := stsc.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("short"), RoleSessionName: aws.String("xx")}); apiCode(err) != "ValidationError" {
		t.Errorf("AssumeRole with a bad ARN: err = %v, want ValidationError", err)
	}
}

// TestCLIIAMAndSTS runs the aws CLI the issue names against nephele.
func TestCLIIAMAndSTS(t *testing.T) {
	env := testenv.Start(t, server.Config{})
	out, err := env.CLI(t, "sts", "get-caller-identity")
	if err != nil {
		t.Fatal(err)
	}
	var id struct{ Account, Arn, UserId string }
	if err := json.Unmarshal([]byte(out), &id); err != nil || id.Account != "000000000000" {
		t.Fatalf("get-caller-identity = %s (%v)", out, err)
	}
	if _, err := env.CLI(t, "iam", "create-role", "--role-name", "cli-role", "--assume-role-policy-document", trustPolicy, "--description", "made by the CLI"); err != nil {
		t.Fatal(err)
	}
	out, err = env.CLI(t, "iam", "get-role", "--role-name", "cli-role")
	if err != nil {
		t.Fatal(err)
	}
	var role struct {
		Role struct {
			RoleName, Arn, Description string
			AssumeRolePolicyDocument   map[string]any
		}
	}
	if err := json.Unmarshal([]byte(out), &role); err != nil {
		t.Fatalf("get-role output %s: %v", out, err)
	}
	if role.Role.Arn != "arn:aws:iam::000000000000:role/cli-role" || role.Role.Description != "made by the CLI" || role.Role.AssumeRolePolicyDocument["Version"] != "2012-10-17" {
		t.Errorf("get-role = %s", out)
	}
	out, err = env.CLI(t, "iam", "create-instance-profile", "--instance-profile-name", "cli-profile")
	if err != nil || !strings.Contains(out, "arn:aws:iam::000000000000:instance-profile/cli-profile") {
		t.Errorf("create-instance-profile = %s, %v", out, err)
	}
	_, err = env.CLI(t, "iam", "get-role", "--role-name", "missing")
	if err == nil || !strings.Contains(err.Error(), "NoSuchEntity") {
		t.Errorf("get-role of a missing role: %v, want NoSuchEntity", err)
	}
}

// TestBoto3IAMAndSTS runs the same calls through boto3.
func TestBoto3IAMAndSTS(t *testing.T) {
	env := testenv.Start(t, server.Config{})
	script := `
import boto3, json
sts = boto3.client("sts")
iam = boto3.client("iam")
ident = sts.get_caller_identity()
iam.create_role(RoleName="py-role", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))
role = iam.get_role(RoleName="py-role")["Role"]
iam.create_instance_profile(InstanceProfileName="py-profile")
iam.add_role_to_instance_profile(InstanceProfileName="py-profile", RoleName="py-role")
roles = [r["RoleName"] for r in iam.list_roles()["Roles"]]
try:
    iam.get_role(RoleName="missing")
    missing = "no error"
except iam.exceptions.NoSuchEntityException as e:
    missing = e.response["Error"]["Code"]
print(json.dumps({"account": ident["Account"], "arn": role["Arn"], "doc": role["AssumeRolePolicyDocument"], "roles": roles, "missing": missing}))
`
	cmd := exec.Command("python3", "-c", script)
	cmd.Env = env.ClientEnv(t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, out)
	}
	var res struct {
		Account, Arn, Missing string
		Doc                   map[string]any
		Roles                 []string
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("boto3 output %s: %v", out, err)
	}
	if res.Account != "000000000000" || res.Arn != "arn:aws:iam::000000000000:role/py-role" || res.Doc["Version"] != "2012-10-17" || res.Missing != "NoSuchEntity" || len(res.Roles) != 1 {
		t.Errorf("boto3 saw %+v", res)
	}
}

// TestTerraformIAMStack applies and destroys a role, an instance profile and
// a managed-policy attachment with the hashicorp/aws provider.
func TestTerraformIAMStack(t *testing.T) {
	env := testenv.Start(t, server.Config{})
	tf := env.NewTerraform(t, `
resource "aws_iam_role" "web" {
  name = "tf-web"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "ec2.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
  tags = { env = "test" }
}

resource "aws_iam_instance_profile" "web" {
  name = "tf-web"
  role = aws_iam_role.web.name
}

resource "aws_iam_role_policy_attachment" "ro" {
  role       = aws_iam_role.web.name
  policy_arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
}

data "aws_caller_identity" "me" {}

output "role_arn" { value = aws_iam_role.web.arn }
output "profile_arn" { value = aws_iam_instance_profile.web.arn }
output "account" { value = data.aws_caller_identity.me.account_id }
`)
	tf.Run(t, "apply", "-auto-approve", "-input=false", "-no-color")
	out := tf.Run(t, "output", "-json")
	var outputs map[string]struct{ Value string }
	if err := json.Unmarshal([]byte(out), &outputs); err != nil {
		t.Fatalf("terraform output: %v\n%s", err, out)
	}
	if outputs["role_arn"].Value != "arn:aws:iam::000000000000:role/tf-web" || outputs["profile_arn"].Value != "arn:aws:iam::000000000000:instance-profile/tf-web" || outputs["account"].Value != "000000000000" {
		t.Errorf("outputs = %+v", outputs)
	}
	// A second plan must see no drift: nephele returns what terraform wrote.
	if plan := tf.Run(t, "plan", "-detailed-exitcode", "-input=false", "-no-color"); !strings.Contains(plan, "No changes") {
		t.Errorf("plan after apply is not empty:\n%s", plan)
	}
	iamc := iam.NewFromConfig(env.AWSConfig())
	att, err := iamc.ListAttachedRolePolicies(context.Background(), &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("tf-web")})
	if err != nil || len(att.AttachedPolicies) != 1 {
		t.Errorf("attached policies after apply = %+v, %v", att, err)
	}
	tf.Run(t, "destroy", "-auto-approve", "-input=false", "-no-color")
	roles, err := iamc.ListRoles(context.Background(), &iam.ListRolesInput{})
	if err != nil || len(roles.Roles) != 0 {
		t.Errorf("roles after destroy = %+v, %v", roles, err)
	}
	profiles, err := iamc.ListInstanceProfiles(context.Background(), &iam.ListInstanceProfilesInput{})
	if err != nil || len(profiles.InstanceProfiles) != 0 {
		t.Errorf("instance profiles after destroy = %+v, %v", profiles, err)
	}
}
