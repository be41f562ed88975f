// Package chnative is the warehouse's INSERT path over ClickHouse's native TCP protocol: one
// connection that sends blocks of columns the caller keeps and refills, so that a steady
// stream of INSERTs builds its blocks in memory that is already there.
//
// clickhouse-go, which serves every other query, builds a new block for every INSERT and
// grows each of its columns from empty; for the ETL's batches of 50,000 tweets that growing
// and copying was a quarter of the ETL's CPU. ch-go's columns can be kept and reset, but its
// client does not speak ClickHouse 18.16's protocol revision (it leaves out the client
// information of the query packet below revision 54420). This package uses ch-go's
// codecs for the packets and columns and speaks an old revision itself.
//
// The client announces protocol revision 54405 whatever the server's, and both sides speak
// the lower of the two revisions (ClickHouse keeps old clients working). Below 54406 and
// 54410 a server sends neither log packets nor column-default metadata, so the exchange of
// an INSERT is the same with 18.16 and with today's servers. The query carries
// no settings, since below revision 54429 their values travel in a binary form of each
// setting's type: a caller needing a setting (an INSERT into a Distributed table that must
// wait for its shards) uses clickhouse-go.
package chnative

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/ch-go/compress"
	"github.com/ClickHouse/ch-go/proto"
)

// Revision is the protocol revision the client speaks (see the package comment).
const Revision = 54405

// maxFrame is the most uncompressed bytes in one compressed frame, as clickhouse-client
// sends (max_compress_block_size).
const maxFrame = 1 << 20

// Options configure a connection.
type Options struct {
	Database, User, Password string
	// Compress sends blocks LZ4-compressed (and has the server compress its own).
	Compress bool
	// DialTimeout bounds connecting and the handshake. Default 5s.
	DialTimeout time.Duration
	// ReadTimeout bounds each INSERT's exchange after its query is sent: a server that
	// vanished without closing the connection. Default 5 minutes.
	ReadTimeout time.Duration
	// ClientName names the client in the server's query log. Default "starling".
	ClientName string
}

func (o Options) withDefaults() Options {
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 5 * time.Minute
	}
	if o.ClientName == "" {
		o.ClientName = "starling"
	}
	return o
}

// Exception is an error the server sent.
type Exception struct {
	Code    int32
	Name    string
	Message string
	Stack   string
}

func (e *Exception) Error() string {
	return fmt.Sprintf("code: %d, message: %s", e.Code, e.Message)
}

// ErrProtocol is wrapped by errors about what the server sent: a packet out of place, or
// bytes that do not decode. The connection is broken after one.
var ErrProtocol = errors.New("chnative: protocol")

// ErrUnsent is wrapped by an INSERT's error when the connection failed before any of its
// rows were sent: nothing of it was stored, and it may be tried again on a new connection
// (a kept connection the server closed meanwhile fails so) or another way. A protocol
// error after the rows were sent is not: the server may have stored them.
var ErrUnsent = errors.New("no rows were sent")

// Column is one column of a block to insert: its name, the ClickHouse type it is written
// as, and its values.
type Column struct {
	Name string
	// Type is the column's type as the writer means it. The server's own spelling of the
	// type (from the header it sends for the INSERT) goes on the wire, after a check that
	// it is the same type (Sameish).
	Type string
	Data proto.ColInput
}

// Block is the columns of an INSERT with the memory their encoding takes, kept by the
// caller for the next INSERT into the same table: a stream of INSERTs encodes into memory
// it already has.
type Block struct {
	Columns []Column
	enc     proto.Buffer // the data packet of the columns
	frames  []byte       // its compressed form
	input   []proto.InputColumn
}

// Conn is one connection to a server. Not safe for concurrent use.
type Conn struct {
	nc     net.Conn
	opt    Options
	r      *proto.Reader
	buf    proto.Buffer // the small packets being written: hello, query, empty blocks
	frames []byte       // their compressed form
	cw     *compress.Writer
	rev    int // the revision both sides speak
	server proto.ServerHello
	broken error // why the connection cannot be used again; nil while it can
	header []string
	host   string // this machine's name, for the server's query log
}

