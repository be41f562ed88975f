package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/starling-analytics/starling/internal/cli"
)

// runProbe checks that a service answers, for container healthchecks (the runtime image has
// no curl): tcp://host:port must accept a connection, http(s)://… must answer 2xx.
func runProbe(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := cli.NewFlagSet("starling probe", "Exits 0 when the target answers: tcp://host:port accepts a connection, http://host:port/path answers 2xx.", stderr)
	timeout := fs.Duration("timeout", 2*time.Second, "how long to wait for an answer")
	if err := fs.Parse(args); err != nil {
		return cli.ErrUsage
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return cli.ErrUsage
	}
	target, err := url.Parse(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("target %q: %w", fs.Arg(0), err)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	switch target.Scheme {
	case "tcp":
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", target.Host)
		if err != nil {
			return err
		}
		return c.Close()
	case "http", "https":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target.String(), nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("%s answered %s", target, resp.Status)
		}
		return nil
	}
	return fmt.Errorf("target %q: scheme must be tcp, http or https", target)
}
