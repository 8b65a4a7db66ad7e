package ec2

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"

	api "github.com/nephele-dev/nephele/internal/api/ec2"
	"github.com/nephele-dev/nephele/internal/awserr"
	"github.com/nephele-dev/nephele/internal/awsid"
	"github.com/nephele-dev/nephele/internal/filter"
	"github.com/nephele-dev/nephele/internal/service"
	"github.com/nephele-dev/nephele/internal/store"
)

var keyPairKind = register(kind{prefix: "key", resourceType: "key-pair", bucket: "ec2/keypairs"})

// keyPairRecord is a stored key pair (without tags): only its public half.
// The private key of a created pair is returned once and never kept.
// PublicKey is always set; DescribeKeyPairs shows it on request only.
type keyPairRecord struct {
	api.KeyPairInfo
}

func (s *Service) keyPairOperations() []service.Operation {
	return []service.Operation{
		service.Handle("CreateKeyPair", s.CreateKeyPair),
		service.Handle("ImportKeyPair", s.ImportKeyPair),
		service.Handle("DescribeKeyPairs", s.DescribeKeyPairs),
		service.Handle("DeleteKeyPair", s.DeleteKeyPair),
	}
}

// loadKeyPairByName finds a key pair by name, or fails with
// InvalidKeyPair.NotFound, as RunInstances does for a KeyName that does
// not exist.
func loadKeyPairByName(tx store.Tx, sc scope, name string) (keyPairRecord, error) {
	k, ok, err := findIn(tx, sc, keyPairKind.bucket, func(k keyPairRecord) bool { return str(k.KeyName) == name })
	if err == nil && !ok {
		err = awserr.BadRequest("InvalidKeyPair.NotFound", "The key pair '%s' does not exist", name)
	}
	return k, err
}

// checkKeyName applies EC2's rule for key pair names: up to 255 ASCII
// characters.
func checkKeyName(name string) error {
	if name == "" || len(name) > 255 {
		return invalidParameterValue("Value (%s) for parameter keyName is invalid. Length must be between 1 and 255 characters.", name)
	}
	for _, r := range name {
		if r > 0x7f {
			return invalidParameterValue("Value (%s) for parameter keyName is invalid. Character sets beyond ASCII are not supported.", name)
		}
	}
	return nil
}

// putKeyPair stores a new key pair after checking its name is free in the
// region (InvalidKeyPair.Duplicate).
func (s *Service) putKeyPair(sc scope, k keyPairRecord, tags []api.Tag) error {
	return s.st.Update(func(tx store.Tx) error {
		_, err := loadKeyPairByName(tx, sc, str(k.KeyName))
		if err == nil {
			return awserr.BadRequest("InvalidKeyPair.Duplicate", "The keypair '%s' already exists.", str(k.KeyName))
		}
		if !hasCode(err, "InvalidKeyPair.NotFound") {
			return err
		}
		if err := tx.Put(keyPairKind.bucket, sc.key(str(k.KeyPairId)), k); err != nil {
			return err
		}
		return addTags(tx, sc, str(k.KeyPairId), tags)
	})
}

