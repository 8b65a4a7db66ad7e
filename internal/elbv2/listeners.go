package elbv2

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"

	api "github.com/nephele-dev/nephele/internal/api/elbv2"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/page"
	"github.com/nephele-dev/nephele/internal/store"
)

// defaultSSLPolicy is the security policy of HTTPS and TLS listeners
// created through the API without one.
const defaultSSLPolicy = "ELBSecurityPolicy-2016-08"

// checkListenerProtocol applies the protocol rules of a load balancer's
// type, with AWS's wording.
func checkListenerProtocol(lbType, protocol string) error {
	if lbType == "application" {
		if !isALBProtocol(protocol) {
			return validation("Listener protocol '%s' must be one of 'HTTPS, HTTP'", protocol)
		}
		return nil
	}
	if !slices.Contains(nlbProtocols, protocol) {
		return validation("Listener protocol '%s' must be one of 'TLS, TCP, TCP_UDP, UDP'", protocol)
	}
	return nil
}

// listenerSpec is the part of CreateListener and ModifyListener that
// describes a listener.
type listenerSpec struct {
	Protocol, SslPolicy *string
	Port                *int32
	Certificates        []api.Certificate
	AlpnPolicy          []string
	DefaultActions      []api.Action
}

// applyListener applies spec to l, checks the result on lb and normalizes
// the default actions; it reads but does not write.
func applyListener(tx store.Tx, sc scope, lb lbRecord, l listenerRecord, spec listenerSpec, creating bool) (listenerRecord, error) {
	if spec.Protocol != nil {
		l.Protocol = *spec.Protocol
	}
	if spec.Port != nil {
		l.Port = *spec.Port
	}
	if creating && l.Protocol == "" {
		return l, validation("A listener protocol must be specified")
	}
	if creating && spec.Port == nil {
		return l, validation("A listener port must be specified")
	}
	if err := checkListenerProtocol(lb.Type, l.Protocol); err != nil {
		return l, err
	}
	secure := l.Protocol == "HTTPS" || l.Protocol == "TLS"
	if !secure {
		if len(spec.Certificates) > 0 {
			return l, validation("Certificates can only be specified for HTTPS and TLS listeners")
		}
		if spec.SslPolicy != nil {
			return l, validation("An SSL policy can only be specified for HTTPS and TLS listeners")
		}
		l.Certificate, l.ExtraCerts, l.SslPolicy = "", nil, ""
	} else {
		if spec.Certificates != nil {
			if len(spec.Certificates) != 1 {
				return l, validation("A listener must have exactly one default certificate")
			}
			l.Certificate = str(spec.Certificates[0].CertificateArn)
		}
		if l.Certificate == "" {
			return l, validation("A certificate must be specified for %s listeners", l.Protocol)
		}
		if spec.SslPolicy != nil {
			l.SslPolicy = *spec.SslPolicy
		}
		if l.SslPolicy == "" {
			l.SslPolicy = defaultSSLPolicy
		}
		if findSSLPolicy(l.SslPolicy) == nil {
			return l, apiErr("SSLPolicyNotFound", "SSL policy '%s' not found", l.SslPolicy)
		}
	}
	if spec.AlpnPolicy != nil {
		if l.Protocol != "TLS" && len(spec.AlpnPolicy) > 0 {
			return l, validation("An ALPN policy can only be specified for TLS listeners")
		}
		l.AlpnPolicy = spec.AlpnPolicy
	}
	if l.Protocol != "TLS" {
		l.AlpnPolicy = nil
	}
	if spec.DefaultActions != nil || creating {
		actions, err := normalizeActions(tx, sc, lb, l.Protocol, spec.DefaultActions)
		if err != nil {
			return l, err
		}
		l.DefaultActions = actions
	} else if spec.Protocol != nil {
		// A new protocol must still suit the target groups forwarded to.
		if _, err := normalizeActions(tx, sc, lb, l.Protocol, l.DefaultActions); err != nil {
			return l, err
		}
	}
	listeners, err := listenersOf(tx, sc, lb.ARN)
	if err != nil {
		return l, err
	}
	for _, o := range listeners {
		if o.ARN != l.ARN && o.Port == l.Port {
			return l, apiErr("DuplicateListener", "A listener already exists on this port for this load balancer '%s'", lb.ARN)
		}
	}
	if creating && len(listeners) >= maxListenersPerLB {
		return l, apiErr("TooManyListeners", "The maximum number of listeners '%d' has been reached for this load balancer", maxListenersPerLB)
	}
	return l, nil
}

