package imds_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/clock"
	"github.com/nephele-dev/nephele/internal/imds"
)

func TestTokens(t *testing.T) {
	const ttlHeader = "X-aws-ec2-metadata-token-ttl-seconds"
	e := newEnv(t, 0)
	ep := e.add(t, testInstance("i-0000000000000000a", "127.0.42.1"), "127.0.42.1")
	other := e.add(t, testInstance("i-0000000000000000b", "127.0.42.2"), "127.0.42.2")
	good := token(t, ep, "21600")
	otherTok := token(t, other, "21600")

	tests := []struct {
		name   string
		method string
		path   string
		header map[string]string
		want   int
	}{
		{"put_with_max_ttl_issues_token", "PUT", "latest/api/token", map[string]string{ttlHeader: "21600"}, 200},
		{"put_with_one_second_ttl_issues_token", "PUT", "latest/api/token", map[string]string{ttlHeader: "1"}, 200},
		{"put_without_ttl_is_bad_request", "PUT", "latest/api/token", nil, 400},
		{"put_with_zero_ttl_is_bad_request", "PUT", "latest/api/token", map[string]string{ttlHeader: "0"}, 400},
		{"put_over_six_hours_is_bad_request", "PUT", "latest/api/token", map[string]string{ttlHeader: "21601"}, 400},
		{"put_with_negative_ttl_is_bad_request", "PUT", "latest/api/token", map[string]string{ttlHeader: "-5"}, 400},
		{"put_with_text_ttl_is_bad_request", "PUT", "latest/api/token", map[string]string{ttlHeader: "six"}, 400},
		{"put_with_x_forwarded_for_is_forbidden", "PUT", "latest/api/token", map[string]string{ttlHeader: "60", "X-Forwarded-For": "10.0.0.1"}, 403},
		{"put_to_versioned_token_path_is_forbidden", "PUT", "2021-03-23/api/token", map[string]string{ttlHeader: "60"}, 403},
		{"get_with_valid_token_is_served", "GET", "latest/meta-data/instance-id", map[string]string{"X-aws-ec2-metadata-token": good}, 200},
		{"head_with_valid_token_is_served", "HEAD", "latest/meta-data/instance-id", map[string]string{"X-aws-ec2-metadata-token": good}, 200},
		{"get_without_token_is_served_when_optional", "GET", "latest/meta-data/instance-id", nil, 200},
		{"get_with_garbage_token_is_unauthorized", "GET", "latest/meta-data/instance-id", map[string]string{"X-aws-ec2-metadata-token": "AQAEAGarbage=="}, 401},
		{"get_with_empty_token_is_unauthorized", "GET", "latest/meta-data/instance-id", map[string]string{"X-aws-ec2-metadata-token": ""}, 401},
		{"get_with_tampered_token_is_unauthorized", "GET", "latest/meta-data/instance-id", map[string]string{"X-aws-ec2-metadata-token": tamper(good)}, 401},
		{"get_with_token_of_another_instance_is_unauthorized", "GET", "latest/meta-data/instance-id", map[string]string{"X-aws-ec2-metadata-token": otherTok}, 401},
		{"get_of_token_path_is_not_allowed", "GET", "latest/api/token", nil, 405},
		{"post_is_not_allowed", "POST", "latest/meta-data/", nil, 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, tt.method, ep+tt.path, tt.header)
			if r.status != tt.want {
				t.Fatalf("status %d, want %d; body %q", r.status, tt.want, r.body)
			}
			if tt.method == "PUT" && tt.want == 200 {
				if got := r.header.Get(ttlHeader); got != tt.header[ttlHeader] {
					t.Errorf("TTL header %q, want %q", got, tt.header[ttlHeader])
				}
				if r.body == "" {
					t.Error("empty token")
				}
			}
			if tt.want >= 400 && tt.method != "HEAD" {
				title := fmt.Sprintf("<title>%d - %s</title>", tt.want, http.StatusText(tt.want))
				if !strings.Contains(r.body, title) {
					t.Errorf("body %q lacks %s", r.body, title)
				}
			}
		})
	}
}

