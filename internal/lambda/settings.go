package lambda

import (
	"context"

	api "github.com/nephele-dev/nephele/internal/api/lambda"
	"github.com/nephele-dev/nephele/internal/store"
)

// The per-function settings below have one fixed answer in nephele, which
// has no code signing and one runtime build per runtime, but clients such
// as Terraform read them for every function.

// existing checks that a function (and qualifier) exists.
func (s *Service) existing(ctx context.Context, fn string, qualifier *string) (scope, functionRef, error) {
	sc := scopeOf(ctx)
	ref, err := parseFunction(fn, qualifier)
	if err != nil {
		return sc, ref, err
	}
	err = s.st.View(func(tx store.Tx) error {
		_, _, _, err := resolve(tx, sc, ref)
		return err
	})
	return sc, ref, err
}

// GetFunctionCodeSigningConfig answers that no code signing configuration
// applies: nephele verifies no signatures.
func (s *Service) GetFunctionCodeSigningConfig(ctx context.Context, in *api.GetFunctionCodeSigningConfigInput) (*api.GetFunctionCodeSigningConfigOutput, error) {
	_, ref, err := s.existing(ctx, str(in.FunctionName), nil)
	if err != nil {
		return nil, err
	}
	return &api.GetFunctionCodeSigningConfigOutput{FunctionName: ptr(ref.name), CodeSigningConfigArn: ptr("")}, nil
}

// GetRuntimeManagementConfig answers that runtimes update automatically,
// Lambda's default.
func (s *Service) GetRuntimeManagementConfig(ctx context.Context, in *api.GetRuntimeManagementConfigInput) (*api.GetRuntimeManagementConfigOutput, error) {
	sc, ref, err := s.existing(ctx, str(in.FunctionName), in.Qualifier)
	if err != nil {
		return nil, err
	}
	q := ref.qualifier
	if q == "" {
		q = latest
	}
	return &api.GetRuntimeManagementConfigOutput{FunctionArn: ptr(sc.qualifiedARN(ref.name, q)), UpdateRuntimeOn: ptr("Auto")}, nil
}

// GetFunctionRecursionConfig answers Lambda's default: recursive loops
// are stopped.
func (s *Service) GetFunctionRecursionConfig(ctx context.Context, in *api.GetFunctionRecursionConfigInput) (*api.GetFunctionRecursionConfigOutput, error) {
	if _, _, err := s.existing(ctx, str(in.FunctionName), nil); err != nil {
		return nil, err
	}
	return &api.GetFunctionRecursionConfigOutput{RecursiveLoop: ptr("Terminate")}, nil
}
