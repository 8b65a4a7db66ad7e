package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/nephele-dev/nephele/internal/testenv"
)

func getJSON(t *testing.T, method, url string, v any) int {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, url, err, body)
		}
	}
	return resp.StatusCode
}

// TestDurableAcrossSIGKILL creates resources, kills nephele with SIGKILL,
// restarts it on the same --data-dir and finds every acknowledged resource.
func TestDurableAcrossSIGKILL(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	p := testenv.StartProcess(t, "--data-dir", dir)
	iamc := iam.NewFromConfig(p.AWSConfig())
	names := []string{"alpha", "beta", "gamma", "delta", "epsilon"}
	for _, n := range names {
		if _, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(n), AssumeRolePolicyDocument: aws.String(trustPolicy)}); err != nil {
			t.Fatalf("CreateRole %s: %v", n, err)
		}
	}
	if _, err := iamc.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("prof")}); err != nil {
		t.Fatal(err)
	}
	if _, err := iamc.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("prof"), RoleName: aws.String("alpha")}); err != nil {
		t.Fatal(err)
	}
	if _, err := iamc.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("epsilon")}); err != nil {
		t.Fatal(err)
	}
	p.Signal(t, syscall.SIGKILL)

	p2 := testenv.StartProcess(t, "--data-dir", dir)
	iamc = iam.NewFromConfig(p2.AWSConfig())
	roles, err := iamc.ListRoles(ctx, &iam.ListRolesInput{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range roles.Roles {
		got = append(got, aws.ToString(r.RoleName))
	}
	if strings.Join(got, ",") != "alpha,beta,delta,gamma" {
		t.Errorf("roles after SIGKILL and restart = %v, want alpha,beta,delta,gamma", got)
	}
	prof, err := iamc.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String("prof")})
	if err != nil || len(prof.InstanceProfile.Roles) != 1 {
		t.Errorf("instance profile after restart = %+v, %v", prof, err)
	}
}

// TestProcessLifecycle checks the ready line, health, reset, a clear error
// for a data dir already in use, and a clean exit on SIGTERM.
func TestProcessLifecycle(t *testing.T) {
	dir := t.TempDir()
	p := testenv.StartProcess(t, "--data-dir", dir)

	var h struct {
		Status   string
		Version  string
		Services []struct {
			Name       string
			Operations int
		}
	}
	if code := getJSON(t, "GET", p.Endpoint+"/_nephele/health", &h); code != 200 || h.Status != "ready" || h.Version == "" {
		t.Errorf("health = %d %+v", code, h)
	}
	served := map[string]int{}
	for _, s := range h.Services {
		served[s.Name] = s.Operations
	}
	if len(served) != 8 || served["iam"] < 40 || served["sts"] < 3 {
		t.Errorf("health services = %+v", h.Services)
	}

	ctx := context.Background()
	iamc := iam.NewFromConfig(p.AWSConfig())
	if _, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(trustPolicy)}); err != nil {
		t.Fatal(err)
	}
	var reset map[string]string
	if code := getJSON(t, "POST", p.Endpoint+"/_nephele/reset", &reset); code != 200 || reset["status"] != "reset" {
		t.Errorf("reset = %d %v", code, reset)
	}
	roles, err := iamc.ListRoles(ctx, &iam.ListRolesInput{})
	if err != nil || len(roles.Roles) != 0 {
		t.Errorf("roles after reset = %+v, %v", roles, err)
	}

	// A second nephele on the same data dir must refuse to start, clearly.
	second := testenv.Binary(t)
	out, err := runBriefly(second, "--listen", "127.0.0.1:0", "--data-dir", dir)
	if err == nil || !strings.Contains(out, "in use") {
		t.Errorf("second nephele on the same data dir: err=%v output=%q", err, out)
	}

	p.Signal(t, syscall.SIGTERM)
	if exited, code := p.Exited(); !exited || code != 0 {
		t.Errorf("after SIGTERM: exited=%v code=%d stderr=%s", exited, code, p.Stderr())
	}
}
