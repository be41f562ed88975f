package tweet

import (
	"errors"
	"testing"
	"time"
)

func TestValidateAndKey(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		r       Record
		valid   bool
		wantKey string
	}{
		{"tweet", Record{Schema: 2, ID: "5", CreatedAt: at}, true, "5"},
		{"schema 1 tweet", Record{Schema: 1, ID: "5", CreatedAt: at}, true, "5"},
		{"future schema", Record{Schema: SchemaVersion + 1, ID: "5", CreatedAt: at}, false, ""},
		{"no id", Record{Schema: 2, CreatedAt: at}, false, ""},
		{"zero id", Record{Schema: 2, ID: "0", CreatedAt: at}, false, ""},
		{"no time", Record{Schema: 2, ID: "5"}, false, ""},
		{"edited: keyed by the first version", Record{Schema: 2, ID: "7", CreatedAt: at, EditHistory: []string{"5", "7"}}, true, "5"},
		{"bad edit history", Record{Schema: 2, ID: "7", CreatedAt: at, EditHistory: []string{"x", "7"}}, false, ""},
		{"unknown kind", Record{Schema: 2, ID: "5", CreatedAt: at, Kind: "undelete"}, false, ""},
		{"tweet tombstone", Record{Schema: 2, Kind: KindDelete, ID: "5", CreatedAt: at}, true, "5"},
		{"account tombstone", Record{Schema: 2, Kind: KindDelete, User: User{ID: "9"}, CreatedAt: at}, true, "9"},
		{"empty tombstone", Record{Schema: 2, Kind: KindDelete, CreatedAt: at}, false, ""},
		{"tombstone with a bad user id", Record{Schema: 2, Kind: KindDelete, ID: "5", User: User{ID: "bob"}, CreatedAt: at}, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.r.Validate()
			if (err == nil) != c.valid {
				t.Fatalf("Validate() = %v, want valid=%v", err, c.valid)
			}
			if err != nil {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("error %v does not wrap ErrInvalid", err)
				}
				return
			}
			if got := c.r.Key(); got != c.wantKey {
				t.Errorf("Key() = %q, want %q", got, c.wantKey)
			}
			b, err := Encode(c.r)
			if err != nil {
				t.Fatal(err)
			}
			back, err := Decode(b)
			if err != nil || back.Key() != c.wantKey || back.Kind != c.r.Kind {
				t.Fatalf("round trip of %s: %+v, %v", b, back, err)
			}
		})
	}
}