// CreateKeyPair makes a key pair: RSA 2048-bit (the default) or ED25519,
// its private key returned once as PEM (PKCS#1 for RSA, OpenSSH's format
// for ED25519) or PuTTY's PPK. The fingerprint is the SHA-1 of the DER
// PKCS#8 private key for RSA and the base64 SHA-256 of the public key for
// ED25519 (EC2 User Guide, "Verify the fingerprint of your key pair").
func (s *Service) CreateKeyPair(ctx context.Context, in *api.CreateKeyPairInput) (*api.CreateKeyPairOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	name := str(in.KeyName)
	if err := checkKeyName(name); err != nil {
		return nil, err
	}
	tags, err := tagSpecTags(in.TagSpecifications, "key-pair", "key-pair")
	if err != nil {
		return nil, err
	}
	keyType, format := str(in.KeyType), str(in.KeyFormat)
	if keyType == "" {
		keyType = "rsa"
	}
	if format == "" {
		format = "pem"
	}
	var (
		material, fingerprint string
		blob                  []byte
	)
	switch keyType {
	case "rsa":
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("ec2: generate RSA key: %w", err)
		}
		pkcs8, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return nil, fmt.Errorf("ec2: encode RSA key: %w", err)
		}
		sum := sha1.Sum(pkcs8)
		fingerprint = colonHex(sum[:])
		blob = rsaPublicBlob(&priv.PublicKey)
		if format == "ppk" {
			material = ppk("ssh-rsa", name, blob, rsaPrivateBlob(priv))
		} else {
			material = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(priv)}))
		}
	case "ed25519":
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("ec2: generate ED25519 key: %w", err)
		}
		blob = ed25519PublicBlob(pub)
		fingerprint = sha256Fingerprint(blob)
		if format == "ppk" {
			seed := bytes.TrimRight(priv.Seed(), "\x00")
			material = ppk("ssh-ed25519", name, blob, sshString(seed))
		} else {
			material = openSSHPrivateKey(pub, priv, name)
		}
	default:
		return nil, invalidParameterValue("Value (%s) for parameter keyType is invalid. Valid values: rsa, ed25519.", keyType)
	}
	k := keyPairRecord{KeyPairInfo: api.KeyPairInfo{
		KeyPairId:      ptr(awsid.New("key")),
		KeyName:        ptr(name),
		KeyType:        ptr(keyType),
		KeyFingerprint: ptr(fingerprint),
		PublicKey:      ptr(authorizedKey(blob, name)),
		CreateTime:     ptr(s.now()),
	}}
	if err := s.putKeyPair(sc, k, tags); err != nil {
		return nil, err
	}
	return &api.CreateKeyPairOutput{
		KeyName: k.KeyName, KeyPairId: k.KeyPairId, KeyFingerprint: k.KeyFingerprint,
		KeyMaterial: ptr(material), Tags: nonNil(tags),
	}, nil
}

// ImportKeyPair keeps the public key of a pair made elsewhere: RSA (1024
// bits or more) or ED25519, in OpenSSH's authorized_keys format, RFC 4716's
// SSH2 format, PEM, or base64 DER. The fingerprint of an imported RSA key
// is the MD5 of its DER public key (what `openssl pkey -pubout -outform DER
// | openssl md5 -c` prints), unlike created ones.
func (s *Service) ImportKeyPair(ctx context.Context, in *api.ImportKeyPairInput) (*api.ImportKeyPairOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	name := str(in.KeyName)
	if err := checkKeyName(name); err != nil {
		return nil, err
	}
	tags, err := tagSpecTags(in.TagSpecifications, "key-pair", "key-pair")
	if err != nil {
		return nil, err
	}
	pub, err := parsePublicKey(in.PublicKeyMaterial)
	if err != nil {
		return nil, awserr.BadRequest("InvalidKey.Format", "Key is not in valid OpenSSH public key format")
	}
	k := keyPairRecord{KeyPairInfo: api.KeyPairInfo{
		KeyPairId:  ptr(awsid.New("key")),
		KeyName:    ptr(name),
		CreateTime: ptr(s.now()),
	}}
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		if pub.N.BitLen() < 1024 {
			return nil, invalidParameterValue("Key length %d is not supported. Supported lengths are 1024 bits and more.", pub.N.BitLen())
		}
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return nil, awserr.BadRequest("InvalidKey.Format", "Key is not in valid OpenSSH public key format")
		}
		sum := md5.Sum(der)
		k.KeyType, k.KeyFingerprint = ptr("rsa"), ptr(colonHex(sum[:]))
		k.PublicKey = ptr(authorizedKey(rsaPublicBlob(pub), name))
	case ed25519.PublicKey:
		blob := ed25519PublicBlob(pub)
		k.KeyType, k.KeyFingerprint = ptr("ed25519"), ptr(sha256Fingerprint(blob))
		k.PublicKey = ptr(authorizedKey(blob, name))
	}
	if err := s.putKeyPair(sc, k, tags); err != nil {
		return nil, err
	}
	return &api.ImportKeyPairOutput{KeyName: k.KeyName, KeyPairId: k.KeyPairId, KeyFingerprint: k.KeyFingerprint, Tags: nonNil(tags)}, nil
}

