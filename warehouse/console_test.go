package warehouse_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/starling-analytics/starling/warehouse"
	"github.com/starling-analytics/starling/warehouse/chlocal"
	"github.com/starling-analytics/starling/warehouse/warehousetest"
)

func TestCheckConsoleSQL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ sql, want string }{
		{"SELECT 1", "SELECT 1"},
		{"  select count() from tweets ;  -- done\n", "select count() from tweets"},
		{"WITH 1 AS x SELECT x", "WITH 1 AS x SELECT x"},
		{"SHOW TABLES", "SHOW TABLES"},
		{"DESCRIBE TABLE tweets", "DESCRIBE TABLE tweets"},
		{"desc tweets", "desc tweets"},
		{"EXISTS TABLE tweets", "EXISTS TABLE tweets"},
		{"(SELECT 1) UNION ALL (SELECT 2)", "(SELECT 1) UNION ALL (SELECT 2)"},
		{"/* why */ SELECT 'a;b', \"c;d\", `e;f`", "/* why */ SELECT 'a;b', \"c;d\", `e;f`"},
		{`SELECT 'it''s', 'a\'b' -- ; DROP`, `SELECT 'it''s', 'a\'b' -- ; DROP`},
		{"SELECT format('{} {}', 'a', 'b'), source_format, urls, file_name FROM t", "SELECT format('{} {}', 'a', 'b'), source_format, urls, file_name FROM t"},
		{"SELECT 1e3, 0x1F, 2.5", "SELECT 1e3, 0x1F, 2.5"},
		// Denied words as names, not clauses: tables, qualified columns, aliases.
		{"SELECT * FROM system.settings", "SELECT * FROM system.settings"},
		{"SELECT name, value FROM system.settings WHERE name = 'readonly'", "SELECT name, value FROM system.settings WHERE name = 'readonly'"},
		{"SELECT settings.name FROM system.settings AS settings", "SELECT settings.name FROM system.settings AS settings"},
		{"SELECT lang AS format FROM tweets", "SELECT lang AS format FROM tweets"},
	} {
		got, err := warehouse.CheckConsoleSQL(tc.sql)
		if err != nil || got != tc.want {
			t.Errorf("CheckConsoleSQL(%q) = %q, %v; want %q", tc.sql, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ sql, why string }{
		{"", "empty"},
		{"-- nothing\n", "empty"},
		{"DROP TABLE tweets", "this one is DROP"},
		{"drop table tweets", "this one is DROP"},
		{"INSERT INTO tweets (id) VALUES (1)", "this one is INSERT"},
		{"ALTER TABLE tweets DELETE WHERE 1", "this one is ALTER"},
		{"KILL QUERY WHERE 1", "this one is KILL"},
		{"SET max_result_rows = 0", "this one is SET"},
		{"OPTIMIZE TABLE tweets", "this one is OPTIMIZE"},
		{"SYSTEM SHUTDOWN", "this one is SYSTEM"},
		{"'x' SELECT", "must start with"},
		{"SELECT 1; SELECT 2", "one statement"},
		{"SELECT 1; DROP TABLE tweets", "one statement"},
		{`SELECT 'a\''; DROP TABLE tweets`, "one statement"},
		{"SELECT 'it''s'; DROP TABLE tweets", "one statement"},
		{"SELECT 1 /* ; */; DROP TABLE tweets", "one statement"},
		{"SELECT 1 /* /* */ ; DROP TABLE tweets */", "one statement"},
		{"SELECT 1 INTO OUTFILE '/tmp/x'", "INTO OUTFILE"},
		{"SELECT 1 SETTINGS max_execution_time = 0", "SETTINGS"},
		{"SELECT 1 settings readonly = 0", "SETTINGS"},
		{"SELECT 1 FORMAT JSON", "FORMAT"},
		{"SELECT * FROM system.settings SETTINGS max_threads = 1", "SETTINGS"},
		{"SELECT * FROM system.settings FORMAT JSON", "FORMAT"},
		{"SELECT * FROM url('http://169.254.169.254/', 'TSV', 'a String')", "url()"},
		{"SELECT * FROM URL ('http://x', CSV, 'a String')", "URL()"},
		{"SELECT * FROM `url`('http://x', CSV, 'a String')", "`url`()"},
		{"SELECT * FROM \"file\"('x', CSV, 'a String')", `"file"()`},
		{"SELECT * FROM file /* c */ ('users.xml', 'TSV', 'a String')", "file()"},
		{"SELECT * FROM remote('10.0.0.1', system.one)", "remote()"},
		{"SELECT * FROM remoteSecure('10.0.0.1', system.one)", "remoteSecure()"},
		{"SELECT * FROM clusterAllReplicas('c', system.one)", "clusterAllReplicas()"},
		{"SELECT * FROM s3('https://b/k', 'CSV')", "s3()"},
		{"SELECT * FROM mysql('h:3306', 'db', 't', 'u', 'p')", "mysql()"},
		{"SELECT * FROM postgresql('h', 'db', 't', 'u', 'p')", "postgresql()"},
		{"SELECT * FROM executable('sh', 'TSV', 'a String')", "executable()"},
		{"SELECT * FROM hdfs('hdfs://h/f', 'TSV', 'a String')", "hdfs()"},
		{"SELECT id FROM tweets WHERE id IN (SELECT id FROM remote('h', db.t))", "remote()"},
		{"SELECT 'unclosed", "not closed"},
		{"SELECT 1 /* unclosed", "not closed"},
		{"SELECT \xff", "UTF-8"},
		{"SELECT '" + strings.Repeat("x", 70_000) + "'", "longer than"},
	} {
		got, err := warehouse.CheckConsoleSQL(tc.sql)
		if !errors.Is(err, warehouse.ErrConsoleRefused) || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("CheckConsoleSQL(%.60q) = %q, %v; want a refusal saying %q", tc.sql, got, err, tc.why)
		}
	}
}