// Dial connects to addr and exchanges hellos.
func Dial(ctx context.Context, addr string, opt Options) (*Conn, error) {
	opt = opt.withDefaults()
	d := net.Dialer{Timeout: opt.DialTimeout}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &Conn{nc: nc, opt: opt, r: proto.NewReader(nc)}
	c.host, _ = os.Hostname()
	if opt.Compress {
		c.cw = compress.NewWriter(compress.LevelZero, compress.LZ4)
	}
	stop := c.watch(ctx, opt.DialTimeout)
	err = c.handshake()
	if stop(); err != nil {
		nc.Close()
		if ex := (*Exception)(nil); errors.As(err, &ex) {
			// A server that refuses the hello of a client that clickhouse-go has just
			// connected as (the warehouse opens with it first) refuses this client.
			return nil, fmt.Errorf("chnative: %s refused the hello: %w: %w", addr, ErrProtocol, err)
		}
		return nil, fmt.Errorf("chnative: hello to %s: %w", addr, err)
	}
	return c, nil
}

// watch bounds the exchange that follows by timeout and by ctx: either ends it by setting
// the connection's deadline in the past. The returned func ends the watch.
func (c *Conn) watch(ctx context.Context, timeout time.Duration) (stop func()) {
	c.nc.SetDeadline(time.Now().Add(timeout))
	cancel := context.AfterFunc(ctx, func() { c.nc.SetDeadline(time.Unix(1, 0)) })
	return func() { cancel() }
}

func (c *Conn) handshake() error {
	c.buf.Reset()
	proto.ClientHello{
		Name:            c.opt.ClientName,
		Major:           1,
		Minor:           0,
		ProtocolVersion: Revision,
		Database:        c.opt.Database,
		User:            c.opt.User,
		Password:        c.opt.Password,
	}.Encode(&c.buf)
	if _, err := c.nc.Write(c.buf.Buf); err != nil {
		return err
	}
	code, err := c.r.UVarInt()
	if err != nil {
		return err
	}
	switch proto.ServerCode(code) {
	case proto.ServerCodeHello:
		if err := c.serverHello(); err != nil {
			return fmt.Errorf("%w: server hello: %w", ErrProtocol, err)
		}
		c.rev = min(Revision, c.server.Revision)
		return nil
	case proto.ServerCodeException:
		return c.exception()
	default:
		return fmt.Errorf("%w: packet %d in answer to hello", ErrProtocol, code)
	}
}

// serverHello reads the server's hello after its packet code, in the form the server
// writes for a client of Revision (ch-go's ServerHello would read a string of any length
// a server claims).
func (c *Conn) serverHello() (err error) {
	h := &c.server
	if h.Name, err = c.str(); err != nil {
		return err
	}
	for _, v := range []*int{&h.Major, &h.Minor, &h.Revision} {
		if *v, err = c.r.Int(); err != nil {
			return err
		}
	}
	if proto.FeatureTimezone.In(Revision) {
		if h.Timezone, err = c.str(); err != nil {
			return err
		}
	}
	if proto.FeatureDisplayName.In(Revision) {
		if h.DisplayName, err = c.str(); err != nil {
			return err
		}
	}
	if proto.FeatureVersionPatch.In(Revision) {
		h.Patch, err = c.r.Int()
	}
	return err
}

// maxString is the longest string the client reads from a server: names, types and
// exceptions with their stack traces.
const maxString = 4 << 20

// str reads a string of at most maxString bytes.
func (c *Conn) str() (string, error) {
	n, err := c.r.StrLen()
	if err != nil {
		return "", err
	}
	if n > maxString {
		return "", fmt.Errorf("a string of %d bytes", n)
	}
	b, err := c.r.ReadRaw(n)
	return string(b), err
}

// Server is the server's name and version, as its hello said.
func (c *Conn) Server() string {
	return fmt.Sprintf("%s %d.%d.%d (revision %d)", c.server.Name, c.server.Major, c.server.Minor, c.server.Patch, c.server.Revision)
}

