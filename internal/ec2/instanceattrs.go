package ec2

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/ec2/catalog"
	"github.com/nephele-dev/nephele/internal/filter"
	"github.com/nephele-dev/nephele/internal/service"
	"github.com/nephele-dev/nephele/internal/store"
)

// Instance attributes, metadata options, CPU credits and status checks:
// what an instance is after it was launched, and how healthy it is.

func (s *Service) instanceAttributeOperations() []service.Operation {
	return []service.Operation{
		service.Handle("DescribeInstanceAttribute", s.DescribeInstanceAttribute),
		service.Handle("ModifyInstanceAttribute", s.ModifyInstanceAttribute),
		service.Handle("ModifyInstanceMetadataOptions", s.ModifyInstanceMetadataOptions),
		service.Handle("DescribeInstanceCreditSpecifications", s.DescribeInstanceCreditSpecifications),
		service.Handle("ModifyInstanceCreditSpecification", s.ModifyInstanceCreditSpecification),
		service.Handle("DescribeInstanceStatus", s.DescribeInstanceStatus),
	}
}

// boolAttr wraps a bool as an AttributeBooleanValue.
func boolAttr(b bool) *api.AttributeBooleanValue { return &api.AttributeBooleanValue{Value: ptr(b)} }

// DescribeInstanceAttribute returns one attribute of an instance.
func (s *Service) DescribeInstanceAttribute(ctx context.Context, in *api.DescribeInstanceAttributeInput) (*api.DescribeInstanceAttributeOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	id := str(in.InstanceId)
	if !strings.HasPrefix(id, "i-") {
		return nil, malformed("InvalidInstanceID.Malformed", id, "i")
	}
	var r instanceRecord
	err := s.st.View(func(tx store.Tx) error {
		var err error
		r, err = loadInstance(tx, sc, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := &api.DescribeInstanceAttributeOutput{InstanceId: ptr(id)}
	switch attribute := str(in.Attribute); attribute {
	case "instanceType":
		out.InstanceType = attr(r.InstanceType)
	case "kernel":
		out.KernelId = attr(r.KernelId)
	case "ramdisk":
		out.RamdiskId = attr(r.RamdiskId)
	case "userData":
		out.UserData = attr(optional(r.UserData))
	case "disableApiTermination":
		out.DisableApiTermination = boolAttr(r.DisableAPITermination)
	case "disableApiStop":
		out.DisableApiStop = boolAttr(r.DisableAPIStop)
	case "instanceInitiatedShutdownBehavior":
		out.InstanceInitiatedShutdownBehavior = attr(ptr(r.ShutdownBehavior))
	case "rootDeviceName":
		out.RootDeviceName = attr(r.RootDeviceName)
	case "blockDeviceMapping":
		out.BlockDeviceMappings = nonNil(r.BlockDeviceMappings)
	case "productCodes":
		out.ProductCodes = nonNil(r.ProductCodes)
	case "sourceDestCheck":
		out.SourceDestCheck = boolAttr(r.SourceDestCheck == nil || *r.SourceDestCheck)
	case "groupSet":
		out.Groups = nonNil(r.SecurityGroups)
	case "ebsOptimized":
		out.EbsOptimized = boolAttr(boolean(r.EbsOptimized))
	case "sriovNetSupport":
		out.SriovNetSupport = attr(r.SriovNetSupport)
	case "enaSupport":
		out.EnaSupport = boolAttr(boolean(r.EnaSupport))
	case "enclaveOptions":
		out.EnclaveOptions = &api.EnclaveOptions{Enabled: ptr(r.EnclaveOptions != nil && boolean(r.EnclaveOptions.Enabled))}
	default:
		return nil, invalidParameterValue("Value (%s) for parameter attribute is invalid. Unknown attribute.", attribute)
	}
	return out, nil
}

// modifiedAttributes lists the attributes a ModifyInstanceAttribute sets,
// by their members or by Attribute with Value.
func modifiedAttributes(in *api.ModifyInstanceAttributeInput) []string {
	var out []string
	for _, m := range []struct {
		name string
		set  bool
	}{
		{"instanceType", in.InstanceType != nil},
		{"kernel", in.Kernel != nil},
		{"ramdisk", in.Ramdisk != nil},
		{"userData", in.UserData != nil},
		{"disableApiTermination", in.DisableApiTermination != nil},
		{"disableApiStop", in.DisableApiStop != nil},
		{"instanceInitiatedShutdownBehavior", in.InstanceInitiatedShutdownBehavior != nil},
		{"blockDeviceMapping", len(in.BlockDeviceMappings) > 0},
		{"sourceDestCheck", in.SourceDestCheck != nil},
		{"groupSet", len(in.Groups) > 0},
		{"ebsOptimized", in.EbsOptimized != nil},
		{"sriovNetSupport", in.SriovNetSupport != nil},
		{"enaSupport", in.EnaSupport != nil},
	} {
		if m.set {
			out = append(out, m.name)
		}
	}
	if a := str(in.Attribute); a != "" && !slices.Contains(out, a) {
		out = append(out, a)
	}
	return out
}

// needsStop are the attributes EC2 changes only on a stopped instance.
var needsStop = map[string]bool{
	"instanceType": true, "userData": true, "kernel": true, "ramdisk": true,
	"ebsOptimized": true, "enaSupport": true, "sriovNetSupport": true,
}

// ModifyInstanceAttribute changes one attribute of an instance. The
// instance type, user data, kernel, RAM disk, EBS optimisation, ENA and
// SR-IOV support change only while it is stopped, as in EC2.
func (s *Service) ModifyInstanceAttribute(ctx context.Context, in *api.ModifyInstanceAttributeInput) (*api.ModifyInstanceAttributeOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	id := str(in.InstanceId)
	if !strings.HasPrefix(id, "i-") {
		return nil, malformed("InvalidInstanceID.Malformed", id, "i")
	}
	attrs := modifiedAttributes(in)
	switch {
	case len(attrs) == 0:
		return nil, missingParameter("The request must contain the parameter attribute")
	case len(attrs) > 1:
		return nil, invalidParameterCombination("Fields for multiple attribute types specified: %s", strings.Join(attrs, ", "))
	}
	attribute := attrs[0]
	value := str(in.Value)
	valueOf := func(a *api.AttributeValue) string {
		if a != nil {
			return str(a.Value)
		}
		return value
	}
	boolOf := func(a *api.AttributeBooleanValue) (bool, error) {
		if a != nil {
			return boolean(a.Value), nil
		}
		switch strings.ToLower(value) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return false, invalidParameterValue("Value (%s) for parameter value is invalid. Expected 'true' or 'false'.", value)
	}
	var newType string
	err := s.st.Update(func(tx store.Tx) error {
		r, err := loadInstance(tx, sc, id)
		if err != nil {
			return err
		}
		if st := r.state(); st == "terminated" || st == "shutting-down" {
			return awserr.BadRequest("IncorrectInstanceState", "The instance '%s' is not in a state from which it can be modified.", id)
		}
		if needsStop[attribute] && r.state() != "stopped" {
			return awserr.BadRequest("IncorrectInstanceState", "The instance '%s' is not in the 'stopped' state.", id)
		}
		switch attribute {
		case "instanceType":
			t := valueOf(in.InstanceType)
			info, ok := catalog.InstanceType(t)
			if !ok {
				return awserr.BadRequest("InvalidInstanceAttributeValue", "The instance type '%s' is not supported.", t)
			}
			if !slices.Contains(info.ProcessorInfo.SupportedArchitectures, str(r.Architecture)) {
				return awserr.BadRequest("InvalidInstanceAttributeValue", "The instance type '%s' does not support the architecture '%s' of instance '%s'.", t, str(r.Architecture), id)
			}
			r.InstanceType = ptr(t)
			r.CpuOptions = &api.CpuOptions{CoreCount: info.VCpuInfo.DefaultCores, ThreadsPerCore: info.VCpuInfo.DefaultThreadsPerCore}
			newType = t
		case "kernel":
			r.KernelId = optional(valueOf(in.Kernel))
		case "ramdisk":
			r.RamdiskId = optional(valueOf(in.Ramdisk))
		case "userData":
			encoded := value
			if in.UserData != nil {
				encoded = base64.StdEncoding.EncodeToString(in.UserData.Value)
			}
			if encoded, err = checkUserData(&encoded); err != nil {
				return err
			}
			r.UserData = encoded
		case "disableApiTermination":
			if r.DisableAPITermination, err = boolOf(in.DisableApiTermination); err != nil {
				return err
			}
		case "disableApiStop":
			if r.DisableAPIStop, err = boolOf(in.DisableApiStop); err != nil {
				return err
			}
		case "instanceInitiatedShutdownBehavior":
			b := valueOf(in.InstanceInitiatedShutdownBehavior)
			if b != "stop" && b != "terminate" {
				return invalidParameterValue("Value (%s) for parameter instanceInitiatedShutdownBehavior is invalid. Valid values are 'stop' and 'terminate'.", b)
			}
			r.ShutdownBehavior = b
		case "sourceDestCheck":
			v, err := boolOf(in.SourceDestCheck)
			if err != nil {
				return err
			}
			r.SourceDestCheck = ptr(v)
			for i := range r.NetworkInterfaces {
				r.NetworkInterfaces[i].SourceDestCheck = ptr(v)
			}
		case "groupSet":
			groups, err := launchGroups(tx, sc, str(r.VpcId), in.Groups, nil)
			if err != nil {
				return err
			}
			r.SecurityGroups = groups
			if len(r.NetworkInterfaces) > 0 {
				r.NetworkInterfaces[0].Groups = groups
			}
		case "ebsOptimized":
			v, err := boolOf(in.EbsOptimized)
			if err != nil {
				return err
			}
			r.EbsOptimized = ptr(v)
		case "enaSupport":
			v, err := boolOf(in.EnaSupport)
			if err != nil {
				return err
			}
			r.EnaSupport = ptr(v)
		case "sriovNetSupport":
			v := valueOf(in.SriovNetSupport)
			if v != "simple" {
				return invalidParameterValue("Value (%s) for parameter sriovNetSupport is invalid. The only supported value is 'simple'.", v)
			}
			r.SriovNetSupport = ptr(v)
		case "blockDeviceMapping":
			if err := modifyDeleteOnTermination(tx, sc, &r, in.BlockDeviceMappings); err != nil {
				return err
			}
		default:
			return invalidParameterValue("Value (%s) for parameter attribute is invalid. The attribute cannot be modified.", attribute)
		}
		return tx.Put(instanceKind.bucket, sc.key(id), r)
	})
	if err != nil {
		return nil, err
	}
	if newType != "" {
		if err := s.setInstanceStore(id, newType); err != nil {
			return nil, fmt.Errorf("ec2: instance store of %s: %w", id, err)
		}
	}
	return &api.ModifyInstanceAttributeOutput{}, nil
}

// modifyDeleteOnTermination changes the DeleteOnTermination of attached
// volumes, by device name, on the instance and on the volumes.
func modifyDeleteOnTermination(tx store.Tx, sc scope, r *instanceRecord, specs []api.InstanceBlockDeviceMappingSpecification) error {
	for _, spec := range specs {
		i := slices.IndexFunc(r.BlockDeviceMappings, func(m api.InstanceBlockDeviceMapping) bool { return str(m.DeviceName) == str(spec.DeviceName) })
		if i < 0 || r.BlockDeviceMappings[i].Ebs == nil {
			return awserr.BadRequest("InvalidInstanceAttributeValue", "No device is currently mapped at %s", str(spec.DeviceName))
		}
		if spec.Ebs == nil || spec.Ebs.DeleteOnTermination == nil {
			continue
		}
		ebs := r.BlockDeviceMappings[i].Ebs
		if v := str(spec.Ebs.VolumeId); v != "" && v != str(ebs.VolumeId) {
			return awserr.BadRequest("InvalidInstanceAttributeValue", "Volume %s is not attached at %s", v, str(spec.DeviceName))
		}
		ebs.DeleteOnTermination = spec.Ebs.DeleteOnTermination
		v, err := loadVolume(tx, sc, str(ebs.VolumeId))
		if isAPIError(err) {
			continue
		}
		if err != nil {
			return err
		}
		if a := v.attachment(); a != nil {
			a.DeleteOnTermination = spec.Ebs.DeleteOnTermination
		}
		if err := tx.Put(volumeKind.bucket, sc.key(v.id()), v); err != nil {
			return err
		}
	}
	return nil
}

// ModifyInstanceMetadataOptions changes an instance's metadata service
// options. The metadata service reads them on every request, so they
// apply at once.
func (s *Service) ModifyInstanceMetadataOptions(ctx context.Context, in *api.ModifyInstanceMetadataOptionsInput) (*api.ModifyInstanceMetadataOptionsOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	id := str(in.InstanceId)
	if !strings.HasPrefix(id, "i-") {
		return nil, malformed("InvalidInstanceID.Malformed", id, "i")
	}
	if h := in.HttpPutResponseHopLimit; h != nil && (*h < 1 || *h > 64) {
		return nil, invalidParameterValue("Value (%d) for parameter httpPutResponseHopLimit is invalid. Expected a value between 1 and 64.", *h)
	}
	var opts api.InstanceMetadataOptionsResponse
	err := s.st.Update(func(tx store.Tx) error {
		r, err := loadInstance(tx, sc, id)
		if err != nil {
			return err
		}
		if st := r.state(); st == "terminated" || st == "shutting-down" {
			return awserr.BadRequest("IncorrectInstanceState", "The instance '%s' is not in a valid state for this operation.", id)
		}
		o := api.InstanceMetadataOptionsResponse{}
		if r.MetadataOptions != nil {
			o = *r.MetadataOptions
		}
		if in.HttpTokens != nil {
			o.HttpTokens = in.HttpTokens
		}
		if in.HttpEndpoint != nil {
			o.HttpEndpoint = in.HttpEndpoint
		}
		if in.HttpPutResponseHopLimit != nil {
			o.HttpPutResponseHopLimit = in.HttpPutResponseHopLimit
		}
		if in.HttpProtocolIpv6 != nil {
			o.HttpProtocolIpv6 = in.HttpProtocolIpv6
		}
		if in.InstanceMetadataTags != nil {
			o.InstanceMetadataTags = in.InstanceMetadataTags
		}
		o.State = ptr("applied")
		r.MetadataOptions = &o
		opts = o
		return tx.Put(instanceKind.bucket, sc.key(id), r)
	})
	if err != nil {
		return nil, err
	}
	// EC2 answers "pending" and applies the change shortly after; here it
	// is applied by the time the answer is sent.
	opts.State = ptr("pending")
	return &api.ModifyInstanceMetadataOptionsOutput{InstanceId: ptr(id), InstanceMetadataOptions: &opts}, nil
}

// burstable reports whether an instance type earns CPU credits: the T
// families.
func burstable(instanceType string) bool {
	family, _, _ := strings.Cut(instanceType, ".")
	return slices.Contains([]string{"t1", "t2", "t3", "t3a", "t4g"}, family)
}

// cpuCredits is an instance's credit option: what it was set to, else
// its type's default, standard for T2 and unlimited for T3, T3a and T4g
// ("Burstable performance instances", default credit specification).
func (r *instanceRecord) cpuCredits() string {
	if r.CPUCredits != "" {
		return r.CPUCredits
	}
	if t := str(r.InstanceType); strings.HasPrefix(t, "t2.") || strings.HasPrefix(t, "t1.") {
		return "standard"
	}
	return "unlimited"
}

// DescribeInstanceCreditSpecifications returns the credit option of the
// burstable instances named, or of every instance whose option is
// unlimited.
func (s *Service) DescribeInstanceCreditSpecifications(ctx context.Context, in *api.DescribeInstanceCreditSpecificationsInput) (*api.DescribeInstanceCreditSpecificationsOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	if len(in.InstanceIds) > 0 && in.MaxResults != nil {
		return nil, invalidParameterCombination("The parameter instancesSet cannot be used with the parameter maxResults")
	}
	var all []api.InstanceCreditSpecification
	err := s.st.View(func(tx store.Tx) error {
		if len(in.InstanceIds) > 0 {
			for _, id := range in.InstanceIds {
				if !strings.HasPrefix(id, "i-") {
					return malformed("InvalidInstanceID.Malformed", id, "i")
				}
				r, err := loadInstance(tx, sc, id)
				if err != nil {
					return err
				}
				if !burstable(str(r.InstanceType)) && r.CPUCredits == "" {
					return awserr.BadRequest("InvalidParameterValue", "The instance ID '%s' is not valid. The specified instance is not a burstable performance instance.", id)
				}
				all = append(all, api.InstanceCreditSpecification{InstanceId: ptr(id), CpuCredits: ptr(r.cpuCredits())})
			}
			return nil
		}
		recs, err := listAll[instanceRecord](tx, sc, instanceKind.bucket)
		for _, r := range recs {
			if (burstable(str(r.InstanceType)) || r.CPUCredits != "") && r.cpuCredits() == "unlimited" {
				all = append(all, api.InstanceCreditSpecification{InstanceId: r.InstanceId, CpuCredits: ptr(r.cpuCredits())})
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	fields := filter.Fields[api.InstanceCreditSpecification]{
		"instance-id": func(c api.InstanceCreditSpecification) []string { return []string{str(c.InstanceId)} },
	}
	pageOf, next, err := filterAndPage(all, in.Filters, fields, nil, func(c api.InstanceCreditSpecification) string { return str(c.InstanceId) }, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &api.DescribeInstanceCreditSpecificationsOutput{InstanceCreditSpecifications: nonNil(pageOf), NextToken: next}, nil
}

// ModifyInstanceCreditSpecification sets the credit option of burstable
// instances; each instance succeeds or fails on its own.
func (s *Service) ModifyInstanceCreditSpecification(ctx context.Context, in *api.ModifyInstanceCreditSpecificationInput) (*api.ModifyInstanceCreditSpecificationOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	out := &api.ModifyInstanceCreditSpecificationOutput{
		SuccessfulInstanceCreditSpecifications:   []api.SuccessfulInstanceCreditSpecificationItem{},
		UnsuccessfulInstanceCreditSpecifications: []api.UnsuccessfulInstanceCreditSpecificationItem{},
	}
	fail := func(id, code, format string, args ...any) {
		out.UnsuccessfulInstanceCreditSpecifications = append(out.UnsuccessfulInstanceCreditSpecifications, api.UnsuccessfulInstanceCreditSpecificationItem{
			InstanceId: ptr(id), Error: &api.UnsuccessfulInstanceCreditSpecificationItemError{Code: ptr(code), Message: ptr(fmt.Sprintf(format, args...))},
		})
	}
	err := s.st.Update(func(tx store.Tx) error {
		for _, spec := range in.InstanceCreditSpecifications {
			id, credits := str(spec.InstanceId), str(spec.CpuCredits)
			if credits != "standard" && credits != "unlimited" {
				return invalidParameterValue("Value (%s) for parameter cpuCredits is invalid. Valid values are 'standard' and 'unlimited'.", credits)
			}
			if !strings.HasPrefix(id, "i-") {
				fail(id, "InvalidInstanceID.Malformed", "Invalid id: \"%s\" (expecting \"i-...\")", id)
				continue
			}
			r, err := loadInstance(tx, sc, id)
			if isAPIError(err) {
				fail(id, "InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", id)
				continue
			}
			if err != nil {
				return err
			}
			switch {
			case r.state() == "terminated" || r.state() == "shutting-down":
				fail(id, "IncorrectInstanceState", "The instance '%s' is not in a valid state for this operation.", id)
				continue
			case !burstable(str(r.InstanceType)):
				fail(id, "InstanceCreditSpecification.NotSupported", "The instance '%s' is not a burstable performance instance.", id)
				continue
			}
			r.CPUCredits = credits
			if err := tx.Put(instanceKind.bucket, sc.key(id), r); err != nil {
				return err
			}
			out.SuccessfulInstanceCreditSpecifications = append(out.SuccessfulInstanceCreditSpecifications, api.SuccessfulInstanceCreditSpecificationItem{InstanceId: ptr(id)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// instanceStatus is the status of an instance: both checks pass while it
// runs, except that an instance whose processes ended by themselves fails
// its instance check (reachability "failed"); an instance that is not
// running has no checks to report.
func instanceStatus(r instanceRecord) api.InstanceStatus {
	st := api.InstanceStatus{
		InstanceId: r.InstanceId, AvailabilityZone: r.Placement.AvailabilityZone, AvailabilityZoneId: r.Placement.AvailabilityZoneId,
		InstanceState: r.State, Events: []api.InstanceStatusEvent{},
	}
	summary := func(status, detail string, since *time.Time) *api.InstanceStatusSummary {
		s := &api.InstanceStatusSummary{Status: ptr(status), Details: []api.InstanceStatusDetails{}}
		if detail != "" {
			s.Details = append(s.Details, api.InstanceStatusDetails{Name: ptr("reachability"), Status: ptr(detail), ImpairedSince: since})
		}
		return s
	}
	if r.state() != "running" {
		st.InstanceStatus, st.SystemStatus = summary("not-applicable", "", nil), summary("not-applicable", "", nil)
		st.AttachedEbsStatus = &api.EbsStatusSummary{Status: ptr("not-applicable"), Details: []api.EbsStatusDetails{}}
		return st
	}
	st.SystemStatus = summary("ok", "passed", nil)
	st.InstanceStatus = summary("ok", "passed", nil)
	if r.Impaired {
		var since *time.Time
		if !r.ImpairedSince.IsZero() {
			since = ptr(r.ImpairedSince)
		}
		st.InstanceStatus = summary("impaired", "failed", since)
	}
	st.AttachedEbsStatus = &api.EbsStatusSummary{Status: ptr("ok"), Details: []api.EbsStatusDetails{{Name: ptr("reachability"), Status: ptr("passed")}}}
	return st
}

// detailStatus reads the reachability status of a check.
func detailStatus(s *api.InstanceStatusSummary) []string {
	var out []string
	for _, d := range s.Details {
		out = append(out, str(d.Status))
	}
	return out
}

// instanceStatusFields are DescribeInstanceStatus's filters.
var instanceStatusFields = filter.Fields[api.InstanceStatus]{
	"availability-zone":            func(s api.InstanceStatus) []string { return []string{str(s.AvailabilityZone)} },
	"availability-zone-id":         func(s api.InstanceStatus) []string { return []string{str(s.AvailabilityZoneId)} },
	"instance-state-name":          func(s api.InstanceStatus) []string { return []string{str(s.InstanceState.Name)} },
	"instance-state-code":          func(s api.InstanceStatus) []string { return []string{fmt.Sprint(deref(s.InstanceState.Code))} },
	"instance-status.status":       func(s api.InstanceStatus) []string { return []string{str(s.InstanceStatus.Status)} },
	"instance-status.reachability": func(s api.InstanceStatus) []string { return detailStatus(s.InstanceStatus) },
	"system-status.status":         func(s api.InstanceStatus) []string { return []string{str(s.SystemStatus.Status)} },
	"system-status.reachability":   func(s api.InstanceStatus) []string { return detailStatus(s.SystemStatus) },
	"attached-ebs-status.status":   func(s api.InstanceStatus) []string { return []string{str(s.AttachedEbsStatus.Status)} },
	"event.code":                   func(api.InstanceStatus) []string { return []string{} },
	"event.description":            func(api.InstanceStatus) []string { return []string{} },
	"event.instance-event-id":      func(api.InstanceStatus) []string { return []string{} },
	"event.not-after":              func(api.InstanceStatus) []string { return []string{} },
	"event.not-before":             func(api.InstanceStatus) []string { return []string{} },
	"event.not-before-deadline":    func(api.InstanceStatus) []string { return []string{} },
}

// DescribeInstanceStatus reports the status checks of running instances,
// or of every instance with IncludeAllInstances.
func (s *Service) DescribeInstanceStatus(ctx context.Context, in *api.DescribeInstanceStatusInput) (*api.DescribeInstanceStatusOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	if len(in.InstanceIds) > 0 && in.MaxResults != nil {
		return nil, invalidParameterCombination("The parameter instancesSet cannot be used with the parameter maxResults")
	}
	for _, id := range in.InstanceIds {
		if !strings.HasPrefix(id, "i-") {
			return nil, malformed("InvalidInstanceID.Malformed", id, "i")
		}
	}
	var all []api.InstanceStatus
	err := s.st.View(func(tx store.Tx) error {
		var missing []string
		for _, id := range in.InstanceIds {
			if _, err := loadInstance(tx, sc, id); isAPIError(err) {
				missing = append(missing, id)
			} else if err != nil {
				return err
			}
		}
		if len(missing) > 0 {
			return notFound("InvalidInstanceID.NotFound", "instance", missing...)
		}
		recs, err := listAll[instanceRecord](tx, sc, instanceKind.bucket)
		for _, r := range recs {
			if len(in.InstanceIds) > 0 && !slices.Contains(in.InstanceIds, r.id()) {
				continue
			}
			if r.state() != "running" && !boolean(in.IncludeAllInstances) {
				continue
			}
			all = append(all, instanceStatus(r))
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	pageOf, next, err := filterAndPage(all, in.Filters, instanceStatusFields, nil, func(st api.InstanceStatus) string { return str(st.InstanceId) }, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &api.DescribeInstanceStatusOutput{InstanceStatuses: nonNil(pageOf), NextToken: next}, nil
}
