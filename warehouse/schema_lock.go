package warehouse

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Several processes migrate one warehouse when ETL replicas start together. Each statement
// of a migration may run twice, but not interleaved with a later migration: a replica still
// turning version 2's tables into views could drop the view version 4 had just replaced.
// So migrations run in one process at a time, under a lock held in ClickHouse itself: on
// one server, that server; on a cluster, the first server the cluster lists (the first
// replica of its first shard, as system.clusters orders them on every server), so that every
// process asks the same one, and its ON CLUSTER statements run one process's at a time.
//
// The lock is a table: only one CREATE TABLE of a name succeeds. Its owner adds a row with
// its token every lockBeat while it migrates and drops the table when done. A lock whose
// newest row is older than lockStale (by the server's clock) was left by a process that
// died, and is taken over; a process that lost its connection mid-migration (ClickHouse
// restarted) finds its own token there and goes on.
const (
	schemaLock = "schema_migration_lock"
	lockBeat   = 2 * time.Second
	lockStale  = 30 * time.Second
	lockRetry  = 250 * time.Millisecond
)

// ClickHouse's error codes for a table that is there, and one that is not.
const (
	codeTableExists = 57 // TABLE_ALREADY_EXISTS
	codeTableGone   = 60 // UNKNOWN_TABLE
)

// migrateMu keeps migrations to one goroutine of this process at a time: the lock in
// ClickHouse tells processes apart, by processToken, not goroutines.
var migrateMu sync.Mutex

// processToken identifies this process as the owner of the schema lock.
var processToken = func() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}()

// errLockLost is returned when another process took the schema lock over while this one
// held it (this one stalled for longer than lockStale).
var errLockLost = errors.New("warehouse: another process took the schema lock over")

// schemaLockHeld is the schema lock while this process holds it.
type schemaLockHeld struct {
	conn driver.Conn // to the server holding the lock
	stop context.CancelFunc
	done chan struct{}
}

// lockServer returns the connection to the server that holds the schema lock.
func (db *DB) lockServer() (driver.Conn, error) {
	if db.topo == nil {
		return db.conn, nil
	}
	return db.connTo(db.topo.shards[0][0])
}

// holdingSchemaLock runs fn while this goroutine holds migrateMu and this process the
// schema lock.
func (db *DB) holdingSchemaLock(ctx context.Context, fn func(*schemaLockHeld) error) error {
	migrateMu.Lock()
	defer migrateMu.Unlock()
	lock, err := db.lockSchema(ctx)
	if err != nil {
		return err
	}
	defer lock.release()
	return fn(lock)
}

// lockSchema waits until this process holds the schema lock, or ctx ends.
func (db *DB) lockSchema(ctx context.Context) (*schemaLockHeld, error) {
	conn, err := db.lockServer()
	if err != nil {
		return nil, fmt.Errorf("warehouse: the schema lock's server: %w", err)
	}
	waited := false
	for {
		owned, err := db.takeSchemaLock(ctx, conn)
		if err != nil {
			return nil, err
		}
		if owned {
			break
		}
		if !waited {
			db.cfg.Logger.Info("another process is migrating the warehouse; waiting for it", "lock", schemaLock)
			waited = true
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("warehouse: waiting for the schema lock: %w", ctx.Err())
		case <-time.After(lockRetry):
		}
	}
	beatCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	l := &schemaLockHeld{conn: conn, stop: stop, done: make(chan struct{})}
	go l.beat(beatCtx)
	return l, nil
}

// takeSchemaLock creates the lock, or finds it this process's, or clears a dead owner's;
// false means another process holds it (or held it a moment ago: try again).
func (db *DB) takeSchemaLock(ctx context.Context, conn driver.Conn) (bool, error) {
	err := conn.Exec(ctx, "CREATE TABLE "+schemaLock+" (owner String, at DateTime) ENGINE = MergeTree ORDER BY at")
	if err == nil {
		return true, markSchemaLock(ctx, conn)
	}
	var ex *clickhouse.Exception
	if !errors.As(err, &ex) || ex.Code != codeTableExists {
		return false, fmt.Errorf("warehouse: create %s: %w", schemaLock, err)
	}
	owner, idle, err := schemaLockOwner(ctx, conn)
	if err != nil {
		return false, nil // dropped meanwhile: try again
	}
	switch {
	case owner == processToken:
		return true, markSchemaLock(ctx, conn)
	case idle > lockStale:
		db.cfg.Logger.Warn("taking over the schema lock of a process that stopped migrating", "lock", schemaLock, "owner", owner, "idle", idle)
		if err := conn.Exec(ctx, "DROP TABLE IF EXISTS "+schemaLock); err != nil && !isCode(err, codeTableGone) {
			return false, fmt.Errorf("warehouse: drop a dead owner's %s: %w", schemaLock, err)
		}
	}
	return false, nil
}

// schemaLockOwner reads the lock's newest owner and how long ago it wrote. A lock without
// rows (its creator died before its first) counts from when the table was made.
func schemaLockOwner(ctx context.Context, conn driver.Conn) (owner string, idle time.Duration, err error) {
	var rows uint64
	var last, made, now int64
	err = conn.QueryRow(ctx, `SELECT
		(SELECT argMax(owner, at) FROM `+schemaLock+`), (SELECT count() FROM `+schemaLock+`),
		(SELECT toInt64(max(at)) FROM `+schemaLock+`), toInt64(any(metadata_modification_time)), toInt64(now())
		FROM system.tables WHERE database = currentDatabase() AND name = ?`, schemaLock).Scan(&owner, &rows, &last, &made, &now)
	if rows == 0 {
		last = made
	}
	return owner, time.Duration(now-last) * time.Second, err
}

// markSchemaLock writes this process's token into the lock, with the server's time.
func markSchemaLock(ctx context.Context, conn driver.Conn) error {
	if err := conn.Exec(ctx, "INSERT INTO "+schemaLock+" (owner, at) SELECT ?, now()", processToken); err != nil {
		return fmt.Errorf("warehouse: write %s: %w", schemaLock, err)
	}
	return nil
}

// beat keeps the lock fresh until ctx ends. A failed beat is not an error: the migration's
// own statements fail as well if ClickHouse is gone, and the next beat tries again.
func (l *schemaLockHeld) beat(ctx context.Context) {
	defer close(l.done)
	t := time.NewTicker(lockBeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			markSchemaLock(ctx, l.conn)
		}
	}
}

// check reports errLockLost if the lock is no longer this process's.
func (l *schemaLockHeld) check(ctx context.Context) error {
	owner, _, err := schemaLockOwner(ctx, l.conn)
	if err != nil {
		return fmt.Errorf("warehouse: read %s: %w", schemaLock, err)
	}
	if owner != processToken {
		return errLockLost
	}
	return nil
}

// release stops the beat and drops the lock if it is still this process's. A lock left
// behind (ClickHouse unreachable) is this process's to take back, or stale in lockStale.
func (l *schemaLockHeld) release() {
	l.stop()
	<-l.done
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if l.check(ctx) == nil {
		l.conn.Exec(ctx, "DROP TABLE IF EXISTS "+schemaLock)
	}
}

// isCode reports whether err is a ClickHouse exception with the given code.
func isCode(err error, code int32) bool {
	var ex *clickhouse.Exception
	return errors.As(err, &ex) && ex.Code == code
}