// Broken reports why the connection cannot be used again (nil while it can): an error
// left the exchange in an unknown state.
func (c *Conn) Broken() error { return c.broken }

// Close closes the connection.
func (c *Conn) Close() error { return c.nc.Close() }

// Insert runs INSERT INTO table (the block's column names) with the block's rows, and
// returns once the server has stored them. Every column must hold the same number of rows.
// On an error the connection is broken unless the server refused the INSERT with an
// exception before any row was sent.
func (c *Conn) Insert(ctx context.Context, table string, b *Block) (err error) {
	cols := b.Columns
	if c.broken != nil {
		return fmt.Errorf("chnative: connection unusable after an earlier error: %w", c.broken)
	}
	rows := 0
	if len(cols) > 0 {
		rows = cols[0].Data.Rows()
	}
	for _, col := range cols {
		if col.Data.Rows() != rows {
			return fmt.Errorf("chnative: insert into %s: column %s has %d rows, %s has %d", table, col.Name, col.Data.Rows(), cols[0].Name, rows)
		}
	}
	stop := c.watch(ctx, c.opt.ReadTimeout)
	defer stop()
	refused := false
	defer func() {
		if err != nil && !refused {
			if ctx.Err() != nil {
				err = fmt.Errorf("%w (%w)", ctx.Err(), err)
			}
			c.broken = err
		}
	}()

	c.buf.Reset()
	c.frames = c.frames[:0]
	c.query(insertQuery(table, cols))
	if err := c.data(&c.buf, &c.frames, nil, 0); err != nil { // no external tables
		return err
	}
	if err := c.send(c.out()); err != nil {
		return fmt.Errorf("chnative: send insert into %s: %w: %w", table, ErrUnsent, err)
	}
	if err := c.readHeader(); err != nil {
		var ex *Exception
		if refused = errors.As(err, &ex); refused {
			return fmt.Errorf("chnative: insert into %s: %w", table, err)
		}
		return fmt.Errorf("chnative: insert into %s: %w: %w", table, ErrUnsent, err)
	}
	if err := c.check(table, cols); err != nil {
		// The server waits for the INSERT's data; the connection cannot be used again.
		return err
	}
	b.enc.Reset()
	b.frames = b.frames[:0]
	if rows > 0 {
		if err := c.data(&b.enc, &b.frames, b, rows); err != nil {
			return fmt.Errorf("chnative: insert into %s: %w", table, err)
		}
	}
	c.buf.Reset()
	c.frames = c.frames[:0]
	if err := c.data(&c.buf, &c.frames, nil, 0); err != nil { // the end of the data
		return err
	}
	out := net.Buffers{c.out()}
	if rows > 0 {
		out = net.Buffers{b.enc.Buf, c.out()}
		if c.opt.Compress {
			out[0] = b.frames
		}
	}
	if err := c.send(out...); err != nil {
		return fmt.Errorf("chnative: send %d rows into %s: %w", rows, table, err)
	}
	if err := c.readEnd(); err != nil {
		return fmt.Errorf("chnative: insert %d rows into %s: %w", rows, table, err)
	}
	return nil
}

// insertQuery is the INSERT statement of cols.
func insertQuery(table string, cols []Column) string {
	var b strings.Builder
	b.WriteString("INSERT INTO ")
	b.WriteString(table)
	b.WriteString(" (")
	for i, col := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(col.Name)
	}
	b.WriteString(") VALUES")
	return b.String()
}

// query appends a query packet. ch-go's Query leaves out the client information below
// revision 54420, where the server expects it from revision 54032 on.
func (c *Conn) query(sql string) {
	c.buf.PutUVarInt(uint64(proto.ClientCodeQuery))
	c.buf.PutString("") // query id: the server makes one
	proto.ClientInfo{
		Query:           proto.ClientQueryInitial,
		InitialAddress:  "0.0.0.0:0",
		Interface:       proto.InterfaceTCP,
		OSUser:          os.Getenv("USER"),
		ClientHostname:  c.host,
		ClientName:      c.opt.ClientName,
		Major:           1,
		Minor:           0,
		ProtocolVersion: Revision,
	}.EncodeAware(&c.buf, c.rev)
	c.buf.PutString("") // no settings
	c.buf.PutUVarInt(uint64(proto.StageComplete))
	if c.opt.Compress {
		c.buf.PutUVarInt(uint64(proto.CompressionEnabled))
	} else {
		c.buf.PutUVarInt(uint64(proto.CompressionDisabled))
	}
	c.buf.PutString(sql)
}