var keyPairFields = filter.Fields[tagged[keyPairRecord]]{
	"key-pair-id": field(func(k keyPairRecord) *string { return k.KeyPairId }),
	"key-name":    field(func(k keyPairRecord) *string { return k.KeyName }),
	"fingerprint": field(func(k keyPairRecord) *string { return k.KeyFingerprint }),
	"key-type":    field(func(k keyPairRecord) *string { return k.KeyType }),
}

// DescribeKeyPairs lists key pairs. Every KeyName and KeyPairId must
// exist (InvalidKeyPair.NotFound); public keys are shown only with
// IncludePublicKey.
func (s *Service) DescribeKeyPairs(ctx context.Context, in *api.DescribeKeyPairsInput) (*api.DescribeKeyPairsOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	ids, err := withNames(s, sc, in.KeyPairIds, in.KeyNames, loadKeyPairByName, func(k keyPairRecord) string { return str(k.KeyPairId) })
	if err != nil {
		return nil, err
	}
	found, _, err := describe(s, sc, keyPairKind, func(k keyPairRecord) string { return str(k.KeyPairId) }, ids, in.Filters, keyPairFields, nil, nil)
	if err != nil {
		return nil, err
	}
	out := &api.DescribeKeyPairsOutput{KeyPairs: []api.KeyPairInfo{}}
	for _, t := range found {
		k := t.item.KeyPairInfo
		if !boolean(in.IncludePublicKey) {
			k.PublicKey = nil
		}
		k.Tags = nonNil(t.tags)
		out.KeyPairs = append(out.KeyPairs, k)
	}
	return out, nil
}

// DeleteKeyPair deletes a key pair by name or ID. Deleting one that does
// not exist succeeds, as it does in EC2.
func (s *Service) DeleteKeyPair(ctx context.Context, in *api.DeleteKeyPairInput) (*api.DeleteKeyPairOutput, error) {
	sc := scopeOf(ctx)
	if err := s.seed(sc); err != nil {
		return nil, err
	}
	if in.KeyName == nil && in.KeyPairId == nil {
		return nil, missingParameter("The request must contain the parameter KeyName or KeyPairId")
	}
	var deleted *string
	err := s.st.Update(func(tx store.Tx) error {
		var k keyPairRecord
		var err error
		if in.KeyPairId != nil {
			err = tx.Get(keyPairKind.bucket, sc.key(*in.KeyPairId), &k)
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
		} else {
			k, err = loadKeyPairByName(tx, sc, *in.KeyName)
			if hasCode(err, "InvalidKeyPair.NotFound") {
				return nil
			}
		}
		if err != nil {
			return err
		}
		deleted = k.KeyPairId
		if err := tx.Delete(keyPairKind.bucket, sc.key(str(k.KeyPairId))); err != nil {
			return err
		}
		return writeTags(tx, sc, str(k.KeyPairId), nil)
	})
	if err != nil {
		return nil, err
	}
	return &api.DeleteKeyPairOutput{Return: ptr(true), KeyPairId: deleted}, nil
}

// hasCode reports whether err is the AWS error code.
func hasCode(err error, code string) bool {
	var e *awserr.Error
	return errors.As(err, &e) && e.Code == code
}

// colonHex is a digest as EC2 shows RSA fingerprints: "1f:51:ae:...".
func colonHex(sum []byte) string {
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = hex.EncodeToString([]byte{b})
	}
	return strings.Join(parts, ":")
}

