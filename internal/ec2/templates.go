package ec2

import (
	api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/store"
)

// applyLaunchTemplate returns a copy of a RunInstances request with the
// launch template's data filling every member the request leaves out.
func (s *Service) applyLaunchTemplate(tx store.Tx, sc scope, in *api.RunInstancesInput) (*api.RunInstancesInput, error) {
	return nil, invalidParameterValue("Launch templates are not served yet")
}
