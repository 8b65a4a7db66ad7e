package e2e

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/nephele-dev/nephele/internal/server"
	"github.com/nephele-dev/nephele/internal/testenv"
)

// TestConcurrentWritesAreNotLost has many clients change one role at once,
// on durable state: every acknowledged attachment must be there afterwards
// (no lost update), and of many clients creating the same name exactly one
// must win.
func TestConcurrentWritesAreNotLost(t *testing.T) {
	env := testenv.Start(t, server.Config{DataDir: t.TempDir()})
	ctx := context.Background()
	iamc := iam.NewFromConfig(env.AWSConfig())
	if _, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("shared"), AssumeRolePolicyDocument: aws.String(trustPolicy)}); err != nil {
		t.Fatal(err)
	}
	const policies = 10 // IAM's default quota of managed policies per role
	var arns []string
	for i := range policies {
		out, err := iamc.CreatePolicy(ctx, &iam.CreatePolicyInput{
			PolicyName:     aws.String(fmt.Sprintf("p%02d", i)),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`),
		})
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, aws.ToString(out.Policy.Arn))
	}

	var wg sync.WaitGroup
	attachErrs := make([]error, policies)
	for i, a := range arns {
		wg.Go(func() {
			_, attachErrs[i] = iamc.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("shared"), PolicyArn: aws.String(a)})
		})
	}
	const racers = 8
	createCodes := make([]string, racers)
	for i := range racers {
		wg.Go(func() {
			_, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("contested"), AssumeRolePolicyDocument: aws.String(trustPolicy)})
			createCodes[i] = "ok"
			if err != nil {
				createCodes[i] = apiCode(err)
			}
		})
	}
	wg.Wait()

	for i, err := range attachErrs {
		if err != nil {
			t.Errorf("AttachRolePolicy %s: %v", arns[i], err)
		}
	}
	att, err := iamc.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("shared")})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range att.AttachedPolicies {
		got = append(got, aws.ToString(p.PolicyArn))
	}
	sort.Strings(got)
	if fmt.Sprint(got) != fmt.Sprint(arns) {
		t.Errorf("attached after concurrent attaches = %v, want all %d: %v", got, policies, arns)
	}

	sort.Strings(createCodes)
	want := []string{}
	for range racers - 1 {
		want = append(want, "EntityAlreadyExists")
	}
	want = append(want, "ok")
	if fmt.Sprint(createCodes) != fmt.Sprint(want) {
		t.Errorf("concurrent CreateRole of one name = %v, want one ok and %d EntityAlreadyExists", createCodes, racers-1)
	}
}
