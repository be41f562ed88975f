package warehouse

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"net"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// The dashboard's SQL console: SQL typed into a browser, run on the warehouse. Two locks
// keep it read-only, and either holds without the other:
//
//   - ClickHouse: the console connects as a user of its own whose profile is read-only.
//     With readonly = 1 (what Starling's configurations define) ClickHouse refuses writes,
//     DDL, table functions and any change of a setting, so the profile's limits hold. With
//     readonly = 2 it still refuses writes and DDL but lets a query change settings and
//     call table functions (18.16 runs url() and remote() then): the console passes its
//     limits with each query, and relies on the checks below for the rest. A user whose
//     readonly is 0 is refused.
//   - CheckConsoleSQL: one statement, starting SELECT, WITH, SHOW, DESCRIBE, DESC or
//     EXISTS; no INTO OUTFILE, no FORMAT, no SETTINGS clause, no table function that reads
//     files, URLs or other servers. Both locks also keep KILL QUERY out, which ClickHouse
//     18.16 allows a readonly user.
//
// Results are capped in rows and bytes as they are read, whatever the server sends.

// ErrConsoleRefused is wrapped by the errors of statements the console does not run.
var ErrConsoleRefused = errors.New("refused")

// ErrConsoleWritable is returned by OpenConsole for a user that may write.
var ErrConsoleWritable = errors.New("warehouse: the console's ClickHouse user is not read-only")

// ConsoleLimits bound what one console statement may cost. Zero values are the defaults.
type ConsoleLimits struct {
	// Timeout bounds a statement's run. Default 10s.
	Timeout time.Duration
	// MaxRows is the most rows returned. Default 10,000.
	MaxRows int
	// MaxBytes is the most bytes of values returned. Default 8 MiB.
	MaxBytes int
}

func (l ConsoleLimits) WithDefaults() ConsoleLimits {
	if l.Timeout <= 0 {
		l.Timeout = 10 * time.Second
	}
	if l.MaxRows <= 0 {
		l.MaxRows = 10_000
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = 8 << 20
	}
	return l
}

// Console runs console statements as a read-only ClickHouse user.
type Console struct {
	conn     driver.Conn
	limits   ConsoleLimits
	readonly int
}

// OpenConsole connects to cfg's server and database as cfg's user and checks that ClickHouse
// holds that user read-only. It does not create the database.
func OpenConsole(ctx context.Context, cfg Config, limits ConsoleLimits) (*Console, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:         cfg.Addr,
		Auth:         clickhouse.Auth{Database: cfg.Database, Username: cfg.Username, Password: cfg.Password},
		DialTimeout:  cfg.DialTimeout,
		MaxOpenConns: 4, // at most four console statements at once
		MaxIdleConns: 1,
		Compression:  &clickhouse.Compression{Method: clickhouse.CompressionLZ4},
	})
	if err != nil {
		return nil, fmt.Errorf("warehouse: console: open %v: %w", cfg.Addr, err)
	}
	c := &Console{conn: conn, limits: limits.WithDefaults()}
	qctx, cancel := withoutDeadline(ctx, c.limits.Timeout)
	defer cancel()
	var ro string
	if err := conn.QueryRow(qctx, "SELECT value FROM system.settings WHERE name = 'readonly'").Scan(&ro); err != nil {
		conn.Close()
		return nil, fmt.Errorf("warehouse: console: user %s: %w", cfg.Username, err)
	}
	if c.readonly, err = strconv.Atoi(ro); err != nil || c.readonly == 0 {
		conn.Close()
		return nil, fmt.Errorf("%w: user %s has readonly = %s; give it a profile with readonly = 1", ErrConsoleWritable, cfg.Username, ro)
	}
	return c, nil
}

// Close closes the console's connections.
func (c *Console) Close() error { return c.conn.Close() }

// ReadOnly is the readonly setting of the console's user: 1 or 2.
func (c *Console) ReadOnly() int { return c.readonly }

// Limits are the console's limits.
func (c *Console) Limits() ConsoleLimits { return c.limits }

// withoutDeadline returns a context that ends when ctx does or after d, without a
// deadline: clickhouse-go turns a deadline into a max_execution_time setting sent with the
// query, which ClickHouse refuses from a readonly = 1 user.
func withoutDeadline(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	c, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, cancel)
	t := time.AfterFunc(d, cancel)
	return c, func() {
		stop()
		t.Stop()
		cancel()
	}
}

// ConsoleColumn is a result column.
type ConsoleColumn struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// Numeric columns are right-aligned on the page and never quoted against spreadsheet
	// formulas in CSV.
	Numeric bool `json:"numeric"`
}

