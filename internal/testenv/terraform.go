package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ProviderBlock is a terraform provider "aws" block that points every
// service nephele serves at the env and skips the checks that need real AWS.
func (e *Env) ProviderBlock() string {
	var b strings.Builder
	fmt.Fprintf(&b, `provider "aws" {
  region                      = %q
  access_key                  = "AKIAIOSFODNN7EXAMPLE"
  secret_key                  = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = false
  endpoints {
`, e.Region)
	for _, svc := range []string{"autoscaling", "cloudwatch", "cloudwatchlogs", "ec2", "elbv2", "iam", "lambda", "sts"} {
		fmt.Fprintf(&b, "    %s = %q\n", svc, e.Endpoint)
	}
	b.WriteString("  }\n}\n")
	return b.String()
}

// Terraform is a working directory for terraform runs against an env.
type Terraform struct {
	Dir string
	env *Env
}

// NewTerraform writes config (plus the provider block) into a temp dir and
// runs terraform init with the offline provider mirror in ../shared.
func (e *Env) NewTerraform(t testing.TB, config string) *Terraform {
	t.Helper()
	if _, err := exec.LookPath("terraform"); err != nil {
		t.Fatalf("testenv: terraform is not installed: %v", err)
	}
	tf := &Terraform{Dir: t.TempDir(), env: e}
	if err := os.WriteFile(filepath.Join(tf.Dir, "main.tf"), []byte(e.ProviderBlock()+config), 0o644); err != nil {
		t.Fatal(err)
	}
	tf.Run(t, "init", "-input=false", "-no-color")
	return tf
}

// Run runs terraform ARGS... and fails the test on a non-zero exit.
func (tf *Terraform) Run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := tf.Try(t, args...)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return out
}

// Try runs terraform ARGS... and returns its output and any failure.
func (tf *Terraform) Try(t testing.TB, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "terraform", args...)
	cmd.Dir = tf.Dir
	cmd.Env = append(tf.env.ClientEnv(tf.Dir),
		"TF_CLI_CONFIG_FILE="+filepath.Join(RepoRoot(t), "..", "shared", "terraform", "cli.tfrc"),
		"TF_IN_AUTOMATION=1",
		"CHECKPOINT_DISABLE=1",
		"TF_DATA_DIR="+filepath.Join(tf.Dir, ".terraform"),
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("terraform %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}