// tamper flips one bit of a token's payload.
func tamper(tok string) string {
	b := []byte(tok)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}

func TestTokenExpiresOnTheClock(t *testing.T) {
	e := newEnv(t, 0)
	ep := e.add(t, testInstance("i-0000000000000000a", "127.0.42.3"), "127.0.42.3")
	tok := token(t, ep, "60")
	get := func() int {
		return do(t, "GET", ep+"latest/meta-data/instance-id", map[string]string{"X-aws-ec2-metadata-token": tok}).status
	}
	if got := get(); got != 200 {
		t.Fatalf("fresh token: %d", got)
	}
	e.clk.Advance(59 * time.Second)
	if got := get(); got != 200 {
		t.Fatalf("token after 59 s of 60: %d", got)
	}
	e.clk.Advance(time.Second)
	if got := get(); got != 401 {
		t.Fatalf("token after its 60 s: %d, want 401", got)
	}
}

func TestTokenDiesWithRemove(t *testing.T) {
	e := newEnv(t, 0)
	inst := testInstance("i-0000000000000000a", "127.0.42.4")
	ep := e.add(t, inst, "127.0.42.4")
	tok := token(t, ep, "600")
	e.srv.Remove(inst.InstanceID)
	ep = e.add(t, inst, "127.0.42.4") // stopped and started again
	r := do(t, "GET", ep+"latest/meta-data/instance-id", map[string]string{"X-aws-ec2-metadata-token": tok})
	if r.status != 401 {
		t.Fatalf("token from before Remove: %d, want 401", r.status)
	}
}

func TestMetadataOptions(t *testing.T) {
	tests := []struct {
		name      string
		opts      imds.MetadataOptions
		withToken bool
		method    string
		want      int
	}{
		{"v1_allowed_when_tokens_optional", imds.MetadataOptions{HTTPTokens: "optional"}, false, "GET", 200},
		{"v1_allowed_by_default", imds.MetadataOptions{}, false, "GET", 200},
		{"v1_refused_when_tokens_required", imds.MetadataOptions{HTTPTokens: "required"}, false, "GET", 401},
		{"v2_served_when_tokens_required", imds.MetadataOptions{HTTPTokens: "required"}, true, "GET", 200},
		{"get_forbidden_when_endpoint_disabled", imds.MetadataOptions{HTTPEndpoint: "disabled"}, false, "GET", 403},
		{"put_forbidden_when_endpoint_disabled", imds.MetadataOptions{HTTPEndpoint: "disabled"}, false, "PUT", 403},
	}
	e := newEnv(t, 0)
	inst := testInstance("i-0000000000000000a", "127.0.42.5")
	ep := e.add(t, inst, "127.0.42.5")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.src.update(inst.InstanceID, func(i *imds.Instance) { i.MetadataOptions = imds.MetadataOptions{} })
			h := map[string]string{}
			if tt.withToken {
				h["X-aws-ec2-metadata-token"] = token(t, ep, "60")
			}
			// Options apply to the next request, as ModifyInstanceMetadataOptions does.
			e.src.update(inst.InstanceID, func(i *imds.Instance) { i.MetadataOptions = tt.opts })
			path := "latest/meta-data/instance-id"
			if tt.method == "PUT" {
				path = "latest/api/token"
				h["X-aws-ec2-metadata-token-ttl-seconds"] = "60"
			}
			if r := do(t, tt.method, ep+path, h); r.status != tt.want {
				t.Fatalf("status %d, want %d; body %q", r.status, tt.want, r.body)
			}
		})
	}
}