// ConsoleResult is what a console statement returned. Values are written out as text, as
// clickhouse-client shows them; NULL is nil.
type ConsoleResult struct {
	Columns []ConsoleColumn `json:"columns"`
	Rows    [][]*string     `json:"rows"`
	// Truncated says why rows are missing: "" when none are, else the limit reached.
	Truncated string        `json:"truncated,omitempty"`
	Elapsed   time.Duration `json:"elapsed_ns"`
}

// ConsoleError is a statement ClickHouse refused or failed: its message, for the person who
// typed it.
type ConsoleError struct {
	Code    int32
	Message string
}

func (e *ConsoleError) Error() string {
	if e.Code != 0 {
		return fmt.Sprintf("ClickHouse error %d: %s", e.Code, e.Message)
	}
	return e.Message
}

// Query checks sql with CheckConsoleSQL and runs it within the console's limits. A refused
// statement wraps ErrConsoleRefused; one that ClickHouse rejects is a *ConsoleError.
func (c *Console) Query(ctx context.Context, sql string) (*ConsoleResult, error) {
	stmt, err := CheckConsoleSQL(sql)
	if err != nil {
		return nil, err
	}
	// The server's own limit (the profile's, or the one sent below) ends a long statement
	// with a clearer message than a client giving up, so the client waits a little longer.
	qctx, cancel := withoutDeadline(ctx, c.limits.Timeout+2*time.Second)
	defer cancel()
	if c.readonly == 2 {
		// A readonly = 2 user may change settings, so the console sets its limits itself
		// (CheckConsoleSQL keeps a statement from setting them back).
		qctx = clickhouse.Context(qctx, clickhouse.WithSettings(clickhouse.Settings{
			"max_execution_time":   int(c.limits.Timeout.Seconds()),
			"max_result_rows":      c.limits.MaxRows + 1,
			"result_overflow_mode": "break",
		}))
	}
	start := time.Now()
	rows, err := c.conn.Query(qctx, stmt)
	if err != nil {
		return nil, consoleError(ctx, err, c.limits.Timeout)
	}
	// Rows left unread are not drained: canceling first drops them with the connection.
	defer func() {
		cancel()
		rows.Close()
	}()
	res := &ConsoleResult{Rows: [][]*string{}}
	types := rows.ColumnTypes()
	dest := make([]any, len(types))
	for i, ct := range types {
		res.Columns = append(res.Columns, ConsoleColumn{Name: ct.Name(), Type: ct.DatabaseTypeName(), Numeric: numericType(ct.DatabaseTypeName())})
		dest[i] = reflect.New(ct.ScanType()).Interface()
	}
	size := 0
	for rows.Next() {
		if len(res.Rows) == c.limits.MaxRows {
			res.Truncated = fmt.Sprintf("the first %d rows", c.limits.MaxRows)
			break
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, consoleError(ctx, err, c.limits.Timeout)
		}
		row := make([]*string, len(dest))
		for i, d := range dest {
			if s, ok := consoleText(reflect.ValueOf(d).Elem(), res.Columns[i].Type); ok {
				row[i] = &s
				size += len(s)
			}
		}
		res.Rows = append(res.Rows, row)
		if size > c.limits.MaxBytes {
			res.Truncated = fmt.Sprintf("the first %d rows (%d KiB of values)", len(res.Rows), c.limits.MaxBytes>>10)
			break
		}
	}
	if err := rows.Err(); err != nil && res.Truncated == "" {
		return nil, consoleError(ctx, err, c.limits.Timeout)
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// consoleError turns a driver error into a *ConsoleError with ClickHouse's own message.
func consoleError(ctx context.Context, err error, timeout time.Duration) error {
	var ex *clickhouse.Exception
	switch {
	case errors.As(err, &ex):
		return &ConsoleError{Code: ex.Code, Message: ex.Message}
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, context.Canceled):
		return &ConsoleError{Message: fmt.Sprintf("the statement ran longer than the console's %s and was stopped", timeout)}
	}
	return fmt.Errorf("warehouse: console: %w", err)
}

// numericType reports whether a ClickHouse type name is a number (possibly Nullable).
func numericType(t string) bool {
	t = strings.TrimSuffix(strings.TrimPrefix(t, "Nullable("), ")")
	for _, p := range []string{"Int", "UInt", "Float", "Decimal"} {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return false
}

// consoleText writes a scanned value of ClickHouse type typ out as clickhouse-client would;
// ok is false for NULL.
func consoleText(v reflect.Value, typ string) (string, bool) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return "", false
		}
		v = v.Elem()
	}
	typ = strings.TrimSuffix(strings.TrimPrefix(typ, "Nullable("), ")")
	elem := ""
	if strings.HasPrefix(typ, "Array(") {
		elem = strings.TrimSuffix(strings.TrimPrefix(typ, "Array("), ")")
	}
	switch x := v.Interface().(type) {
	case string:
		return x, true
	case []byte:
		if elem == "" { // a String scanned as bytes; an Array(UInt8) is a list
			return string(x), true
		}
	case time.Time:
		switch {
		case strings.HasPrefix(typ, "Date") && !strings.HasPrefix(typ, "DateTime"):
			return x.Format("2006-01-02"), true
		case x.Nanosecond() != 0:
			return x.Format("2006-01-02 15:04:05.999999999"), true
		}
		return x.Format("2006-01-02 15:04:05"), true
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32), true
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), true
	case big.Int:
		return x.String(), true
	case net.IP:
		return x.String(), true
	case fmt.Stringer:
		return x.String(), true
	}
	switch v.Kind() {
	case reflect.Slice, reflect.Array:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = quotedText(v.Index(i), elem)
		}
		return "[" + strings.Join(parts, ",") + "]", true
	case reflect.Map:
		parts := make([]string, 0, v.Len())
		it := v.MapRange()
		for it.Next() {
			parts = append(parts, quotedText(it.Key(), "")+":"+quotedText(it.Value(), ""))
		}
		return "{" + strings.Join(parts, ",") + "}", true
	}
	return fmt.Sprint(v.Interface()), true
}

