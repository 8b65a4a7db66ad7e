package gateway

import (
	"fmt"
	"strings"

	"github.com/nephele-dev/nephele/internal/service"
)

// Coverage renders docs/coverage.md: per service, which operations of the
// AWS model nephele serves. The served-operations tables are the source, so
// the document cannot drift from the code.
func Coverage(services []service.Service) string {
	served := map[string]map[string]bool{}
	for _, s := range services {
		ops := map[string]bool{}
		for _, op := range s.Operations() {
			ops[op.Name] = true
		}
		served[s.Name()] = ops
	}
	var b strings.Builder
	b.WriteString("# API coverage\n\nGenerated from the served-operations tables by `go test ./internal/server -run TestCoverageDoc -update`; do not edit.\n")
	b.WriteString("An operation not served answers `NotImplemented` (HTTP 501) naming it.\n\n")
	b.WriteString("| service | served | in the AWS model |\n|---|---|---|\n")
	for _, spec := range Catalog {
		m := spec.Model()
		n := 0
		for _, name := range m.OperationNames() {
			if served[spec.SigningName][name] {
				n++
			}
		}
		fmt.Fprintf(&b, "| %s (`%s`) | %d | %d |\n", m.Metadata.ServiceFullName, spec.SigningName, n, len(m.OperationNames()))
	}
	for _, spec := range Catalog {
		m := spec.Model()
		fmt.Fprintf(&b, "\n## %s (`%s`, %s)\n\n", m.Metadata.ServiceFullName, spec.SigningName, strings.Join(protocols(m.Metadata.Protocol, m.Metadata.Protocols), ", "))
		var yes, no []string
		for _, name := range m.OperationNames() {
			if served[spec.SigningName][name] {
				yes = append(yes, name)
			} else {
				no = append(no, name)
			}
		}
		if len(yes) == 0 {
			b.WriteString("Not served yet.\n")
			continue
		}
		fmt.Fprintf(&b, "Served (%d): %s\n\nNot yet (%d): %s\n", len(yes), strings.Join(yes, ", "), len(no), strings.Join(no, ", "))
	}
	return b.String()
}

func protocols(main string, all []string) []string {
	if len(all) == 0 {
		return []string{main}
	}
	return all
}