// sha256Fingerprint is EC2's ED25519 fingerprint: the SHA-256 of the SSH
// public key blob in base64, with the padding EC2 appends (ssh-keygen
// prints the same digest without it).
func sha256Fingerprint(blob []byte) string {
	sum := sha256.Sum256(blob)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// authorizedKey is a public key in OpenSSH's authorized_keys format with
// the key pair's name as its comment, as instance metadata serves it.
func authorizedKey(blob []byte, comment string) string {
	keyType, _, _ := readSSHString(blob)
	return string(keyType) + " " + base64.StdEncoding.EncodeToString(blob) + " " + comment
}

// sshString is a string in SSH's wire format (RFC 4251): a 32-bit length
// and the bytes.
func sshString(b []byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(len(b)))
	return append(out, b...)
}

// sshMPInt is an mpint in SSH's wire format: two's complement, big-endian,
// with a leading zero byte when the top bit is set.
func sshMPInt(n *big.Int) []byte {
	b := n.Bytes()
	if len(b) > 0 && b[0]&0x80 != 0 {
		b = append([]byte{0}, b...)
	}
	return sshString(b)
}

// readSSHString reads one wire-format string, returning it and the rest.
func readSSHString(b []byte) (s, rest []byte, ok bool) {
	if len(b) < 4 {
		return nil, nil, false
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(n) > uint64(len(b)-4) {
		return nil, nil, false
	}
	return b[4 : 4+n], b[4+n:], true
}

func rsaPublicBlob(pub *rsa.PublicKey) []byte {
	blob := sshString([]byte("ssh-rsa"))
	blob = append(blob, sshMPInt(big.NewInt(int64(pub.E)))...)
	return append(blob, sshMPInt(pub.N)...)
}

func ed25519PublicBlob(pub ed25519.PublicKey) []byte {
	return append(sshString([]byte("ssh-ed25519")), sshString(pub)...)
}

// rsaPrivateBlob is the private part of an RSA key in PuTTY's format: d,
// p, q and q⁻¹ mod p.
func rsaPrivateBlob(priv *rsa.PrivateKey) []byte {
	var b []byte
	for _, n := range []*big.Int{priv.D, priv.Primes[0], priv.Primes[1], priv.Precomputed.Qinv} {
		b = append(b, sshMPInt(n)...)
	}
	return b
}

// ppk is an unencrypted PuTTY private key file, version 2 (what PuTTY has
// read since 0.52 and EC2 offers as "ppk"): its MAC is HMAC-SHA-1 keyed
// with SHA-1("putty-private-key-file-mac-key") over the algorithm,
// encryption, comment and both blobs.
func ppk(algorithm, comment string, public, private []byte) string {
	macKey := sha1.Sum([]byte("putty-private-key-file-mac-key"))
	mac := hmac.New(sha1.New, macKey[:])
	for _, part := range [][]byte{[]byte(algorithm), []byte("none"), []byte(comment), public, private} {
		mac.Write(sshString(part))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "PuTTY-User-Key-File-2: %s\nEncryption: none\nComment: %s\n", algorithm, comment)
	lines := func(label string, data []byte) {
		enc := base64.StdEncoding.EncodeToString(data)
		var ls []string
		for len(enc) > 64 {
			ls = append(ls, enc[:64])
			enc = enc[64:]
		}
		ls = append(ls, enc)
		fmt.Fprintf(&b, "%s-Lines: %d\n%s\n", label, len(ls), strings.Join(ls, "\n"))
	}
	lines("Public", public)
	lines("Private", private)
	fmt.Fprintf(&b, "Private-MAC: %x\n", mac.Sum(nil))
	return b.String()
}

// openSSHPrivateKey is an unencrypted ED25519 key in OpenSSH's own format
// (PROTOCOL.key), the PEM EC2 returns for ED25519 pairs.
func openSSHPrivateKey(pub ed25519.PublicKey, priv ed25519.PrivateKey, comment string) string {
	blob := ed25519PublicBlob(pub)
	var check [4]byte
	rand.Read(check[:])
	private := append(check[:], check[:]...)
	private = append(private, sshString([]byte("ssh-ed25519"))...)
	private = append(private, sshString(pub)...)
	private = append(private, sshString(priv)...)
	private = append(private, sshString([]byte(comment))...)
	for i := byte(1); len(private)%8 != 0; i++ {
		private = append(private, i)
	}
	data := []byte("openssh-key-v1\x00")
	for _, part := range [][]byte{[]byte("none"), []byte("none"), nil} {
		data = append(data, sshString(part)...)
	}
	data = binary.BigEndian.AppendUint32(data, 1)
	data = append(data, sshString(blob)...)
	data = append(data, sshString(private)...)
	return string(pem.EncodeToMemory(&pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: data}))
}

