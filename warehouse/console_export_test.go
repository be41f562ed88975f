package warehouse

import "context"

// ExecUnchecked runs sql on the console's connection without CheckConsoleSQL, to show what
// ClickHouse refuses the console's user by itself.
func (c *Console) ExecUnchecked(ctx context.Context, sql string) error {
	return c.conn.Exec(ctx, sql)
}