// data appends to buf a data packet of b's columns (nil: the empty block that ends a
// stream of blocks) and, when the connection compresses, moves it to frames compressed.
func (c *Conn) data(buf *proto.Buffer, frames *[]byte, b *Block, rows int) error {
	buf.PutUVarInt(uint64(proto.ClientCodeData))
	buf.PutString("") // table name: only external tables have one
	start := len(buf.Buf)
	var input []proto.InputColumn
	if b != nil {
		// Room for the whole block at once: growing by each column's share would copy
		// what the columns before it wrote, once per column.
		size := 64
		for _, col := range b.Columns {
			size += len(col.Name) + len(col.Type) + 4 + encodedSize(col)
		}
		buf.Buf = slices.Grow(buf.Buf, size)
		b.input = b.input[:0]
		for i, col := range b.Columns {
			b.input = append(b.input, proto.InputColumn{Name: col.Name, Data: typed{ColInput: col.Data, t: proto.ColumnType(c.header[i])}})
		}
		input = b.input
	}
	block := proto.Block{Info: proto.BlockInfo{BucketNum: -1}, Columns: len(input), Rows: rows}
	if err := block.EncodeBlock(buf, c.rev, input); err != nil {
		return fmt.Errorf("encode block: %w", err)
	}
	if !c.opt.Compress {
		return nil
	}
	// What precedes the block as it is, then the block in compressed frames.
	*frames = append(*frames, buf.Buf[:start]...)
	for raw := buf.Buf[start:]; len(raw) > 0; {
		n := min(len(raw), maxFrame)
		if err := c.cw.Compress(raw[:n]); err != nil {
			return fmt.Errorf("compress block: %w", err)
		}
		*frames = append(*frames, c.cw.Data...)
		raw = raw[n:]
	}
	return nil
}

// typed is a column written under the server's spelling of its type.
type typed struct {
	proto.ColInput
	t proto.ColumnType
}

func (t typed) Type() proto.ColumnType { return t.t }

// out is what query and data appended to the connection's own buffer, in the form it is
// sent.
func (c *Conn) out() []byte {
	if c.opt.Compress {
		return c.frames
	}
	return c.buf.Buf
}

// send writes bufs in one go.
func (c *Conn) send(bufs ...[]byte) error {
	out := net.Buffers(bufs)
	_, err := out.WriteTo(c.nc)
	return err
}

// readHeader reads the server's answer to an INSERT query up to the block that names the
// columns it expects, into c.header (name, type pairs).
func (c *Conn) readHeader() error {
	return c.readUntil(proto.ServerCodeData, "before the insert's header")
}

// readEnd reads the server's answer to the INSERT's data, up to its end of stream.
func (c *Conn) readEnd() error {
	return c.readUntil(proto.ServerCodeEndOfStream, "after the insert's data")
}

// readUntil reads packets up to one of code want (a header block, or the end of the
// stream), skipping progress and profile packets; an exception is returned as an
// *Exception. where says when, for the error about a packet out of place.
func (c *Conn) readUntil(want proto.ServerCode, where string) error {
	for {
		code, err := c.r.UVarInt()
		if err != nil {
			return err
		}
		switch got := proto.ServerCode(code); {
		case got == want && want == proto.ServerCodeData:
			return c.readBlockHeader()
		case got == want:
			return nil
		case got == proto.ServerCodeException:
			return c.exception()
		case got == proto.ServerCodeProgress:
			var p proto.Progress
			if err := p.DecodeAware(c.r, c.rev); err != nil {
				return fmt.Errorf("%w: progress: %w", ErrProtocol, err)
			}
		case got == proto.ServerCodeProfile:
			var p proto.Profile
			if err := p.DecodeAware(c.r, c.rev); err != nil {
				return fmt.Errorf("%w: profile: %w", ErrProtocol, err)
			}
		default:
			return fmt.Errorf("%w: packet %d %s", ErrProtocol, code, where)
		}
	}
}

