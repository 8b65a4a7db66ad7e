package e2e

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLambdaCLI creates and invokes a Python function with the aws CLI, as
// a user following the Lambda getting-started guide would.
func TestLambdaCLI(t *testing.T) {
	t.Parallel()
	env, _ := startLambda(t, 10)
	dir := t.TempDir()
	zipPath := filepath.Join(dir, "function.zip")
	if err := os.WriteFile(zipPath, lambdaZip(t, map[string]string{"app.py": pythonHandler}), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := env.CLI(t, "lambda", "create-function", "--function-name", "cli-fn", "--runtime", "python3.12",
		"--handler", "app.handler", "--role", lambdaRole, "--timeout", "30", "--zip-file", "fileb://"+zipPath)
	if err != nil {
		t.Fatal(err)
	}
	var created struct{ FunctionArn, State, CodeSha256 string }
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.FunctionArn != "arn:aws:lambda:us-east-1:000000000000:function:cli-fn" || created.CodeSha256 == "" {
		t.Fatalf("create-function: %s (%v)", out, err)
	}
	if _, err := env.CLI(t, "lambda", "wait", "function-active-v2", "--function-name", "cli-fn"); err != nil {
		t.Fatal(err)
	}
	result := filepath.Join(dir, "out.json")
	out, err = env.CLI(t, "lambda", "invoke", "--function-name", "cli-fn",
		"--payload", `{"from":"cli"}`, "--log-type", "Tail", result)
	if err != nil {
		t.Fatal(err)
	}
	var inv struct {
		StatusCode      int
		ExecutedVersion string
		LogResult       string
	}
	if err := json.Unmarshal([]byte(out), &inv); err != nil || inv.StatusCode != 200 || inv.ExecutedVersion != "$LATEST" {
		t.Fatalf("invoke: %s (%v)", out, err)
	}
	logs, _ := base64.StdEncoding.DecodeString(inv.LogResult)
	for _, want := range []string{"START RequestId:", "END RequestId:", "REPORT RequestId:", "Init Duration"} {
		if !strings.Contains(string(logs), want) {
			t.Errorf("log tail lacks %q:\n%s", want, logs)
		}
	}
	body, _ := os.ReadFile(result)
	if !strings.Contains(string(body), `"from": "cli"`) {
		t.Errorf("result file: %s", body)
	}
	_, err = env.CLI(t, "lambda", "get-function", "--function-name", "nope")
	if err == nil || !strings.Contains(err.Error(), "ResourceNotFoundException") || !strings.Contains(err.Error(), "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope") {
		t.Errorf("get-function of a missing function: %v", err)
	}
}
