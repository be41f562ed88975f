package broker

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
)

// castagnoli is the CRC-32C table of the index files' checksums (the one Kafka uses).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Closed segments keep a sparse index on disk, N.index beside N.log: one entry for the
// first batch at or after every indexInterval bytes of log, each with the offsets, position
// and size of that batch and the largest timestamp seen up to it. It is written (and
// fsynced) when the segment is rolled, so opening a partition reads a few kilobytes per
// segment instead of every batch header, and memory holds one entry per indexInterval
// bytes instead of one per batch. The active segment keeps an entry per batch in memory
// and is rebuilt by scanning (and CRC-checking) it at start. An index file that is missing,
// torn or inconsistent with its log is rebuilt from the log: indexes are never trusted
// over the data.

// indexInterval is the log bytes between two sparse index entries.
const indexInterval = 4096

const (
	indexMagic      = "SLIDX001"
	indexEntrySize  = 8 + 8 + 8 + 4 + 8 // base, last, pos, size, maxTS
	indexFooterSize = 8 + 8 + 8 + 4     // last offset, max timestamp, log size, crc
)

func indexName(base int64) string { return fmt.Sprintf("%020d.index", base) }

// sparse returns every entry that starts a new indexInterval of the log, with maxTS
// replaced by the running maximum (so a time lookup never skips past a newer batch).
func sparse(entries []indexEntry) []indexEntry {
	var out []indexEntry
	var runningMax int64
	next := int64(0)
	for _, e := range entries {
		runningMax = max(runningMax, e.maxTS)
		if e.pos >= next || len(out) == 0 {
			e.maxTS = runningMax
			out = append(out, e)
			next = e.pos + indexInterval
		} else {
			out[len(out)-1].maxTS = runningMax
		}
	}
	return out
}

// writeIndex stores a closed segment's sparse index, atomically.
func writeIndex(dir string, s *segment) error {
	buf := make([]byte, 0, len(indexMagic)+len(s.index)*indexEntrySize+indexFooterSize)
	buf = append(buf, indexMagic...)
	for _, e := range s.index {
		buf = binary.BigEndian.AppendUint64(buf, uint64(e.base))
		buf = binary.BigEndian.AppendUint64(buf, uint64(e.last))
		buf = binary.BigEndian.AppendUint64(buf, uint64(e.pos))
		buf = binary.BigEndian.AppendUint32(buf, uint32(e.size))
		buf = binary.BigEndian.AppendUint64(buf, uint64(e.maxTS))
	}
	buf = binary.BigEndian.AppendUint64(buf, uint64(s.last))
	buf = binary.BigEndian.AppendUint64(buf, uint64(s.maxTS))
	buf = binary.BigEndian.AppendUint64(buf, uint64(s.size))
	buf = binary.BigEndian.AppendUint32(buf, crc32.Checksum(buf, castagnoli))
	return writeFileAtomic(filepath.Join(dir, indexName(s.base)), buf)
}

var errBadIndex = errors.New("index file does not match its log")

// readIndex loads a closed segment's sparse index and checks it against the log's size.
func readIndex(dir string, base, logSize int64) (entries []indexEntry, last, maxTS int64, err error) {
	data, err := os.ReadFile(filepath.Join(dir, indexName(base)))
	if err != nil {
		return nil, 0, 0, err
	}
	n := len(data) - len(indexMagic) - indexFooterSize
	if n < 0 || n%indexEntrySize != 0 || string(data[:len(indexMagic)]) != indexMagic {
		return nil, 0, 0, errBadIndex
	}
	body := data[:len(data)-4]
	if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(data[len(data)-4:]) {
		return nil, 0, 0, errBadIndex
	}
	footer := data[len(data)-indexFooterSize:]
	last = int64(binary.BigEndian.Uint64(footer[0:]))
	maxTS = int64(binary.BigEndian.Uint64(footer[8:]))
	if int64(binary.BigEndian.Uint64(footer[16:])) != logSize {
		return nil, 0, 0, errBadIndex
	}
	prev := indexEntry{base: base - 1, pos: -1}
	for b := data[len(indexMagic) : len(indexMagic)+n]; len(b) > 0; b = b[indexEntrySize:] {
		e := indexEntry{
			base:  int64(binary.BigEndian.Uint64(b[0:])),
			last:  int64(binary.BigEndian.Uint64(b[8:])),
			pos:   int64(binary.BigEndian.Uint64(b[16:])),
			size:  int32(binary.BigEndian.Uint32(b[24:])),
			maxTS: int64(binary.BigEndian.Uint64(b[28:])),
		}
		if e.base <= prev.base || e.pos <= prev.pos || e.last < e.base || e.pos+int64(e.size) > logSize {
			return nil, 0, 0, errBadIndex
		}
		entries = append(entries, e)
		prev = e
	}
	return entries, last, maxTS, nil
}