// quotedText is consoleText for an element of an array or map: strings quoted.
func quotedText(v reflect.Value, typ string) string {
	s, ok := consoleText(v, typ)
	if !ok {
		return "NULL"
	}
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		v = v.Elem()
	}
	if v.Kind() == reflect.String {
		return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
	}
	return s
}

// consoleStatements are the statements the console runs, by their first word.
var consoleStatements = map[string]bool{"SELECT": true, "WITH": true, "SHOW": true, "DESCRIBE": true, "DESC": true, "EXISTS": true}

// consoleDeniedWords are words refused anywhere in a statement, with why.
var consoleDeniedWords = map[string]string{
	"INTO":     "INTO OUTFILE is not allowed: the console returns results to the page (use CSV to download them)",
	"OUTFILE":  "INTO OUTFILE is not allowed: the console returns results to the page (use CSV to download them)",
	"SETTINGS": "a SETTINGS clause is not allowed: the console's time and row limits are fixed",
	"FORMAT":   "a FORMAT clause is not allowed: the console shows a table (use CSV to download it)",
}

// consoleDeniedFunctions are the table functions (and scalar functions of the same names)
// that read files, URLs, other servers or processes, in lower case; the families in
// consoleDeniedPrefixes have many members across ClickHouse releases.
var consoleDeniedFunctions = map[string]bool{
	"file": true, "filecluster": true, "url": true, "urlcluster": true, "input": true, "executable": true,
	"jdbc": true, "odbc": true,
}

var consoleDeniedPrefixes = []string{
	"remote", "cluster", "mysql", "postgres", "sqlite", "mongo", "redis", "s3", "hdfs", "azure", "gcs", "oss",
	"iceberg", "deltalake", "hudi", "hive", "paimon", "arrowflight", "ytsaurus", "kafka", "nats", "rabbitmq",
}

// maxConsoleSQL bounds the length of a console statement.
const maxConsoleSQL = 64 << 10

