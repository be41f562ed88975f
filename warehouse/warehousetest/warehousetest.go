// Package warehousetest gives tests a real, migrated ClickHouse database: on the server named
// by CLICKHOUSE_ADDR when set, otherwise on one local server process started for the whole
// test binary (it dies with the binary). Every call gets a fresh database, so tests can run
// in parallel without seeing each other's rows.
package warehousetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/starling-analytics/starling/warehouse"
	"github.com/starling-analytics/starling/warehouse/chlocal"
)

var (
	once    sync.Once
	addr    string
	initErr error
)

// Addr returns the address of the test server, starting it on first use.
func Addr(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		if a := os.Getenv("CLICKHOUSE_ADDR"); a != "" {
			addr = a
			return
		}
		dir, err := os.MkdirTemp("", "starling-clickhouse-")
		if err != nil {
			initErr = err
			return
		}
		// The server is never stopped explicitly: Pdeathsig kills it when the test binary exits.
		srv, err := chlocal.Start(context.Background(), chlocal.Config{Dir: dir})
		if err != nil {
			initErr = err
			return
		}
		addr = srv.Addr()
	})
	if initErr != nil {
		t.Fatalf("warehousetest: %v", initErr)
	}
	return addr
}

// Start returns the Config of a fresh, migrated database; it is dropped when the test ends.
func Start(t testing.TB) warehouse.Config {
	t.Helper()
	var suffix [6]byte
	rand.Read(suffix[:])
	cfg := warehouse.Config{
		Addr:     []string{Addr(t)},
		Database: "test_" + hex.EncodeToString(suffix[:]),
		Username: os.Getenv("CLICKHOUSE_USER"),
		Password: os.Getenv("CLICKHOUSE_PASSWORD"),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	db, err := warehouse.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("warehousetest: %v", err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("warehousetest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if db, err := warehouse.Open(ctx, cfg); err == nil {
			db.Conn().Exec(ctx, "DROP DATABASE IF EXISTS "+cfg.Database)
			db.Close()
		}
	})
	return cfg
}

// Open is Start followed by warehouse.Open; the DB is closed when the test ends.
func Open(t testing.TB) *warehouse.DB {
	t.Helper()
	cfg := Start(t)
	db, err := warehouse.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("warehousetest: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
