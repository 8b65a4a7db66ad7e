package ec2

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/awsid"
	"github.com/nephele-dev/nephele/internal/filter"
	"github.com/nephele-dev/nephele/internal/service"
	"github.com/nephele-dev/nephele/internal/store"
)

var (
	securityGroupKind = register(kind{prefix: "sg", resourceType: "security-group", bucket: "ec2/securitygroups"})
	// securityGroupRuleKind makes rules taggable. Rules live inside their
	// group's record; the bucket only maps a rule ID to its group, so that
	// CreateTags can find it.
	securityGroupRuleKind = register(kind{prefix: "sgr", resourceType: "security-group-rule", bucket: "ec2/securitygrouprules"})
)

// maxRulesPerDirection is EC2's default quota of inbound (and, separately,
// outbound) rules per security group.
const maxRulesPerDirection = 60

// securityGroupRecord is a stored security group (without tags). Its rules
// are kept one per source or destination, as EC2 numbers them
// (SecurityGroupRuleId), and grouped into IpPermissions only when
// described; IpPermissions and IpPermissionsEgress of the embedded shape
// stay empty. Rules are stored and described, not enforced.
type securityGroupRecord struct {
	api.SecurityGroup
	Rules []api.SecurityGroupRule
}

// newDefaultSecurityGroup makes the security group every VPC is created
// with: named "default", allowing all traffic from its own members and all
// traffic out.
func newDefaultSecurityGroup(sc scope, vpcID string) securityGroupRecord {
	g := newSecurityGroup(sc, vpcID, "default", "default VPC security group")
	g.Rules = append(g.Rules, newRule(sc, str(g.GroupId), false, api.SecurityGroupRule{
		IpProtocol: ptr("-1"), FromPort: ptr(int32(-1)), ToPort: ptr(int32(-1)),
		ReferencedGroupInfo: &api.ReferencedSecurityGroup{GroupId: g.GroupId, UserId: ptr(sc.account)},
	}))
	return g
}

// newSecurityGroup makes a group with EC2's one default rule: all traffic
// out to anywhere (Amazon VPC User Guide, "Security groups").
func newSecurityGroup(sc scope, vpcID, name, description string) securityGroupRecord {
	id := awsid.New("sg")
	g := securityGroupRecord{SecurityGroup: api.SecurityGroup{
		GroupId:          ptr(id),
		GroupName:        ptr(name),
		Description:      ptr(description),
		VpcId:            ptr(vpcID),
		OwnerId:          ptr(sc.account),
		SecurityGroupArn: ptr(sc.arn("security-group", id)),
	}}
	g.Rules = []api.SecurityGroupRule{newRule(sc, id, true, api.SecurityGroupRule{
		IpProtocol: ptr("-1"), FromPort: ptr(int32(-1)), ToPort: ptr(int32(-1)), CidrIpv4: ptr("0.0.0.0/0"),
	})}
	return g
}

// newRule gives a rule of group groupID its ID and owner.
func newRule(sc scope, groupID string, egress bool, r api.SecurityGroupRule) api.SecurityGroupRule {
	id := awsid.New("sgr")
	r.SecurityGroupRuleId = ptr(id)
	r.SecurityGroupRuleArn = ptr(sc.arn("security-group-rule", id))
	r.GroupId = ptr(groupID)
	r.GroupOwnerId = ptr(sc.account)
	r.IsEgress = ptr(egress)
	r.Tags = nil
	return r
}

func (s *Service) securityGroupOperations() []service.Operation {
	return []service.Operation{
		service.Handle("CreateSecurityGroup", s.CreateSecurityGroup),
		service.Handle("DeleteSecurityGroup", s.DeleteSecurityGroup),
		service.Handle("DescribeSecurityGroups", s.DescribeSecurityGroups),
		service.Handle("AuthorizeSecurityGroupIngress", s.AuthorizeSecurityGroupIngress),
		service.Handle("AuthorizeSecurityGroupEgress", s.AuthorizeSecurityGroupEgress),
		service.Handle("RevokeSecurityGroupIngress", s.RevokeSecurityGroupIngress),
		service.Handle("RevokeSecurityGroupEgress", s.RevokeSecurityGroupEgress),
		service.Handle("DescribeSecurityGroupRules", s.DescribeSecurityGroupRules),
		service.Handle("ModifySecurityGroupRules", s.ModifySecurityGroupRules),
		service.Handle("UpdateSecurityGroupRuleDescriptionsIngress", s.UpdateSecurityGroupRuleDescriptionsIngress),
		service.Handle("UpdateSecurityGroupRuleDescriptionsEgress", s.UpdateSecurityGroupRuleDescriptionsEgress),
	}
}

// putSecurityGroup stores a group and the index entries of its rules.
func putSecurityGroup(tx store.Tx, sc scope, g securityGroupRecord) error {
	for _, r := range g.Rules {
		if err := tx.Put(securityGroupRuleKind.bucket, sc.key(str(r.SecurityGroupRuleId)), str(g.GroupId)); err != nil {
			return err
		}
	}
	return tx.Put(securityGroupKind.bucket, sc.key(str(g.GroupId)), g)
}

// dropRules removes the index entries and tags of rules no longer in a
// group.
func dropRules(tx store.Tx, sc scope, rules []api.SecurityGroupRule) error {
	for _, r := range rules {
		id := str(r.SecurityGroupRuleId)
		if err := tx.Delete(securityGroupRuleKind.bucket, sc.key(id)); err != nil {
			return err
		}
		if err := writeTags(tx, sc, id, nil); err != nil {
			return err
		}
	}
	return nil
}

