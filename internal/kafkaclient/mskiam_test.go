package kafkaclient_test

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/starling-analytics/starling/broker/brokertest"
	"github.com/starling-analytics/starling/internal/kafkaclient"
)

// awsTestEnv points the AWS SDK's default chain at static test credentials and nothing
// else on this machine.
func awsTestEnv(t *testing.T, region string) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDSTARLINGTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret/with+chars")
	t.Setenv("AWS_SESSION_TOKEN", "session token/+=")
	t.Setenv("AWS_REGION", region)
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// TestMSKIAMSendsASignedConnectRequest dials, as the ingester and the ETL do, a TLS
// listener that speaks enough Kafka to take a SASL AWS_MSK_IAM sign-in, and checks what
// the client sent: the JSON document MSK expects, for kafka-cluster:Connect on the
// dialled host, signed with SigV4 for service kafka-cluster in the configured region. The
// signature is recomputed here from the credentials, independently of the AWS SDK.
func TestMSKIAMSendsASignedConnectRequest(t *testing.T) {
	awsTestEnv(t, "eu-west-1")
	certs := brokertest.SelfSigned(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", certs.Server)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []byte, 1)
	go serveMSKSignIn(ln, got)

	cfg := kafkaclient.Config{TLS: true, CAFile: certs.CAFile, SASLMechanism: "aws_msk_iam"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	dialer, err := cfg.Dialer()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	before := time.Now().UTC()
	conn, err := dialer.DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("dial with AWS_MSK_IAM: %v", err)
	}
	conn.Close()

	var payload map[string]string
	select {
	case b := <-got:
		if err := json.Unmarshal(b, &payload); err != nil {
			t.Fatalf("the SASL token is not a JSON object of strings: %v: %s", err, b)
		}
	case <-ctx.Done():
		t.Fatal("no SaslAuthenticate arrived")
	}
	want := map[string]string{
		"version":              "2020_10_22",
		"host":                 "127.0.0.1",
		"action":               "kafka-cluster:Connect",
		"x-amz-algorithm":      "AWS4-HMAC-SHA256",
		"x-amz-signedheaders":  "host",
		"x-amz-security-token": "session token/+=",
	}
	for k, v := range want {
		if payload[k] != v {
			t.Errorf("%s = %q, want %q", k, payload[k], v)
		}
	}
	at, err := time.Parse("20060102T150405Z", payload["x-amz-date"])
	if err != nil || at.Before(before.Truncate(time.Second)) || at.After(time.Now().Add(time.Second)) {
		t.Errorf("x-amz-date %q is not the time of the sign-in (%v)", payload["x-amz-date"], err)
	}
	day := at.Format("20060102")
	scope := day + "/eu-west-1/kafka-cluster/aws4_request"
	if c := payload["x-amz-credential"]; c != "AKIDSTARLINGTEST/"+scope {
		t.Errorf("x-amz-credential = %q, want the access key and scope %s", c, scope)
	}
	if payload["x-amz-expires"] == "" || payload["user-agent"] == "" {
		t.Errorf("x-amz-expires %q, user-agent %q: both must be set", payload["x-amz-expires"], payload["user-agent"])
	}

	// SigV4 of the presigned request GET kafka://127.0.0.1/?Action=kafka-cluster:Connect.
	query := map[string]string{
		"Action":               payload["action"],
		"X-Amz-Algorithm":      payload["x-amz-algorithm"],
		"X-Amz-Credential":     payload["x-amz-credential"],
		"X-Amz-Date":           payload["x-amz-date"],
		"X-Amz-Expires":        payload["x-amz-expires"],
		"X-Amz-Security-Token": payload["x-amz-security-token"],
		"X-Amz-SignedHeaders":  payload["x-amz-signedheaders"],
	}
	keys := []string{"Action", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-Security-Token", "X-Amz-SignedHeaders"}
	var cq []string
	for _, k := range keys { // in byte order already
		cq = append(cq, awsEscape(k)+"="+awsEscape(query[k]))
	}
	emptyHash := sha256.Sum256(nil)
	canonical := strings.Join([]string{"GET", "/", strings.Join(cq, "&"), "host:127.0.0.1\n", "host", hex.EncodeToString(emptyHash[:])}, "\n")
	ch := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + payload["x-amz-date"] + "\n" + scope + "\n" + hex.EncodeToString(ch[:])
	key := []byte("AWS4secret/with+chars")
	for _, part := range []string{day, "eu-west-1", "kafka-cluster", "aws4_request"} {
		key = hmacSHA256(key, part)
	}
	if sig := hex.EncodeToString(hmacSHA256(key, toSign)); payload["x-amz-signature"] != sig {
		t.Errorf("x-amz-signature = %q, want %q (SigV4 over:\n%s)", payload["x-amz-signature"], sig, canonical)
	}
}

// TestMSKIAMRefusesWhatCannotWork: the mechanism needs TLS and a region, and takes no user
// name or password.
func TestMSKIAMRefusesWhatCannotWork(t *testing.T) {
	awsTestEnv(t, "us-east-1")
	for _, c := range []struct {
		cfg  kafkaclient.Config
		want string
	}{
		{kafkaclient.Config{SASLMechanism: "AWS_MSK_IAM"}, "TLS"},
		{kafkaclient.Config{TLS: true, SASLMechanism: "AWS_MSK_IAM", Username: "u", Password: "p"}, "default chain"},
	} {
		if err := c.cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want an error saying %q", c.cfg, err, c.want)
		}
	}
	t.Setenv("AWS_REGION", "")
	if err := (kafkaclient.Config{TLS: true, SASLMechanism: "AWS_MSK_IAM"}).Validate(); err == nil || !strings.Contains(err.Error(), "AWS_REGION") {
		t.Errorf("no region: got %v, want an error naming AWS_REGION", err)
	}
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// awsEscape is SigV4's URI encoding: every byte but A-Z a-z 0-9 - _ . ~ as %XX.
func awsEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-_.~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// serveMSKSignIn answers one connection as an MSK IAM listener would until the client has
// signed in: ApiVersions, SaslHandshake offering AWS_MSK_IAM, SaslAuthenticate (whose
// token it hands to got, and accepts).
func serveMSKSignIn(ln net.Listener, got chan<- []byte) {
	conn, err := ln.Accept()
	if err != nil {
		return
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	for {
		var size int32
		if binary.Read(r, binary.BigEndian, &size) != nil {
			return
		}
		frame := make([]byte, size)
		if _, err := io.ReadFull(r, frame); err != nil {
			return
		}
		key, version := int16(binary.BigEndian.Uint16(frame)), int16(binary.BigEndian.Uint16(frame[2:]))
		corr := frame[4:8]
		body := frame[8:]
		clientID := int16(binary.BigEndian.Uint16(body))
		body = body[2+max(int(clientID), 0):]
		req := kmsg.RequestForKey(key)
		if req == nil {
			return
		}
		req.SetVersion(version)
		if req.IsFlexible() {
			body = body[1:] // no tagged fields in the header
		}
		if err := req.ReadFrom(body); err != nil {
			return
		}
		var resp kmsg.Response
		switch q := req.(type) {
		case *kmsg.ApiVersionsRequest:
			v := q.ResponseKind().(*kmsg.ApiVersionsResponse)
			for _, k := range []int16{17, 36} {
				v.ApiKeys = append(v.ApiKeys, kmsg.ApiVersionsResponseApiKey{ApiKey: k, MinVersion: 0, MaxVersion: 1})
			}
			v.ApiKeys = append(v.ApiKeys, kmsg.ApiVersionsResponseApiKey{ApiKey: 18, MinVersion: 0, MaxVersion: 2})
			resp = v
		case *kmsg.SASLHandshakeRequest:
			h := q.ResponseKind().(*kmsg.SASLHandshakeResponse)
			h.SupportedMechanisms = []string{"AWS_MSK_IAM"}
			if q.Mechanism != "AWS_MSK_IAM" {
				h.ErrorCode = 33 // UNSUPPORTED_SASL_MECHANISM
			}
			resp = h
		case *kmsg.SASLAuthenticateRequest:
			got <- q.SASLAuthBytes
			a := q.ResponseKind().(*kmsg.SASLAuthenticateResponse)
			a.SessionLifetimeMillis = int64(time.Hour / time.Millisecond)
			resp = a
		default:
			return
		}
		resp.SetVersion(version)
		out := append([]byte(nil), corr...)
		if resp.IsFlexible() && key != 18 { // ApiVersions answers with header v0
			out = append(out, 0)
		}
		out = resp.AppendTo(out)
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(out)))
		if _, err := conn.Write(append(n[:], out...)); err != nil {
			return
		}
	}
}
