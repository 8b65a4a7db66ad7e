package elbv2

import (
	"encoding/json"
	"net/http"
)

// listenerAddress is one listener in GET
// /_nephele/elasticloadbalancing/listeners: where it really listens (its
// port on the load balancer's own loopback address, or the port it was
// mapped to when that one could not be bound), and the load balancer's
// DNS name for the Host header.
type listenerAddress struct {
	Address         string `json:"address"`
	LoadBalancerArn string `json:"loadBalancerArn"`
	DNSName         string `json:"dnsName"`
	Protocol        string `json:"protocol"`
	Port            int    `json:"port"`
}

// AdminHandler serves ELBv2's admin endpoints: GET /listeners maps every
// open listener's ARN to where it really listens.
func (s *Service) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /listeners", func(w http.ResponseWriter, r *http.Request) {
		out := map[string]listenerAddress{}
		s.mu.Lock()
		for arn, p := range s.pushedLBs {
			for _, l := range p.desired.Listeners {
				if addr, ok := s.addrs[l.ARN]; ok {
					out[l.ARN] = listenerAddress{Address: addr, LoadBalancerArn: arn, DNSName: l.DNSName, Protocol: l.Protocol, Port: l.Port}
				}
			}
		}
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(map[string]string{"status": "error", "message": "unknown ELBv2 admin endpoint " + r.Method + " " + r.URL.Path})
	})
	return mux
}