// readBlockHeader reads a data block of no rows: the column names and types an INSERT
// expects.
func (c *Conn) readBlockHeader() error {
	if _, err := c.str(); err != nil { // table name
		return fmt.Errorf("%w: header block: %w", ErrProtocol, err)
	}
	if c.opt.Compress {
		c.r.EnableCompression()
		defer c.r.DisableCompression()
	}
	var info proto.BlockInfo
	if err := info.Decode(c.r); err != nil {
		return fmt.Errorf("%w: header block info: %w", ErrProtocol, err)
	}
	cols, err := c.r.UVarInt()
	if err != nil {
		return fmt.Errorf("%w: header block: %w", ErrProtocol, err)
	}
	rows, err := c.r.UVarInt()
	if err != nil {
		return fmt.Errorf("%w: header block: %w", ErrProtocol, err)
	}
	if rows != 0 || cols > 10000 {
		return fmt.Errorf("%w: header block of %d columns and %d rows", ErrProtocol, cols, rows)
	}
	c.header = c.header[:0]
	for range cols {
		name, err := c.str()
		if err != nil {
			return fmt.Errorf("%w: header column: %w", ErrProtocol, err)
		}
		typ, err := c.str()
		if err != nil {
			return fmt.Errorf("%w: header column %s: %w", ErrProtocol, name, err)
		}
		c.header = append(c.header, name, typ)
	}
	return nil
}

// check compares the server's header (name, type pairs in c.header) with cols, and keeps
// the server's types alone in c.header.
func (c *Conn) check(table string, cols []Column) error {
	if len(c.header) != 2*len(cols) {
		return fmt.Errorf("chnative: insert into %s: the server expects %d columns, not %d", table, len(c.header)/2, len(cols))
	}
	types := make([]string, len(cols))
	for i, col := range cols {
		name, typ := c.header[2*i], c.header[2*i+1]
		if name != col.Name {
			return fmt.Errorf("chnative: insert into %s: column %d is %s on the server, not %s", table, i, name, col.Name)
		}
		if !Sameish(typ, col.Type) {
			return fmt.Errorf("chnative: insert into %s: column %s is %s on the server; the warehouse writes %s (migrate the schema)", table, name, typ, col.Type)
		}
		types[i] = typ
	}
	c.header = append(c.header[:0], types...)
	return nil
}

// Sameish reports whether the server's type server and the writer's type mine are written
// alike: equal, both an Enum8 (whose values the server checks), or both a DateTime (in any
// time zone: the values are seconds since the epoch).
func Sameish(server, mine string) bool {
	if server == mine {
		return true
	}
	base := func(t string) string {
		if i := strings.IndexByte(t, '('); i >= 0 {
			return t[:i]
		}
		return t
	}
	switch base(server) {
	case "Enum8", "DateTime":
		return base(server) == base(mine)
	}
	return false
}

// exception reads an exception packet (and those nested in it) and returns it as an
// *Exception, the outer one's message followed by the nested ones'.
func (c *Conn) exception() error {
	var first *Exception
	for {
		var e Exception
		var err error
		if e.Code, err = c.r.Int32(); err == nil {
			if e.Name, err = c.str(); err == nil {
				if e.Message, err = c.str(); err == nil {
					e.Stack, err = c.str()
				}
			}
		}
		if err != nil {
			return fmt.Errorf("%w: exception: %w", ErrProtocol, err)
		}
		if first == nil {
			first = &e
		} else {
			first.Message += "; " + e.Message
		}
		nested, err := c.r.Bool()
		if err != nil {
			return fmt.Errorf("%w: exception: %w", ErrProtocol, err)
		}
		if !nested {
			return first
		}
	}
}