// CheckConsoleSQL checks that sql is one statement the console runs (see Console) and
// returns it without its final semicolon. Its tokenizer reads comments, strings and quoted
// names as ClickHouse does, and where releases differ, as the narrower of them: a comment
// or string it sees ends no later than ClickHouse's, so nothing ClickHouse would run can
// hide from it.
func CheckConsoleSQL(sql string) (string, error) {
	refuse := func(format string, args ...any) (string, error) {
		return "", fmt.Errorf("%w: %s", ErrConsoleRefused, fmt.Sprintf(format, args...))
	}
	if len(sql) > maxConsoleSQL {
		return refuse("the statement is longer than %d KiB", maxConsoleSQL>>10)
	}
	if !utf8.ValidString(sql) {
		return refuse("the statement is not valid UTF-8")
	}
	toks, err := consoleTokens(sql)
	if err != nil {
		return refuse("%v", err)
	}
	first := ""
	end := len(sql)
	for i, t := range toks {
		switch {
		case t.text == ";":
			if i != len(toks)-1 {
				return refuse("the console runs one statement at a time")
			}
			end = t.pos
		case t.word:
			up := strings.ToUpper(t.text)
			if first == "" {
				first = up
				if !consoleStatements[first] {
					return refuse("only SELECT, WITH, SHOW, DESCRIBE and EXISTS statements run here, and this one is %s", first)
				}
			}
			call := i+1 < len(toks) && toks[i+1].text == "("
			if why, ok := consoleDeniedWords[up]; ok && !(up == "FORMAT" && call) && !nameAt(toks, i) { // format(...) is a string function
				return refuse("%s", why)
			}
			if call && deniedFunction(t.text) {
				return refuse("%s() is not allowed: the console reads the warehouse's own tables, not files, URLs or other servers", t.text)
			}
		case t.quoted && i+1 < len(toks) && toks[i+1].text == "(" && deniedFunction(t.text[1:len(t.text)-1]):
			// A quoted name calls the function too: `url`(...).
			return refuse("%s() is not allowed: the console reads the warehouse's own tables, not files, URLs or other servers", t.text)
		case first == "" && t.text != "(":
			return refuse("the statement must start with SELECT, WITH, SHOW, DESCRIBE or EXISTS")
		}
	}
	if first == "" {
		return refuse("the statement is empty")
	}
	return strings.TrimSpace(sql[:end]), nil
}

// nameAt reports whether the word at toks[i] is a name and not a clause keyword: a part of
// a qualified name (system.settings, settings.x) or an alias (AS format). ClickHouse reads
// none of those as the clause the word starts elsewhere.
func nameAt(toks []consoleToken, i int) bool {
	return i > 0 && (toks[i-1].text == "." || toks[i-1].word && strings.EqualFold(toks[i-1].text, "AS")) ||
		i+1 < len(toks) && toks[i+1].text == "."
}

func deniedFunction(name string) bool {
	n := strings.ToLower(name)
	if consoleDeniedFunctions[n] {
		return true
	}
	for _, p := range consoleDeniedPrefixes {
		if strings.HasPrefix(n, p) {
			return true
		}
	}
	return false
}

// consoleToken is a token of a console statement: a bare word or one punctuation
// character; strings, quoted names and numbers are kept as one token each.
type consoleToken struct {
	text   string
	pos    int
	word   bool
	quoted bool // a name in double quotes or backquotes
}

func consoleTokens(sql string) ([]consoleToken, error) {
	var toks []consoleToken
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case strings.HasPrefix(sql[i:], "--"):
			nl := strings.IndexByte(sql[i:], '\n')
			if nl < 0 {
				i = len(sql)
			} else {
				i += nl + 1
			}
		case strings.HasPrefix(sql[i:], "/*"):
			// Not nested: a release that nests comments ends one later than this, never
			// earlier, so what follows is still checked.
			end := strings.Index(sql[i+2:], "*/")
			if end < 0 {
				return nil, errors.New("a /* comment is not closed")
			}
			i += 2 + end + 2
		case c == '\'' || c == '"' || c == '`':
			j := i + 1
			for ; j < len(sql); j++ {
				if sql[j] == '\\' {
					j++
					continue
				}
				if sql[j] == c {
					if j+1 < len(sql) && sql[j+1] == c { // a doubled quote is the quote itself
						j++
						continue
					}
					break
				}
			}
			if j >= len(sql) {
				return nil, fmt.Errorf("a %c quote is not closed", c)
			}
			toks = append(toks, consoleToken{text: sql[i : j+1], pos: i, quoted: c != '\''})
			i = j + 1
		case isWordByte(c):
			j := i
			for j < len(sql) && (isWordByte(sql[j]) || sql[j] >= '0' && sql[j] <= '9') {
				j++
			}
			toks = append(toks, consoleToken{text: sql[i:j], pos: i, word: true})
			i = j
		case c >= '0' && c <= '9':
			j := i
			for j < len(sql) && (isWordByte(sql[j]) || sql[j] >= '0' && sql[j] <= '9' || sql[j] == '.') {
				j++
			}
			toks = append(toks, consoleToken{text: sql[i:j], pos: i})
			i = j
		default:
			toks = append(toks, consoleToken{text: sql[i : i+1], pos: i})
			i++
		}
	}
	return toks, nil
}

// isWordByte reports whether c may start a bare word: ASCII letters, underscore, and every
// byte of a multi-byte character (ClickHouse accepts those in names; reading them as
// word characters keeps them from splitting a denied name off its parenthesis unseen).
func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x80
}
