package main

import (
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"time"
)

// asCall sends one Auto Scaling query request and returns the body.
func asCall(client *http.Client, base string, params url.Values) (string, error) {
	return queryCall(client, base, "autoscaling", "2011-01-01", params)
}

// runAutoScaling prints the Auto Scaling figures on a fresh nephele: how
// soon SetDesiredCapacity shows as a launching instance, and how long a
// group takes from 0 to size instances InService (sleep user-data).
func runAutoScaling(bin string, size int) error {
	s := server{name: "nephele", start: func(port int) *exec.Cmd {
		return exec.Command(bin, "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--log-level", "error",
			"--max-instances", fmt.Sprint(size+50), "--imds-port", "0")
	}}
	proc, base, err := launch(s)
	if err != nil {
		return err
	}
	defer stopGracefully(proc)
	client := &http.Client{Timeout: 120 * time.Second}
	image, err := x86Image(client, base)
	if err != nil {
		return err
	}
	userData := "IyEvYmluL3NoCnNsZWVwIDM2MDAgJgo=" // #!/bin/sh\nsleep 3600 &
	if _, err := ec2Call(client, base, url.Values{"Action": {"CreateLaunchTemplate"}, "LaunchTemplateName": {"bench"},
		"LaunchTemplateData.ImageId": {image}, "LaunchTemplateData.InstanceType": {"t3.micro"}, "LaunchTemplateData.UserData": {userData}}); err != nil {
		return err
	}
	if _, err := asCall(client, base, url.Values{"Action": {"CreateAutoScalingGroup"}, "AutoScalingGroupName": {"bench"},
		"MinSize": {"0"}, "MaxSize": {fmt.Sprint(size)}, "DesiredCapacity": {"0"}, "LaunchTemplate.LaunchTemplateName": {"bench"},
		"AvailabilityZones.member.1": {"us-east-1a"}, "AvailabilityZones.member.2": {"us-east-1b"}}); err != nil {
		return err
	}
	count := func(state string) (int, error) {
		body, err := asCall(client, base, url.Values{"Action": {"DescribeAutoScalingGroups"}, "AutoScalingGroupNames.member.1": {"bench"}})
		return strings.Count(body, "<LifecycleState>"+state+"</LifecycleState>"), err
	}
	// Reaction: SetDesiredCapacity 1 until the instance shows.
	var reactions []time.Duration
	for i := 1; i <= 5; i++ {
		t0 := wall.Now()
		if _, err := asCall(client, base, url.Values{"Action": {"SetDesiredCapacity"}, "AutoScalingGroupName": {"bench"}, "DesiredCapacity": {fmt.Sprint(i)}}); err != nil {
			return err
		}
		for wall.Since(t0) < 10*time.Second {
			n, err := count("Pending")
			if err != nil {
				return err
			}
			m, _ := count("InService")
			if n+m >= i {
				break
			}
		}
		reactions = append(reactions, wall.Since(t0))
	}
	fmt.Printf("%-34s %12s  (median of %d; target < 100 ms)\n", "SetDesiredCapacity → instance seen", ms(median(reactions)), len(reactions))
	if _, err := asCall(client, base, url.Values{"Action": {"SetDesiredCapacity"}, "AutoScalingGroupName": {"bench"}, "DesiredCapacity": {"0"}}); err != nil {
		return err
	}
	for t0 := wall.Now(); wall.Since(t0) < 60*time.Second; {
		if body, _ := asCall(client, base, url.Values{"Action": {"DescribeAutoScalingGroups"}, "AutoScalingGroupNames.member.1": {"bench"}}); !strings.Contains(body, "<InstanceId>") {
			break
		}
	}
	t0 := wall.Now()
	if _, err := asCall(client, base, url.Values{"Action": {"SetDesiredCapacity"}, "AutoScalingGroupName": {"bench"}, "DesiredCapacity": {fmt.Sprint(size)}}); err != nil {
		return err
	}
	for {
		n, err := count("InService")
		if err != nil {
			return err
		}
		if n >= size {
			break
		}
		if wall.Since(t0) > 120*time.Second {
			return fmt.Errorf("only %d of %d InService after 120 s", n, size)
		}
	}
	fmt.Printf("%-34s %12s  (target < 5 s on 2 cores)\n", fmt.Sprintf("desired 0 → %d InService", size), fmt.Sprintf("%.2f s", wall.Since(t0).Seconds()))
	return nil
}