func TestPaths(t *testing.T) {
	e := newEnv(t, 0)
	full := testInstance("i-0000000000000000a", "127.0.42.6")
	full.MetadataOptions.InstanceMetadataTags = "enabled"
	full.Tags["bad/key"] = "left out"
	full.InstanceLifecycle = "spot"
	full.SpotInstanceAction = &imds.SpotInstanceAction{Action: "terminate", Time: time.Date(2017, 9, 18, 8, 22, 0, 0, time.UTC)}
	full.RebalanceRecommendation = time.Date(2020, 10, 26, 14, 14, 55, 0, time.UTC)
	full.TargetLifecycleState = "InService"
	full.ScheduledEvents = []imds.MaintenanceEvent{{
		Code: "system-reboot", Description: "scheduled reboot", State: "active",
		EventID:   "instance-event-0d59937288b749b32",
		NotBefore: time.Date(2019, 1, 21, 9, 0, 43, 0, time.UTC), NotAfter: time.Date(2019, 1, 21, 9, 17, 23, 0, time.UTC),
	}}
	fullEP := e.add(t, full, "127.0.42.6")
	bare := imds.Instance{InstanceID: "i-0000000000000000b", ImageID: "ami-1", InstanceType: "t3.nano",
		AvailabilityZone: "eu-west-1b", PrivateIPAddress: "127.0.42.7", LaunchTime: start}
	bareEP := e.add(t, bare, "127.0.42.7")

	tests := []struct {
		name   string
		ep     string
		path   string
		status int
		body   string // exact, unless contains is set
		ctype  string
	}{
		{"root_lists_versions", fullEP, "", 200, "1.0\n2007-01-19\n2007-03-01\n2007-08-29\n2007-10-10\n2007-12-15\n2008-02-01\n2008-09-01\n2009-04-04\n2011-01-01\n2011-05-01\n2012-01-12\n2014-02-25\n2014-11-05\n2015-10-20\n2016-04-19\n2016-06-30\n2016-09-02\n2018-03-28\n2018-08-17\n2018-09-24\n2019-10-01\n2020-10-27\n2021-01-03\n2021-03-23\nlatest", "text/plain"},
		{"latest_lists_categories", fullEP, "latest/", 200, "dynamic\nmeta-data\nuser-data", "text/plain"},
		{"latest_without_slash_lists_categories", fullEP, "latest", 200, "dynamic\nmeta-data\nuser-data", "text/plain"},
		{"latest_without_user_data_omits_it", bareEP, "latest/", 200, "dynamic\nmeta-data", "text/plain"},
		{"meta_data_lists_top_level", fullEP, "latest/meta-data/", 200, "ami-id\nami-launch-index\nami-manifest-path\nautoscaling/\nblock-device-mapping/\nevents/\nhostname\niam/\ninstance-action\ninstance-id\ninstance-life-cycle\ninstance-type\nlocal-hostname\nlocal-ipv4\nmac\nnetwork/\nplacement/\npublic-keys/\nreservation-id\nsecurity-groups\nservices/\nspot/\ntags/", "text/plain"},
		{"meta_data_of_bare_instance", bareEP, "latest/meta-data", 200, "ami-id\nami-launch-index\nami-manifest-path\nevents/\ninstance-action\ninstance-id\ninstance-life-cycle\ninstance-type\nlocal-ipv4\nplacement/\nservices/", "text/plain"},
		{"old_version_serves_latest_tree", fullEP, "2009-04-04/meta-data/instance-id", 200, "i-0000000000000000a", "text/plain"},
		{"unknown_version_not_found", fullEP, "1999-01-01/meta-data/instance-id", 404, "", ""},
		{"ami_id", fullEP, "latest/meta-data/ami-id", 200, "ami-0abcdef1234567890", "text/plain"},
		{"ami_launch_index", fullEP, "latest/meta-data/ami-launch-index", 200, "0", "text/plain"},
		{"ami_manifest_path_is_unknown", fullEP, "latest/meta-data/ami-manifest-path", 200, "(unknown)", "text/plain"},
		{"block_device_mapping_lists", fullEP, "latest/meta-data/block-device-mapping/", 200, "ami\nroot", "text/plain"},
		{"block_device_mapping_root", fullEP, "latest/meta-data/block-device-mapping/root", 200, "/dev/xvda", "text/plain"},
		{"hostname", fullEP, "latest/meta-data/hostname", 200, "ip-127-0-42-6.ec2.internal", "text/plain"},
		{"instance_action_none", fullEP, "latest/meta-data/instance-action", 200, "none", "text/plain"},
		{"instance_life_cycle_spot", fullEP, "latest/meta-data/instance-life-cycle", 200, "spot", "text/plain"},
		{"instance_life_cycle_on_demand", bareEP, "latest/meta-data/instance-life-cycle", 200, "on-demand", "text/plain"},
		{"local_ipv4", fullEP, "latest/meta-data/local-ipv4", 200, "127.0.42.6", "text/plain"},
		{"mac", fullEP, "latest/meta-data/mac", 200, "02:29:96:8f:6a:2d", "text/plain"},
		{"placement_lists", fullEP, "latest/meta-data/placement/", 200, "availability-zone\navailability-zone-id\nregion", "text/plain"},
		{"placement_region", fullEP, "latest/meta-data/placement/region", 200, "us-east-1", "text/plain"},
		{"region_derived_from_zone", bareEP, "latest/meta-data/placement/region", 200, "eu-west-1", "text/plain"},
		{"leaf_with_trailing_slash_is_the_leaf", fullEP, "latest/meta-data/placement/availability-zone/", 200, "us-east-1a", "text/plain"},
		{"security_groups_one_a_line", fullEP, "latest/meta-data/security-groups", 200, "default\nweb", "text/plain"},
		{"reservation_id", fullEP, "latest/meta-data/reservation-id", 200, "r-0efghijk987654321", "text/plain"},
		{"services_partition", fullEP, "latest/meta-data/services/partition", 200, "aws", "text/plain"},
		{"public_keys_list_names_the_key", fullEP, "latest/meta-data/public-keys/", 200, "0=my-public-key", "text/plain"},
		{"public_key_formats", fullEP, "latest/meta-data/public-keys/0/", 200, "openssh-key", "text/plain"},
		{"public_key", fullEP, "latest/meta-data/public-keys/0/openssh-key", 200, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE my-public-key", "text/plain"},
		{"macs_list", fullEP, "latest/meta-data/network/interfaces/macs/", 200, "02:29:96:8f:6a:2d/", "text/plain"},
		{"interface_lists", fullEP, "latest/meta-data/network/interfaces/macs/02:29:96:8f:6a:2d/", 200, "device-number\ninterface-id\nlocal-hostname\nlocal-ipv4s\nmac\nowner-id\nsecurity-group-ids\nsecurity-groups\nsubnet-id\nsubnet-ipv4-cidr-block\nvpc-id\nvpc-ipv4-cidr-block\nvpc-ipv4-cidr-blocks", "text/plain"},
		{"interface_subnet_id", fullEP, "latest/meta-data/network/interfaces/macs/02:29:96:8f:6a:2d/subnet-id", 200, "subnet-be9b61d7", "text/plain"},
		{"interface_security_group_ids", fullEP, "latest/meta-data/network/interfaces/macs/02:29:96:8f:6a:2d/security-group-ids", 200, "sg-1\nsg-2", "text/plain"},
		{"iam_lists", fullEP, "latest/meta-data/iam/", 200, "info\nsecurity-credentials/", "text/plain"},
		{"iam_info", fullEP, "latest/meta-data/iam/info", 200, "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : \"" + start.Add(-time.Hour).Format("2006-01-02T15:04:05Z") + "\",\n  \"InstanceProfileArn\" : \"arn:aws:iam::000000000000:instance-profile/web\",\n  \"InstanceProfileId\" : \"AIPAEXAMPLEPROFILE01\"\n}", "text/plain"},
		{"iam_roles_list_has_no_line_feed", fullEP, "latest/meta-data/iam/security-credentials/", 200, "web-role", "text/plain"},
		{"iam_absent_without_profile", bareEP, "latest/meta-data/iam/", 404, "", ""},
		{"spot_lists", fullEP, "latest/meta-data/spot/", 200, "instance-action\ntermination-time", "text/plain"},
		{"spot_instance_action", fullEP, "latest/meta-data/spot/instance-action", 200, "{\n  \"action\" : \"terminate\",\n  \"time\" : \"2017-09-18T08:22:00Z\"\n}", "text/plain"},
		{"spot_termination_time", fullEP, "latest/meta-data/spot/termination-time", 200, "2017-09-18T08:22:00Z", "text/plain"},
		{"spot_instance_action_absent_until_marked", bareEP, "latest/meta-data/spot/instance-action", 404, "", ""},
		{"events_lists", fullEP, "latest/meta-data/events/", 200, "maintenance/\nrecommendations/", "text/plain"},
		{"rebalance_recommendation", fullEP, "latest/meta-data/events/recommendations/rebalance", 200, "{\n  \"noticeTime\" : \"2020-10-26T14:14:55Z\"\n}", "text/plain"},
		{"rebalance_absent_until_issued", bareEP, "latest/meta-data/events/recommendations/rebalance", 404, "", ""},
		{"scheduled_events", fullEP, "latest/meta-data/events/maintenance/scheduled", 200, "[ {\n  \"NotBefore\" : \"21 Jan 2019 09:00:43 GMT\",\n  \"Code\" : \"system-reboot\",\n  \"Description\" : \"scheduled reboot\",\n  \"EventId\" : \"instance-event-0d59937288b749b32\",\n  \"NotAfter\" : \"21 Jan 2019 09:17:23 GMT\",\n  \"State\" : \"active\"\n} ]", "text/plain"},
		{"no_scheduled_events_is_empty_list", bareEP, "latest/meta-data/events/maintenance/scheduled", 200, "[ ]", "text/plain"},
		{"target_lifecycle_state", fullEP, "latest/meta-data/autoscaling/target-lifecycle-state", 200, "InService", "text/plain"},
		{"target_lifecycle_state_absent_outside_groups", bareEP, "latest/meta-data/autoscaling/target-lifecycle-state", 404, "", ""},
		{"tags_list_servable_keys", fullEP, "latest/meta-data/tags/instance/", 200, "Environment\nName", "text/plain"},
		{"tag_value", fullEP, "latest/meta-data/tags/instance/Name", 200, "web-1", "text/plain"},
		{"user_data_is_raw", fullEP, "latest/user-data", 200, "#!/bin/sh\necho hello\n", "application/octet-stream"},
		{"no_user_data_is_not_found", bareEP, "latest/user-data", 404, "", ""},
		{"dynamic_lists", fullEP, "latest/dynamic/", 200, "fws/\ninstance-identity/", "text/plain"},
		{"instance_identity_lists", fullEP, "latest/dynamic/instance-identity/", 200, "document\npkcs7\nrsa2048\nsignature", "text/plain"},
		{"instance_monitoring", fullEP, "latest/dynamic/fws/instance-monitoring", 200, "disabled", "text/plain"},
		{"unknown_leaf_not_found", fullEP, "latest/meta-data/no-such-thing", 404, "", ""},
		{"unknown_directory_not_found", fullEP, "latest/meta-data/no/such/", 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, "GET", tt.ep+tt.path, nil)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d; body %q", r.status, tt.status, r.body)
			}
			if tt.status == 404 {
				if !strings.Contains(r.body, "<title>404 - Not Found</title>") || r.header.Get("Content-Type") != "text/html" {
					t.Errorf("404 page %q (%s) is not AWS's", r.body, r.header.Get("Content-Type"))
				}
				return
			}
			if r.body != tt.body {
				t.Errorf("body\n%q\nwant\n%q", r.body, tt.body)
			}
			if got := r.header.Get("Content-Type"); got != tt.ctype {
				t.Errorf("Content-Type %q, want %q", got, tt.ctype)
			}
		})
	}

	t.Run("tags_absent_unless_enabled", func(t *testing.T) {
		e.src.update(full.InstanceID, func(i *imds.Instance) { i.MetadataOptions.InstanceMetadataTags = "disabled" })
		defer e.src.update(full.InstanceID, func(i *imds.Instance) { i.MetadataOptions.InstanceMetadataTags = "enabled" })
		if r := do(t, "GET", fullEP+"latest/meta-data/tags/instance/Name", nil); r.status != 404 {
			t.Fatalf("status %d, want 404", r.status)
		}
	})
}

