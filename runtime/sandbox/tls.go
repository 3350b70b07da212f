package sandbox

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// tlsDir is where Up writes the certificates of a sandbox with TLS.
const tlsDir = "tls"

// tlsValidity is how long the generated certificates are valid: longer
// than any sandbox lives, short enough to stay a throwaway.
const tlsValidity = 398 * 24 * time.Hour

// Common names of the generated certificates. A test that creates an
// account REQUIRE SUBJECT '/CN=...' names ClientCN.
const (
	caCN     = "replicant-lua sandbox CA"
	serverCN = "replicant-lua sandbox server"
	ClientCN = "replicant-lua sandbox client"
)

// TLSFiles are the PEM files of a sandbox with TLS: a throwaway CA, the
// certificate every server presents (for 127.0.0.1 and localhost), and a
// client certificate for accounts that require one. Keys are mode 0600.
type TLSFiles struct {
	CA         string `json:"ca"`
	ServerCert string `json:"server_cert"`
	ServerKey  string `json:"server_key"`
	ClientCert string `json:"client_cert"`
	ClientKey  string `json:"client_key"`
}

// GenerateTLS writes a new CA, a server certificate and a client
// certificate signed by it into dir (created if need be). RSA 2048: the
// key type every TLS library a MariaDB or MySQL build links (OpenSSL,
// wolfSSL, yaSSL) accepts. Keys are written as PKCS#1 ("RSA PRIVATE KEY"),
// which old libraries read and PKCS#8-only ones are rare.
func GenerateTLS(dir string) (TLSFiles, error) {
	f := TLSFiles{
		CA:         filepath.Join(dir, "ca.pem"),
		ServerCert: filepath.Join(dir, "server-cert.pem"),
		ServerKey:  filepath.Join(dir, "server-key.pem"),
		ClientCert: filepath.Join(dir, "client-cert.pem"),
		ClientKey:  filepath.Join(dir, "client-key.pem"),
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return f, fmt.Errorf("sandbox: tls: %w", err)
	}
	// A little in the past, so that a clock a few minutes behind does not
	// see a certificate from the future.
	now := time.Now().Add(-time.Hour)
	ca := &x509.Certificate{
		Subject:               pkix.Name{CommonName: caCN},
		NotBefore:             now,
		NotAfter:              now.Add(tlsValidity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caKey, caDER, err := newCert(ca, nil, nil)
	if err == nil {
		ca, err = x509.ParseCertificate(caDER)
	}
	if err != nil {
		return f, fmt.Errorf("sandbox: tls: CA for %s: %w", f.CA, err)
	}
	if err := writePEM(f.CA, "CERTIFICATE", caDER, 0o644); err != nil {
		return f, err
	}
	srv := leaf(serverCN, now, x509.ExtKeyUsageServerAuth)
	srv.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	srv.DNSNames = []string{"localhost"}
	if err := writeLeaf(srv, ca, caKey, f.ServerCert, f.ServerKey); err != nil {
		return f, err
	}
	cli := leaf(ClientCN, now, x509.ExtKeyUsageClientAuth)
	return f, writeLeaf(cli, ca, caKey, f.ClientCert, f.ClientKey)
}

func leaf(cn string, notBefore time.Time, usage x509.ExtKeyUsage) *x509.Certificate {
	return &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn},
		NotBefore:   notBefore,
		NotAfter:    notBefore.Add(tlsValidity),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{usage},
	}
}

// newCert makes a key and a certificate for it, signed by parent (self-
// signed when parent is nil).
func newCert(tmpl, parent *x509.Certificate, parentKey *rsa.PrivateKey) (*rsa.PrivateKey, []byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	// Unique serials: a TLS library may refuse two certificates of one
	// issuer with the same serial.
	if tmpl.SerialNumber, err = rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127)); err != nil {
		return nil, nil, err
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	return key, der, err
}

func writeLeaf(tmpl, ca *x509.Certificate, caKey *rsa.PrivateKey, certPath, keyPath string) error {
	key, der, err := newCert(tmpl, ca, caKey)
	if err != nil {
		return fmt.Errorf("sandbox: tls: certificate for %s: %w", certPath, err)
	}
	if err := writePEM(keyPath, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key), 0o600); err != nil {
		return err
	}
	return writePEM(certPath, "CERTIFICATE", der, 0o644)
}

// writePEM creates path with mode perm. O_EXCL: an existing file would
// keep its own mode, which for a key may be wider than 0600.
func writePEM(path, typ string, der []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("sandbox: tls: %w", err)
	}
	err = pem.Encode(f, &pem.Block{Type: typ, Bytes: der})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sandbox: tls: %s: %w", path, err)
	}
	return nil
}
