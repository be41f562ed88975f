package chnative

import (
	"math/bits"
	"strings"

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

// EncodedSize is how many bytes EncodeColumn appends.
func (c StrRefs) EncodedSize() int {
	n := 0
	for _, s := range c {
		n += uvarintLen(len(s)) + len(s)
	}
	return n
}

// EncodeColumn appends the rows as a String column: each its length (uvarint), then its
// bytes.
func (c StrRefs) EncodeColumn(b *proto.Buffer) {
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

// EncodedSize is how many bytes EncodeColumn appends.
func (c StrArrRefs) EncodedSize() int {
	n := 8 * len(c)
	for _, a := range c {
		for _, s := range a {
			n += uvarintLen(len(s)) + len(s)
		}
	}
	return n
}

// EncodeColumn appends the rows as an Array(String) column: each row's end among all the
// strings (UInt64), then every string.
func (c StrArrRefs) EncodeColumn(b *proto.Buffer) {
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

// uvarintLen is the length of n's uvarint encoding.
func uvarintLen(n int) int { return (bits.Len64(uint64(n)|1) + 6) / 7 }

// encodedSize is how many bytes col's encoding takes: exact for a column that says so,
// else its rows times the width of its type's values (8 bytes for a type it does not know).
func encodedSize(col Column) int {
	if s, ok := col.Data.(interface{ EncodedSize() int }); ok {
		return s.EncodedSize()
	}
	width := 8
	switch t := col.Type; {
	case t == "UInt8" || t == "Int8" || strings.HasPrefix(t, "Enum8("):
		width = 1
	case t == "UInt16" || t == "Int16" || t == "Date" || strings.HasPrefix(t, "Enum16("):
		width = 2
	case t == "UInt32" || t == "Int32" || t == "Float32" || strings.HasPrefix(t, "DateTime"):
		width = 4
	}
	return col.Data.Rows() * width
}
