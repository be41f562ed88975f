package warehouse

import (
	"strings"
	"testing"
)

func TestSplitStatements(t *testing.T) {
	t.Parallel()
	got := splitStatements(`-- a comment; with a semicolon
CREATE TABLE a (x UInt8) -- trailing note
  ENGINE = Memory;

  -- another
CREATE VIEW v AS SELECT ';' AS s FROM a;
SELECT 1`)
	want := []string{
		"CREATE TABLE a (x UInt8) -- trailing note\n  ENGINE = Memory",
		"CREATE VIEW v AS SELECT ';' AS s FROM a",
		"SELECT 1",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("splitStatements =\n%q\nwant\n%q", got, want)
	}
}

func TestEmbeddedMigrationsAreWellFormed(t *testing.T) {
	t.Parallel()
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].version != 1 {
		t.Fatalf("migrations = %+v, want version 1 first", ms)
	}
	for i, m := range ms {
		if i > 0 && m.version <= ms[i-1].version {
			t.Errorf("migration %d out of order", m.version)
		}
		for _, s := range m.statements {
			// Idempotent statements are what make concurrent Migrate calls safe.
			upper := strings.ToUpper(s)
			if strings.HasPrefix(upper, "CREATE") && !strings.Contains(upper, "IF NOT EXISTS") {
				t.Errorf("migration %d: CREATE without IF NOT EXISTS: %.60s", m.version, s)
			}
			// 18.16 needs explicit column lists; the schema is the contract with the dashboard.
			for _, banned := range []string{"DATETIME64", "LOWCARDINALITY", " MAP(", " TTL ", " OVER ("} {
				if strings.Contains(upper, banned) {
					t.Errorf("migration %d uses %s, which ClickHouse 18.16 lacks: %.60s", m.version, strings.TrimSpace(banned), s)
				}
			}
		}
	}
}
