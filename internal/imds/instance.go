package imds

import (
	"context"
	"time"
)

// Source tells the IMDS what an instance looks like now. The EC2 service
// implements it; the server reads a fresh snapshot on every request, so a
// ModifyInstanceMetadataOptions, a new tag or a spot interruption shows up on
// the next request without telling the IMDS anything.
type Source interface {
	// Instance returns a snapshot of the instance, or false if it is not
	// known (then the IMDS answers 403, as a turned-off service does).
	Instance(instanceID string) (Instance, bool)
}

// Instance is what the IMDS serves about one instance. Empty fields are left
// out of the metadata tree (a 404 to whoever asks), as AWS leaves out
// categories that do not apply, unless a field's comment says otherwise.
type Instance struct {
	InstanceID     string // instance-id
	ImageID        string // ami-id
	InstanceType   string // instance-type
	KernelID       string // kernel-id
	RamdiskID      string // ramdisk-id
	AmiLaunchIndex int    // ami-launch-index
	ReservationID  string // reservation-id
	AccountID      string // accountId in the identity document; owner-id of the interface
	Architecture   string // i386 | x86_64 | arm64, for the identity document
	// LaunchTime is the identity document's pendingTime.
	LaunchTime time.Time

	Region             string // placement/region; derived from AvailabilityZone when empty
	AvailabilityZone   string // placement/availability-zone
	AvailabilityZoneID string // placement/availability-zone-id, e.g. use1-az4

	PrivateIPAddress   string // local-ipv4; also the address the IMDS listens on
	PrivateDNSName     string // local-hostname and hostname
	PublicIPAddress    string // public-ipv4
	PublicDNSName      string // public-hostname
	MACAddress         string // mac; names the interface under network/interfaces/macs/
	NetworkInterfaceID string
	SubnetID           string
	SubnetCIDRBlock    string
	VpcID              string
	VpcCIDRBlock       string
	SecurityGroups     []SecurityGroup

	// KeyName and PublicKey are public-keys/0=KeyName and its openssh-key.
	KeyName   string
	PublicKey string
	// BlockDeviceMapping maps the IMDS names (ami, root, ebs1, ephemeral0,
	// swap) to device names, as block-device-mapping/ lists them.
	BlockDeviceMapping map[string]string
	// ProductCodes are the AWS Marketplace product codes, if any.
	ProductCodes []string
	// Monitoring is "enabled" or "disabled" (the default) for
	// dynamic/fws/instance-monitoring.
	Monitoring string

	// UserData is served raw at /latest/user-data; none answers 404.
	UserData []byte

	// InstanceLifecycle is "spot", "scheduled" or "" for on-demand, as in
	// DescribeInstances; instance-life-cycle says "on-demand" for "".
	InstanceLifecycle string
	// InstanceAction is instance-action; "" serves "none".
	InstanceAction string

	MetadataOptions MetadataOptions
	// Tags are served under tags/instance/ when
	// MetadataOptions.InstanceMetadataTags is "enabled".
	Tags map[string]string

	// IamInstanceProfile, when set, makes iam/info and
	// iam/security-credentials/<RoleName> appear.
	IamInstanceProfile *IamInstanceProfile

	// SpotInstanceAction is spot/instance-action (and, for terminate,
	// spot/termination-time): present only once EC2 has marked the spot
	// instance for interruption.
	SpotInstanceAction *SpotInstanceAction
	// RebalanceRecommendation is the noticeTime of
	// events/recommendations/rebalance; zero means none has been issued.
	RebalanceRecommendation time.Time
	// TargetLifecycleState is autoscaling/target-lifecycle-state (InService,
	// Terminated, Warmed:Stopped, ...); "" leaves it out.
	TargetLifecycleState string
	// ScheduledEvents and EventHistory are events/maintenance/scheduled and
	// events/maintenance/history; none serves an empty JSON list, as AWS does.
	ScheduledEvents []MaintenanceEvent
	EventHistory    []MaintenanceEvent
}

// SecurityGroup is one security group of the instance's primary interface.
type SecurityGroup struct {
	GroupID   string
	GroupName string
}

// MetadataOptions are the instance's metadata options as EC2's
// InstanceMetadataOptionsResponse has them. The zero value is AWS's default:
// tokens optional, endpoint enabled, tags not exposed.
type MetadataOptions struct {
	HTTPTokens           string // "optional" | "required"
	HTTPEndpoint         string // "enabled" | "disabled"
	InstanceMetadataTags string // "enabled" | "disabled"
}

// IamInstanceProfile is the instance profile associated with the instance
// and the role in it.
type IamInstanceProfile struct {
	Arn      string
	ID       string // InstanceProfileId, AIPA...
	RoleName string
	// LastUpdated is iam/info's LastUpdated: when the association last
	// changed. Zero uses the instance's LaunchTime.
	LastUpdated time.Time
}

// SpotInstanceAction is a pending spot interruption.
type SpotInstanceAction struct {
	Action string // "hibernate" | "stop" | "terminate"
	Time   time.Time
}

// MaintenanceEvent is one scheduled (or past) maintenance event.
type MaintenanceEvent struct {
	Code              string // e.g. "system-reboot", "instance-stop"
	Description       string
	State             string // "active" | "completed" | "canceled"
	EventID           string // instance-event-...
	NotBefore         time.Time
	NotAfter          time.Time // zero leaves it out
	NotBeforeDeadline time.Time // zero leaves it out
}

// Credentials are temporary credentials for the instance profile's role.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	Token           string
	Expiration      time.Time
	// LastUpdated is when they were issued; zero uses the time the IMDS
	// received them.
	LastUpdated time.Time
}

// CredentialsFunc issues credentials for the role of inst's instance
// profile (inst.IamInstanceProfile is not nil). It is called when an
// instance first asks for its role's credentials and again when the ones
// served are within five minutes of expiring. An *awserr.Error is shown to
// the instance by code and message; any other error as InternalFailure.
type CredentialsFunc func(ctx context.Context, inst Instance) (Credentials, error)
