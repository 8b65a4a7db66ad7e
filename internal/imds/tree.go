package imds

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nephele-dev/nephele/internal/awserr"
)

// leaf produces one metadata value when asked for.
type leaf func(ctx context.Context) (body []byte, contentType string, err error)

func text(s string) leaf {
	return func(context.Context) ([]byte, string, error) { return []byte(s), "text/plain", nil }
}

// tree is one instance's metadata under a version: leaves by path
// ("meta-data/placement/region", "user-data"), and the listings that are
// not just the names below a directory.
type tree struct {
	leaves map[string]leaf
	lists  map[string]string
}

// list returns a directory's listing: one name a line, directories ending
// in "/", no line feed after the last (botocore uses the listing of
// iam/security-credentials/ as the role name as is). The version root lists
// its categories without slashes, as AWS does.
func (t *tree) list(dir string) (string, bool) {
	if l, ok := t.lists[dir]; ok {
		return l, true
	}
	prefix := ""
	if dir != "" {
		prefix = dir + "/"
	}
	seen := map[string]bool{}
	for p := range t.leaves {
		rest, ok := strings.CutPrefix(p, prefix)
		if !ok || rest == "" {
			continue
		}
		if name, _, sub := strings.Cut(rest, "/"); sub && dir != "" {
			seen[name+"/"] = true
		} else {
			seen[name] = true
		}
	}
	if len(seen) == 0 {
		return "", false
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, "\n"), true
}

