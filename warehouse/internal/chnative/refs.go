package chnative

import (
	"slices"

	"github.com/ClickHouse/ch-go/proto"
)

// Columns of strings held by reference: the values are the caller's strings, which must
// stay unchanged until the INSERT returns, and their bytes are copied once, into the
// block's encoding (ch-go's ColStr copies them into the column first, then again).

// StrRefs is a String column of the caller's strings.
type StrRefs []string

// Append adds a row.
func (c *StrRefs) Append(s string) { *c = append(*c, s) }

// Reset empties the column and lets go of the strings, keeping its memory.
func (c *StrRefs) Reset() { clear(*c); *c = (*c)[:0] }

// Type is String.
func (c StrRefs) Type() proto.ColumnType { return proto.ColumnTypeString }

// Rows is the number of rows.
func (c StrRefs) Rows() int { return len(c) }

// EncodeColumn appends the rows as a String column: each its length (uvarint), then its
// bytes.
func (c StrRefs) EncodeColumn(b *proto.Buffer) {
	n := 0
	for _, s := range c {
		n += len(s)
	}
	b.Buf = slices.Grow(b.Buf, n+len(c))
	for _, s := range c {
		b.PutString(s)
	}
}

// WriteColumn writes the rows as EncodeColumn encodes them.
func (c StrRefs) WriteColumn(w *proto.Writer) { w.ChainBuffer(c.EncodeColumn) }

// StrArrRefs is an Array(String) column of the caller's slices of strings.
type StrArrRefs [][]string

// Append adds a row.
func (c *StrArrRefs) Append(a []string) { *c = append(*c, a) }

// Reset empties the column and lets go of the slices, keeping its memory.
func (c *StrArrRefs) Reset() { clear(*c); *c = (*c)[:0] }

// Type is Array(String).
func (c StrArrRefs) Type() proto.ColumnType { return proto.ColumnTypeString.Array() }

// Rows is the number of rows.
func (c StrArrRefs) Rows() int { return len(c) }

// EncodeColumn appends the rows as an Array(String) column: each row's end among all the
// strings (UInt64), then every string.
func (c StrArrRefs) EncodeColumn(b *proto.Buffer) {
	strs, n := 0, 0
	for _, a := range c {
		strs += len(a)
		for _, s := range a {
			n += len(s)
		}
	}
	b.Buf = slices.Grow(b.Buf, 8*len(c)+n+strs)
	end := uint64(0)
	for _, a := range c {
		end += uint64(len(a))
		b.PutUInt64(end)
	}
	for _, a := range c {
		for _, s := range a {
			b.PutString(s)
		}
	}
}

// WriteColumn writes the rows as EncodeColumn encodes them.
func (c StrArrRefs) WriteColumn(w *proto.Writer) { w.ChainBuffer(c.EncodeColumn) }
