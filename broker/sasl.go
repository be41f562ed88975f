package broker

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash"
	"os"
	"sort"
	"strings"
)

// SASL mechanisms the broker offers when Config.Users is set.
const (
	MechanismPlain       = "PLAIN"
	MechanismScramSHA256 = "SCRAM-SHA-256"
	MechanismScramSHA512 = "SCRAM-SHA-512"
)

// ErrAuthentication is wrapped by every failed SASL authentication.
var ErrAuthentication = errors.New("authentication failed")

// LoadUsers reads a users file: one "name:password" a line; blank lines and lines starting
// with # are skipped. Keep the file readable by the broker only.
func LoadUsers(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("broker: users file: %w", err)
	}
	users := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, password, ok := strings.Cut(line, ":")
		if !ok || name == "" || password == "" {
			return nil, fmt.Errorf("broker: users file %s line %d: want name:password", path, n)
		}
		users[name] = password
	}
	if len(users) == 0 {
		return nil, fmt.Errorf("broker: users file %s names no users", path)
	}
	return users, nil
}

// authenticator checks SASL credentials: PLAIN against the passwords, SCRAM against
// credentials derived from them once, at start.
type authenticator struct {
	passwords map[string]string
	scram     map[string]*scramMechanism
}

func newAuthenticator(users map[string]string) (*authenticator, error) {
	a := &authenticator{passwords: users, scram: map[string]*scramMechanism{}}
	for name, h := range map[string]func() hash.Hash{MechanismScramSHA256: sha256.New, MechanismScramSHA512: sha512.New} {
		m, err := newScramMechanism(name, h, users)
		if err != nil {
			return nil, fmt.Errorf("broker: %w", err)
		}
		a.scram[name] = m
	}
	return a, nil
}

// mechanisms lists the offered mechanisms.
func (a *authenticator) mechanisms() []string {
	ms := []string{MechanismPlain}
	for m := range a.scram {
		ms = append(ms, m)
	}
	sort.Strings(ms)
	return ms
}

// saslState is one connection's authentication progress.
type saslState struct {
	mechanism     string // chosen by SaslHandshake
	conversation  *scramConversation
	authenticated bool
	user          string
}

// step runs one SaslAuthenticate exchange and returns the bytes to send back.
func (a *authenticator) step(st *saslState, in []byte) ([]byte, error) {
	switch st.mechanism {
	case MechanismPlain:
		// authzid NUL authcid NUL password (RFC 4616)
		parts := bytes.Split(in, []byte{0})
		if len(parts) != 3 {
			return nil, fmt.Errorf("%w: malformed PLAIN message", ErrAuthentication)
		}
		user, password := string(parts[1]), parts[2]
		want, ok := a.passwords[user]
		if !ok || subtle.ConstantTimeCompare([]byte(want), password) != 1 {
			return nil, fmt.Errorf("%w: bad user name or password", ErrAuthentication)
		}
		st.authenticated, st.user = true, user
		return nil, nil
	case MechanismScramSHA256, MechanismScramSHA512:
		if st.conversation == nil {
			st.conversation = &scramConversation{mech: a.scram[st.mechanism]}
		}
		out, err := st.conversation.step(string(in))
		if err != nil {
			return nil, err
		}
		if st.conversation.done {
			st.authenticated, st.user = true, st.conversation.user
		}
		return []byte(out), nil
	}
	return nil, fmt.Errorf("%w: no mechanism chosen (send SaslHandshake first)", ErrAuthentication)
}
