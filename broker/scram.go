package broker

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

// The server side of SCRAM (RFC 5802, RFC 7677) as Kafka speaks it. Like Kafka's own server,
// it accepts a client-final nonce that ends with the server-first nonce: librdkafka 2.0
// repeats its client nonce in front, and Kafka lets that through.

const scramIterations = 4096

// scramCredential is what the server keeps of a password (RFC 5802 section 3).
type scramCredential struct {
	salt      []byte
	storedKey []byte
	serverKey []byte
}

// scramMechanism is one SCRAM hash.
type scramMechanism struct {
	name    string
	newHash func() hash.Hash
	users   map[string]scramCredential
}

func newScramMechanism(name string, newHash func() hash.Hash, passwords map[string]string) (*scramMechanism, error) {
	m := &scramMechanism{name: name, newHash: newHash, users: map[string]scramCredential{}}
	for user, password := range passwords {
		salt := make([]byte, 16)
		if _, err := rand.Read(salt); err != nil {
			return nil, err
		}
		salted, err := pbkdf2.Key(newHash, password, salt, scramIterations, newHash().Size())
		if err != nil {
			return nil, fmt.Errorf("scram: user %s: %w", user, err)
		}
		clientKey := m.hmac(salted, "Client Key")
		m.users[user] = scramCredential{salt: salt, storedKey: m.sum(clientKey), serverKey: m.hmac(salted, "Server Key")}
	}
	return m, nil
}

func (m *scramMechanism) hmac(key []byte, msg string) []byte {
	h := hmac.New(m.newHash, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

func (m *scramMechanism) sum(b []byte) []byte {
	h := m.newHash()
	h.Write(b)
	return h.Sum(nil)
}

// scramConversation is one authentication exchange.
type scramConversation struct {
	mech            *scramMechanism
	user            string
	cred            scramCredential
	clientFirstBare string
	serverFirst     string
	serverNonce     string // the full nonce sent in server-first (client's + ours)
	done            bool
}

// step handles the client's next message and returns the server's answer; done is set after
// a successful client-final.
func (c *scramConversation) step(msg string) (string, error) {
	if c.serverFirst == "" {
		return c.first(msg)
	}
	if c.done {
		return "", fmt.Errorf("%w: exchange already complete", ErrAuthentication)
	}
	return c.final(msg)
}

// scramAttrs parses "k=v,k=v" attributes.
func scramAttrs(s string) map[byte]string {
	attrs := map[byte]string{}
	for _, part := range strings.Split(s, ",") {
		if len(part) >= 2 && part[1] == '=' {
			attrs[part[0]] = part[2:]
		}
	}
	return attrs
}

func (c *scramConversation) first(msg string) (string, error) {
	// gs2-header: "n,," (no channel binding, no authzid) or "y,,"; "p=" is not supported.
	if !strings.HasPrefix(msg, "n,") && !strings.HasPrefix(msg, "y,") {
		return "", fmt.Errorf("%w: unsupported gs2 header", ErrAuthentication)
	}
	i := strings.Index(msg[2:], ",")
	if i < 0 {
		return "", fmt.Errorf("%w: malformed client-first message", ErrAuthentication)
	}
	c.clientFirstBare = msg[2+i+1:]
	attrs := scramAttrs(c.clientFirstBare)
	user := strings.NewReplacer("=2C", ",", "=3D", "=").Replace(attrs['n'])
	nonce := attrs['r']
	if user == "" || nonce == "" {
		return "", fmt.Errorf("%w: client-first message lacks user or nonce", ErrAuthentication)
	}
	cred, ok := c.mech.users[user]
	if !ok {
		return "", fmt.Errorf("%w: unknown user", ErrAuthentication)
	}
	ours := make([]byte, 18)
	if _, err := rand.Read(ours); err != nil {
		return "", err
	}
	c.user, c.cred = user, cred
	c.serverNonce = nonce + base64.RawStdEncoding.EncodeToString(ours)
	c.serverFirst = "r=" + c.serverNonce + ",s=" + base64.StdEncoding.EncodeToString(cred.salt) + ",i=" + strconv.Itoa(scramIterations)
	return c.serverFirst, nil
}

func (c *scramConversation) final(msg string) (string, error) {
	i := strings.LastIndex(msg, ",p=")
	if i < 0 {
		return "", fmt.Errorf("%w: client-final message lacks a proof", ErrAuthentication)
	}
	withoutProof := msg[:i]
	attrs := scramAttrs(withoutProof)
	if !strings.HasSuffix(attrs['r'], c.serverNonce) {
		return "", fmt.Errorf("%w: nonce does not match", ErrAuthentication)
	}
	proof, err := base64.StdEncoding.DecodeString(msg[i+3:])
	if err != nil || len(proof) != len(c.cred.storedKey) {
		return "", fmt.Errorf("%w: malformed proof", ErrAuthentication)
	}
	authMessage := c.clientFirstBare + "," + c.serverFirst + "," + withoutProof
	signature := c.mech.hmac(c.cred.storedKey, authMessage)
	clientKey := make([]byte, len(proof))
	for j := range proof {
		clientKey[j] = proof[j] ^ signature[j]
	}
	if subtle.ConstantTimeCompare(c.mech.sum(clientKey), c.cred.storedKey) != 1 {
		return "", fmt.Errorf("%w: bad user name or password", ErrAuthentication)
	}
	c.done = true
	return "v=" + base64.StdEncoding.EncodeToString(c.mech.hmac(c.cred.serverKey, authMessage)), nil
}
