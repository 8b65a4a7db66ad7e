// Package imds is the instance metadata service (IMDS) of nephele's
// instances: what 169.254.169.254 is to an EC2 instance. Each instance's
// processes reach it through AWS_EC2_METADATA_SERVICE_ENDPOINT, which
// Endpoint gives.
//
// The server knows which instance is asking by the local address the
// connection arrived at: every instance gets its own listener on its own
// private (loopback) IP, all on the same port. A path prefix cannot carry the
// instance: the Go SDK v2 imds client drops any path in the endpoint and asks
// for /latest/... at the host root.
//
// It follows the Amazon EC2 User Guide pages "Use the Instance Metadata
// Service to access instance metadata" (IMDSv1 and IMDSv2 tokens),
// "Instance metadata categories", "Retrieve instance metadata" (listings,
// 400/401/403/404) and "Instance identity documents".
package imds

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/nephele-dev/nephele/internal/clock"
)

// DefaultPort is the port nephele serves every instance's IMDS on. AWS uses
// port 80 on 169.254.169.254, which a non-root process cannot bind; 1338 is
// the port of AWS's own mock, amazon-ec2-metadata-mock, so tools and
// habits built around that mock work unchanged. The port only has to be free
// on the instances' own addresses, never on 127.0.0.1.
const DefaultPort = 1338

// Config is what New needs.
type Config struct {
	// Clock times tokens and credentials; required.
	Clock clock.Clock
	// Source gives the instances' metadata; required.
	Source Source
	// Credentials issues the instance profile role's credentials; nil
	// answers every credentials request with an error document.
	Credentials CredentialsFunc
	// Port is the port every instance's listener binds, as in net.Listen:
	// 0 picks a free port for each instance (for tests). cmd/nephele passes
	// DefaultPort unless told otherwise.
	Port int
	// Logger receives logs; nil discards them.
	Logger *slog.Logger
}

// Server serves the IMDS of every instance added to it. Its methods are safe
// for concurrent use.
type Server struct {
	cfg Config
	// tokenKey signs IMDSv2 tokens, so they need no table and cannot be
	// forged or carried to another instance.
	tokenKey []byte
	signer   signer

	mu      sync.Mutex
	closed  bool
	byID    map[string]*instanceListener
	byIP    map[netip.Addr]*instanceListener
	nextGen uint64
}

// New returns a server with no instances; Add serves one.
func New(cfg Config) *Server {
	if cfg.Clock == nil || cfg.Source == nil {
		panic("imds: Config.Clock and Config.Source are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	key := make([]byte, 32)
	rand.Read(key) // never fails (crypto/rand panics rather than return an error)
	return &Server{
		cfg:      cfg,
		tokenKey: key,
		signer:   signer{clock: cfg.Clock},
		byID:     map[string]*instanceListener{},
		byIP:     map[netip.Addr]*instanceListener{},
	}
}

var _ io.Closer = (*Server)(nil)

// instanceListener serves one instance on its own address.
type instanceListener struct {
	id string
	// gen numbers each Add, so tokens issued before a Remove are refused
	// after the instance is added again (a stop and start).
	gen  uint64
	ip   netip.Addr
	port int
	ln   net.Listener
	srv  *http.Server
	// cancel ends the context of every request, done closes when Serve
	// has returned.
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	closing bool
	active  sync.WaitGroup // requests inside the handler
	creds   map[string]Credentials
}

// Add starts serving instanceID on ip at the configured port and returns
// its endpoint, the value of AWS_EC2_METADATA_SERVICE_ENDPOINT. Adding an
// instance again on the same address returns the same endpoint; on another
// address, or on an address another instance has, it fails.
func (s *Server) Add(instanceID string, ip netip.Addr) (string, error) {
	if instanceID == "" || !ip.IsValid() {
		return "", fmt.Errorf("imds: add %q at %v: need an instance ID and an address", instanceID, ip)
	}
	ip = ip.Unmap()
	if ep, done, err := s.check(instanceID, ip); done {
		return ep, err
	}
	// Bind without the lock; check again after, since another Add may have
	// won the race meanwhile.
	addr := netip.AddrPortFrom(ip, uint16(s.cfg.Port)).String()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("imds: serving instance %s on %s: %w", instanceID, addr, err)
	}
	s.mu.Lock()
	if ep, done, err := s.checkLocked(instanceID, ip); done {
		s.mu.Unlock()
		ln.Close()
		return ep, err
	}
	s.nextGen++
	ctx, cancel := context.WithCancel(context.Background())
	l := &instanceListener{
		id:     instanceID,
		gen:    s.nextGen,
		ip:     ip,
		port:   ln.Addr().(*net.TCPAddr).Port,
		ln:     ln,
		cancel: cancel,
		done:   make(chan struct{}),
		creds:  map[string]Credentials{},
	}
	l.srv = &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.serve(l, w, r) }),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       5 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelDebug),
	}
	s.byID[instanceID] = l
	s.byIP[ip] = l
	s.mu.Unlock()

	go func() {
		defer close(l.done)
		l.srv.Serve(ln) // returns ErrServerClosed once close runs
	}()
	s.cfg.Logger.Debug("imds serving", "instance", instanceID, "endpoint", l.endpoint())
	return l.endpoint(), nil
}

