package main

import (
	"context"
	"encoding/base64"
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

// groupBench starts nephele with args for an Auto Scaling figure and
// creates the launch template named template: an x86 Amazon Linux image
// whose user-data leaves a sleep running. The caller stops the process.
func groupBench(bin, template string, args ...string) (*exec.Cmd, string, *http.Client, error) {
	s := server{name: "nephele", start: func(port int) *exec.Cmd {
		return exec.Command(bin, append([]string{"--listen", fmt.Sprintf("127.0.0.1:%d", port), "--log-level", "error", "--imds-port", "0"}, args...)...)
	}}
	proc, base, err := launch(s)
	if err != nil {
		return nil, "", nil, err
	}
	client := &http.Client{Timeout: 120 * time.Second}
	image, err := x86Image(client, base)
	if err == nil {
		userData := "IyEvYmluL3NoCnNsZWVwIDM2MDAgJgo=" // #!/bin/sh\nsleep 3600 &
		_, err = ec2Call(client, base, url.Values{"Action": {"CreateLaunchTemplate"}, "LaunchTemplateName": {template},
			"LaunchTemplateData.ImageId": {image}, "LaunchTemplateData.InstanceType": {"t3.micro"}, "LaunchTemplateData.UserData": {userData}})
	}
	if err != nil {
		stopGracefully(proc)
		return nil, "", nil, err
	}
	return proc, base, client, nil
}

// runAutoScaling prints the Auto Scaling figures on a fresh nephele: how
// soon SetDesiredCapacity shows as a launching instance, and how long a
// group takes from 0 to size instances InService (sleep user-data).
func runAutoScaling(bin string, size int) error {
	proc, base, client, err := groupBench(bin, "bench", "--max-instances", fmt.Sprint(size+50))
	if err != nil {
		return err
	}
	defer stopGracefully(proc)
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

// groupsAtScale prints what many groups cost nephele at --time-scale 60:
// groups groups of one instance each, every one with a CPU target
// tracking policy (two alarms each), all brought InService; then nephele's
// CPU use over 10 s of real time (10 simulated minutes) of steady state,
// as a share of one core. Each instance is a real process tree.
func groupsAtScale(bin string, groups int) error {
	proc, base, client, err := groupBench(bin, "many", "--time-scale", "60", "--max-instances", fmt.Sprint(groups+50))
	if err != nil {
		return err
	}
	defer stopGracefully(proc)
	t0 := wall.Now()
	for i := range groups {
		name := fmt.Sprintf("g%03d", i)
		if _, err := asCall(client, base, url.Values{"Action": {"CreateAutoScalingGroup"}, "AutoScalingGroupName": {name},
			"MinSize": {"1"}, "MaxSize": {"3"}, "LaunchTemplate.LaunchTemplateName": {"many"},
			"AvailabilityZones.member.1": {"us-east-1a"}, "AvailabilityZones.member.2": {"us-east-1b"}}); err != nil {
			return err
		}
		if _, err := asCall(client, base, url.Values{"Action": {"PutScalingPolicy"}, "AutoScalingGroupName": {name}, "PolicyName": {"cpu"},
			"PolicyType": {"TargetTrackingScaling"}, "TargetTrackingConfiguration.TargetValue": {"50"},
			"TargetTrackingConfiguration.PredefinedMetricSpecification.PredefinedMetricType": {"ASGAverageCPUUtilization"}}); err != nil {
			return err
		}
	}
	for {
		n := 0
		var token string
		for {
			params := url.Values{"Action": {"DescribeAutoScalingInstances"}, "MaxRecords": {"50"}}
			if token != "" {
				params.Set("NextToken", token)
			}
			body, err := asCall(client, base, params)
			if err != nil {
				return err
			}
			n += strings.Count(body, "<LifecycleState>InService</LifecycleState>")
			token = between(body, "<NextToken>", "</NextToken>")
			if token == "" {
				break
			}
		}
		if n >= groups {
			break
		}
		if wall.Since(t0) > 180*time.Second {
			return fmt.Errorf("only %d of %d groups InService after 180 s", n, groups)
		}
		wall.Sleep(context.Background(), 100*time.Millisecond)
	}
	fmt.Printf("%-34s %12s  (create, policy, launch; %d alarms)\n", fmt.Sprintf("%d groups → all InService", groups), fmt.Sprintf("%.2f s", wall.Since(t0).Seconds()), 2*groups)
	pid := proc.Process.Pid
	c0, w0 := cpuTicks(pid), wall.Now()
	wall.Sleep(context.Background(), 10*time.Second)
	used := float64(cpuTicks(pid)-c0) / 100 / wall.Since(w0).Seconds()
	fmt.Printf("%-34s %11.0f%%  (of one core: reconciler, %d alarms, %d instance monitors)\n", fmt.Sprintf("%d groups steady at scale 60", groups), used*100, 2*groups, groups)
	st, err := evaluatorStats(client, base)
	if err != nil {
		return err
	}
	fmt.Printf("%-34s %9.1f ms  (%d alarms; ticks evaluated %d, skipped late %d, lag %.0f s of clock)\n",
		"  alarm evaluation pass", st.LastDurationMs, st.LastEvaluated, st.TicksEvaluated, st.TicksSkippedLate, st.LagSeconds)
	return nil
}

// between is the text of body between the first open and the next close.
func between(body, open, close string) string {
	_, rest, ok := strings.Cut(body, open)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, close)
	return v
}

// warmPoolSpeedup prints how much sooner a scale-out instance serves HTTP
// when it comes from a warm pool, set up as the AWS documentation
// recommends: the user-data does a second of first-boot set-up, installs a
// per-boot script that starts the server, and completes a launch
// lifecycle hook once ready, so the pool stops an instance only after its
// set-up; on every later boot the per-boot script starts the server and
// completes the hook at once. Cold, a new instance runs the set-up; warm,
// a stopped pool instance only boots. Each is timed from SetDesiredCapacity
// to the first HTTP answer of the new instance, InService, at real time,
// median of rounds.
func warmPoolSpeedup(bin string, rounds int) error {
	s := server{name: "nephele", start: func(port int) *exec.Cmd {
		return exec.Command(bin, "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--log-level", "error", "--imds-port", "0")
	}}
	proc, base, err := launch(s)
	if err != nil {
		return err
	}
	defer stopGracefully(proc)
	client := &http.Client{Timeout: 60 * time.Second}
	image, err := x86Image(client, base)
	if err != nil {
		return err
	}
	const userData = `#!/bin/sh
sleep 1
mkdir -p var/lib/cloud/scripts/per-boot
cat > var/lib/cloud/scripts/per-boot/serve <<'EOS'
#!/bin/sh
AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench python3 - <<'PY' &
import os, subprocess, urllib.request
import boto3
e = os.environ["AWS_EC2_METADATA_SERVICE_ENDPOINT"].rstrip("/")
tok = urllib.request.urlopen(urllib.request.Request(e + "/latest/api/token", method="PUT",
    headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})).read().decode()
md = lambda p: urllib.request.urlopen(urllib.request.Request(e + "/latest/meta-data/" + p,
    headers={"X-aws-ec2-metadata-token": tok})).read().decode()
ip, iid = md("local-ipv4"), md("instance-id")
subprocess.Popen(["python3", "-m", "http.server", "8080", "--bind", ip], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
group = boto3.client("ec2").describe_tags(Filters=[{"Name": "resource-id", "Values": [iid]},
    {"Name": "key", "Values": ["aws:autoscaling:groupName"]}])["Tags"][0]["Value"]
try:
    boto3.client("autoscaling").complete_lifecycle_action(AutoScalingGroupName=group, LifecycleHookName="ready",
        InstanceId=iid, LifecycleActionResult="CONTINUE")
except Exception:
    pass  # no wait to end: the instance is already in service
PY
EOS
chmod +x var/lib/cloud/scripts/per-boot/serve
./var/lib/cloud/scripts/per-boot/serve
`
	if _, err := ec2Call(client, base, url.Values{"Action": {"CreateLaunchTemplate"}, "LaunchTemplateName": {"warm"},
		"LaunchTemplateData.ImageId": {image}, "LaunchTemplateData.InstanceType": {"t3.micro"},
		"LaunchTemplateData.UserData": {base64.StdEncoding.EncodeToString([]byte(userData))}}); err != nil {
		return err
	}
	for _, g := range []string{"cold", "warm"} {
		if _, err := asCall(client, base, url.Values{"Action": {"CreateAutoScalingGroup"}, "AutoScalingGroupName": {g},
			"MinSize": {"0"}, "MaxSize": {"1"}, "DesiredCapacity": {"0"}, "LaunchTemplate.LaunchTemplateName": {"warm"},
			"AvailabilityZones.member.1": {"us-east-1a"}}); err != nil {
			return err
		}
		if _, err := asCall(client, base, url.Values{"Action": {"PutLifecycleHook"}, "AutoScalingGroupName": {g}, "LifecycleHookName": {"ready"},
			"LifecycleTransition": {"autoscaling:EC2_INSTANCE_LAUNCHING"}, "HeartbeatTimeout": {"60"}, "DefaultResult": {"CONTINUE"}}); err != nil {
			return err
		}
	}
	if _, err := asCall(client, base, url.Values{"Action": {"PutWarmPool"}, "AutoScalingGroupName": {"warm"}, "MinSize": {"1"},
		"InstanceReusePolicy.ReuseOnScaleIn": {"true"}}); err != nil {
		return err
	}
	// ips are the private addresses of a group's InService instances.
	ips := func(group string) ([]string, error) {
		body, err := asCall(client, base, url.Values{"Action": {"DescribeAutoScalingGroups"}, "AutoScalingGroupNames.member.1": {group}})
		if err != nil {
			return nil, err
		}
		var out []string
		for _, part := range strings.Split(body, "<member>")[1:] {
			if !strings.Contains(part, "<LifecycleState>InService</LifecycleState>") {
				continue
			}
			id := between(part, "<InstanceId>", "</InstanceId>")
			desc, err := ec2Call(client, base, url.Values{"Action": {"DescribeInstances"}, "InstanceId.1": {id}})
			if err != nil {
				return nil, err
			}
			out = append(out, between(desc, "<privateIpAddress>", "</privateIpAddress>"))
		}
		return out, nil
	}
	// ready waits for the pool to hold a stopped instance, or for a group
	// to be empty.
	settle := func(group, want string) error {
		for t0 := wall.Now(); wall.Since(t0) < 60*time.Second; wall.Sleep(context.Background(), 50*time.Millisecond) {
			var body string
			var err error
			if want == "pool" {
				body, err = asCall(client, base, url.Values{"Action": {"DescribeWarmPool"}, "AutoScalingGroupName": {group}})
				if err == nil && strings.Count(body, "<LifecycleState>Warmed:Stopped</LifecycleState>") == 1 && strings.Count(body, "<LifecycleState>") == 1 {
					return nil
				}
			} else {
				body, err = asCall(client, base, url.Values{"Action": {"DescribeAutoScalingGroups"}, "AutoScalingGroupNames.member.1": {group}})
				if err == nil && !strings.Contains(body, "<InstanceId>") {
					return nil
				}
			}
			if err != nil {
				return err
			}
		}
		return fmt.Errorf("%s did not settle (%s)", group, want)
	}
	serveTime := func(group string) (time.Duration, error) {
		t0 := wall.Now()
		if _, err := asCall(client, base, url.Values{"Action": {"SetDesiredCapacity"}, "AutoScalingGroupName": {group}, "DesiredCapacity": {"1"}}); err != nil {
			return 0, err
		}
		probe := &http.Client{Timeout: time.Second}
		for wall.Since(t0) < 60*time.Second {
			addrs, err := ips(group)
			if err != nil {
				return 0, err
			}
			for _, ip := range addrs {
				if resp, err := probe.Get("http://" + ip + ":8080/"); err == nil {
					resp.Body.Close()
					return wall.Since(t0), nil
				}
			}
			wall.Sleep(context.Background(), 10*time.Millisecond)
		}
		return 0, fmt.Errorf("%s: no HTTP answer within 60 s", group)
	}
	var cold, warm []time.Duration
	for range rounds {
		if err := settle("cold", "empty"); err != nil {
			return err
		}
		d, err := serveTime("cold")
		if err != nil {
			return err
		}
		cold = append(cold, d)
		if err := settle("warm", "pool"); err != nil {
			return err
		}
		if d, err = serveTime("warm"); err != nil {
			return err
		}
		warm = append(warm, d)
		for _, g := range []string{"cold", "warm"} {
			if _, err := asCall(client, base, url.Values{"Action": {"SetDesiredCapacity"}, "AutoScalingGroupName": {g}, "DesiredCapacity": {"0"}}); err != nil {
				return err
			}
		}
	}
	fmt.Printf("%-34s %12s %12s %9.1f×  (cold/warm, median of %d; 1 s first-boot set-up)\n", "scale-out → serving HTTP",
		ms(median(cold)), ms(median(warm)), float64(median(cold))/float64(median(warm)), rounds)
	return nil
}
