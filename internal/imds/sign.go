package imds

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/nephele-dev/nephele/internal/clock"
)

// signer signs instance identity documents with an RSA-2048 key and a
// self-signed certificate made once per server, on first use (making the
// key takes a moment, and most instances never ask). The signatures are
// real, so code that verifies a document can be pointed at Certificate; they
// are not AWS's, so the AWS public certificates of the user guide do not
// verify them. AWS signs pkcs7 with DSA and SHA-1; here pkcs7 and rsa2048
// are the same RSA/SHA-256 PKCS #7 signature.
type signer struct {
	clock clock.Clock // set by New
	once  sync.Once
	key   *rsa.PrivateKey
	cert  *x509.Certificate
	err   error
}

func (s *signer) init() error {
	s.once.Do(func() {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			s.err = fmt.Errorf("imds: identity key: %w", err)
			return
		}
		now := s.clock.Now()
		serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
		tmpl := &x509.Certificate{
			SerialNumber: serial,
			Subject:      pkix.Name{Organization: []string{"nephele"}, CommonName: "nephele instance identity"},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.AddDate(10, 0, 0),
			KeyUsage:     x509.KeyUsageDigitalSignature,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			s.err = fmt.Errorf("imds: identity certificate: %w", err)
			return
		}
		s.cert, s.err = x509.ParseCertificate(der)
		s.key = key
	})
	return s.err
}

// Certificate returns the certificate whose key signs the identity
// documents this server serves.
func (s *Server) Certificate() (*x509.Certificate, error) {
	if err := s.signer.init(); err != nil {
		return nil, err
	}
	return s.signer.cert, nil
}

// signature is the base64 RSA (PKCS #1 v1.5) signature of the document's
// SHA-256 hash, the "signature" category.
func (s *signer) signature(doc []byte) ([]byte, error) {
	if err := s.init(); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(doc)
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, sum[:])
	if err != nil {
		return nil, fmt.Errorf("imds: signing identity document: %w", err)
	}
	return wrap(base64.StdEncoding.EncodeToString(sig), 76), nil
}

// pkcs7 is a PKCS #7 (CMS) SignedData over the document, with the
// document and the certificate inside, base64 in 64-column lines so that
// wrapping it in BEGIN/END PKCS7 lines makes a PEM file, as the user guide's
// verification steps do.
func (s *signer) pkcs7(doc []byte) ([]byte, error) {
	if err := s.init(); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(doc)
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, sum[:])
	if err != nil {
		return nil, fmt.Errorf("imds: signing identity document: %w", err)
	}
	content, err := asn1.Marshal(doc)
	if err != nil {
		return nil, err
	}
	sd := signedData{
		Version:          1,
		DigestAlgorithms: []pkix.AlgorithmIdentifier{{Algorithm: oidSHA256, Parameters: asn1.NullRawValue}},
		EncapContentInfo: encapContentInfo{
			ContentType: oidData,
			Content:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: content},
		},
		Certificates: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: s.cert.Raw},
		SignerInfos: []signerInfo{{
			Version:            1,
			Sid:                issuerAndSerial{Issuer: asn1.RawValue{FullBytes: s.cert.RawIssuer}, SerialNumber: s.cert.SerialNumber},
			DigestAlgorithm:    pkix.AlgorithmIdentifier{Algorithm: oidSHA256, Parameters: asn1.NullRawValue},
			SignatureAlgorithm: pkix.AlgorithmIdentifier{Algorithm: oidRSA, Parameters: asn1.NullRawValue},
			Signature:          sig,
		}},
	}
	sdDER, err := asn1.Marshal(sd)
	if err != nil {
		return nil, fmt.Errorf("imds: encoding PKCS #7: %w", err)
	}
	der, err := asn1.Marshal(contentInfo{
		ContentType: oidSignedData,
		Content:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: sdDER},
	})
	if err != nil {
		return nil, fmt.Errorf("imds: encoding PKCS #7: %w", err)
	}
	return wrap(base64.StdEncoding.EncodeToString(der), 64), nil
}

func wrap(s string, width int) []byte {
	var b strings.Builder
	for len(s) > width {
		b.WriteString(s[:width])
		b.WriteByte('\n')
		s = s[width:]
	}
	b.WriteString(s)
	return []byte(b.String())
}

var (
	oidData       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidSHA256     = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidRSA        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
)

// The CMS structures of RFC 5652, as much as a one-signer SignedData
// without signed attributes needs.
type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue // [0] EXPLICIT
}

type signedData struct {
	Version          int
	DigestAlgorithms []pkix.AlgorithmIdentifier `asn1:"set"`
	EncapContentInfo encapContentInfo
	Certificates     asn1.RawValue // [0] IMPLICIT SET OF Certificate
	SignerInfos      []signerInfo  `asn1:"set"`
}

type encapContentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue // [0] EXPLICIT OCTET STRING
}

type signerInfo struct {
	Version            int
	Sid                issuerAndSerial
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
}

type issuerAndSerial struct {
	Issuer       asn1.RawValue
	SerialNumber *big.Int
}