// removeSecurityGroup deletes a group with its rules and tags.
func removeSecurityGroup(tx store.Tx, sc scope, g securityGroupRecord) error {
	if err := dropRules(tx, sc, g.Rules); err != nil {
		return err
	}
	if err := tx.Delete(securityGroupKind.bucket, sc.key(str(g.GroupId))); err != nil {
		return err
	}
	return writeTags(tx, sc, str(g.GroupId), nil)
}

// defaultVPCOf returns the ID of the region's default VPC, or "" if it has
// been deleted.
func defaultVPCOf(tx store.Tx, sc scope) (string, error) {
	var r regionRecord
	if err := tx.Get(bucketRegions, sc.account+"/"+sc.region, &r); err != nil {
		return "", err
	}
	found, err := exists(tx, sc, vpcKind, r.DefaultVPC)
	if err != nil || !found {
		return "", err
	}
	return r.DefaultVPC, nil
}

// findGroup finds a security group by ID or, as EC2 allows for the default
// VPC only, by name.
func findGroup(tx store.Tx, sc scope, id, name string) (securityGroupRecord, error) {
	var g securityGroupRecord
	switch {
	case id != "":
		if !strings.HasPrefix(id, "sg-") {
			return g, malformed("InvalidGroupId.Malformed", id, "sg")
		}
		err := tx.Get(securityGroupKind.bucket, sc.key(id), &g)
		if errors.Is(err, store.ErrNotFound) {
			return g, awserr.BadRequest("InvalidGroup.NotFound", "The security group '%s' does not exist", id)
		}
		return g, err
	case name != "":
		vpc, err := defaultVPCOf(tx, sc)
		if err != nil {
			return g, err
		}
		if vpc == "" {
			return g, awserr.BadRequest("VPCIdNotSpecified", "No default VPC for this user. GroupName is only supported for EC2-Classic and default VPC.")
		}
		return findGroupByName(tx, sc, vpc, name)
	}
	return g, missingParameter("The request must contain the parameter groupName or groupId")
}

// findGroupByName finds a security group by name in a VPC.
func findGroupByName(tx store.Tx, sc scope, vpcID, name string) (securityGroupRecord, error) {
	groups, err := listAll[securityGroupRecord](tx, sc, securityGroupKind.bucket)
	if err != nil {
		return securityGroupRecord{}, err
	}
	for _, g := range groups {
		if str(g.VpcId) == vpcID && str(g.GroupName) == name {
			return g, nil
		}
	}
	return securityGroupRecord{}, awserr.BadRequest("InvalidGroup.NotFound", "The security group '%s' does not exist in VPC '%s'", name, vpcID)
}

// CreateSecurityGroup creates a security group in a VPC (the region's
// default VPC when none is named), with EC2's default rule allowing all
// outbound traffic.
func (s *Service) CreateSecurityGroup(ctx context.Context, in *api.CreateSecurityGroupInput) (*api.CreateSecurityGroupOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	name, description := str(in.GroupName), str(in.Description)
	switch {
	case strings.HasPrefix(name, "sg-"):
		return nil, invalidParameterValue("Group names may not be in the format sg-*.")
	case name == "default":
		return nil, awserr.BadRequest("InvalidGroup.Reserved", "The security group 'default' is reserved")
	case name == "" || len(name) > 255:
		return nil, invalidParameterValue("Invalid value '%s' for groupName. Length must be between 1 and 255 characters.", name)
	case description == "" || len(description) > 255:
		return nil, invalidParameterValue("Invalid value '%s' for GroupDescription. Length must be between 1 and 255 characters.", description)
	}
	for _, v := range []struct{ param, value string }{{"groupName", name}, {"GroupDescription", description}} {
		if i := strings.IndexFunc(v.value, func(r rune) bool { return !validGroupChar(r) }); i >= 0 {
			return nil, invalidParameterValue("Invalid value '%s' for %s. Valid descriptions are strings less than 256 characters from the following set:  a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*", v.value, v.param)
		}
	}
	tags, err := tagSpecTags(in.TagSpecifications, "security-group", "security-group")
	if err != nil {
		return nil, err
	}
	var g securityGroupRecord
	err = s.st.Update(func(tx store.Tx) error {
		vpcID := str(in.VpcId)
		if vpcID == "" {
			var err error
			if vpcID, err = defaultVPCOf(tx, sc); err != nil {
				return err
			}
			if vpcID == "" {
				return awserr.BadRequest("VPCIdNotSpecified", "No default VPC for this user")
			}
		}
		if _, err := loadVPC(tx, sc, vpcID); err != nil {
			return err
		}
		if _, err := findGroupByName(tx, sc, vpcID, name); err == nil {
			return awserr.BadRequest("InvalidGroup.Duplicate", "The security group '%s' already exists for VPC '%s'", name, vpcID)
		}
		g = newSecurityGroup(sc, vpcID, name, description)
		if err := putSecurityGroup(tx, sc, g); err != nil {
			return err
		}
		return addTags(tx, sc, str(g.GroupId), tags)
	})
	if err != nil {
		return nil, err
	}
	return &api.CreateSecurityGroupOutput{GroupId: g.GroupId, SecurityGroupArn: g.SecurityGroupArn, Tags: tags}, nil
}

// validGroupChar is the character set EC2 allows in the names and
// descriptions of VPC security groups.
func validGroupChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(" ._-:/()#,@[]+=&;{}!$*", r)
}

