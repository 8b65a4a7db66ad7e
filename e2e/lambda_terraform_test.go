package e2e

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/nephele-dev/nephele/internal/server"
	"github.com/nephele-dev/nephele/internal/testenv"
)

// TestTerraformLambdaStack applies an execution role, a layer, a function
// using it, an alias, a function URL and provisioned concurrency with the
// hashicorp/aws provider: apply converges, a second plan sees no drift,
// the URL answers, and destroy leaves nothing.
func TestTerraformLambdaStack(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("terraform is slow")
	}
	env := testenv.Start(t, server.Config{TimeScale: 10})
	tf := env.NewTerraform(t, `
resource "aws_iam_role" "fn" {
  name = "tf-lambda-role"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "lambda.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
}

resource "aws_lambda_layer_version" "lib" {
  layer_name          = "tf-lib"
  filename            = "${path.module}/layer.zip"
  source_code_hash    = filebase64sha256("${path.module}/layer.zip")
  compatible_runtimes = ["python3.12"]
}

resource "aws_lambda_function" "app" {
  function_name    = "tf-app"
  role             = aws_iam_role.fn.arn
  runtime          = "python3.12"
  handler          = "app.handler"
  filename         = "${path.module}/function.zip"
  source_code_hash = filebase64sha256("${path.module}/function.zip")
  layers           = [aws_lambda_layer_version.lib.arn]
  timeout          = 30
  publish          = true
  environment {
    variables = { STAGE = "test" }
  }
  tags = { team = "platform" }
}

resource "aws_lambda_alias" "live" {
  name             = "live"
  function_name    = aws_lambda_function.app.function_name
  function_version = aws_lambda_function.app.version
}

resource "aws_lambda_function_url" "live" {
  function_name      = aws_lambda_function.app.function_name
  qualifier          = aws_lambda_alias.live.name
  authorization_type = "NONE"
}

resource "aws_lambda_provisioned_concurrency_config" "live" {
  function_name                     = aws_lambda_function.app.function_name
  qualifier                         = aws_lambda_alias.live.name
  provisioned_concurrent_executions = 1
}
`)
	code := `import os, lib
def handler(event, context):
    return {"statusCode": 200, "body": lib.WORD + " " + os.environ["STAGE"]}
`
	for name, files := range map[string]map[string]string{
		"function.zip": {"app.py": code},
		"layer.zip":    {"python/lib.py": "WORD = 'terraformed'\n"},
	} {
		if err := os.WriteFile(filepath.Join(tf.Dir, name), lambdaZip(t, files), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tf.Run(t, "apply", "-auto-approve", "-input=false", "-no-color")
	if out := tf.Run(t, "plan", "-detailed-exitcode", "-input=false", "-no-color"); !strings.Contains(out, "No changes") {
		t.Errorf("second plan is not empty:\n%s", out)
	}
	c := lambda.NewFromConfig(env.AWSConfig())
	u, err := c.GetFunctionUrlConfig(context.Background(), &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String("tf-app"), Qualifier: aws.String("live")})
	if err != nil {
		t.Fatal(err)
	}
	url := aws.ToString(u.FunctionUrl)
	port := url[strings.LastIndexByte(url, ':')+1 : len(url)-1]
	resp, err := http.Get("http://127.0.0.1:" + port + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "terraformed test" {
		t.Errorf("function URL %s: %d %q", url, resp.StatusCode, body)
	}
	tf.Run(t, "destroy", "-auto-approve", "-input=false", "-no-color")
	fns, err := c.ListFunctions(context.Background(), &lambda.ListFunctionsInput{})
	if err != nil || len(fns.Functions) != 0 {
		t.Errorf("after destroy: %v %v", fns, err)
	}
	layers, err := c.ListLayers(context.Background(), &lambda.ListLayersInput{})
	if err != nil || len(layers.Layers) != 0 {
		t.Errorf("layers after destroy: %d %v", len(layers.Layers), err)
	}
}
