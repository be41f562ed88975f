// Package warehousetest gives tests a real, migrated ClickHouse database: on the server named
// by CLICKHOUSE_ADDR when set (with CLICKHOUSE_USER and CLICKHOUSE_PASSWORD), otherwise on
// one local server process started for the whole test binary with chlocal. Every call gets a
// fresh database with a unique name, so tests can run in parallel without seeing each other's
// rows; it is dropped when the test ends.
//
// The local server is never stopped explicitly: it dies with the test binary (chlocal sets
// Pdeathsig). Its temporary directory cannot be removed by a process that is already gone,
// so each test binary removes the directories left behind by earlier ones whose process has
// exited.
package warehousetest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/starling-analytics/starling/warehouse"
	"github.com/starling-analytics/starling/warehouse/chlocal"
)

// dirPrefix names the local server's temporary directories: dirPrefix + pid + "-" + random.
const dirPrefix = "starling-clickhouse-"

// The one local server of this test binary. A test binary is one process and the server is
// shared by all its tests, so this is process state by nature; sync.Once makes the start
// lazy (packages whose tests never ask start nothing) and safe under t.Parallel.
var shared struct {
	once sync.Once
	addr string
	err  error
}

// Addr returns the native-protocol address of the test server, starting the local one on
// first use. It fails the test when no server can be had, with chlocal's instructions for
// installing ClickHouse.
func Addr(t testing.TB) string {
	t.Helper()
	shared.once.Do(func() {
		if a := os.Getenv("CLICKHOUSE_ADDR"); a != "" {
			shared.addr = a
			return
		}
		removeStaleDirs()
		dir, err := os.MkdirTemp("", dirPrefix+strconv.Itoa(os.Getpid())+"-")
		if err != nil {
			shared.err = err
			return
		}
		srv, err := chlocal.Start(context.Background(), chlocal.Config{Dir: dir})
		if err != nil {
			os.RemoveAll(dir)
			shared.err = err
			return
		}
		shared.addr = srv.Addr()
	})
	if shared.err != nil {
		if errors.Is(shared.err, chlocal.ErrNotInstalled) {
			t.Fatalf("warehousetest: these tests need a real ClickHouse server (or CLICKHOUSE_ADDR=host:port).\n%v", shared.err)
		}
		t.Fatalf("warehousetest: %v", shared.err)
	}
	return shared.addr
}

// Empty returns the Config of a fresh database that exists but has no tables; it is dropped
// when the test ends. Use it to test migrations; most tests want Start.
func Empty(t testing.TB) warehouse.Config {
	t.Helper()
	cfg := warehouse.Config{
		Addr:     []string{Addr(t)},
		Database: "test_" + strings.ToLower(rand.Text()[:16]), // 80 random bits
		Username: os.Getenv("CLICKHOUSE_USER"),
		Password: os.Getenv("CLICKHOUSE_PASSWORD"),
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := warehouse.Open(ctx, cfg) // creates the database
	if err != nil {
		t.Fatalf("warehousetest: %v", err)
	}
	db.Close()
	dropAtCleanup(t, cfg)
	return cfg
}

// Start returns the Config of a fresh, migrated database; it is dropped when the test ends.
func Start(t testing.TB) warehouse.Config {
	t.Helper()
	cfg := Empty(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := warehouse.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("warehousetest: %v", err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("warehousetest: %v", err)
	}
	return cfg
}

// Open is Start followed by warehouse.Open; the DB is closed when the test ends.
func Open(t testing.TB) *warehouse.DB {
	t.Helper()
	return open(t, Start(t))
}

// OpenCluster is Cluster followed by warehouse.Open; the DB is closed when the test ends.
func OpenCluster(t testing.TB) *warehouse.DB {
	t.Helper()
	return open(t, Cluster(t))
}

func open(t testing.TB, cfg warehouse.Config) *warehouse.DB {
	t.Helper()
	db, err := warehouse.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("warehousetest: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// The ZooKeeper and ClickHouse cluster of this test binary, started on first use like the
// single server, and shared by the tests that only read and write it (a test that kills
// its servers starts its own with chlocal.StartCluster).
var sharedCluster struct {
	once sync.Once
	c    *chlocal.Cluster
	err  error
}

// Cluster returns the Config of a fresh database migrated ON CLUSTER on the shared local
// cluster (2 shards × 2 replicas, cluster "starling"); it is dropped when the test ends.
func Cluster(t testing.TB) warehouse.Config {
	t.Helper()
	sharedCluster.once.Do(func() {
		removeStaleDirs()
		dir, err := os.MkdirTemp("", dirPrefix+strconv.Itoa(os.Getpid())+"-")
		if err != nil {
			sharedCluster.err = err
			return
		}
		sharedCluster.c, sharedCluster.err = chlocal.StartCluster(context.Background(), chlocal.ClusterConfig{Dir: dir})
	})
	if sharedCluster.err != nil {
		t.Fatalf("warehousetest: %v", sharedCluster.err)
	}
	return OnCluster(t, sharedCluster.c)
}

// OnCluster returns the Config of a fresh database migrated ON CLUSTER on c; it is dropped
// when the test ends.
func OnCluster(t testing.TB, c *chlocal.Cluster) warehouse.Config {
	t.Helper()
	cfg := warehouse.Config{
		Addr:     c.Addrs(),
		Database: "test_" + strings.ToLower(rand.Text()[:16]),
		Cluster:  c.Name,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	db, err := warehouse.Open(ctx, cfg) // creates the database on every server
	if err != nil {
		t.Fatalf("warehousetest: %v", err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("warehousetest: %v", err)
	}
	dropAtCleanup(t, cfg)
	return cfg
}

// dropAtCleanup drops cfg's database, on every server of its cluster if it has one, when
// the test ends.
func dropAtCleanup(t testing.TB, cfg warehouse.Config) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		db, err := warehouse.Open(ctx, cfg)
		if err != nil {
			t.Logf("warehousetest: drop %s: %v", cfg.Database, err)
			return
		}
		defer db.Close()
		drop := "DROP DATABASE IF EXISTS " + cfg.Database
		if cfg.Cluster != "" {
			drop += " ON CLUSTER " + cfg.Cluster
		}
		if err := db.Conn().Exec(ctx, drop); err != nil {
			t.Logf("warehousetest: drop %s: %v", cfg.Database, err)
		}
	})
}

// removeStaleDirs deletes, best effort, the server directories of earlier test binaries
// that have exited (their servers died with them).
func removeStaleDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, d := range dirs {
		pidText, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(d), dirPrefix), "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			if err := os.RemoveAll(d); err != nil {
				fmt.Fprintf(os.Stderr, "warehousetest: remove stale %s: %v\n", d, err)
			}
		}
	}
}

// Counts runs q, a query of (String, Int64) rows, and returns them as a map: a recount or
// an aggregate, keyed as the query spells its keys.
func Counts(t testing.TB, db *warehouse.DB, q string) map[string]int64 {
	t.Helper()
	rows, err := db.Conn().Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var k string
		var n int64
		if err := rows.Scan(&k, &n); err != nil {
			t.Fatal(err)
		}
		out[k] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}