// check is checkLocked under the lock.
func (s *Server) check(instanceID string, ip netip.Addr) (string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.checkLocked(instanceID, ip)
}

// checkLocked reports whether Add is done before binding: the instance is
// already served at ip (its endpoint), or the request conflicts (an error).
func (s *Server) checkLocked(instanceID string, ip netip.Addr) (string, bool, error) {
	if s.closed {
		return "", true, errors.New("imds: server closed")
	}
	if l, ok := s.byID[instanceID]; ok {
		if l.ip == ip {
			return l.endpoint(), true, nil
		}
		return "", true, fmt.Errorf("imds: instance %s is already served on %v", instanceID, l.ip)
	}
	if l, ok := s.byIP[ip]; ok {
		return "", true, fmt.Errorf("imds: address %v is already serving instance %s", ip, l.id)
	}
	return "", false, nil
}

// Remove stops serving instanceID: its listener and open connections are
// closed and its requests finished when Remove returns. Tokens it issued
// are no longer valid, even if it is added again. Removing an instance not
// served does nothing.
func (s *Server) Remove(instanceID string) {
	s.mu.Lock()
	l, ok := s.byID[instanceID]
	if ok {
		delete(s.byID, instanceID)
		delete(s.byIP, l.ip)
	}
	s.mu.Unlock()
	if ok {
		l.close()
	}
}

// Endpoint returns the endpoint of a served instance, as Add did.
func (s *Server) Endpoint(instanceID string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.byID[instanceID]
	if !ok {
		return "", false
	}
	return l.endpoint(), true
}

// Close stops serving every instance, as Remove does, and refuses further
// Adds.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	ls := make([]*instanceListener, 0, len(s.byID))
	for _, l := range s.byID {
		ls = append(ls, l)
	}
	clear(s.byID)
	clear(s.byIP)
	s.mu.Unlock()
	for _, l := range ls {
		l.close()
	}
	return nil
}

func (l *instanceListener) endpoint() string {
	return "http://" + net.JoinHostPort(l.ip.String(), strconv.Itoa(l.port)) + "/"
}

// enter admits a request to the handler unless the listener is closing, so
// close can wait for every admitted request.
func (l *instanceListener) enter() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closing {
		return false
	}
	l.active.Add(1)
	return true
}

func (l *instanceListener) close() {
	l.mu.Lock()
	l.closing = true
	l.mu.Unlock()
	l.srv.Close() // the listener and every connection, idle or not
	l.cancel()    // then the requests still running, so none answers
	<-l.done
	l.active.Wait()
}

// cachedCredentials returns the credentials served for key unless they are
// within five minutes of expiring: AWS makes new credentials available at
// least five minutes before the old ones expire ("Retrieve security
// credentials from instance metadata").
func (l *instanceListener) cachedCredentials(key string, now time.Time) (Credentials, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.creds[key]
	if !ok || !now.Before(c.Expiration.Add(-credentialsRefresh)) {
		return Credentials{}, false
	}
	return c, true
}

func (l *instanceListener) storeCredentials(key string, c Credentials) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.creds[key] = c
}

const credentialsRefresh = 5 * time.Minute
