package broker_test

import (
	"context"
	"crypto/tls"
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
	certs := brokertest.SelfSigned(t)
	b := brokertest.Start(t, &broker.Config{Users: users, TLS: certs.Server})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tlsOpt := kgo.DialTLSConfig(&tls.Config{RootCAs: certs.Pool})

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
	common := []string{"-b", b.Addr, "-X", "security.protocol=SASL_SSL", "-X", "ssl.ca.location=" + certs.CAFile,
		"-X", "sasl.mechanisms=SCRAM-SHA-512", "-X", "sasl.username=bob", "-X", "sasl.password=builder"}
	kcat(t, ctx, "from kcat\n", append(common, "-P", "-t", "secure")...)
	out := kcat(t, ctx, "", append(common, "-C", "-t", "secure", "-o", "beginning", "-e", "-f", "%s\n")...)
	if !strings.Contains(out, "from kcat") || !strings.Contains(out, "hello") {
		t.Errorf("kcat read %q", out)
	}
}