// imdsTime is how IMDS JSON writes times: UTC to the second.
func imdsTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// eventTime is how maintenance events write theirs: "21 Jan 2019 09:00:43 GMT".
func eventTime(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04:05 GMT") }

// tree builds inst's metadata as the categories table of the user guide
// lists it, leaving out what does not apply to inst.
func (s *Server) tree(l *instanceListener, inst Instance) *tree {
	t := &tree{leaves: map[string]leaf{}, lists: map[string]string{}}
	md := func(path, value string) {
		if value != "" {
			t.leaves["meta-data/"+path] = text(value)
		}
	}
	region := inst.Region
	if region == "" && len(inst.AvailabilityZone) > 1 {
		region = inst.AvailabilityZone[:len(inst.AvailabilityZone)-1]
	}

	md("ami-id", inst.ImageID)
	md("ami-launch-index", strconv.Itoa(inst.AmiLaunchIndex))
	// "If you used an Amazon EBS-backed AMI to launch the instance, the
	// returned result is unknown."
	md("ami-manifest-path", "(unknown)")
	for name, dev := range inst.BlockDeviceMapping {
		md("block-device-mapping/"+name, dev)
	}
	md("hostname", inst.PrivateDNSName)
	md("instance-action", cmpOr(inst.InstanceAction, "none"))
	md("instance-id", inst.InstanceID)
	md("instance-life-cycle", cmpOr(inst.InstanceLifecycle, "on-demand"))
	md("instance-type", inst.InstanceType)
	md("kernel-id", inst.KernelID)
	md("local-hostname", inst.PrivateDNSName)
	md("local-ipv4", inst.PrivateIPAddress)
	md("mac", inst.MACAddress)
	md("placement/availability-zone", inst.AvailabilityZone)
	md("placement/availability-zone-id", inst.AvailabilityZoneID)
	md("placement/region", region)
	md("product-codes", strings.Join(inst.ProductCodes, "\n"))
	md("public-hostname", inst.PublicDNSName)
	md("public-ipv4", inst.PublicIPAddress)
	md("ramdisk-id", inst.RamdiskID)
	md("reservation-id", inst.ReservationID)
	md("security-groups", strings.Join(groupField(inst.SecurityGroups, false), "\n"))
	domain, partition := servicesOf(region)
	md("services/domain", domain)
	md("services/partition", partition)

	if inst.KeyName != "" && inst.PublicKey != "" {
		md("public-keys/0/openssh-key", inst.PublicKey)
		// The key list names each index with its key: "0=my-public-key".
		t.lists["meta-data/public-keys"] = "0=" + inst.KeyName
	}

	if mac := inst.MACAddress; mac != "" {
		nic := func(path, value string) { md("network/interfaces/macs/"+mac+"/"+path, value) }
		nic("device-number", "0")
		nic("interface-id", inst.NetworkInterfaceID)
		nic("local-hostname", inst.PrivateDNSName)
		nic("local-ipv4s", inst.PrivateIPAddress)
		nic("mac", mac)
		nic("owner-id", inst.AccountID)
		nic("public-hostname", inst.PublicDNSName)
		nic("public-ipv4s", inst.PublicIPAddress)
		nic("security-group-ids", strings.Join(groupField(inst.SecurityGroups, true), "\n"))
		nic("security-groups", strings.Join(groupField(inst.SecurityGroups, false), "\n"))
		nic("subnet-id", inst.SubnetID)
		nic("subnet-ipv4-cidr-block", inst.SubnetCIDRBlock)
		nic("vpc-id", inst.VpcID)
		nic("vpc-ipv4-cidr-block", inst.VpcCIDRBlock)
		nic("vpc-ipv4-cidr-blocks", inst.VpcCIDRBlock)
	}

	if p := inst.IamInstanceProfile; p != nil {
		updated := p.LastUpdated
		if updated.IsZero() {
			updated = inst.LaunchTime
		}
		t.leaves["meta-data/iam/info"] = jsonLeaf(object{
			{"Code", "Success"},
			{"LastUpdated", imdsTime(updated)},
			{"InstanceProfileArn", p.Arn},
			{"InstanceProfileId", p.ID},
		})
		if p.RoleName != "" {
			t.leaves["meta-data/iam/security-credentials/"+p.RoleName] = s.credentialsLeaf(l, inst)
		}
	}

	// Scheduled events and history are always there, an empty list when
	// there are none: the node termination handler treats anything but 2xx
	// from them as a failure.
	t.leaves["meta-data/events/maintenance/scheduled"] = jsonLeaf(eventList(inst.ScheduledEvents))
	t.leaves["meta-data/events/maintenance/history"] = jsonLeaf(eventList(inst.EventHistory))
	if !inst.RebalanceRecommendation.IsZero() {
		t.leaves["meta-data/events/recommendations/rebalance"] = jsonLeaf(object{
			{"noticeTime", imdsTime(inst.RebalanceRecommendation)},
		})
	}
	if a := inst.SpotInstanceAction; a != nil {
		t.leaves["meta-data/spot/instance-action"] = jsonLeaf(object{
			{"action", a.Action},
			{"time", imdsTime(a.Time)},
		})
		// Kept by AWS for backward compatibility, for terminations only.
		if a.Action == "terminate" {
			md("spot/termination-time", imdsTime(a.Time))
		}
	}
	md("autoscaling/target-lifecycle-state", inst.TargetLifecycleState)

	if inst.MetadataOptions.InstanceMetadataTags == "enabled" {
		for k, v := range inst.Tags {
			if tagServable(k) {
				t.leaves["meta-data/tags/instance/"+k] = text(v)
			}
		}
	}

	if len(inst.UserData) > 0 {
		data := inst.UserData
		t.leaves["user-data"] = func(context.Context) ([]byte, string, error) {
			return data, "application/octet-stream", nil
		}
	}

	doc := identityDocument(inst, region)
	t.leaves["dynamic/instance-identity/document"] = text(string(doc))
	t.leaves["dynamic/instance-identity/signature"] = func(context.Context) ([]byte, string, error) {
		b, err := s.signer.signature(doc)
		return b, "text/plain", err
	}
	t.leaves["dynamic/instance-identity/pkcs7"] = func(context.Context) ([]byte, string, error) {
		b, err := s.signer.pkcs7(doc)
		return b, "text/plain", err
	}
	t.leaves["dynamic/instance-identity/rsa2048"] = func(context.Context) ([]byte, string, error) {
		b, err := s.signer.pkcs7(doc)
		return b, "text/plain", err
	}
	t.leaves["dynamic/fws/instance-monitoring"] = text(cmpOr(inst.Monitoring, "disabled"))
	return t
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func groupField(groups []SecurityGroup, ids bool) []string {
	out := make([]string, 0, len(groups))
	for _, g := range groups {
		if ids {
			out = append(out, g.GroupID)
		} else {
			out = append(out, g.GroupName)
		}
	}
	return out
}

// servicesOf gives services/domain and services/partition for a region.
func servicesOf(region string) (domain, partition string) {
	switch {
	case region == "":
		return "", ""
	case strings.HasPrefix(region, "cn-"):
		return "amazonaws.com.cn", "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "amazonaws.com", "aws-us-gov"
	}
	return "amazonaws.com", "aws"
}

// tagServable reports whether a tag key can appear in the metadata: keys
// with a "/" or a space, and the keys "." and "..", cannot be paths, and AWS
// leaves them out.
func tagServable(k string) bool {
	return k != "" && k != "." && k != ".." && !strings.ContainsAny(k, "/ ")
}

// identityDocument is the instance identity document with the members, in
// the order, that AWS's carries.
func identityDocument(inst Instance, region string) []byte {
	return prettyJSON(object{
		{"accountId", inst.AccountID},
		{"architecture", inst.Architecture},
		{"availabilityZone", inst.AvailabilityZone},
		{"billingProducts", nil},
		{"devpayProductCodes", nil},
		{"marketplaceProductCodes", stringsOrNil(inst.ProductCodes)},
		{"imageId", inst.ImageID},
		{"instanceId", inst.InstanceID},
		{"instanceType", inst.InstanceType},
		{"kernelId", stringOrNil(inst.KernelID)},
		{"pendingTime", imdsTime(inst.LaunchTime)},
		{"privateIp", inst.PrivateIPAddress},
		{"ramdiskId", stringOrNil(inst.RamdiskID)},
		{"region", region},
		{"version", "2017-09-30"},
	})
}

func stringOrNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func stringsOrNil(ss []string) any {
	if len(ss) == 0 {
		return nil
	}
	list := make([]any, len(ss))
	for i, s := range ss {
		list[i] = s
	}
	return list
}

func eventList(events []MaintenanceEvent) []any {
	list := make([]any, 0, len(events))
	for _, e := range events {
		o := object{
			{"NotBefore", eventTime(e.NotBefore)},
			{"Code", e.Code},
			{"Description", e.Description},
			{"EventId", e.EventID},
		}
		if !e.NotAfter.IsZero() {
			o = append(o, field{"NotAfter", eventTime(e.NotAfter)})
		}
		if !e.NotBeforeDeadline.IsZero() {
			o = append(o, field{"NotBeforeDeadline", eventTime(e.NotBeforeDeadline)})
		}
		o = append(o, field{"State", e.State})
		list = append(list, o)
	}
	return list
}

// credentialsLeaf serves the role's credentials in the JSON the SDKs
// parse, issuing new ones through Config.Credentials when the ones served
// are near expiry. A failure is served as AWS serves it, a document with a
// Code other than "Success" and a Message, which the SDKs report.
func (s *Server) credentialsLeaf(l *instanceListener, inst Instance) leaf {
	return func(ctx context.Context) ([]byte, string, error) {
		p := inst.IamInstanceProfile
		key := p.Arn + "\x00" + p.RoleName
		now := s.cfg.Clock.Now()
		c, ok := l.cachedCredentials(key, now)
		if !ok {
			var err error
			if s.cfg.Credentials == nil {
				err = errors.New("imds: no CredentialsFunc configured")
			} else {
				c, err = s.cfg.Credentials(ctx, inst)
			}
			if err != nil {
				e := awserr.As(err)
				if e.Cause != nil {
					s.cfg.Logger.Warn("imds: instance credentials", "instance", inst.InstanceID, "role", p.RoleName, "err", err)
				}
				return prettyJSON(object{
					{"Code", e.Code},
					{"Message", e.Message},
					{"LastUpdated", imdsTime(now)},
				}), "text/plain", nil
			}
			if c.LastUpdated.IsZero() {
				c.LastUpdated = now
			}
			l.storeCredentials(key, c)
		}
		return prettyJSON(object{
			{"Code", "Success"},
			{"LastUpdated", imdsTime(c.LastUpdated)},
			{"Type", "AWS-HMAC"},
			{"AccessKeyId", c.AccessKeyID},
			{"SecretAccessKey", c.SecretAccessKey},
			{"Token", c.Token},
			{"Expiration", imdsTime(c.Expiration)},
		}), "text/plain", nil
	}
}

func jsonLeaf(v any) leaf {
	b := prettyJSON(v)
	return func(context.Context) ([]byte, string, error) { return b, "text/plain", nil }
}

// object is a JSON object whose members keep their order.
type object []field

type field struct {
	k string
	v any
}

// prettyJSON writes v the way IMDS does (Jackson's default pretty printer):
// `"key" : value`, objects indented by two spaces a level, lists on one
// line as `[ a, b ]`, `[ ]` when empty.
func prettyJSON(v any) []byte {
	var b bytes.Buffer
	writeJSON(&b, v, 0)
	return b.Bytes()
}

func writeJSON(b *bytes.Buffer, v any, level int) {
	switch v := v.(type) {
	case object:
		if len(v) == 0 {
			b.WriteString("{ }")
			return
		}
		b.WriteString("{\n")
		for i, f := range v {
			if i > 0 {
				b.WriteString(",\n")
			}
			b.WriteString(strings.Repeat("  ", level+1))
			writeJSON(b, f.k, level+1)
			b.WriteString(" : ")
			writeJSON(b, f.v, level+1)
		}
		b.WriteString("\n" + strings.Repeat("  ", level) + "}")
	case []any:
		if len(v) == 0 {
			b.WriteString("[ ]")
			return
		}
		b.WriteString("[ ")
		for i, e := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			writeJSON(b, e, level)
		}
		b.WriteString(" ]")
	default:
		enc, err := json.Marshal(v)
		if err != nil {
			panic("imds: unencodable metadata value: " + err.Error()) // only strings and nil reach here
		}
		b.Write(enc)
	}
}
