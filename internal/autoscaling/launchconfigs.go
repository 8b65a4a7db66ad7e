package autoscaling

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/autoscaling"
	"github.com/nephele-dev/nephele/internal/arn"
	"github.com/nephele-dev/nephele/internal/awsid"
	"github.com/nephele-dev/nephele/internal/page"
	"github.com/nephele-dev/nephele/internal/store"
)

// launchConfigRecord is a stored launch configuration.
type launchConfigRecord struct {
	Config  api.LaunchConfiguration `json:"config"`
	Created time.Time               `json:"created"`
}

// CreateLaunchConfiguration stores a launch configuration.
func (s *Service) CreateLaunchConfiguration(ctx context.Context, in *api.CreateLaunchConfigurationType) (*api.CreateLaunchConfigurationOutput, error) {
	sc := scopeOf(ctx)
	name := str(in.LaunchConfigurationName)
	if name == "" {
		return nil, validation("1 validation error detected: Value null at 'launchConfigurationName' failed to satisfy constraint: Member must not be null")
	}
	if in.InstanceId == nil && (in.ImageId == nil || in.InstanceType == nil) {
		return nil, validation("Valid requests must contain either the InstanceID parameter or both the ImageId and InstanceType parameters.")
	}
	if in.InstanceId != nil {
		return nil, validation("Creating a launch configuration from an instance (InstanceId) is not supported by nephele.")
	}
	now := s.now()
	lc := api.LaunchConfiguration{
		LaunchConfigurationName: &name, CreatedTime: &now, ImageId: in.ImageId, InstanceType: in.InstanceType,
		KeyName: in.KeyName, SecurityGroups: nonNil(in.SecurityGroups), UserData: in.UserData, IamInstanceProfile: in.IamInstanceProfile,
		AssociatePublicIpAddress: in.AssociatePublicIpAddress, BlockDeviceMappings: nonNil(in.BlockDeviceMappings),
		InstanceMonitoring: in.InstanceMonitoring, EbsOptimized: ptr(deref(in.EbsOptimized)), MetadataOptions: in.MetadataOptions,
		SpotPrice: in.SpotPrice, PlacementTenancy: in.PlacementTenancy, KernelId: in.KernelId, RamdiskId: in.RamdiskId,
		ClassicLinkVPCSecurityGroups: []string{},
		LaunchConfigurationARN: ptr(arn.ARN{Partition: arn.Partition(sc.Region), Service: "autoscaling", Region: sc.Region, AccountID: sc.Account,
			Resource: "launchConfiguration:" + awsid.RequestID() + ":launchConfigurationName/" + name}.String()),
	}
	if lc.InstanceMonitoring == nil {
		lc.InstanceMonitoring = &api.InstanceMonitoring{Enabled: ptr(true)}
	}
	if lc.UserData == nil {
		lc.UserData = ptr("")
	}
	if lc.KernelId == nil {
		lc.KernelId = ptr("")
	}
	if lc.RamdiskId == nil {
		lc.RamdiskId = ptr("")
	}
	err := s.st.Update(func(tx store.Tx) error {
		if err := tx.Get(bucketLaunchConfigs, sc.Key(name), &launchConfigRecord{}); err == nil {
			return alreadyExists("Launch Configuration by this name already exists - A launch configuration already exists with the name %s", name)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		n := 0
		if err := tx.ForEach(bucketLaunchConfigs, sc.Prefix(), func(string, func(any) error) error { n++; return nil }); err != nil {
			return err
		}
		if n >= maxLaunchConfigs {
			return awserrLimit("You have reached your quota of %d launch configurations.", maxLaunchConfigs)
		}
		return tx.Put(bucketLaunchConfigs, sc.Key(name), launchConfigRecord{Config: lc, Created: now})
	})
	if err != nil {
		return nil, err
	}
	return &api.CreateLaunchConfigurationOutput{}, nil
}

// DescribeLaunchConfigurations lists launch configurations.
func (s *Service) DescribeLaunchConfigurations(ctx context.Context, in *api.LaunchConfigurationNamesType) (*api.LaunchConfigurationsType, error) {
	sc := scopeOf(ctx)
	var all []api.LaunchConfiguration
	err := s.st.View(func(tx store.Tx) error {
		return tx.ForEach(bucketLaunchConfigs, sc.Prefix(), func(_ string, decode func(any) error) error {
			var r launchConfigRecord
			if err := decode(&r); err != nil {
				return err
			}
			if len(in.LaunchConfigurationNames) == 0 || slices.Contains(in.LaunchConfigurationNames, str(r.Config.LaunchConfigurationName)) {
				all = append(all, r.Config)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(all, func(a, b api.LaunchConfiguration) int {
		return strings.Compare(str(a.LaunchConfigurationName), str(b.LaunchConfigurationName))
	})
	pg, next, err := page.ByKey(all, func(c api.LaunchConfiguration) string { return str(c.LaunchConfigurationName) }, str(in.NextToken), int(deref(in.MaxRecords)), 50, 100)
	if err != nil {
		return nil, badToken()
	}
	out := &api.LaunchConfigurationsType{LaunchConfigurations: nonNil(pg)}
	if next != "" {
		out.NextToken = &next
	}
	return out, nil
}

// DeleteLaunchConfiguration deletes a launch configuration no group uses.
func (s *Service) DeleteLaunchConfiguration(ctx context.Context, in *api.LaunchConfigurationNameType) (*api.DeleteLaunchConfigurationOutput, error) {
	sc := scopeOf(ctx)
	name := str(in.LaunchConfigurationName)
	err := s.st.Update(func(tx store.Tx) error {
		if err := tx.Get(bucketLaunchConfigs, sc.Key(name), &launchConfigRecord{}); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return validation("Launch configuration name not found - Launch configuration %s not found", name)
			}
			return err
		}
		used := false
		err := tx.ForEach(bucketGroups, sc.Prefix(), func(_ string, decode func(any) error) error {
			var g groupRecord
			if err := decode(&g); err != nil {
				return err
			}
			used = used || g.LaunchConfigurationName == name
			return nil
		})
		if err != nil {
			return err
		}
		if used {
			return inUse("Cannot delete launch configuration %s because it is attached to AutoScalingGroup", name)
		}
		return tx.Delete(bucketLaunchConfigs, sc.Key(name))
	})
	if err != nil {
		return nil, err
	}
	return &api.DeleteLaunchConfigurationOutput{}, nil
}