// FuzzCheckConsoleSQL: any input is accepted or refused, never crashes, and an accepted
// statement starts with an allowed word and holds no second statement.
func FuzzCheckConsoleSQL(f *testing.F) {
	for _, s := range []string{"SELECT 1", "SELECT 'a;b'; DROP", "/* x */ WITH 1 AS a SELECT a", "SELECT `url`(1)", "SELECT 'a\\'' ; x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		got, err := warehouse.CheckConsoleSQL(sql)
		if err != nil {
			if !errors.Is(err, warehouse.ErrConsoleRefused) {
				t.Fatalf("error %v is not a refusal", err)
			}
			return
		}
		again, err := warehouse.CheckConsoleSQL(got)
		if err != nil || again != got {
			t.Fatalf("accepted %q, but not its own result: %q, %v", sql, again, err)
		}
	})
}

// consoleUser is the read-only user of the test server: chlocal's, or CLICKHOUSE_CONSOLE_USER
// (with CLICKHOUSE_CONSOLE_PASSWORD) for a server named by CLICKHOUSE_ADDR.
func consoleConfig(t *testing.T, db *warehouse.DB) warehouse.Config {
	t.Helper()
	cfg := warehouse.Config{Addr: []string{warehousetest.Addr(t)}, Database: db.Database(), Username: chlocal.ConsoleUser}
	if u := os.Getenv("CLICKHOUSE_CONSOLE_USER"); u != "" {
		cfg.Username, cfg.Password = u, os.Getenv("CLICKHOUSE_CONSOLE_PASSWORD")
	}
	return cfg
}