// parsePublicKey reads a public key in any format ImportKeyPair accepts:
// an OpenSSH line ("ssh-rsa AAAA... comment"), an RFC 4716 SSH2 block, a
// PEM public key (SubjectPublicKeyInfo or PKCS#1), or DER, raw or base64.
func parsePublicKey(material []byte) (any, error) {
	text := strings.TrimSpace(string(material))
	switch {
	case strings.HasPrefix(text, "---- BEGIN SSH2 PUBLIC KEY ----"):
		return parseRFC4716(text)
	case strings.HasPrefix(text, "-----BEGIN"):
		block, _ := pem.Decode([]byte(text))
		if block == nil {
			return nil, errors.New("bad PEM")
		}
		return parseDER(block.Bytes)
	case strings.HasPrefix(text, "ssh-"):
		fields := strings.Fields(text)
		if len(fields) < 2 {
			return nil, errors.New("no key")
		}
		blob, err := base64.StdEncoding.DecodeString(fields[1])
		if err != nil {
			return nil, err
		}
		return parseSSHBlob(blob, fields[0])
	}
	if der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(text), "")); err == nil {
		if pub, err := parseDER(der); err == nil {
			return pub, nil
		}
	}
	return parseDER(material)
}

// parseRFC4716 reads an SSH2 public key file: header lines ("Comment:
// ...", continued with a trailing backslash) and a base64 body.
func parseRFC4716(text string) (any, error) {
	var body strings.Builder
	continued := false
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "---- "):
		case continued || strings.Contains(line, ":"):
			continued = strings.HasSuffix(line, "\\")
		default:
			body.WriteString(line)
		}
	}
	blob, err := base64.StdEncoding.DecodeString(body.String())
	if err != nil {
		return nil, err
	}
	return parseSSHBlob(blob, "")
}

// parseSSHBlob reads an SSH wire-format public key; want, if not "",
// is the type its text form claimed.
func parseSSHBlob(blob []byte, want string) (any, error) {
	keyType, rest, ok := readSSHString(blob)
	if !ok || want != "" && string(keyType) != want {
		return nil, errors.New("bad key type")
	}
	switch string(keyType) {
	case "ssh-rsa":
		e, rest, ok1 := readSSHString(rest)
		n, rest, ok2 := readSSHString(rest)
		if !ok1 || !ok2 || len(rest) != 0 || len(e) == 0 || len(e) > 4 || len(n) == 0 {
			return nil, errors.New("bad RSA key")
		}
		exp := new(big.Int).SetBytes(e)
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(exp.Int64())}, nil
	case "ssh-ed25519":
		key, rest, ok := readSSHString(rest)
		if !ok || len(rest) != 0 || len(key) != ed25519.PublicKeySize {
			return nil, errors.New("bad ED25519 key")
		}
		return ed25519.PublicKey(key), nil
	}
	return nil, errors.New("unsupported key type")
}

// parseDER reads a DER public key, SubjectPublicKeyInfo or PKCS#1 RSA;
// only RSA and ED25519 keys are accepted.
func parseDER(der []byte) (any, error) {
	if pub, err := x509.ParsePKCS1PublicKey(der); err == nil {
		return pub, nil
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, err
	}
	switch pub.(type) {
	case *rsa.PublicKey, ed25519.PublicKey:
		return pub, nil
	}
	return nil, errors.New("unsupported key type")
}
