package ec2

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/imds"
	"github.com/nephele-dev/nephele/internal/store"
)

// The EC2 service is its instances' metadata source: the IMDS asks it for
// a fresh snapshot of an instance on every request.

var _ imds.Source = (*Service)(nil)

// Instance returns what the IMDS serves about an instance that booted.
func (s *Service) Instance(id string) (imds.Instance, bool) {
	v, ok := s.where.Load(id)
	if !ok {
		return imds.Instance{}, false
	}
	sc := v.(scope)
	var r instanceRecord
	var sn subnetRecord
	var vpc vpcRecord
	var tags []api.Tag
	err := s.st.View(func(tx store.Tx) error {
		var err error
		if r, err = loadInstance(tx, sc, id); err != nil {
			return err
		}
		if sn, err = loadSubnet(tx, sc, str(r.SubnetId)); err != nil {
			return err
		}
		if vpc, err = loadVPC(tx, sc, str(r.VpcId)); err != nil {
			return err
		}
		tags, err = readTags(tx, sc, id)
		return err
	})
	if err != nil {
		return imds.Instance{}, false
	}
	userData, _ := base64.StdEncoding.DecodeString(r.UserData)
	inst := imds.Instance{
		InstanceID:         id,
		ImageID:            str(r.ImageId),
		InstanceType:       str(r.InstanceType),
		AmiLaunchIndex:     int(deref(r.AmiLaunchIndex)),
		ReservationID:      r.ReservationID,
		AccountID:          sc.account,
		Architecture:       str(r.Architecture),
		LaunchTime:         *r.LaunchTime,
		Region:             sc.region,
		AvailabilityZone:   str(r.Placement.AvailabilityZone),
		AvailabilityZoneID: str(r.Placement.AvailabilityZoneId),
		PrivateIPAddress:   str(r.PrivateIpAddress),
		PrivateDNSName:     str(r.PrivateDnsName),
		PublicIPAddress:    str(r.PublicIpAddress),
		PublicDNSName:      str(r.PublicDnsName),
		SubnetID:           str(r.SubnetId),
		SubnetCIDRBlock:    str(sn.CidrBlock),
		VpcID:              str(r.VpcId),
		VpcCIDRBlock:       str(vpc.CidrBlock),
		KeyName:            str(r.KeyName),
		UserData:           userData,
		InstanceLifecycle:  str(r.InstanceLifecycle),
		Monitoring:         str(r.Monitoring.State),
		Tags:               tagMap(tags),
		BlockDeviceMapping: map[string]string{"ami": str(r.RootDeviceName), "root": str(r.RootDeviceName)},
		MetadataOptions: imds.MetadataOptions{
			HTTPTokens:           str(r.MetadataOptions.HttpTokens),
			HTTPEndpoint:         str(r.MetadataOptions.HttpEndpoint),
			InstanceMetadataTags: str(r.MetadataOptions.InstanceMetadataTags),
		},
	}
	if len(r.NetworkInterfaces) > 0 {
		inst.MACAddress = str(r.NetworkInterfaces[0].MacAddress)
		inst.NetworkInterfaceID = str(r.NetworkInterfaces[0].NetworkInterfaceId)
	}
	for _, g := range r.SecurityGroups {
		inst.SecurityGroups = append(inst.SecurityGroups, imds.SecurityGroup{GroupID: str(g.GroupId), GroupName: str(g.GroupName)})
	}
	if p := r.IamInstanceProfile; p != nil {
		inst.IamInstanceProfile = &imds.IamInstanceProfile{Arn: str(p.Arn), ID: str(p.Id), RoleName: r.RoleName}
	}
	// A Spot interruption's rebalance recommendation and notice, once due
	// (interruptions.go).
	s.spotNotices(&inst, r)
	if s.opts.Lifecycle != nil && tagMap(tags)[GroupTag] != "" {
		inst.TargetLifecycleState = s.opts.Lifecycle.TargetLifecycleState(sc.account, sc.region, id)
	}
	return inst, true
}

// roleCredentials issues the credentials of an instance's role, for its
// metadata service.
func (s *Service) roleCredentials(ctx context.Context, inst imds.Instance) (imds.Credentials, error) {
	if s.opts.Credentials == nil || inst.IamInstanceProfile == nil {
		return imds.Credentials{}, errors.New("ec2: no role credentials")
	}
	v, ok := s.where.Load(inst.InstanceID)
	if !ok {
		return imds.Credentials{}, fmt.Errorf("ec2: unknown instance %s", inst.InstanceID)
	}
	var r instanceRecord
	err := s.st.View(func(tx store.Tx) error {
		var err error
		r, err = loadInstance(tx, v.(scope), inst.InstanceID)
		return err
	})
	if err != nil {
		return imds.Credentials{}, err
	}
	return s.opts.Credentials.RoleCredentials(ctx, r.RoleARN, inst.InstanceID)
}

// resolveProfile finds the instance profile a launch names, by ARN or
// name, and the role in it.
func (s *Service) resolveProfile(ctx context.Context, sc scope, spec *api.IamInstanceProfileSpecification) (*api.IamInstanceProfile, string, string, error) {
	name, arn := str(spec.Name), str(spec.Arn)
	if name == "" && arn == "" {
		return nil, "", "", nil
	}
	if name != "" && arn != "" {
		return nil, "", "", invalidParameterCombination("The parameter 'iamInstanceProfile.name' may not be used in combination with 'iamInstanceProfile.arn'")
	}
	ref, param := name, "iamInstanceProfile.name"
	if arn != "" {
		ref, param = arn, "iamInstanceProfile.arn"
	}
	if s.opts.Profiles == nil {
		return &api.IamInstanceProfile{Arn: ptr(arn)}, "", "", nil
	}
	p, ok, err := s.opts.Profiles.InstanceProfile(ctx, sc.account, ref)
	if err != nil {
		return nil, "", "", err
	}
	if !ok {
		return nil, "", "", invalidParameterValue("Value (%s) for parameter %s is invalid. Invalid IAM Instance Profile %s", ref, param, strings.TrimPrefix(param, "iamInstanceProfile."))
	}
	return &api.IamInstanceProfile{Arn: ptr(p.ARN), Id: ptr(p.ID)}, p.RoleName, p.RoleARN, nil
}