func TestIdentityDocument(t *testing.T) {
	e := newEnv(t, 0)
	inst := testInstance("i-0000000000000000a", "127.0.42.8")
	ep := e.add(t, inst, "127.0.42.8")
	r := do(t, "GET", ep+"latest/dynamic/instance-identity/document", nil)
	want := `{
  "accountId" : "000000000000",
  "architecture" : "x86_64",
  "availabilityZone" : "us-east-1a",
  "billingProducts" : null,
  "devpayProductCodes" : null,
  "marketplaceProductCodes" : null,
  "imageId" : "ami-0abcdef1234567890",
  "instanceId" : "i-0000000000000000a",
  "instanceType" : "t3.micro",
  "kernelId" : null,
  "pendingTime" : "` + inst.LaunchTime.Format("2006-01-02T15:04:05Z") + `",
  "privateIp" : "127.0.42.8",
  "ramdiskId" : null,
  "region" : "us-east-1",
  "version" : "2017-09-30"
}`
	if r.status != 200 || r.body != want {
		t.Fatalf("document %d\n%s\nwant\n%s", r.status, r.body, want)
	}
	verifySignatures(t, e.srv, ep, []byte(r.body))
}

func TestCredentials(t *testing.T) {
	e := newEnv(t, 0)
	inst := testInstance("i-0000000000000000a", "127.0.42.9")
	ep := e.add(t, inst, "127.0.42.9")
	get := func() string {
		t.Helper()
		r := do(t, "GET", ep+"latest/meta-data/iam/security-credentials/web-role", nil)
		if r.status != 200 {
			t.Fatalf("credentials: %d %s", r.status, r.body)
		}
		return r.body
	}
	first := get()
	want := "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : \"" + start.Format("2006-01-02T15:04:05Z") +
		"\",\n  \"Type\" : \"AWS-HMAC\",\n  \"AccessKeyId\" : \"ASIAWEB-0001\",\n  \"SecretAccessKey\" : \"secret-1\",\n  \"Token\" : \"session-token-1\",\n  \"Expiration\" : \"" +
		start.Add(time.Hour).Format("2006-01-02T15:04:05Z") + "\"\n}"
	if first != want {
		t.Fatalf("credentials\n%s\nwant\n%s", first, want)
	}

	t.Run("reused_until_five_minutes_before_expiry", func(t *testing.T) {
		e.clk.Advance(54*time.Minute + 59*time.Second)
		if got := get(); got != first || e.creds.count() != 1 {
			t.Fatalf("credentials changed at 54m59s (%d issued)", e.creds.count())
		}
		e.clk.Advance(time.Second)
		if got := get(); !strings.Contains(got, "ASIAWEB-0002") {
			t.Fatalf("credentials not rotated five minutes before expiry:\n%s", got)
		}
	})

	t.Run("failure_is_an_error_document", func(t *testing.T) {
		e.clk.Advance(2 * time.Hour)
		e.creds.mu.Lock()
		e.creds.err = awserr.New(403, "AccessDenied", "Not authorized to perform sts:AssumeRole")
		e.creds.mu.Unlock()
		got := get()
		if !strings.Contains(got, `"Code" : "AccessDenied"`) || !strings.Contains(got, `"Message" : "Not authorized to perform sts:AssumeRole"`) {
			t.Fatalf("error document:\n%s", got)
		}
		e.creds.mu.Lock()
		e.creds.err = errors.New("store on fire")
		e.creds.mu.Unlock()
		if got := get(); !strings.Contains(got, `"Code" : "InternalFailure"`) || strings.Contains(got, "fire") {
			t.Fatalf("internal error leaked or missing:\n%s", got)
		}
	})
}

