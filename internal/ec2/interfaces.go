package ec2

import (
	"context"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/filter"
	"github.com/nephele-dev/nephele/internal/service"
	"github.com/nephele-dev/nephele/internal/store"
)

// Network interfaces are, for now, each instance's primary interface: it
// is created and deleted with the instance and described from its record.
// Terraform and the console read them (a security group's destroy waits
// until no interface uses it).

func (s *Service) interfaceOperations() []service.Operation {
	return []service.Operation{
		service.Handle("DescribeNetworkInterfaces", s.DescribeNetworkInterfaces),
	}
}

// instanceInterface is the API view of an instance's primary interface.
func instanceInterface(sc scope, r instanceRecord) (api.NetworkInterface, bool) {
	if len(r.NetworkInterfaces) == 0 || r.state() == "terminated" {
		return api.NetworkInterface{}, false
	}
	ni := r.NetworkInterfaces[0]
	out := api.NetworkInterface{
		NetworkInterfaceId: ni.NetworkInterfaceId,
		AvailabilityZone:   r.Placement.AvailabilityZone,
		AvailabilityZoneId: r.Placement.AvailabilityZoneId,
		Description:        ni.Description,
		Groups:             ni.Groups,
		InterfaceType:      ni.InterfaceType,
		MacAddress:         ni.MacAddress,
		OwnerId:            ptr(sc.account),
		PrivateDnsName:     ni.PrivateDnsName,
		PrivateIpAddress:   ni.PrivateIpAddress,
		RequesterManaged:   ptr(false),
		SourceDestCheck:    ni.SourceDestCheck,
		Status:             ptr("in-use"),
		SubnetId:           ni.SubnetId,
		VpcId:              ni.VpcId,
		Ipv6Addresses:      []api.NetworkInterfaceIpv6Address{},
		PrivateIpAddresses: []api.NetworkInterfacePrivateIpAddress{{Primary: ptr(true), PrivateDnsName: ni.PrivateDnsName, PrivateIpAddress: ni.PrivateIpAddress}},
		TagSet:             []api.Tag{},
	}
	if a := ni.Attachment; a != nil {
		out.Attachment = &api.NetworkInterfaceAttachment{
			AttachTime: a.AttachTime, AttachmentId: a.AttachmentId, DeleteOnTermination: a.DeleteOnTermination,
			DeviceIndex: a.DeviceIndex, NetworkCardIndex: a.NetworkCardIndex, InstanceId: r.InstanceId,
			InstanceOwnerId: ptr(sc.account), Status: ptr("attached"),
		}
	}
	return out, true
}

// interfaceFields are DescribeNetworkInterfaces's filters.
var interfaceFields = filter.Fields[tagged[api.NetworkInterface]]{
	"network-interface-id": field(func(n api.NetworkInterface) *string { return n.NetworkInterfaceId }),
	"subnet-id":            field(func(n api.NetworkInterface) *string { return n.SubnetId }),
	"vpc-id":               field(func(n api.NetworkInterface) *string { return n.VpcId }),
	"availability-zone":    field(func(n api.NetworkInterface) *string { return n.AvailabilityZone }),
	"description":          field(func(n api.NetworkInterface) *string { return n.Description }),
	"status":               field(func(n api.NetworkInterface) *string { return n.Status }),
	"interface-type":       field(func(n api.NetworkInterface) *string { return n.InterfaceType }),
	"mac-address":          field(func(n api.NetworkInterface) *string { return n.MacAddress }),
	"owner-id":             field(func(n api.NetworkInterface) *string { return n.OwnerId }),
	"private-ip-address":   field(func(n api.NetworkInterface) *string { return n.PrivateIpAddress }),
	"private-dns-name":     field(func(n api.NetworkInterface) *string { return n.PrivateDnsName }),
	"requester-managed":    boolField(func(n api.NetworkInterface) *bool { return n.RequesterManaged }),
	"attachment.instance-id": func(t tagged[api.NetworkInterface]) []string {
		if a := t.item.Attachment; a != nil {
			return []string{str(a.InstanceId)}
		}
		return nil
	},
	"attachment.status": func(t tagged[api.NetworkInterface]) []string {
		if a := t.item.Attachment; a != nil {
			return []string{str(a.Status)}
		}
		return nil
	},
	"group-id": func(t tagged[api.NetworkInterface]) []string {
		var out []string
		for _, g := range t.item.Groups {
			out = append(out, str(g.GroupId))
		}
		return out
	},
	"group-name": func(t tagged[api.NetworkInterface]) []string {
		var out []string
		for _, g := range t.item.Groups {
			out = append(out, str(g.GroupName))
		}
		return out
	},
}

// DescribeNetworkInterfaces lists the region's network interfaces.
func (s *Service) DescribeNetworkInterfaces(ctx context.Context, in *api.DescribeNetworkInterfacesInput) (*api.DescribeNetworkInterfacesOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	var all []tagged[api.NetworkInterface]
	err := s.st.View(func(tx store.Tx) error {
		recs, err := listAll[instanceRecord](tx, sc, instanceKind.bucket)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if ni, ok := instanceInterface(sc, r); ok {
				all = append(all, tagged[api.NetworkInterface]{id: str(ni.NetworkInterfaceId), item: ni})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	pageOf, next, err := narrow(all, in.NetworkInterfaceIds,
		func(missing []string) error {
			return notFound("InvalidNetworkInterfaceID.NotFound", "network interface", missing...)
		},
		in.Filters, interfaceFields, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &api.DescribeNetworkInterfacesOutput{NetworkInterfaces: []api.NetworkInterface{}, NextToken: next}
	for _, t := range pageOf {
		out.NetworkInterfaces = append(out.NetworkInterfaces, t.item)
	}
	return out, nil
}
