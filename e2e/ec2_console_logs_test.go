package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/nephele-dev/nephele/internal/server"
	"github.com/nephele-dev/nephele/internal/testenv"
)

// consoleUserData prints known lines, the last without its newline, which
// is held until the instance's processes end.
const consoleUserData = "#!/bin/sh\necho 'console line one'\necho 'console line two' >&2\necho 'console line three'\nprintf 'console tail'\n"

// launchTagged runs one al2023 instance with user-data and tags, and
// terminates it when the test ends.
func launchTagged(t *testing.T, c *ec2.Client, userData string, tags ...ec2types.Tag) string {
	t.Helper()
	in := &ec2.RunInstancesInput{
		ImageId: al2023(t, c), InstanceType: ec2types.InstanceTypeT3Micro, MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		UserData: aws.String(base64.StdEncoding.EncodeToString([]byte(userData))),
	}
	if len(tags) > 0 {
		in.TagSpecifications = []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance, Tags: tags}}
	}
	run, err := c.RunInstances(context.Background(), in)
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	id := aws.ToString(run.Instances[0].InstanceId)
	t.Cleanup(func() {
		if _, err := c.TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: []string{id}}); err != nil {
			t.Errorf("TerminateInstances %s: %v", id, err)
			return
		}
		instanceState(t, c, id, "terminated")
	})
	return id
}

// streamHas waits until the log stream holds want, in order, among its
// events.
func streamHas(t *testing.T, c *cloudwatchlogs.Client, group, stream string, want ...string) {
	t.Helper()
	eventually(t, fmt.Sprintf("%s %s holds %q", group, stream, want), func() error {
		out, err := c.GetLogEvents(context.Background(), &cloudwatchlogs.GetLogEventsInput{
			LogGroupName: aws.String(group), LogStreamName: aws.String(stream), StartFromHead: aws.Bool(true),
		})
		if err != nil {
			return err
		}
		got := outputMessages(out.Events)
		i := 0
		for _, m := range got {
			if i < len(want) && m == want[i] {
				i++
			}
		}
		if i < len(want) {
			return fmt.Errorf("events %q", got)
		}
		return nil
	})
}

// TestEC2ConsoleLogsFromTag checks that an instance tagged
// nephele:console-log-group, at launch or later, has its console output
// in that log group, one event per line in a stream named after it.
func TestEC2ConsoleLogsFromTag(t *testing.T) {
	env := testenv.Start(t, server.Config{})
	ctx := context.Background()
	c := ec2.NewFromConfig(env.AWSConfig())
	logs := cloudwatchlogs.NewFromConfig(env.AWSConfig())

	id := launchTagged(t, c, consoleUserData, ec2types.Tag{Key: aws.String("nephele:console-log-group"), Value: aws.String("/nephele/test")})
	instanceState(t, c, id, "running")
	streamHas(t, logs, "/nephele/test", id, "console line one", "console line two", "console line three")

	// The tail has no newline: it is sent once the processes end.
	if _, err := c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	instanceState(t, c, id, "stopped")
	streamHas(t, logs, "/nephele/test", id, "console line three", "console tail")

	// An instance tagged after launch is mirrored from then on.
	later := launchTagged(t, c, "#!/bin/sh\n(while :; do echo still here; sleep 0.1; done) &\n")
	instanceState(t, c, later, "running")
	if _, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{later},
		Tags: []ec2types.Tag{{Key: aws.String("nephele:console-log-group"), Value: aws.String("/nephele/later")}}}); err != nil {
		t.Fatal(err)
	}
	streamHas(t, logs, "/nephele/later", later, "still here")

	// Untagged, without --console-log-group: nothing else is mirrored.
	groups, err := logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range groups.LogGroups {
		names = append(names, aws.ToString(g.LogGroupName))
	}
	if !slices.Equal(names, []string{"/nephele/later", "/nephele/test"}) {
		t.Errorf("log groups = %q", names)
	}
}

// TestEC2ConsoleLogsFromFlag checks --console-log-group: every instance's
// console goes to the group without a tag.
func TestEC2ConsoleLogsFromFlag(t *testing.T) {
	env := testenv.Start(t, server.Config{ConsoleLogGroup: "/nephele/all"})
	c := ec2.NewFromConfig(env.AWSConfig())
	logs := cloudwatchlogs.NewFromConfig(env.AWSConfig())

	id := launchTagged(t, c, consoleUserData)
	instanceState(t, c, id, "running")
	streamHas(t, logs, "/nephele/all", id, "console line one", "console line two", "console line three")
}