func TestTwoInstancesOnOnePortSeeTheirOwnData(t *testing.T) {
	port := freePort(t, "127.0.42.10")
	e := newEnv(t, port)
	a := e.add(t, testInstance("i-000000000000000aa", "127.0.42.10"), "127.0.42.10")
	b := e.add(t, testInstance("i-000000000000000bb", "127.0.42.11"), "127.0.42.11")
	if want := fmt.Sprintf("http://127.0.42.10:%d/", port); a != want {
		t.Fatalf("endpoint %q, want %q", a, want)
	}
	if got, ok := e.srv.Endpoint("i-000000000000000bb"); !ok || got != b {
		t.Fatalf("Endpoint = %q, %v; want %q", got, ok, b)
	}
	for ep, want := range map[string]string{a: "i-000000000000000aa", b: "i-000000000000000bb"} {
		tok := token(t, ep, "60")
		for _, path := range []string{"latest/meta-data/instance-id"} {
			if r := do(t, "GET", ep+path, map[string]string{"X-aws-ec2-metadata-token": tok}); r.body != want {
				t.Errorf("%s%s = %q, want %q", ep, path, r.body, want)
			}
		}
	}
}

func TestAdd(t *testing.T) {
	e := newEnv(t, 0)
	inst := testInstance("i-0000000000000000a", "127.0.42.12")
	ep := e.add(t, inst, "127.0.42.12")
	e.src.set(testInstance("i-0000000000000000b", "127.0.42.12"))
	tests := []struct {
		name    string
		id, ip  string
		wantErr bool
	}{
		{"same_instance_same_address_is_idempotent", inst.InstanceID, "127.0.42.12", false},
		{"same_instance_other_address_fails", inst.InstanceID, "127.0.42.13", true},
		{"other_instance_same_address_fails", "i-0000000000000000b", "127.0.42.12", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.srv.Add(tt.id, netip.MustParseAddr(tt.ip))
			if (err != nil) != tt.wantErr {
				t.Fatalf("Add = %q, %v; want error %v", got, err, tt.wantErr)
			}
			if err == nil && got != ep {
				t.Fatalf("Add = %q, want %q", got, ep)
			}
		})
	}
	t.Run("after_close_fails", func(t *testing.T) {
		e.srv.Close()
		if _, err := e.srv.Add("i-0000000000000000c", netip.MustParseAddr("127.0.42.14")); err == nil {
			t.Fatal("Add after Close succeeded")
		}
	})
}

