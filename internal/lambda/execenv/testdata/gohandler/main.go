// Command gohandler is a provided.al2023 Lambda function built with
// aws-lambda-go, which the execenv tests build, zip and run.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Fail  bool   `json:"fail"`
	Exit  bool   `json:"exit"`
	Value string `json:"value"`
}

type reply struct {
	Value        string `json:"value"`
	RequestID    string `json:"requestId"`
	FunctionName string `json:"functionName"`
	ARN          string `json:"arn"`
	PID          int    `json:"pid"`
	HasDeadline  bool   `json:"hasDeadline"`
}

func handle(ctx context.Context, ev event) (reply, error) {
	if ev.Exit {
		os.Exit(1)
	}
	if ev.Fail {
		return reply{}, errors.New("go handler failed")
	}
	lc, _ := lambdacontext.FromContext(ctx)
	_, hasDeadline := ctx.Deadline()
	fmt.Println("go handler got", ev.Value)
	return reply{
		Value:        ev.Value,
		RequestID:    lc.AwsRequestID,
		FunctionName: lambdacontext.FunctionName,
		ARN:          lc.InvokedFunctionArn,
		PID:          os.Getpid(),
		HasDeadline:  hasDeadline,
	}, nil
}

func main() {
	fmt.Println("go init")
	lambda.Start(handle)
}
