package kafkaclient_test

import (
	"context"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/starling-analytics/starling/broker"
	"github.com/starling-analytics/starling/broker/brokertest"
	"github.com/starling-analytics/starling/internal/kafkaclient"
)

// TestTLSAndSASLWithKafkaGo connects kafka-go writers and readers, as the ingester and the
// ETL build them, to a broker that requires TLS and SASL, with each mechanism.
func TestTLSAndSASLWithKafkaGo(t *testing.T) {
	t.Parallel()
	certs := brokertest.SelfSigned(t)
	caFile := certs.CAFile
	b := brokertest.Start(t, &broker.Config{
		Users: map[string]string{"etl": "s3cret"},
		TLS:   certs.Server,
	})

	for _, mech := range []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"} {
		t.Run(mech, func(t *testing.T) {
			cfg := kafkaclient.Config{TLS: true, CAFile: caFile, SASLMechanism: mech, Username: "etl", Password: "s3cret"}
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			transport, err := cfg.Transport()
			if err != nil {
				t.Fatal(err)
			}
			dialer, err := cfg.Dialer()
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			topic := "t-" + mech
			w := &kafka.Writer{Addr: kafka.TCP(b.Addr), Topic: topic, Transport: transport, AllowAutoTopicCreation: true, RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond}
			defer w.Close()
			for err := w.WriteMessages(ctx, kafka.Message{Value: []byte(mech)}); err != nil; err = w.WriteMessages(ctx, kafka.Message{Value: []byte(mech)}) {
				if ctx.Err() != nil {
					t.Fatalf("write: %v", err)
				}
			}
			r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{b.Addr}, Dialer: dialer, Topic: topic, GroupID: "g", StartOffset: kafka.FirstOffset, MaxBytes: 1 << 20})
			defer r.Close()
			m, err := r.ReadMessage(ctx)
			if err != nil || string(m.Value) != mech {
				t.Fatalf("read: %q, %v", m.Value, err)
			}
		})
	}

	wrong := kafkaclient.Config{TLS: true, CAFile: caFile, SASLMechanism: "PLAIN", Username: "etl", Password: "wrong"}
	transport, _ := wrong.Transport()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	w := &kafka.Writer{Addr: kafka.TCP(b.Addr), Topic: "x", Transport: transport, AllowAutoTopicCreation: true, MaxAttempts: 1}
	defer w.Close()
	if err := w.WriteMessages(ctx, kafka.Message{Value: []byte("x")}); err == nil {
		t.Error("a wrong password was accepted")
	}
	if err := (kafkaclient.Config{SASLMechanism: "GSSAPI", Username: "u"}).Validate(); err == nil {
		t.Error("an unsupported mechanism validated")
	}
}
