package warehouse_test

import (
	"context"
	"io"
	"net"
	"testing"

	"github.com/starling-analytics/starling/warehouse"
	"github.com/starling-analytics/starling/warehouse/warehousetest"
)

// TestLoadFallsBackWhenTheNativeWriterFails: a server whose native protocol the writer does
// not understand (here, one that answers the hello with a packet of no known kind) turns the
// native writer off, and the batch goes through clickhouse-go: nothing is lost.
func TestLoadFallsBackWhenTheNativeWriterFails(t *testing.T) {
	t.Parallel()
	db := warehousetest.Open(t)
	ctx := context.Background()
	if !db.NativeOn() {
		t.Fatal("the native writer is off on one server")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.Write([]byte{99, 0})
				io.Copy(io.Discard, c)
			}()
		}
	}()
	db.PointNativeAt(ln.Addr().String())
	rows := sampleRows(1, 500, 0)
	if err := db.Load(ctx, []warehouse.LoadBatch{{Topic: "tweets", Partition: 0, First: 1, Last: 500, Tweets: rows}}); err != nil {
		t.Fatalf("load: %v", err)
	}
	if db.NativeOn() {
		t.Error("the native writer is still on after the server answered what it did not understand")
	}
	if got := queryString(t, db, "SELECT toString(count()) FROM tweets"); got != "500" {
		t.Errorf("tweets: %s rows, want 500", got)
	}
}
