package warehouse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/starling-analytics/starling/warehouse/internal/chnative"
)

// nativeWriter is the warehouse's INSERT path on one server: chnative's connections, and
// each table's block kept from one INSERT to the next, so that a stream of batches fills
// memory it already has instead of growing new columns for every INSERT (clickhouse-go's
// way, which cost the ETL a quarter of its CPU). On a cluster, INSERTs into the Distributed
// tables need a setting chnative does not send, and go through clickhouse-go.
type nativeWriter struct {
	addrs  []string
	opt    chnative.Options
	logger *slog.Logger

	disabled atomic.Bool // set once the server said something chnative did not understand

	mu     sync.Mutex
	idle   []*chnative.Conn // connections free for the next INSERT, at most keptConns
	blocks map[string][]any // free blocks by table name, at most keptBlocks each
	next   int              // the address dialled first next time
}

const (
	keptConns  = 4 // the ETL's batches, deletions and aggregates go in parallel
	keptBlocks = 2
)

func newNativeWriter(addrs []string, opt chnative.Options, logger *slog.Logger) *nativeWriter {
	return &nativeWriter{addrs: addrs, opt: opt, logger: logger, blocks: map[string][]any{}}
}

// on reports whether INSERTs go through the native writer.
func (w *nativeWriter) on() bool { return !w.disabled.Load() }

// off turns the native writer off for good, after the server answered in a way it did not
// understand: the INSERTs go through clickhouse-go, which follows every protocol revision.
func (w *nativeWriter) off(cause error) {
	if !w.disabled.CompareAndSwap(false, true) {
		return
	}
	if w.logger != nil {
		w.logger.Warn("the native INSERT path did not understand the server; inserting through clickhouse-go from now on", "err", cause)
	}
	w.close()
}

// conn returns an idle connection, or a new one to the first address that answers;
// reused tells which.
func (w *nativeWriter) conn(ctx context.Context) (c *chnative.Conn, reused bool, err error) {
	w.mu.Lock()
	if n := len(w.idle); n > 0 {
		c = w.idle[n-1]
		w.idle = w.idle[:n-1]
		w.mu.Unlock()
		return c, true, nil
	}
	first := w.next
	w.mu.Unlock()
	var errs []error
	for i := range w.addrs {
		addr := w.addrs[(first+i)%len(w.addrs)]
		c, err := chnative.Dial(ctx, addr, w.opt)
		if err == nil {
			return c, false, nil
		}
		errs = append(errs, err)
		w.mu.Lock()
		w.next = (first + i + 1) % len(w.addrs)
		w.mu.Unlock()
		if ctx.Err() != nil {
			break
		}
	}
	return nil, false, fmt.Errorf("connect: %w: %w", chnative.ErrUnsent, errors.Join(errs...))
}

// putConn keeps c for the next INSERT, or closes it when it is broken or enough are kept.
func (w *nativeWriter) putConn(c *chnative.Conn) {
	if c.Broken() == nil && !w.disabled.Load() {
		w.mu.Lock()
		if len(w.idle) < keptConns {
			w.idle = append(w.idle, c)
			c = nil
		}
		w.mu.Unlock()
	}
	if c != nil {
		c.Close()
	}
}

// takeBlock returns a free block of table's, or nil.
func (w *nativeWriter) takeBlock(table string) any {
	w.mu.Lock()
	defer w.mu.Unlock()
	free := w.blocks[table]
	if len(free) == 0 {
		return nil
	}
	b := free[len(free)-1]
	w.blocks[table] = free[:len(free)-1]
	return b
}

// putBlock keeps b, a block of table's, for another INSERT into it.
func (w *nativeWriter) putBlock(table string, b any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.blocks[table]) < keptBlocks {
		w.blocks[table] = append(w.blocks[table], b)
	}
}

// dropIdle closes the idle connections.
func (w *nativeWriter) dropIdle() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.idle {
		c.Close()
	}
	w.idle = nil
}

// close closes the idle connections and drops the kept blocks.
func (w *nativeWriter) close() {
	w.dropIdle()
	w.mu.Lock()
	defer w.mu.Unlock()
	clear(w.blocks)
}