// listenerOut renders a listener as the API shows it.
func listenerOut(l listenerRecord) api.Listener {
	out := api.Listener{
		ListenerArn: ptr(l.ARN), LoadBalancerArn: ptr(l.LoadBalancer), Protocol: ptr(l.Protocol), Port: ptr(l.Port),
		DefaultActions: slices.Clone(l.DefaultActions),
	}
	if l.Certificate != "" {
		out.Certificates = []api.Certificate{{CertificateArn: ptr(l.Certificate)}}
	}
	if l.SslPolicy != "" {
		out.SslPolicy = ptr(l.SslPolicy)
	}
	if len(l.AlpnPolicy) > 0 {
		out.AlpnPolicy = slices.Clone(l.AlpnPolicy)
	}
	return out
}

// sameListener reports whether a create asks for the listener l already
// is, for CreateListener's idempotence.
func sameListener(a, b listenerRecord) bool {
	return a.Protocol == b.Protocol && a.Port == b.Port && a.Certificate == b.Certificate && a.SslPolicy == b.SslPolicy &&
		reflect.DeepEqual(a.DefaultActions, b.DefaultActions)
}

// CreateListener adds a listener to a load balancer and opens it: on its
// port of the load balancer's address when that can be bound, else on a
// mapped port (see the admin endpoint /_nephele/elasticloadbalancing/listeners).
// If it cannot be opened at all nothing is kept.
func (s *Service) CreateListener(ctx context.Context, in *api.CreateListenerInput) (*api.CreateListenerOutput, error) {
	sc := scopeOf(ctx)
	if err := checkTags(in.Tags, 0); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var l listenerRecord
	existed := false
	err := s.st.Update(func(tx store.Tx) error {
		lb, err := loadLB(tx, sc, str(in.LoadBalancerArn))
		if err != nil {
			return err
		}
		id := newID()
		l = listenerRecord{ARN: strings.Replace(lb.ARN, ":loadbalancer/", ":listener/", 1) + "/" + id, LoadBalancer: lb.ARN}
		l.DefaultRule = rulePrefix(l.ARN) + newID()
		spec := listenerSpec{Protocol: in.Protocol, Port: in.Port, SslPolicy: in.SslPolicy, Certificates: in.Certificates,
			AlpnPolicy: in.AlpnPolicy, DefaultActions: in.DefaultActions}
		if l, err = applyListener(tx, sc, lb, l, spec, true); err != nil {
			if awsCode(err) == "DuplicateListener" {
				listeners, lerr := listenersOf(tx, sc, lb.ARN)
				if lerr != nil {
					return lerr
				}
				for _, o := range listeners {
					cand := l
					cand.Port = deref(in.Port)
					if o.Port == cand.Port && sameListener(o, cand) {
						l, existed = o, true
						return nil
					}
				}
			}
			return err
		}
		if err := putTags(tx, sc, l.ARN, nil, in.Tags); err != nil {
			return err
		}
		return tx.Put(bucketListeners, sc.Key(l.ARN), l)
	})
	if err != nil {
		return nil, err
	}
	if !existed {
		if err := s.syncScopeLocked(ctx, sc)[l.LoadBalancer]; err != nil {
			s.st.Update(func(tx store.Tx) error { return deleteListenerRecords(tx, sc, l) })
			s.syncScopeLocked(ctx, sc)
			return nil, awserr.Internal(fmt.Errorf("opening listener on port %d: %w", l.Port, err))
		}
	}
	return &api.CreateListenerOutput{Listeners: []api.Listener{listenerOut(l)}}, nil
}