// TestConsoleOnClickHouse runs console statements as the read-only user of a real server:
// results and their text, ClickHouse's messages, the row, byte and time limits, and the
// refusal of a writing user.
func TestConsoleOnClickHouse(t *testing.T) {
	t.Parallel()
	db, _ := loadDashboardModel(t)
	ctx := context.Background()

	if _, err := warehouse.OpenConsole(ctx, warehouse.Config{Addr: []string{warehousetest.Addr(t)}, Database: db.Database(),
		Username: os.Getenv("CLICKHOUSE_USER"), Password: os.Getenv("CLICKHOUSE_PASSWORD")}, warehouse.ConsoleLimits{}); !errors.Is(err, warehouse.ErrConsoleWritable) {
		t.Fatalf("console as the writing user: %v, want ErrConsoleWritable", err)
	}
	c, err := warehouse.OpenConsole(ctx, consoleConfig(t, db), warehouse.ConsoleLimits{MaxRows: 100, MaxBytes: 4000, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.ReadOnly() != 1 {
		t.Errorf("readonly = %d, want 1", c.ReadOnly())
	}

	res, err := c.Query(ctx, `SELECT toDateTime('2026-03-01 12:00:00') AS t, toDate('2026-03-01') AS d, [1, 2] AS a, ['x', 'it''s'] AS s,
		NULL AS n, toNullable(7) AS m, 1.5 AS f, 'plain' AS p, toUInt64(18446744073709551615) AS big`)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"2026-03-01 12:00:00", "2026-03-01", "[1,2]", `['x','it\'s']`, "NULL", "7", "1.5", "plain", "18446744073709551615"}
	if len(res.Rows) != 1 || len(res.Rows[0]) != len(want) {
		t.Fatalf("result = %+v", res)
	}
	for i, w := range want {
		got := "NULL"
		if v := res.Rows[0][i]; v != nil {
			got = *v
		}
		if got != w {
			t.Errorf("column %s (%s) = %q, want %q", res.Columns[i].Name, res.Columns[i].Type, got, w)
		}
	}
	if !res.Columns[8].Numeric || res.Columns[7].Numeric || res.Columns[0].Type != "DateTime" {
		t.Errorf("columns = %+v", res.Columns)
	}

	res, err = c.Query(ctx, "SELECT name, value FROM system.settings WHERE name = 'readonly'")
	if err != nil || len(res.Rows) != 1 || *res.Rows[0][1] != "1" {
		t.Errorf("system.settings through the console = %+v, %v; want readonly = 1", res, err)
	}
	res, err = c.Query(ctx, "SELECT hashtag, sum(tweets) AS n FROM hashtag_minute GROUP BY hashtag ORDER BY n DESC")
	if err != nil || len(res.Rows) != 7 || res.Truncated != "" || *res.Rows[0][1] != "144" {
		t.Fatalf("hashtags = %+v, %v", res, err)
	}
	for _, q := range []string{"SELECT number FROM system.numbers", "SELECT number FROM numbers(1000000)"} {
		// The second is a table function: readonly = 1 refuses it outright.
		res, err = c.Query(ctx, q)
		var ce *warehouse.ConsoleError
		switch {
		case err == nil && (len(res.Rows) != 100 || res.Truncated == ""):
			t.Errorf("%s: %d rows, truncated %q", q, len(res.Rows), res.Truncated)
		case err != nil && !(errors.As(err, &ce) && strings.Contains(ce.Message, "readonly")):
			t.Errorf("%s: %v", q, err)
		}
	}
	res, err = c.Query(ctx, "SELECT arrayStringConcat(arrayMap(i -> 'x', range(1000))) FROM system.numbers LIMIT 50")
	if err != nil {
		t.Fatalf("byte limit: %v", err)
	} else if len(res.Rows) != 5 || !strings.Contains(res.Truncated, "KiB") {
		t.Errorf("byte limit: %d rows, truncated %q", len(res.Rows), res.Truncated)
	}
	if _, err := c.Query(ctx, "DROP TABLE tweets"); !errors.Is(err, warehouse.ErrConsoleRefused) {
		t.Errorf("DROP TABLE: %v", err)
	}
	_, err = c.Query(ctx, "SELECT * FROM no_such_table")
	var ce *warehouse.ConsoleError
	if !errors.As(err, &ce) || ce.Code != 60 || !strings.Contains(ce.Message, "no_such_table") {
		t.Errorf("unknown table: %v", err)
	}
	_, err = c.Query(ctx, "SELECT count() FROM system.numbers")
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "longer than") && ce.Code != 159 {
		t.Errorf("endless statement: %v, want it stopped", err)
	}
	// The console's user, reached past the console's checks, still cannot write.
	if err := consoleWrite(ctx, t, db); err == nil || !strings.Contains(err.Error(), "readonly") {
		t.Errorf("a write as the console's user: %v, want a readonly refusal", err)
	}
}

// consoleWrite tries a write as the console's user on a plain connection.
func consoleWrite(ctx context.Context, t *testing.T, db *warehouse.DB) error {
	cfg := consoleConfig(t, db)
	c, err := warehouse.OpenConsole(ctx, cfg, warehouse.ConsoleLimits{})
	if err != nil {
		return err
	}
	defer c.Close()
	return c.ExecUnchecked(ctx, "INSERT INTO schema_migrations (version, name) VALUES (99, 'x')")
}

// TestConsoleExamples checks that the console's examples are the README's SQL cookbook,
// titles and all, and that each runs as the console's user.
func TestConsoleExamples(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(readme), "## SQL cookbook")
	_, block, _ := strings.Cut(section, "```sql\n")
	block, _, _ = strings.Cut(block, "```")
	var want []warehouse.ConsoleExample
	var title, query []string
	fresh := false
	for _, line := range strings.Split(block, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "--"):
			if !fresh {
				title = nil
			}
			fresh = true
			title = append(title, strings.TrimSpace(strings.TrimPrefix(trimmed, "--")))
		case trimmed == "" && len(query) == 0:
		default:
			query = append(query, line)
			if strings.HasSuffix(trimmed, ";") {
				want = append(want, warehouse.ConsoleExample{Title: strings.Join(title, " "),
					SQL: strings.TrimSuffix(strings.TrimSpace(strings.Join(query, "\n")), ";")})
				query, fresh = nil, false
			}
		}
	}
	if len(want) != len(warehouse.ConsoleExamples) {
		t.Fatalf("the cookbook has %d queries, the console %d examples", len(want), len(warehouse.ConsoleExamples))
	}
	for i, w := range want {
		if warehouse.ConsoleExamples[i] != w {
			t.Errorf("example %d = %+v, the cookbook's is %+v", i, warehouse.ConsoleExamples[i], w)
		}
	}
	db, _ := loadDashboardModel(t)
	c, err := warehouse.OpenConsole(context.Background(), consoleConfig(t, db), warehouse.ConsoleLimits{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, ex := range warehouse.ConsoleExamples {
		if _, err := c.Query(context.Background(), ex.SQL); err != nil {
			t.Errorf("%s: %v", ex.Title, err)
		}
	}
}
