package chlocal

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStartAnswersAndCloseStops(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Start(ctx, Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := query(t, s, "SELECT version()"); got == "" {
		t.Fatal("empty version")
	} else {
		t.Logf("ClickHouse %s on %s (native) and %s (HTTP)", got, s.Addr(), s.HTTPAddr())
	}
	// Everything the server writes stays in dir.
	query(t, s, "CREATE TABLE default.kept (n UInt8) ENGINE = TinyLog")
	query(t, s, "INSERT INTO default.kept (n) VALUES (7)")
	for _, p := range []string{"config.xml", "users.xml", "data/data/default/kept", "log/clickhouse-server.log"} {
		if !exists(filepath.Join(dir, p)) {
			t.Errorf("%s missing from the data directory", p)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Done():
	default:
		t.Fatal("Close returned before the process exited")
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := http.Get("http://" + s.HTTPAddr() + "/ping"); err == nil {
		t.Error("server still answers after Close")
	}

	// Same directory and ports again: the data is still there.
	s2, err := Start(ctx, Config{Dir: dir, TCPPort: s.tcpPort, HTTPPort: s.httpPort})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if s2.Addr() != s.Addr() {
		t.Errorf("restart address %s, want %s", s2.Addr(), s.Addr())
	}
	if got := query(t, s2, "SELECT sum(n) FROM default.kept"); got != "7" {
		t.Errorf("after restart sum = %q, want 7", got)
	}
}

func TestStartReportsAServerThatExits(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("false")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Start(context.Background(), Config{Dir: t.TempDir(), Binary: bin})
	if err == nil || !strings.Contains(err.Error(), "exited during start-up") {
		t.Fatalf("Start with a binary that exits = %v, want an exited-during-start-up error", err)
	}
}

func TestMissingBinaryExplainsHowToInstall(t *testing.T) {
	t.Parallel()
	notFound := func(string) (string, error) { return "", exec.ErrNotFound }
	_, _, err := findBinary("", notFound)
	if !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("findBinary = %v, want ErrNotInstalled", err)
	}
	for _, want := range []string{"apt-get install clickhouse-server clickhouse-client", "docker compose up", "STARLING_CLICKHOUSE_ADDR"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	if _, err := Start(context.Background(), Config{Dir: t.TempDir(), Binary: filepath.Join(t.TempDir(), "no-such-clickhouse")}); err == nil {
		t.Error("Start with a missing explicit binary succeeded")
	}
}

func TestFindBinaryPrefersServerThenSingleBinary(t *testing.T) {
	t.Parallel()
	only := func(names ...string) func(string) (string, error) {
		return func(n string) (string, error) {
			for _, x := range names {
				if n == x {
					return "/opt/bin/" + filepath.Base(n), nil
				}
			}
			return "", exec.ErrNotFound
		}
	}
	cases := []struct {
		name     string
		look     func(string) (string, error)
		wantArgs []string
		wantBase string
	}{
		{"server on PATH", only("clickhouse-server", "clickhouse"), nil, "clickhouse-server"},
		{"server in sbin", only("/usr/sbin/clickhouse-server"), nil, "clickhouse-server"},
		{"single binary", only("clickhouse"), []string{"server"}, "clickhouse"},
	}
	for _, c := range cases {
		bin, args, err := findBinary("", c.look)
		if err != nil || filepath.Base(bin) != c.wantBase || strings.Join(args, " ") != strings.Join(c.wantArgs, " ") {
			t.Errorf("%s: findBinary = %q %q %v, want %s %q", c.name, bin, args, err, c.wantBase, c.wantArgs)
		}
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	for _, c := range []Config{{}, {Dir: "x", TCPPort: -1}, {Dir: "x", TCPPort: 9000, HTTPPort: 9000}, {Dir: "x", StartTimeout: -time.Second}} {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", c)
		}
	}
}

// query runs sql over the HTTP interface and returns the trimmed answer.
func query(t *testing.T, s *Server, sql string) string {
	t.Helper()
	resp, err := http.Post("http://"+s.HTTPAddr()+"/", "text/plain", strings.NewReader(sql))
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s: %s", sql, resp.Status, b)
	}
	return strings.TrimSpace(string(b))
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// TestConsoleUserIsReadOnly checks what ClickHouse itself refuses the console's user,
// whatever the console's own checks let through.
func TestConsoleUserIsReadOnly(t *testing.T) {
	t.Parallel()
	s, err := Start(context.Background(), Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	query(t, s, "CREATE TABLE default.notes (n UInt8) ENGINE = TinyLog")
	as := func(sql string) (int, string) {
		resp, err := http.Post("http://"+s.HTTPAddr()+"/?user="+ConsoleUser, "text/plain", strings.NewReader(sql))
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	if code, got := as("SELECT value FROM system.settings WHERE name = 'readonly'"); code != http.StatusOK || got != "1" {
		t.Fatalf("readonly = %q (%d)", got, code)
	}
	if code, got := as("SELECT count() FROM default.notes"); code != http.StatusOK || got != "0" {
		t.Errorf("SELECT: %d %q", code, got)
	}
	for _, sql := range []string{
		"INSERT INTO default.notes (n) VALUES (1)",
		"CREATE TABLE default.more (n UInt8) ENGINE = TinyLog",
		"DROP TABLE default.notes",
		"TRUNCATE TABLE default.notes",
		"ALTER TABLE default.notes DELETE WHERE 1",
		"SET max_execution_time = 0",
		"SELECT count() FROM system.numbers SETTINGS max_result_rows = 0",
		"SELECT 1 SETTINGS readonly = 0",
		"SELECT * FROM url('http://" + s.HTTPAddr() + "/ping', 'TSV', 'a String')",
		"SELECT * FROM remote('" + s.Addr() + "', system.one)",
		"SELECT * FROM file('users.xml', 'TSV', 'a String')",
	} {
		if code, got := as(sql); code == http.StatusOK || !strings.Contains(got, "readonly") {
			t.Errorf("%s: %d %q, want a readonly refusal", sql, code, got)
		}
	}
	// The limits hold: an endless query stops once past 10,000 rows, at the end of a block
	// (break mode checks between blocks of up to 65,536 rows).
	if code, got := as("SELECT number FROM system.numbers"); code != http.StatusOK || strings.Count(got, "\n") > 10000+65536 {
		t.Errorf("row limit: %d, %d lines", code, strings.Count(got, "\n"))
	}
}