// DeleteSecurityGroup deletes a security group. The default group of a
// VPC cannot be deleted (CannotDelete), nor can a group another group's
// rules refer to or an instance uses (DependencyViolation).
func (s *Service) DeleteSecurityGroup(ctx context.Context, in *api.DeleteSecurityGroupInput) (*api.DeleteSecurityGroupOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	var id string
	err := s.st.Update(func(tx store.Tx) error {
		g, err := findGroup(tx, sc, str(in.GroupId), str(in.GroupName))
		if err != nil {
			return err
		}
		id = str(g.GroupId)
		if str(g.GroupName) == "default" {
			return awserr.BadRequest("CannotDelete", "the specified group: \"%s\" name: \"default\" cannot be deleted by a user", id)
		}
		groups, err := listAll[securityGroupRecord](tx, sc, securityGroupKind.bucket)
		if err != nil {
			return err
		}
		for _, other := range groups {
			if str(other.GroupId) == id {
				continue
			}
			if slices.ContainsFunc(other.Rules, func(r api.SecurityGroupRule) bool {
				return r.ReferencedGroupInfo != nil && str(r.ReferencedGroupInfo.GroupId) == id
			}) {
				return dependencyViolation("resource %s has a dependent object", id)
			}
		}
		refs, err := instanceRefs(tx, sc)
		if err != nil {
			return err
		}
		for _, r := range refs {
			if !r.terminated() && slices.ContainsFunc(r.SecurityGroups, func(sg struct{ GroupId *string }) bool { return str(sg.GroupId) == id }) {
				return dependencyViolation("resource %s has a dependent object", id)
			}
		}
		return removeSecurityGroup(tx, sc, g)
	})
	if err != nil {
		return nil, err
	}
	return &api.DeleteSecurityGroupOutput{GroupId: ptr(id), Return: ptr(true)}, nil
}

// ruleValues builds a filter field from the rules of one direction.
func ruleValues(egress bool, get func(api.SecurityGroupRule) *string) func(tagged[securityGroupRecord]) []string {
	return func(t tagged[securityGroupRecord]) []string {
		var out []string
		for _, r := range t.item.Rules {
			if boolean(r.IsEgress) == egress {
				if v := get(r); v != nil {
					out = append(out, *v)
				}
			}
		}
		return out
	}
}

// permissionFields are the ip-permission.* filters of one direction.
func permissionFields(prefix string, egress bool, fields filter.Fields[tagged[securityGroupRecord]]) {
	port := func(p *int32) *string {
		if p == nil {
			return nil
		}
		return ptr(strconv.Itoa(int(*p)))
	}
	ref := func(get func(*api.ReferencedSecurityGroup) *string) func(api.SecurityGroupRule) *string {
		return func(r api.SecurityGroupRule) *string {
			if r.ReferencedGroupInfo == nil {
				return nil
			}
			return get(r.ReferencedGroupInfo)
		}
	}
	fields[prefix+"cidr"] = ruleValues(egress, func(r api.SecurityGroupRule) *string { return r.CidrIpv4 })
	fields[prefix+"ipv6-cidr"] = ruleValues(egress, func(r api.SecurityGroupRule) *string { return r.CidrIpv6 })
	fields[prefix+"prefix-list-id"] = ruleValues(egress, func(r api.SecurityGroupRule) *string { return r.PrefixListId })
	fields[prefix+"protocol"] = ruleValues(egress, func(r api.SecurityGroupRule) *string { return r.IpProtocol })
	fields[prefix+"from-port"] = ruleValues(egress, func(r api.SecurityGroupRule) *string { return port(r.FromPort) })
	fields[prefix+"to-port"] = ruleValues(egress, func(r api.SecurityGroupRule) *string { return port(r.ToPort) })
	fields[prefix+"group-id"] = ruleValues(egress, ref(func(g *api.ReferencedSecurityGroup) *string { return g.GroupId }))
	fields[prefix+"user-id"] = ruleValues(egress, ref(func(g *api.ReferencedSecurityGroup) *string { return g.UserId }))
}

// securityGroupFields are DescribeSecurityGroups's filters.
var securityGroupFields = func() filter.Fields[tagged[securityGroupRecord]] {
	fields := filter.Fields[tagged[securityGroupRecord]]{
		"group-id":    field(func(g securityGroupRecord) *string { return g.GroupId }),
		"group-name":  field(func(g securityGroupRecord) *string { return g.GroupName }),
		"description": field(func(g securityGroupRecord) *string { return g.Description }),
		"vpc-id":      field(func(g securityGroupRecord) *string { return g.VpcId }),
		"owner-id":    field(func(g securityGroupRecord) *string { return g.OwnerId }),
	}
	permissionFields("ip-permission.", false, fields)
	permissionFields("egress.ip-permission.", true, fields)
	return fields
}()

