package broker_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/starling-analytics/starling/broker"
	"github.com/starling-analytics/starling/broker/brokertest"
)

// selfSigned makes a certificate for 127.0.0.1 and writes it, PEM, into dir.
func selfSigned(t *testing.T, dir string) (tls.Certificate, *x509.CertPool, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "starling-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool, caFile
}

func produceOnce(ctx context.Context, opts ...kgo.Opt) error {
	cl, err := kgo.NewClient(append(opts, kgo.AllowAutoTopicCreation(), kgo.RequestRetries(0), kgo.RetryTimeout(2*time.Second))...)
	if err != nil {
		return err
	}
	defer cl.Close()
	return cl.ProduceSync(ctx, &kgo.Record{Topic: "secure", Value: []byte("hello")}).FirstErr()
}

// TestSASLAndTLS authenticates franz-go with every mechanism over TLS, refuses wrong
// passwords and clients that do not authenticate, and checks kcat (librdkafka) too.
func TestSASLAndTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	usersFile := filepath.Join(dir, "users")
	os.WriteFile(usersFile, []byte("# test users\nalice:wonderland\nbob:builder\n"), 0o600)
	users, err := broker.LoadUsers(usersFile)
	if err != nil {
		t.Fatal(err)
	}
	cert, pool, caFile := selfSigned(t, dir)
	b := brokertest.Start(t, &broker.Config{Users: users, TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tlsOpt := kgo.DialTLSConfig(&tls.Config{RootCAs: pool})

	for name, mech := range map[string]sasl.Mechanism{
		"plain":         plain.Auth{User: "alice", Pass: "wonderland"}.AsMechanism(),
		"scram-sha-256": scram.Auth{User: "bob", Pass: "builder"}.AsSha256Mechanism(),
		"scram-sha-512": scram.Auth{User: "alice", Pass: "wonderland"}.AsSha512Mechanism(),
	} {
		if err := produceOnce(ctx, kgo.SeedBrokers(b.Addr), tlsOpt, kgo.SASL(mech)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, opts := range map[string][]kgo.Opt{
		"wrong password": {tlsOpt, kgo.SASL(scram.Auth{User: "bob", Pass: "nope"}.AsSha256Mechanism())},
		"unknown user":   {tlsOpt, kgo.SASL(plain.Auth{User: "eve", Pass: "x"}.AsMechanism())},
		"no sasl":        {tlsOpt},
		"no tls":         {kgo.SASL(plain.Auth{User: "alice", Pass: "wonderland"}.AsMechanism())},
	} {
		short, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := produceOnce(short, append(opts, kgo.SeedBrokers(b.Addr))...); err == nil {
			t.Errorf("%s: produce succeeded", name)
		}
		cancel()
	}

	// librdkafka over SASL_SSL with SCRAM.
	common := []string{"-b", b.Addr, "-X", "security.protocol=SASL_SSL", "-X", "ssl.ca.location=" + caFile,
		"-X", "sasl.mechanisms=SCRAM-SHA-512", "-X", "sasl.username=bob", "-X", "sasl.password=builder"}
	kcat(t, ctx, "from kcat\n", append(common, "-P", "-t", "secure")...)
	out := kcat(t, ctx, "", append(common, "-C", "-t", "secure", "-o", "beginning", "-e", "-f", "%s\n")...)
	if !strings.Contains(out, "from kcat") || !strings.Contains(out, "hello") {
		t.Errorf("kcat read %q", out)
	}
}