func TestRemoveClosesListenerAndConnections(t *testing.T) {
	e := newEnv(t, 0)
	inst := testInstance("i-0000000000000000a", "127.0.42.15")
	ep := e.add(t, inst, "127.0.42.15")
	addr := strings.TrimSuffix(strings.TrimPrefix(ep, "http://"), "/")

	// A kept-alive connection, as SDK clients hold.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /latest/meta-data/instance-id HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	e.srv.Remove(inst.InstanceID)

	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := br.Read(make([]byte, 1)); err == nil || errors.Is(err, net.ErrClosed) || isTimeout(err) {
		t.Fatalf("open connection not closed by Remove: read %d, %v", n, err)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatal("listener still accepts after Remove")
	}
	if _, ok := e.srv.Endpoint(inst.InstanceID); ok {
		t.Fatal("Endpoint still known after Remove")
	}
	e.srv.Remove(inst.InstanceID) // again: nothing to do
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestRemoveCancelsAndWaitsForRequests(t *testing.T) {
	src := &fakeSource{}
	inst := testInstance("i-0000000000000000a", "127.0.42.16")
	src.set(inst)
	entered := make(chan struct{})
	var returned atomic.Bool
	srv := imds.New(imds.Config{
		Clock:  clock.NewFake(start),
		Source: src,
		Credentials: func(ctx context.Context, _ imds.Instance) (imds.Credentials, error) {
			close(entered)
			<-ctx.Done() // an STS call that would never finish
			returned.Store(true)
			return imds.Credentials{}, ctx.Err()
		},
	})
	defer srv.Close()
	ep, err := srv.Add(inst.InstanceID, netip.MustParseAddr("127.0.42.16"))
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		resp, err := http.Get(ep + "latest/meta-data/iam/security-credentials/web-role")
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-entered
	srv.Remove(inst.InstanceID)
	if !returned.Load() {
		t.Fatal("Remove returned while a request was still in the handler")
	}
	if err := <-errc; err == nil {
		t.Fatal("request cut off by Remove got a response")
	}
}
