package chnative

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go/proto"

	"github.com/starling-analytics/starling/warehouse/chlocal"
)

// server starts a ClickHouse server of its own for the test.
func server(t *testing.T) *chlocal.Server {
	t.Helper()
	s, err := chlocal.Start(context.Background(), chlocal.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// client runs sql with clickhouse-client and returns its output (TSV).
func client(t *testing.T, s *chlocal.Server, sql string) string {
	t.Helper()
	_, port, _ := net.SplitHostPort(s.Addr())
	out, err := exec.Command("clickhouse-client", "--port", port, "--query", sql).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v: %s", sql, err, out)
	}
	return strings.TrimSpace(string(out))
}

const allTypes = `CREATE TABLE default.all_types (
	u64 UInt64, i64 Int64, i32 Int32, u32 UInt32, u8 UInt8,
	label Enum8('negative' = -1, 'neutral' = 0, 'positive' = 1),
	f32 Float32, f64 Float64, s String, at DateTime,
	words Array(String), ids Array(UInt64),
	s_ref String, words_ref Array(String),
	filled DateTime DEFAULT now()
) ENGINE = MergeTree ORDER BY u64`

// columns is a block of every type the warehouse writes, kept and refilled like the
// warehouse's own.
type columns struct {
	u64   proto.ColUInt64
	i64   proto.ColInt64
	i32   proto.ColInt32
	u32   proto.ColUInt32
	u8    proto.ColUInt8
	label proto.ColInt8
	f32   proto.ColFloat32
	f64   proto.ColFloat64
	s     proto.ColStr
	at    proto.ColDateTime
	words *proto.ColArr[string]
	ids   *proto.ColArr[uint64]
	sRef  StrRefs
	wRef  StrArrRefs
}

func newColumns() *columns {
	return &columns{words: proto.NewArray[string](new(proto.ColStr)), ids: proto.NewArray[uint64](new(proto.ColUInt64))}
}

func (c *columns) fill(from, n int) {
	for _, r := range []proto.Resettable{&c.u64, &c.i64, &c.i32, &c.u32, &c.u8, &c.label, &c.f32, &c.f64, &c.s, &c.at, c.words, c.ids, &c.sRef, &c.wRef} {
		r.Reset()
	}
	for i := from; i < from+n; i++ {
		c.u64.Append(uint64(i) << 40)
		c.i64.Append(-int64(i))
		c.i32.Append(int32(i))
		c.u32.Append(uint32(i))
		c.u8.Append(uint8(i))
		c.label.Append(int8(i%3 - 1))
		c.f32.Append(float32(i) / 4)
		c.f64.Append(float64(i) / 8)
		c.s.Append(fmt.Sprintf("tweet %d: \t\"quoted\" ✓", i))
		c.at.Append(time.Unix(1700000000+int64(i), 0))
		c.words.Append(strings.Fields(strings.Repeat("w ", i%4)))
		c.ids.Append([]uint64{uint64(i), uint64(i) + 1}[:i%3%2+1])
		c.sRef.Append(fmt.Sprintf("tweet %d: \t\"quoted\" ✓", i))
		c.wRef.Append(strings.Fields(strings.Repeat("w ", i%4)))
	}
}

func (c *columns) list() *Block {
	return &Block{Columns: []Column{
		{"u64", "UInt64", &c.u64}, {"i64", "Int64", &c.i64}, {"i32", "Int32", &c.i32},
		{"u32", "UInt32", &c.u32}, {"u8", "UInt8", &c.u8},
		{"label", "Enum8('negative' = -1, 'neutral' = 0, 'positive' = 1)", &c.label},
		{"f32", "Float32", &c.f32}, {"f64", "Float64", &c.f64}, {"s", "String", &c.s},
		{"at", "DateTime", &c.at}, {"words", "Array(String)", c.words}, {"ids", "Array(UInt64)", c.ids},
		{"s_ref", "String", &c.sRef}, {"words_ref", "Array(String)", &c.wRef},
	}}
}

// TestInsertEveryTypeTheWarehouseWrites inserts blocks of every column type the warehouse
// writes, compressed and not, on one connection after another, and reads them back with
// clickhouse-client.
func TestInsertEveryTypeTheWarehouseWrites(t *testing.T) {
	t.Parallel()
	s := server(t)
	client(t, s, allTypes)
	ctx := context.Background()
	cols := newColumns()
	block := cols.list() // kept for every INSERT, as the warehouse keeps its blocks
	next := 0
	for _, compress := range []bool{false, true} {
		conn, err := Dial(ctx, s.Addr(), Options{Database: "default", User: "default", Compress: compress})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("compress %v: %s", compress, conn.Server())
		// Two INSERTs per connection; the second block larger than a compressed frame.
		for _, n := range []int{3, 40000} {
			cols.fill(next, n)
			if err := conn.Insert(ctx, "all_types", block); err != nil {
				t.Fatalf("compress %v, %d rows: %v", compress, n, err)
			}
			next += n
		}
		conn.Close()
	}
	if got := client(t, s, "SELECT count() FROM all_types WHERE s_ref != s OR words_ref != words"); got != "0" {
		t.Errorf("%s rows whose columns of strings by reference differ from ch-go's", got)
	}
	if got, want := client(t, s, "SELECT count(), sum(i32), uniqExact(s), sum(length(words)), sum(length(ids)), countIf(filled > 0) FROM all_types"),
		fmt.Sprintf("%d\t%d\t%d\t%d\t%d\t%d", next, next*(next-1)/2, next, wordsUpTo(next), idsUpTo(next), next); got != want {
		t.Errorf("sums: got %s, want %s", got, want)
	}
	got := client(t, s, "SELECT u64, i64, i32, u32, u8, label, f32, f64, s, at, words, ids FROM all_types WHERE i32 IN (0, 1, 2, 40004) ORDER BY u64 FORMAT TSV")
	want := strings.Join([]string{
		"0\t0\t0\t0\t0\tnegative\t0\t0\ttweet 0: \\t\"quoted\" ✓\t" + dateTime(0) + "\t[]\t[0]",
		"1099511627776\t-1\t1\t1\t1\tneutral\t0.25\t0.125\ttweet 1: \\t\"quoted\" ✓\t" + dateTime(1) + "\t['w']\t[1,2]",
		"2199023255552\t-2\t2\t2\t2\tpositive\t0.5\t0.25\ttweet 2: \\t\"quoted\" ✓\t" + dateTime(2) + "\t['w','w']\t[2]",
		"43984863157551104\t-40004\t40004\t40004\t68\tpositive\t10001\t5000.5\ttweet 40004: \\t\"quoted\" ✓\t" + dateTime(40004) + "\t[]\t[40004]",
	}, "\n")
	if got != want {
		t.Errorf("rows:\n%s\nwant\n%s", got, want)
	}
}

func dateTime(i int) string {
	return time.Unix(1700000000+int64(i), 0).Local().Format(time.DateTime)
}

func wordsUpTo(n int) (sum int) {
	for i := range n {
		sum += i % 4
	}
	return sum
}

func idsUpTo(n int) (sum int) {
	for i := range n {
		sum += i%3%2 + 1
	}
	return sum
}

// TestInsertErrors: a refused INSERT leaves the connection usable; a block that does not
// fit the table, a cancelled context and a server that is gone break it with an error.
func TestInsertErrors(t *testing.T) {
	t.Parallel()
	s := server(t)
	client(t, s, allTypes)
	ctx := context.Background()
	conn, err := Dial(ctx, s.Addr(), Options{Database: "default", User: "default"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cols := newColumns()
	cols.fill(0, 10)

	err = conn.Insert(ctx, "no_such_table", cols.list())
	var ex *Exception
	if !errors.As(err, &ex) || ex.Code != 60 || !strings.Contains(ex.Message, "no_such_table") {
		t.Fatalf("insert into a missing table: %v, want exception 60 naming it", err)
	}
	if conn.Broken() != nil {
		t.Fatalf("a refused INSERT broke the connection: %v", conn.Broken())
	}
	if err := conn.Insert(ctx, "all_types", cols.list()); err != nil {
		t.Fatalf("insert after a refused one: %v", err)
	}

	conn.Close()

	// A column the server has under another type.
	conn, err = Dial(ctx, s.Addr(), Options{Database: "default", User: "default"})
	if err != nil {
		t.Fatal(err)
	}
	list := cols.list()
	list.Columns[2].Type = "Int64" // i32 is Int32 on the server
	list.Columns[2].Data = &cols.i64
	err = conn.Insert(ctx, "all_types", list)
	if err == nil || !strings.Contains(err.Error(), "column i32 is Int32 on the server; the warehouse writes Int64") {
		t.Fatalf("insert with a wrong type: %v", err)
	}
	if conn.Broken() == nil {
		t.Fatal("a connection left waiting for data is not marked broken")
	}
	if err := conn.Insert(ctx, "all_types", cols.list()); err == nil {
		t.Fatal("a broken connection inserted")
	}
	conn.Close()

	// Rows of unequal length.
	conn, err = Dial(ctx, s.Addr(), Options{Database: "default", User: "default"})
	if err != nil {
		t.Fatal(err)
	}
	cols.s.Append("one more")
	if err := conn.Insert(ctx, "all_types", cols.list()); err == nil || !strings.Contains(err.Error(), "column s has 11 rows") {
		t.Fatalf("unequal columns: %v", err)
	}

	// A cancelled context.
	cols.fill(0, 10)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := conn.Insert(cctx, "all_types", cols.list()); !errors.Is(err, context.Canceled) || conn.Broken() == nil {
		t.Fatalf("insert under a cancelled context: %v (broken: %v)", err, conn.Broken())
	}
	conn.Close()

	// A server that is gone.
	conn, err = Dial(ctx, s.Addr(), Options{Database: "default", User: "default"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	s.Kill()
	<-s.Done()
	if err := conn.Insert(ctx, "all_types", cols.list()); err == nil || conn.Broken() == nil {
		t.Fatalf("insert into a killed server: %v", err)
	}
	if _, err := Dial(ctx, s.Addr(), Options{}); err == nil {
		t.Fatal("dialled a killed server")
	}
}

// TestDialRefusedLogin: a wrong password is the server's exception.
func TestDialRefusedLogin(t *testing.T) {
	t.Parallel()
	s := server(t)
	_, err := Dial(context.Background(), s.Addr(), Options{User: "default", Password: "wrong"})
	var ex *Exception
	if !errors.As(err, &ex) || ex.Code != 193 && ex.Code != 516 {
		t.Fatalf("dial with a wrong password: %v, want the server's exception", err)
	}
}

func TestSameish(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		server, mine string
		want         bool
	}{
		{"UInt64", "UInt64", true},
		{"UInt64", "Int64", false},
		{"DateTime", "DateTime", true},
		{"DateTime('UTC')", "DateTime", true},
		{"DateTime", "DateTime('Europe/Paris')", true},
		{"DateTime64(3)", "DateTime", false},
		{"Enum8('a' = 1)", "Enum8('a'=1)", true},
		{"Enum16('a' = 1)", "Enum8('a' = 1)", false},
		{"Array(String)", "Array(String)", true},
		{"Array(String)", "Array(UInt64)", false},
		{"LowCardinality(String)", "String", false},
	} {
		if got := Sameish(c.server, c.mine); got != c.want {
			t.Errorf("Sameish(%q, %q) = %v, want %v", c.server, c.mine, got, c.want)
		}
	}
}

// pipeConn is a net.Conn that reads a fixed answer and discards what is written.
type pipeConn struct {
	net.Conn
	r *bytes.Reader
}

func (p pipeConn) Read(b []byte) (int, error)       { return p.r.Read(b) }
func (p pipeConn) Write(b []byte) (int, error)      { return len(b), nil }
func (p pipeConn) SetDeadline(time.Time) error      { return nil }
func (p pipeConn) SetReadDeadline(time.Time) error  { return nil }
func (p pipeConn) SetWriteDeadline(time.Time) error { return nil }
func (p pipeConn) Close() error                     { return nil }

// FuzzServerAnswers feeds arbitrary bytes as the server's side of a hello and an INSERT:
// the client returns an error or succeeds, and never panics or hangs.
func FuzzServerAnswers(f *testing.F) {
	var hello proto.Buffer
	(&proto.ServerHello{Name: "ClickHouse", Major: 18, Minor: 16, Revision: 54412, Timezone: "UTC", DisplayName: "x", Patch: 1}).EncodeAware(&hello, Revision)
	var header proto.Buffer
	header.PutUVarInt(uint64(proto.ServerCodeData))
	header.PutString("")
	proto.Block{Info: proto.BlockInfo{BucketNum: -1}, Columns: 1, Rows: 0}.EncodeAware(&header, Revision)
	header.PutString("n")
	header.PutString("UInt64")
	var end proto.Buffer
	end.PutUVarInt(uint64(proto.ServerCodeProgress))
	end.PutUVarInt(1)
	end.PutUVarInt(8)
	end.PutUVarInt(0)
	end.PutUVarInt(uint64(proto.ServerCodeEndOfStream))
	var ex proto.Buffer
	ex.PutUVarInt(uint64(proto.ServerCodeException))
	ex.PutInt32(60)
	ex.PutString("DB::Exception")
	ex.PutString("Table default.x doesn't exist.")
	ex.PutString("")
	ex.PutBool(true)
	ex.PutInt32(1)
	ex.PutString("Poco::Exception")
	ex.PutString("nested")
	ex.PutString("")
	ex.PutBool(false)
	f.Add(append(append(bytes.Clone(hello.Buf), header.Buf...), end.Buf...))
	f.Add(append(bytes.Clone(hello.Buf), ex.Buf...))
	f.Add(append(append(bytes.Clone(hello.Buf), header.Buf...), ex.Buf...))
	f.Fuzz(func(t *testing.T, answer []byte) {
		c := &Conn{nc: pipeConn{r: bytes.NewReader(answer)}, opt: Options{}.withDefaults()}
		c.r = proto.NewReader(c.nc)
		if err := c.handshake(); err != nil {
			return
		}
		var n proto.ColUInt64
		n.Append(1)
		c.Insert(context.Background(), "x", &Block{Columns: []Column{{Name: "n", Type: "UInt64", Data: &n}}})
	})
}

// TestEncodedSize: the size a block reserves is the size its columns encode to, for the
// columns the warehouse writes.
func TestEncodedSize(t *testing.T) {
	t.Parallel()
	cols := newColumns()
	cols.fill(0, 300)
	cols.sRef.Append(strings.Repeat("x", 200)) // a length of two bytes
	cols.sRef = cols.sRef[:300]
	cols.sRef[7] = strings.Repeat("y", 20000) // and of three
	for _, col := range cols.list().Columns {
		if col.Name == "s" || col.Name == "words" || col.Name == "ids" {
			continue // ch-go's own columns: the estimate is the fallback's
		}
		var b proto.Buffer
		col.Data.EncodeColumn(&b)
		if got := encodedSize(col); got != len(b.Buf) {
			t.Errorf("%s: encodedSize %d, encoded %d bytes", col.Name, got, len(b.Buf))
		}
	}
}

// TestProtocolErrorsSayWhetherRowsWereSent: what the server says that the client does not
// understand before the INSERT's rows go is an ErrUnsent (they can go another way); after,
// it is not (the server may have stored them).
func TestProtocolErrorsSayWhetherRowsWereSent(t *testing.T) {
	t.Parallel()
	var hello, header proto.Buffer
	(&proto.ServerHello{Name: "ClickHouse", Major: 18, Minor: 16, Revision: 54412, Timezone: "UTC", DisplayName: "x", Patch: 1}).EncodeAware(&hello, Revision)
	header.PutUVarInt(uint64(proto.ServerCodeData))
	header.PutString("")
	proto.Block{Info: proto.BlockInfo{BucketNum: -1}, Columns: 1, Rows: 0}.EncodeAware(&header, Revision)
	header.PutString("n")
	header.PutString("UInt64")
	junk := []byte{99}
	for _, c := range []struct {
		name   string
		answer []byte
		unsent bool
	}{
		{"junk for a header", append(bytes.Clone(hello.Buf), junk...), true},
		{"junk after the rows", append(append(bytes.Clone(hello.Buf), header.Buf...), junk...), false},
	} {
		conn := &Conn{nc: pipeConn{r: bytes.NewReader(c.answer)}, opt: Options{}.withDefaults()}
		conn.r = proto.NewReader(conn.nc)
		if err := conn.handshake(); err != nil {
			t.Fatalf("%s: hello: %v", c.name, err)
		}
		var n proto.ColUInt64
		n.Append(1)
		err := conn.Insert(context.Background(), "x", &Block{Columns: []Column{{Name: "n", Type: "UInt64", Data: &n}}})
		if !errors.Is(err, ErrProtocol) || errors.Is(err, ErrUnsent) != c.unsent {
			t.Errorf("%s: %v; want a protocol error, unsent %v", c.name, err, c.unsent)
		}
		if conn.Broken() == nil {
			t.Errorf("%s: the connection is not broken", c.name)
		}
	}
}