// DescribeSecurityGroups lists security groups. GroupNames name groups of
// the default VPC, as in EC2; groups of other VPCs are found by the
// group-name filter.
func (s *Service) DescribeSecurityGroups(ctx context.Context, in *api.DescribeSecurityGroupsInput) (*api.DescribeSecurityGroupsOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	for _, id := range in.GroupIds {
		if !strings.HasPrefix(id, "sg-") {
			return nil, malformed("InvalidGroupId.Malformed", id, "sg")
		}
	}
	inDefaultVPC := func(tx store.Tx, sc scope, name string) (securityGroupRecord, error) {
		return findGroup(tx, sc, "", name)
	}
	ids, err := withNames(s, sc, in.GroupIds, in.GroupNames, inDefaultVPC, func(g securityGroupRecord) string { return str(g.GroupId) })
	if err != nil {
		return nil, err
	}
	found, next, err := describe(s, sc, securityGroupKind, func(g securityGroupRecord) string { return str(g.GroupId) },
		ids, in.Filters, securityGroupFields, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &api.DescribeSecurityGroupsOutput{SecurityGroups: []api.SecurityGroup{}, NextToken: next}
	for _, t := range found {
		g := t.item.SecurityGroup
		g.IpPermissions = permissionsOf(t.item.Rules, false)
		g.IpPermissionsEgress = permissionsOf(t.item.Rules, true)
		g.Tags = t.tags
		out.SecurityGroups = append(out.SecurityGroups, g)
	}
	return out, nil
}

// permissionsOf groups the rules of one direction into IpPermissions, one
// per protocol and port range, in the order the rules were added, as
// DescribeSecurityGroups shows them.
func permissionsOf(rules []api.SecurityGroupRule, egress bool) []api.IpPermission {
	out := []api.IpPermission{}
	index := map[string]int{}
	for _, r := range rules {
		if boolean(r.IsEgress) != egress {
			continue
		}
		proto := str(r.IpProtocol)
		var from, to *int32
		if hasPorts(proto) {
			from, to = r.FromPort, r.ToPort
		}
		key := fmt.Sprint(proto, "/", deref(from), "/", deref(to))
		i, ok := index[key]
		if !ok {
			i = len(out)
			index[key] = i
			out = append(out, api.IpPermission{
				IpProtocol: ptr(proto), FromPort: from, ToPort: to,
				IpRanges: []api.IpRange{}, Ipv6Ranges: []api.Ipv6Range{}, PrefixListIds: []api.PrefixListId{}, UserIdGroupPairs: []api.UserIdGroupPair{},
			})
		}
		p := &out[i]
		switch {
		case r.CidrIpv4 != nil:
			p.IpRanges = append(p.IpRanges, api.IpRange{CidrIp: r.CidrIpv4, Description: r.Description})
		case r.CidrIpv6 != nil:
			p.Ipv6Ranges = append(p.Ipv6Ranges, api.Ipv6Range{CidrIpv6: r.CidrIpv6, Description: r.Description})
		case r.PrefixListId != nil:
			p.PrefixListIds = append(p.PrefixListIds, api.PrefixListId{PrefixListId: r.PrefixListId, Description: r.Description})
		case r.ReferencedGroupInfo != nil:
			p.UserIdGroupPairs = append(p.UserIdGroupPairs, api.UserIdGroupPair{
				GroupId: r.ReferencedGroupInfo.GroupId, UserId: r.ReferencedGroupInfo.UserId, Description: r.Description,
			})
		}
	}
	return out
}

// hasPorts reports whether rules of a protocol have a port range (TCP,
// UDP) or an ICMP type and code; rules of any other protocol cover all of
// it.
func hasPorts(proto string) bool {
	switch proto {
	case "tcp", "udp", "icmp", "icmpv6":
		return true
	}
	return false
}

// protocolNames are the protocols EC2 names rather than numbers.
var protocolNames = map[string]string{"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "all": "-1"}

// normalProtocol is a protocol as EC2 stores it: tcp, udp, icmp and icmpv6
// by name (given by name or number), -1 for all, any other by number.
func normalProtocol(p string) (string, error) {
	p = strings.ToLower(p)
	if name, ok := protocolNames[p]; ok {
		return name, nil
	}
	if hasPorts(p) || p == "-1" {
		return p, nil
	}
	if n, err := strconv.Atoi(p); err == nil && n >= 0 && n <= 255 {
		return strconv.Itoa(n), nil
	}
	return "", invalidParameterValue("Invalid value '%s' for IP protocol. Unknown protocol.", p)
}

// expandPermissions turns IpPermissions into rules, one per source or
// destination, checking protocols, ports and CIDR blocks. Groups named by
// a UserIdGroupPair are found in the VPC of g; they must exist.
func expandPermissions(tx store.Tx, sc scope, g securityGroupRecord, egress bool, perms []api.IpPermission) ([]api.SecurityGroupRule, error) {
	var out []api.SecurityGroupRule
	for _, p := range perms {
		if p.IpProtocol == nil {
			return nil, missingParameter("The request must contain the parameter ipProtocol")
		}
		proto, err := normalProtocol(*p.IpProtocol)
		if err != nil {
			return nil, err
		}
		from, to, err := portRange(proto, p.FromPort, p.ToPort)
		if err != nil {
			return nil, err
		}
		base := api.SecurityGroupRule{IpProtocol: ptr(proto), FromPort: ptr(from), ToPort: ptr(to)}
		add := func(set func(*api.SecurityGroupRule), description *string) {
			r := base
			set(&r)
			r.Description = description
			out = append(out, r)
		}
		n := len(out)
		for _, rg := range p.IpRanges {
			cidr, err := ruleCIDR("cidrIp", str(rg.CidrIp), false)
			if err != nil {
				return nil, err
			}
			add(func(r *api.SecurityGroupRule) { r.CidrIpv4 = ptr(cidr) }, rg.Description)
		}
		for _, rg := range p.Ipv6Ranges {
			cidr, err := ruleCIDR("cidrIpv6", str(rg.CidrIpv6), true)
			if err != nil {
				return nil, err
			}
			add(func(r *api.SecurityGroupRule) { r.CidrIpv6 = ptr(cidr) }, rg.Description)
		}
		for _, pl := range p.PrefixListIds {
			if !strings.HasPrefix(str(pl.PrefixListId), "pl-") {
				return nil, malformed("InvalidPrefixListId.Malformed", str(pl.PrefixListId), "pl")
			}
			add(func(r *api.SecurityGroupRule) { r.PrefixListId = pl.PrefixListId }, pl.Description)
		}
		for _, pair := range p.UserIdGroupPairs {
			var peer securityGroupRecord
			if pair.GroupId != nil {
				peer, err = findGroup(tx, sc, str(pair.GroupId), "")
			} else if pair.GroupName != nil {
				peer, err = findGroupByName(tx, sc, str(g.VpcId), str(pair.GroupName))
			} else {
				err = missingParameter("The request must contain the parameter groupId or groupName of a UserIdGroupPair")
			}
			if err != nil {
				return nil, err
			}
			add(func(r *api.SecurityGroupRule) {
				r.ReferencedGroupInfo = &api.ReferencedSecurityGroup{GroupId: peer.GroupId, UserId: peer.OwnerId}
			}, pair.Description)
		}
		if len(out) == n {
			return nil, missingParameter("The request must contain at least one of IpRanges, Ipv6Ranges, PrefixListIds or UserIdGroupPairs for protocol '%s'", proto)
		}
	}
	return out, nil
}

// portRange checks the ports of a rule: TCP and UDP need both, 0 to
// 65535, from not after to; ICMP takes a type and a code, each -1 (all) to
// 255; other protocols cover every port and report -1.
func portRange(proto string, fromP, toP *int32) (int32, int32, error) {
	switch proto {
	case "tcp", "udp":
		if fromP == nil || toP == nil {
			return 0, 0, invalidParameterValue("Invalid value 'null' for portRange. Must specify both from and to ports with TCP/UDP.")
		}
		from, to := *fromP, *toP
		if from < 0 || from > 65535 || to < 0 || to > 65535 || from > to {
			return 0, 0, invalidParameterValue("Invalid value '%d-%d' for portRange. The from port must be between 0 and 65535 and not greater than the to port.", from, to)
		}
		return from, to, nil
	case "icmp", "icmpv6":
		from, to := int32(-1), int32(-1)
		if fromP != nil {
			from = *fromP
		}
		if toP != nil {
			to = *toP
		}
		if from < -1 || from > 255 || to < -1 || to > 255 {
			return 0, 0, invalidParameterValue("Invalid value '%d' for ICMP type or '%d' for ICMP code. Each must be between -1 and 255.", from, to)
		}
		return from, to, nil
	}
	return -1, -1, nil
}

// ruleCIDR checks the CIDR block of a rule.
func ruleCIDR(param, cidr string, v6 bool) (string, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil || p.Addr().Is4() == v6 || p.Masked() != p {
		return "", invalidParameterValue("Value (%s) for parameter %s is invalid. This is not a valid CIDR block.", cidr, param)
	}
	return p.String(), nil
}

// ruleKey identifies a rule for duplicate detection and revocation: its
// direction, protocol, ports and source or destination; not its
// description.
func ruleKey(r api.SecurityGroupRule) string {
	ref := ""
	if r.ReferencedGroupInfo != nil {
		ref = str(r.ReferencedGroupInfo.GroupId)
	}
	return fmt.Sprint(boolean(r.IsEgress), "|", str(r.IpProtocol), "|", deref(r.FromPort), "|", deref(r.ToPort), "|",
		str(r.CidrIpv4), "|", str(r.CidrIpv6), "|", str(r.PrefixListId), "|", ref)
}

// describeRule is a rule as EC2's InvalidPermission errors quote it, e.g.
// "peer: 0.0.0.0/0, TCP, from port: 22, to port: 22, ALLOW".
func describeRule(r api.SecurityGroupRule) string {
	peer := str(r.CidrIpv4) + str(r.CidrIpv6) + str(r.PrefixListId)
	if r.ReferencedGroupInfo != nil {
		peer = str(r.ReferencedGroupInfo.GroupId)
	}
	proto := strings.ToUpper(str(r.IpProtocol))
	if proto == "-1" {
		return fmt.Sprintf("peer: %s, ALL, ALLOW", peer)
	}
	return fmt.Sprintf("peer: %s, %s, from port: %d, to port: %d, ALLOW", peer, proto, deref(r.FromPort), deref(r.ToPort))
}

// legacyPermission is the single permission of the older top-level
// parameters (IpProtocol, FromPort, ToPort, CidrIp, SourceSecurityGroupName),
// which cannot be combined with IpPermissions.
func legacyPermission(perms []api.IpPermission, proto, cidr, sourceGroup *string, from, to *int32) ([]api.IpPermission, error) {
	if proto == nil && cidr == nil && sourceGroup == nil && from == nil && to == nil {
		return perms, nil
	}
	if len(perms) > 0 {
		return nil, invalidParameterCombination("The parameter 'ipPermissions' may not be used in combination with 'ipProtocol', 'fromPort', 'toPort', 'cidrIp' or 'sourceSecurityGroupName'")
	}
	p := api.IpPermission{IpProtocol: proto, FromPort: from, ToPort: to}
	if p.IpProtocol == nil {
		p.IpProtocol = ptr("-1")
	}
	if cidr != nil {
		p.IpRanges = []api.IpRange{{CidrIp: cidr}}
	}
	if sourceGroup != nil {
		p.UserIdGroupPairs = []api.UserIdGroupPair{{GroupName: sourceGroup}}
	}
	return []api.IpPermission{p}, nil
}

// authorize adds rules to a group: every rule is new (else
// InvalidPermission.Duplicate and nothing is added) and the group stays
// within its quota of rules per direction.
func (s *Service) authorize(ctx context.Context, groupID, groupName string, egress bool, perms []api.IpPermission, specs []api.TagSpecification) ([]api.SecurityGroupRule, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	tags, err := tagSpecTags(specs, "security-group-rule", "security-group-rule")
	if err != nil {
		return nil, err
	}
	var added []api.SecurityGroupRule
	err = s.st.Update(func(tx store.Tx) error {
		g, err := findGroup(tx, sc, groupID, groupName)
		if err != nil {
			return err
		}
		if len(perms) == 0 {
			return missingParameter("The request must contain the parameter ipPermissions")
		}
		rules, err := expandPermissions(tx, sc, g, egress, perms)
		if err != nil {
			return err
		}
		have := map[string]bool{}
		count := 0
		for _, r := range g.Rules {
			have[ruleKey(r)] = true
			if boolean(r.IsEgress) == egress {
				count++
			}
		}
		for _, r := range rules {
			r = newRule(sc, str(g.GroupId), egress, r)
			if have[ruleKey(r)] {
				return awserr.BadRequest("InvalidPermission.Duplicate", "the specified rule \"%s\" already exists", describeRule(r))
			}
			have[ruleKey(r)] = true
			added = append(added, r)
		}
		if count+len(added) > maxRulesPerDirection {
			return awserr.BadRequest("RulesPerSecurityGroupLimitExceeded", "The maximum number of rules per security group has been reached.")
		}
		g.Rules = append(g.Rules, added...)
		if err := putSecurityGroup(tx, sc, g); err != nil {
			return err
		}
		for i, r := range added {
			if err := addTags(tx, sc, str(r.SecurityGroupRuleId), tags); err != nil {
				return err
			}
			added[i].Tags = nonNil(slices.Clone(tags))
		}
		return nil
	})
	return added, err
}

// AuthorizeSecurityGroupIngress adds inbound rules to a security group.
func (s *Service) AuthorizeSecurityGroupIngress(ctx context.Context, in *api.AuthorizeSecurityGroupIngressInput) (*api.AuthorizeSecurityGroupIngressOutput, error) {
	perms, err := legacyPermission(in.IpPermissions, in.IpProtocol, in.CidrIp, in.SourceSecurityGroupName, in.FromPort, in.ToPort)
	if err != nil {
		return nil, err
	}
	rules, err := s.authorize(ctx, str(in.GroupId), str(in.GroupName), false, perms, in.TagSpecifications)
	if err != nil {
		return nil, err
	}
	return &api.AuthorizeSecurityGroupIngressOutput{Return: ptr(true), SecurityGroupRules: rules}, nil
}

// AuthorizeSecurityGroupEgress adds outbound rules to a security group,
// named by ID only.
func (s *Service) AuthorizeSecurityGroupEgress(ctx context.Context, in *api.AuthorizeSecurityGroupEgressInput) (*api.AuthorizeSecurityGroupEgressOutput, error) {
	if in.GroupId == nil {
		return nil, missingParameter("The request must contain the parameter groupId")
	}
	perms, err := legacyPermission(in.IpPermissions, in.IpProtocol, in.CidrIp, in.SourceSecurityGroupName, in.FromPort, in.ToPort)
	if err != nil {
		return nil, err
	}
	rules, err := s.authorize(ctx, str(in.GroupId), "", true, perms, in.TagSpecifications)
	if err != nil {
		return nil, err
	}
	return &api.AuthorizeSecurityGroupEgressOutput{Return: ptr(true), SecurityGroupRules: rules}, nil
}

// revoked is the outcome of a revocation.
type revoked struct {
	rules   []api.RevokedSecurityGroupRule
	unknown []api.IpPermission
}

// revoke removes rules from a group, named by ID or by their properties
// (which must match exactly, descriptions aside). In the default VPC a
// rule that does not exist is reported in UnknownIpPermissions; elsewhere
// it is InvalidPermission.NotFound and nothing is removed, as the EC2 API
// reference describes.
func (s *Service) revoke(ctx context.Context, groupID, groupName string, egress bool, perms []api.IpPermission, ruleIDs []string) (revoked, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return revoked{}, err
	}
	if len(perms) > 0 && len(ruleIDs) > 0 {
		return revoked{}, invalidParameterCombination("The parameter 'SecurityGroupRuleIds' may not be used in combination with 'ipPermissions'")
	}
	if len(perms) == 0 && len(ruleIDs) == 0 {
		return revoked{}, missingParameter("The request must contain the parameter ipPermissions or securityGroupRuleIds")
	}
	var out revoked
	err := s.st.Update(func(tx store.Tx) error {
		g, err := findGroup(tx, sc, groupID, groupName)
		if err != nil {
			return err
		}
		drop := map[string]bool{}
		for _, id := range ruleIDs {
			if !slices.ContainsFunc(g.Rules, func(r api.SecurityGroupRule) bool {
				return str(r.SecurityGroupRuleId) == id && boolean(r.IsEgress) == egress
			}) {
				return awserr.BadRequest("InvalidSecurityGroupRuleId.NotFound", "The security group rule ID '%s' does not exist", id)
			}
			drop[id] = true
		}
		if len(perms) > 0 {
			want, err := expandPermissions(tx, sc, g, egress, perms)
			if err != nil {
				return err
			}
			defaultVPC, err := defaultVPCOf(tx, sc)
			if err != nil {
				return err
			}
			for _, w := range want {
				w.IsEgress = ptr(egress)
				i := slices.IndexFunc(g.Rules, func(r api.SecurityGroupRule) bool { return ruleKey(r) == ruleKey(w) })
				if i >= 0 {
					drop[str(g.Rules[i].SecurityGroupRuleId)] = true
					continue
				}
				if str(g.VpcId) != defaultVPC {
					return awserr.BadRequest("InvalidPermission.NotFound", "The specified rule does not exist in this security group.")
				}
				out.unknown = append(out.unknown, permissionsOf([]api.SecurityGroupRule{w}, egress)...)
			}
		}
		var kept, gone []api.SecurityGroupRule
		for _, r := range g.Rules {
			if drop[str(r.SecurityGroupRuleId)] {
				gone = append(gone, r)
				out.rules = append(out.rules, api.RevokedSecurityGroupRule{
					SecurityGroupRuleId: r.SecurityGroupRuleId, GroupId: r.GroupId, IsEgress: r.IsEgress,
					IpProtocol: r.IpProtocol, FromPort: r.FromPort, ToPort: r.ToPort, CidrIpv4: r.CidrIpv4, CidrIpv6: r.CidrIpv6,
					PrefixListId: r.PrefixListId, Description: r.Description, ReferencedGroupId: referencedID(r),
				})
				continue
			}
			kept = append(kept, r)
		}
		g.Rules = kept
		if err := dropRules(tx, sc, gone); err != nil {
			return err
		}
		return putSecurityGroup(tx, sc, g)
	})
	return out, err
}

func referencedID(r api.SecurityGroupRule) *string {
	if r.ReferencedGroupInfo == nil {
		return nil
	}
	return r.ReferencedGroupInfo.GroupId
}

// RevokeSecurityGroupIngress removes inbound rules from a security group.
func (s *Service) RevokeSecurityGroupIngress(ctx context.Context, in *api.RevokeSecurityGroupIngressInput) (*api.RevokeSecurityGroupIngressOutput, error) {
	perms, err := legacyPermission(in.IpPermissions, in.IpProtocol, in.CidrIp, in.SourceSecurityGroupName, in.FromPort, in.ToPort)
	if err != nil {
		return nil, err
	}
	r, err := s.revoke(ctx, str(in.GroupId), str(in.GroupName), false, perms, in.SecurityGroupRuleIds)
	if err != nil {
		return nil, err
	}
	return &api.RevokeSecurityGroupIngressOutput{Return: ptr(true), RevokedSecurityGroupRules: r.rules, UnknownIpPermissions: r.unknown}, nil
}

// RevokeSecurityGroupEgress removes outbound rules from a security group,
// named by ID only.
func (s *Service) RevokeSecurityGroupEgress(ctx context.Context, in *api.RevokeSecurityGroupEgressInput) (*api.RevokeSecurityGroupEgressOutput, error) {
	if in.GroupId == nil {
		return nil, missingParameter("The request must contain the parameter groupId")
	}
	perms, err := legacyPermission(in.IpPermissions, in.IpProtocol, in.CidrIp, in.SourceSecurityGroupName, in.FromPort, in.ToPort)
	if err != nil {
		return nil, err
	}
	r, err := s.revoke(ctx, str(in.GroupId), "", true, perms, in.SecurityGroupRuleIds)
	if err != nil {
		return nil, err
	}
	return &api.RevokeSecurityGroupEgressOutput{Return: ptr(true), RevokedSecurityGroupRules: r.rules, UnknownIpPermissions: r.unknown}, nil
}

// securityGroupRuleFields are DescribeSecurityGroupRules's filters.
var securityGroupRuleFields = filter.Fields[tagged[api.SecurityGroupRule]]{
	"group-id":               field(func(r api.SecurityGroupRule) *string { return r.GroupId }),
	"security-group-rule-id": field(func(r api.SecurityGroupRule) *string { return r.SecurityGroupRuleId }),
}

// DescribeSecurityGroupRules lists the rules of every security group, one
// per source or destination, paged by rule ID.
func (s *Service) DescribeSecurityGroupRules(ctx context.Context, in *api.DescribeSecurityGroupRulesInput) (*api.DescribeSecurityGroupRulesOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	var all []tagged[api.SecurityGroupRule]
	err := s.st.View(func(tx store.Tx) error {
		groups, err := listAll[securityGroupRecord](tx, sc, securityGroupKind.bucket)
		if err != nil {
			return err
		}
		for _, g := range groups {
			for _, r := range g.Rules {
				ts, err := readTags(tx, sc, str(r.SecurityGroupRuleId))
				if err != nil {
					return err
				}
				all = append(all, tagged[api.SecurityGroupRule]{id: str(r.SecurityGroupRuleId), item: r, tags: ts})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	found, next, err := narrow(all, in.SecurityGroupRuleIds,
		func(missing []string) error {
			return awserr.BadRequest("InvalidSecurityGroupRuleId.NotFound", "The security group rule ID '%s' does not exist", missing[0])
		},
		in.Filters, securityGroupRuleFields, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &api.DescribeSecurityGroupRulesOutput{SecurityGroupRules: []api.SecurityGroupRule{}, NextToken: next}
	for _, t := range found {
		r := t.item
		r.Tags = nonNil(t.tags)
		out.SecurityGroupRules = append(out.SecurityGroupRules, r)
	}
	return out, nil
}

// ModifySecurityGroupRules replaces rules of a group, named by ID, with
// new properties; each keeps its ID and direction.
func (s *Service) ModifySecurityGroupRules(ctx context.Context, in *api.ModifySecurityGroupRulesInput) (*api.ModifySecurityGroupRulesOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	err := s.st.Update(func(tx store.Tx) error {
		g, err := findGroup(tx, sc, str(in.GroupId), "")
		if err != nil {
			return err
		}
		for _, u := range in.SecurityGroupRules {
			id := str(u.SecurityGroupRuleId)
			i := slices.IndexFunc(g.Rules, func(r api.SecurityGroupRule) bool { return str(r.SecurityGroupRuleId) == id })
			if i < 0 {
				return awserr.BadRequest("InvalidSecurityGroupRuleId.NotFound", "The security group rule ID '%s' does not exist", id)
			}
			req := u.SecurityGroupRule
			if req == nil {
				return missingParameter("The request must contain the parameter SecurityGroupRule")
			}
			perm := api.IpPermission{IpProtocol: req.IpProtocol, FromPort: req.FromPort, ToPort: req.ToPort}
			switch {
			case req.CidrIpv4 != nil:
				perm.IpRanges = []api.IpRange{{CidrIp: req.CidrIpv4, Description: req.Description}}
			case req.CidrIpv6 != nil:
				perm.Ipv6Ranges = []api.Ipv6Range{{CidrIpv6: req.CidrIpv6, Description: req.Description}}
			case req.PrefixListId != nil:
				perm.PrefixListIds = []api.PrefixListId{{PrefixListId: req.PrefixListId, Description: req.Description}}
			case req.ReferencedGroupId != nil:
				perm.UserIdGroupPairs = []api.UserIdGroupPair{{GroupId: req.ReferencedGroupId, Description: req.Description}}
			}
			old := g.Rules[i]
			rules, err := expandPermissions(tx, sc, g, boolean(old.IsEgress), []api.IpPermission{perm})
			if err != nil {
				return err
			}
			r := rules[0]
			r.SecurityGroupRuleId, r.SecurityGroupRuleArn = old.SecurityGroupRuleId, old.SecurityGroupRuleArn
			r.GroupId, r.GroupOwnerId, r.IsEgress = old.GroupId, old.GroupOwnerId, old.IsEgress
			for j, other := range g.Rules {
				if j != i && ruleKey(other) == ruleKey(r) {
					return awserr.BadRequest("InvalidPermission.Duplicate", "the specified rule \"%s\" already exists", describeRule(r))
				}
			}
			g.Rules[i] = r
		}
		return putSecurityGroup(tx, sc, g)
	})
	if err != nil {
		return nil, err
	}
	return &api.ModifySecurityGroupRulesOutput{Return: ptr(true)}, nil
}

// updateDescriptions sets the descriptions of existing rules, named by
// their properties or by ID; a rule that does not exist is
// InvalidPermission.NotFound.
func (s *Service) updateDescriptions(ctx context.Context, groupID, groupName string, egress bool, perms []api.IpPermission, byID []api.SecurityGroupRuleDescription) error {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return err
	}
	return s.st.Update(func(tx store.Tx) error {
		g, err := findGroup(tx, sc, groupID, groupName)
		if err != nil {
			return err
		}
		set := func(match func(api.SecurityGroupRule) bool, description *string) error {
			i := slices.IndexFunc(g.Rules, func(r api.SecurityGroupRule) bool { return boolean(r.IsEgress) == egress && match(r) })
			if i < 0 {
				return awserr.BadRequest("InvalidPermission.NotFound", "The specified rule does not exist in this security group.")
			}
			g.Rules[i].Description = optional(str(description))
			return nil
		}
		want, err := expandPermissions(tx, sc, g, egress, perms)
		if err != nil {
			return err
		}
		for _, w := range want {
			w.IsEgress = ptr(egress)
			if err := set(func(r api.SecurityGroupRule) bool { return ruleKey(r) == ruleKey(w) }, w.Description); err != nil {
				return err
			}
		}
		for _, d := range byID {
			if err := set(func(r api.SecurityGroupRule) bool { return str(r.SecurityGroupRuleId) == str(d.SecurityGroupRuleId) }, d.Description); err != nil {
				return err
			}
		}
		return putSecurityGroup(tx, sc, g)
	})
}

// UpdateSecurityGroupRuleDescriptionsIngress sets the descriptions of
// inbound rules.
func (s *Service) UpdateSecurityGroupRuleDescriptionsIngress(ctx context.Context, in *api.UpdateSecurityGroupRuleDescriptionsIngressInput) (*api.UpdateSecurityGroupRuleDescriptionsIngressOutput, error) {
	if err := s.updateDescriptions(ctx, str(in.GroupId), str(in.GroupName), false, in.IpPermissions, in.SecurityGroupRuleDescriptions); err != nil {
		return nil, err
	}
	return &api.UpdateSecurityGroupRuleDescriptionsIngressOutput{Return: ptr(true)}, nil
}

// UpdateSecurityGroupRuleDescriptionsEgress sets the descriptions of
// outbound rules.
func (s *Service) UpdateSecurityGroupRuleDescriptionsEgress(ctx context.Context, in *api.UpdateSecurityGroupRuleDescriptionsEgressInput) (*api.UpdateSecurityGroupRuleDescriptionsEgressOutput, error) {
	if err := s.updateDescriptions(ctx, str(in.GroupId), str(in.GroupName), true, in.IpPermissions, in.SecurityGroupRuleDescriptions); err != nil {
		return nil, err
	}
	return &api.UpdateSecurityGroupRuleDescriptionsEgressOutput{Return: ptr(true)}, nil
}
