// Package kafkaclient holds the connection settings that Starling's Kafka clients (the
// ingester, the ETL) share: TLS and SASL, so that the same flags reach the built-in broker,
// Amazon MSK or any Kafka cluster. It builds segmentio/kafka-go dialers and transports.
package kafkaclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/aws_msk_iam_v2"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// DefaultBrokers are the bootstrap addresses of a client given none: the built-in broker
// on this machine.
func DefaultBrokers() []string { return []string{"127.0.0.1:9092"} }

// Config is how to connect to Kafka. The zero value is plaintext without authentication.
type Config struct {
	// TLS turns on TLS (Kafka's SSL and SASL_SSL security protocols).
	TLS bool
	// CAFile is a PEM file of certificate authorities to trust; empty uses the system's.
	CAFile string
	// CertFile and KeyFile are a PEM client certificate and key, for mutual TLS.
	CertFile, KeyFile string
	// InsecureSkipVerify accepts any server certificate (testing only).
	InsecureSkipVerify bool
	// SASLMechanism is PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or AWS_MSK_IAM; empty means no
	// SASL. AWS_MSK_IAM (Amazon MSK's IAM access control, the only authentication MSK
	// Serverless accepts) signs each connection with the credentials and region of the
	// AWS SDK's default chain: the AWS_* environment variables, the shared config and
	// credentials files (AWS_PROFILE), web identity (EKS service accounts), the ECS
	// container or EC2 instance role.
	SASLMechanism string
	// Username and Password are the SASL credentials (PLAIN and SCRAM).
	Username, Password string
}

// MechanismMSKIAM names Amazon MSK's IAM authentication.
const MechanismMSKIAM = "AWS_MSK_IAM"

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	_, err := c.mechanism()
	if err == nil {
		_, err = c.tlsConfig()
	}
	return err
}

func (c Config) mechanism() (sasl.Mechanism, error) {
	switch m := strings.ToUpper(c.SASLMechanism); m {
	case "":
		return nil, nil
	case "PLAIN":
		if c.Username == "" {
			return nil, errors.New("kafka: SASL PLAIN needs a user name")
		}
		return plain.Mechanism{Username: c.Username, Password: c.Password}, nil
	case "SCRAM-SHA-256", "SCRAM-SHA-512":
		if c.Username == "" {
			return nil, fmt.Errorf("kafka: SASL %s needs a user name", m)
		}
		algo := scram.SHA256
		if m == "SCRAM-SHA-512" {
			algo = scram.SHA512
		}
		mech, err := scram.Mechanism(algo, c.Username, c.Password)
		if err != nil {
			return nil, fmt.Errorf("kafka: SASL %s: %w", m, err)
		}
		return mech, nil
	case MechanismMSKIAM:
		return mskIAM(c)
	default:
		return nil, fmt.Errorf("kafka: SASL mechanism %q is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, %s", c.SASLMechanism, MechanismMSKIAM)
	}
}

// mskIAM is the AWS_MSK_IAM mechanism with the default chain's credentials and region.
// Loading the chain reads environment and files only; the credentials themselves are
// fetched (and refreshed, cached) when a connection signs in.
func mskIAM(c Config) (sasl.Mechanism, error) {
	if !c.TLS {
		return nil, fmt.Errorf("kafka: SASL %s runs over TLS only (MSK's IAM listener, port 9098): turn TLS on", MechanismMSKIAM)
	}
	if c.Username != "" || c.Password != "" {
		return nil, fmt.Errorf("kafka: SASL %s takes its credentials from the AWS SDK's default chain, not a user name and password", MechanismMSKIAM)
	}
	cfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		return nil, fmt.Errorf("kafka: SASL %s: AWS configuration: %w", MechanismMSKIAM, err)
	}
	if cfg.Region == "" {
		return nil, fmt.Errorf("kafka: SASL %s needs the cluster's AWS region: set AWS_REGION (or a region in the AWS profile)", MechanismMSKIAM)
	}
	return aws_msk_iam_v2.NewMechanism(cfg), nil
}

func (c Config) tlsConfig() (*tls.Config, error) {
	if !c.TLS {
		if c.CAFile != "" || c.CertFile != "" {
			return nil, errors.New("kafka: TLS files given but TLS is off")
		}
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.InsecureSkipVerify}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("kafka: CA file: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafka: CA file %s holds no PEM certificate", c.CAFile)
		}
	}
	if c.CertFile != "" || c.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("kafka: client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// Dialer returns a kafka-go dialer (for readers and consumer groups).
func (c Config) Dialer() (*kafka.Dialer, error) {
	mech, err := c.mechanism()
	if err != nil {
		return nil, err
	}
	tlsCfg, err := c.tlsConfig()
	if err != nil {
		return nil, err
	}
	return &kafka.Dialer{Timeout: 10 * time.Second, DualStack: true, TLS: tlsCfg, SASLMechanism: mech}, nil
}

// ConsumerDialer returns a kafka-go dialer for readers of records: its connections check
// every Fetch response before kafka-go decodes it (CheckFetches), and limit bounds what a
// batch's records may decompress to. TLS is set up under the check, by the dialer's
// DialFunc.
func (c Config) ConsumerDialer(limit int64) (*kafka.Dialer, error) {
	d, err := c.Dialer()
	if err != nil {
		return nil, err
	}
	tlsCfg := d.TLS
	d.TLS = nil
	nd := &net.Dialer{Timeout: d.Timeout}
	d.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := nd.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if tlsCfg != nil {
			cfg := tlsCfg
			if cfg.ServerName == "" {
				cfg = cfg.Clone()
				cfg.ServerName, _, _ = net.SplitHostPort(addr)
			}
			tc := tls.Client(conn, cfg)
			if err := tc.HandshakeContext(ctx); err != nil {
				conn.Close()
				return nil, err
			}
			conn = tc
		}
		return CheckFetches(conn, limit), nil
	}
	return d, nil
}

// metadataTTL is how long a writer trusts its view of the partitions' leaders. kafka-go
// does not refresh it when a broker answers "not leader": after a leader moves (a broker
// restart, MSK's rolling patching) a writer's produce requests to that partition fail until
// the view expires. kafka-go's default is 6 s; a metadata request a second costs a broker
// next to nothing.
const metadataTTL = time.Second

// Transport returns a kafka-go transport (for writers).
func (c Config) Transport() (*kafka.Transport, error) {
	mech, err := c.mechanism()
	if err != nil {
		return nil, err
	}
	tlsCfg, err := c.tlsConfig()
	if err != nil {
		return nil, err
	}
	return &kafka.Transport{DialTimeout: 10 * time.Second, TLS: tlsCfg, SASL: mech, MetadataTTL: metadataTTL}, nil
}