// ModifyListener changes a listener's port, protocol, certificate, SSL
// policy or default actions; the data plane reopens it if needed. If the
// change cannot be applied the listener stays as it was.
func (s *Service) ModifyListener(ctx context.Context, in *api.ModifyListenerInput) (*api.ModifyListenerOutput, error) {
	sc := scopeOf(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	var old, l listenerRecord
	err := s.st.Update(func(tx store.Tx) error {
		var err error
		if old, err = loadListener(tx, sc, str(in.ListenerArn)); err != nil {
			return err
		}
		lb, err := loadLB(tx, sc, old.LoadBalancer)
		if err != nil {
			return err
		}
		spec := listenerSpec{Protocol: in.Protocol, Port: in.Port, SslPolicy: in.SslPolicy, Certificates: in.Certificates,
			AlpnPolicy: in.AlpnPolicy, DefaultActions: in.DefaultActions}
		if l, err = applyListener(tx, sc, lb, old, spec, false); err != nil {
			return err
		}
		return tx.Put(bucketListeners, sc.Key(l.ARN), l)
	})
	if err != nil {
		return nil, err
	}
	if err := s.syncScopeLocked(ctx, sc)[l.LoadBalancer]; err != nil {
		s.st.Update(func(tx store.Tx) error { return tx.Put(bucketListeners, sc.Key(old.ARN), old) })
		s.syncScopeLocked(ctx, sc)
		return nil, awserr.Internal(fmt.Errorf("reopening listener on port %d: %w", l.Port, err))
	}
	return &api.ModifyListenerOutput{Listeners: []api.Listener{listenerOut(l)}}, nil
}

// DescribeListeners lists a load balancer's listeners or those named.
func (s *Service) DescribeListeners(ctx context.Context, in *api.DescribeListenersInput) (*api.DescribeListenersOutput, error) {
	sc := scopeOf(ctx)
	if in.LoadBalancerArn == nil && len(in.ListenerArns) == 0 {
		return nil, validation("You must specify either listener ARNs or a load balancer ARN")
	}
	var found []listenerRecord
	err := s.st.View(func(tx store.Tx) error {
		if len(in.ListenerArns) > 0 {
			for _, arn := range in.ListenerArns {
				l, err := loadListener(tx, sc, arn)
				if err != nil {
					return err
				}
				found = append(found, l)
			}
			return nil
		}
		if _, err := loadLB(tx, sc, str(in.LoadBalancerArn)); err != nil {
			return err
		}
		var err error
		found, err = listenersOf(tx, sc, str(in.LoadBalancerArn))
		return err
	})
	if err != nil {
		return nil, err
	}
	pg, next, err := page.ByKey(found, func(l listenerRecord) string { return l.ARN }, str(in.Marker), int(deref(in.PageSize)), 0, 400)
	if err != nil {
		return nil, badMarker()
	}
	out := &api.DescribeListenersOutput{Listeners: []api.Listener{}}
	for _, l := range pg {
		out.Listeners = append(out.Listeners, listenerOut(l))
	}
	if next != "" {
		out.NextMarker = ptr(next)
	}
	return out, nil
}

// deleteListenerRecords deletes a listener with its rules and their tags.
func deleteListenerRecords(tx store.Tx, sc scope, l listenerRecord) error {
	rules, err := rulesOf(tx, sc, l.ARN)
	if err != nil {
		return err
	}
	for _, r := range rules {
		if err := deleteTags(tx, sc, r.ARN); err != nil {
			return err
		}
		if err := tx.Delete(bucketRules, sc.Key(r.ARN)); err != nil {
			return err
		}
	}
	if err := deleteTags(tx, sc, l.ARN); err != nil {
		return err
	}
	return tx.Delete(bucketListeners, sc.Key(l.ARN))
}

// DeleteListener deletes a listener and its rules and closes it.
func (s *Service) DeleteListener(ctx context.Context, in *api.DeleteListenerInput) (*api.DeleteListenerOutput, error) {
	sc := scopeOf(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.st.Update(func(tx store.Tx) error {
		l, err := loadListener(tx, sc, str(in.ListenerArn))
		if err != nil {
			return err
		}
		return deleteListenerRecords(tx, sc, l)
	})
	if err != nil {
		return nil, err
	}
	s.syncScopeLocked(ctx, sc)
	return &api.DeleteListenerOutput{}, nil
}

// DescribeListenerAttributes lists a listener's attributes.
func (s *Service) DescribeListenerAttributes(ctx context.Context, in *api.DescribeListenerAttributesInput) (*api.DescribeListenerAttributesOutput, error) {
	sc := scopeOf(ctx)
	var l listenerRecord
	err := s.st.View(func(tx store.Tx) (err error) {
		l, err = loadListener(tx, sc, str(in.ListenerArn))
		return err
	})
	if err != nil {
		return nil, err
	}
	return &api.DescribeListenerAttributesOutput{Attributes: attrList(merged(listenerDefaults(l.Protocol), l.Attributes), listenerAttr)}, nil
}

// ModifyListenerAttributes changes a listener's attributes.
func (s *Service) ModifyListenerAttributes(ctx context.Context, in *api.ModifyListenerAttributesInput) (*api.ModifyListenerAttributesOutput, error) {
	sc := scopeOf(ctx)
	changes := map[string]string{}
	for _, a := range in.Attributes {
		changes[str(a.Key)] = str(a.Value)
	}
	var l listenerRecord
	err := s.st.Update(func(tx store.Tx) error {
		var err error
		if l, err = loadListener(tx, sc, str(in.ListenerArn)); err != nil {
			return err
		}
		if l.Attributes, err = applyAttrs(listenerDefaults(l.Protocol), l.Attributes, changes); err != nil {
			return err
		}
		return tx.Put(bucketListeners, sc.Key(l.ARN), l)
	})
	if err != nil {
		return nil, err
	}
	return &api.ModifyListenerAttributesOutput{Attributes: attrList(merged(listenerDefaults(l.Protocol), l.Attributes), listenerAttr)}, nil
}

// AddListenerCertificates adds certificates to an HTTPS or TLS listener's
// certificate list (for SNI), beside its default certificate.
func (s *Service) AddListenerCertificates(ctx context.Context, in *api.AddListenerCertificatesInput) (*api.AddListenerCertificatesOutput, error) {
	sc := scopeOf(ctx)
	out := &api.AddListenerCertificatesOutput{Certificates: []api.Certificate{}}
	err := s.st.Update(func(tx store.Tx) error {
		l, err := loadListener(tx, sc, str(in.ListenerArn))
		if err != nil {
			return err
		}
		if l.Protocol != "HTTPS" && l.Protocol != "TLS" {
			return validation("Certificates can only be added to HTTPS and TLS listeners")
		}
		for _, c := range in.Certificates {
			arn := str(c.CertificateArn)
			if arn == "" {
				return validation("A certificate ARN must be specified")
			}
			if arn != l.Certificate && !slices.Contains(l.ExtraCerts, arn) {
				l.ExtraCerts = append(l.ExtraCerts, arn)
			}
			out.Certificates = append(out.Certificates, api.Certificate{CertificateArn: ptr(arn), IsDefault: ptr(arn == l.Certificate)})
		}
		if len(l.ExtraCerts)+1 > maxCertsPerListener {
			return apiErr("TooManyCertificates", "The maximum number of certificates '%d' has been reached for the listener", maxCertsPerListener)
		}
		return tx.Put(bucketListeners, sc.Key(l.ARN), l)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RemoveListenerCertificates removes certificates from a listener's
// certificate list; the default one stays.
func (s *Service) RemoveListenerCertificates(ctx context.Context, in *api.RemoveListenerCertificatesInput) (*api.RemoveListenerCertificatesOutput, error) {
	sc := scopeOf(ctx)
	err := s.st.Update(func(tx store.Tx) error {
		l, err := loadListener(tx, sc, str(in.ListenerArn))
		if err != nil {
			return err
		}
		for _, c := range in.Certificates {
			arn := str(c.CertificateArn)
			if arn == l.Certificate || deref(c.IsDefault) {
				return notPermitted("The default certificate of a listener cannot be removed")
			}
			l.ExtraCerts = slices.DeleteFunc(l.ExtraCerts, func(x string) bool { return x == arn })
		}
		return tx.Put(bucketListeners, sc.Key(l.ARN), l)
	})
	if err != nil {
		return nil, err
	}
	return &api.RemoveListenerCertificatesOutput{}, nil
}

// DescribeListenerCertificates lists a listener's default certificate and
// the others added to it.
func (s *Service) DescribeListenerCertificates(ctx context.Context, in *api.DescribeListenerCertificatesInput) (*api.DescribeListenerCertificatesOutput, error) {
	sc := scopeOf(ctx)
	var l listenerRecord
	err := s.st.View(func(tx store.Tx) (err error) {
		l, err = loadListener(tx, sc, str(in.ListenerArn))
		return err
	})
	if err != nil {
		return nil, err
	}
	out := &api.DescribeListenerCertificatesOutput{Certificates: []api.Certificate{}}
	if l.Certificate != "" {
		out.Certificates = append(out.Certificates, api.Certificate{CertificateArn: ptr(l.Certificate), IsDefault: ptr(true)})
	}
	for _, c := range l.ExtraCerts {
		out.Certificates = append(out.Certificates, api.Certificate{CertificateArn: ptr(c), IsDefault: ptr(false)})
	}
	return out, nil
}
