package warehouse

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one numbered schema change.
type migration struct {
	version    uint32
	name       string
	statements []string
}

func loadMigrations() ([]migration, error) {
	entries, err := migrationFiles.ReadDir("migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	seen := map[uint32]string{}
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.ParseUint(num, 10, 32)
		if !ok || err != nil {
			return nil, fmt.Errorf("warehouse: migration file %q is not named NNNN_name.sql", e.Name())
		}
		if prev, dup := seen[uint32(v)]; dup {
			return nil, fmt.Errorf("warehouse: migrations %q and %q share version %d", prev, e.Name(), v)
		}
		seen[uint32(v)] = e.Name()
		body, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: uint32(v), name: name, statements: splitStatements(string(body))})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// splitStatements splits a migration file at semicolons that end a line, dropping comments.
func splitStatements(sql string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(sql, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "--") || trimmed == "" {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(trimmed, ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

// Migrate applies the embedded migrations that have not been applied yet, in order, and
// records each in schema_migrations. Several processes may call it at once (ETL replicas
// starting together): on one server they migrate one at a time, under the schema lock
// (schema_lock.go), and the others find the work done. Every statement is also safe to run
// again, so a migration cut short (ClickHouse restarted, the process killed) is applied
// again from its start.
func (db *DB) Migrate(ctx context.Context) error {
	return db.migrateTo(ctx, ^uint32(0))
}

// migrateTo applies the migrations up to version last.
func (db *DB) migrateTo(ctx context.Context, last uint32) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	if db.topo != nil {
		return db.migrateCluster(ctx, ms)
	}
	if err := db.conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version UInt32, name String, applied_at DateTime DEFAULT now()
	) ENGINE = MergeTree ORDER BY version`); err != nil {
		return fmt.Errorf("warehouse: create schema_migrations: %w", err)
	}
	if todo, err := db.pendingMigrations(ctx, ms, last); err != nil || len(todo) == 0 {
		return err // nothing to do: no lock taken
	}
	return db.holdingSchemaLock(ctx, func(lock *schemaLockHeld) error {
		todo, err := db.pendingMigrations(ctx, ms, last) // what the lock's last holder left
		if err != nil {
			return err
		}
		for _, m := range todo {
			if err := lock.check(ctx); err != nil {
				return err
			}
			for i, stmt := range m.statements {
				if err := db.conn.Exec(ctx, stmt); err != nil && !alreadyDone(stmt, err) {
					return fmt.Errorf("warehouse: migration %04d_%s statement %d: %w", m.version, m.name, i+1, err)
				}
			}
			if step := goSteps[m.version]; step != nil {
				if err := step(ctx, db); err != nil {
					return fmt.Errorf("warehouse: migration %04d_%s: %w", m.version, m.name, err)
				}
			}
			if err := db.recordMigration(ctx, m); err != nil {
				return fmt.Errorf("warehouse: record migration %d: %w", m.version, err)
			}
			db.cfg.Logger.Info("applied migration", "version", m.version, "name", m.name)
		}
		return nil
	})
}

// pendingMigrations returns the migrations of ms up to version last not yet recorded.
func (db *DB) pendingMigrations(ctx context.Context, ms []migration, last uint32) ([]migration, error) {
	applied, err := db.AppliedMigrations(ctx)
	if err != nil {
		return nil, err
	}
	var todo []migration
	for _, m := range ms {
		if !applied[m.version] && m.version <= last {
			todo = append(todo, m)
		}
	}
	return todo, nil
}

// codeDuplicateColumn is ClickHouse's ILLEGAL_COLUMN / "column already exists" error.
const codeDuplicateColumn = 44

// alreadyDone reports whether a failed statement failed because another Migrate, or an
// earlier attempt of this one, did it: ADD COLUMN of a column that exists (ClickHouse 18.16
// has no ADD COLUMN IF NOT EXISTS).
func alreadyDone(stmt string, err error) bool {
	var ex *clickhouse.Exception
	return errors.As(err, &ex) && ex.Code == codeDuplicateColumn &&
		strings.Contains(strings.ToUpper(stmt), "ADD COLUMN") && strings.Contains(ex.Message, "already exists")
}

// recordMigration notes m as applied. It uses a batch: on ClickHouse 18.16 an INSERT must
// go through the native insert protocol with an explicit column list.
func (db *DB) recordMigration(ctx context.Context, m migration) error {
	batch, err := db.conn.PrepareBatch(ctx, "INSERT INTO schema_migrations (version, name)")
	if err != nil {
		return err
	}
	if err := batch.Append(m.version, m.name); err != nil {
		batch.Abort()
		return err
	}
	return batch.Send()
}

// AppliedMigrations returns the versions recorded in schema_migrations.
func (db *DB) AppliedMigrations(ctx context.Context) (map[uint32]bool, error) {
	rows, err := db.conn.Query(ctx, "SELECT DISTINCT version FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("warehouse: read schema_migrations: %w", err)
	}
	defer rows.Close()
	out := map[uint32]bool{}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out[v] = true
	}
	return out, rows.Err()
}
