// Package chlocal runs a ClickHouse server process for Starling on one machine: `starling up`
// uses it when no ClickHouse address is given, and tests use it through warehousetest. The
// server listens on loopback only and keeps everything (data, logs, configuration) in one
// directory.
//
// The generated configuration uses the <yandex> root element, which ClickHouse 18.16 (the
// Debian package) requires and current releases still accept next to <clickhouse>.
package chlocal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrNotInstalled is returned by Start when no ClickHouse server binary can be found.
var ErrNotInstalled = errors.New(`no ClickHouse server found (looked for "clickhouse-server" and "clickhouse" on PATH and in /usr/sbin).
Install one:
  Debian/Ubuntu:  sudo apt-get install clickhouse-server clickhouse-client
  other systems:  curl https://clickhouse.com/ | sh   (the official install script; a single "clickhouse" binary works)
or point Starling at a running server with --clickhouse-addr / STARLING_CLICKHOUSE_ADDR,
or run everything in containers with: docker compose up --build`)

// Config says where and how to run the server. Zero values are the documented defaults.
type Config struct {
	// Dir holds the server's data, logs and generated configuration. Required; created
	// when missing. Reusing a Dir reuses its data.
	Dir string
	// TCPPort is the native-protocol port, HTTPPort the HTTP port; 0 picks a free one.
	TCPPort, HTTPPort int
	// Binary is the server executable. Empty looks up "clickhouse-server" on PATH and in
	// /usr/sbin (where Debian puts it, often off a user's PATH), then "clickhouse", which is
	// run as "clickhouse server".
	Binary string
	// StartTimeout bounds the wait for the server to answer. Default 60s.
	StartTimeout time.Duration
	// StopTimeout is how long Close waits after SIGTERM before it sends SIGKILL. Default 10s.
	StopTimeout time.Duration
	// Logger receives progress messages; nil discards them.
	Logger *slog.Logger
	// Include is an XML fragment added to the server's configuration: a cluster's
	// topology, ZooKeeper and macros (StartCluster writes them).
	Include string
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	switch {
	case c.Dir == "":
		return errors.New("chlocal: a data directory is required")
	case c.TCPPort < 0 || c.TCPPort > 65535 || c.HTTPPort < 0 || c.HTTPPort > 65535:
		return fmt.Errorf("chlocal: ports %d and %d must be within 0..65535", c.TCPPort, c.HTTPPort)
	case c.TCPPort != 0 && c.TCPPort == c.HTTPPort:
		return fmt.Errorf("chlocal: the native and HTTP ports must differ (both %d)", c.TCPPort)
	case c.StartTimeout < 0 || c.StopTimeout < 0:
		return errors.New("chlocal: timeouts must not be negative")
	}
	return nil
}

// Server is a running ClickHouse server process. Close stops it.
type Server struct {
	cmd         *exec.Cmd
	dir         string
	tcpPort     int
	httpPort    int
	stopTimeout time.Duration

	exited  chan struct{} // closed once the process has been waited for
	waitErr error         // the process's exit status; read only after exited is closed

	closeOnce sync.Once
}

// Start writes a configuration into cfg.Dir, starts the server and waits until it answers
// its HTTP /ping. The server is killed if the calling process dies (Linux: Pdeathsig), so
// it never outlives its owner, even when the owner is killed without a chance to Close.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 60 * time.Second
	}
	if cfg.StopTimeout == 0 {
		cfg.StopTimeout = 10 * time.Second
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	bin, args, err := findBinary(cfg.Binary, exec.LookPath)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("chlocal: %w", err)
	}
	for _, sub := range []string{"data", "tmp", "user_files", "format_schemas", "log"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("chlocal: %w", err)
		}
	}
	s := &Server{dir: dir, tcpPort: cfg.TCPPort, httpPort: cfg.HTTPPort, stopTimeout: cfg.StopTimeout, exited: make(chan struct{})}
	if s.tcpPort == 0 {
		if s.tcpPort, err = freePort(); err != nil {
			return nil, err
		}
	}
	for s.httpPort == 0 || s.httpPort == s.tcpPort {
		if s.httpPort, err = freePort(); err != nil {
			return nil, err
		}
	}
	conf := filepath.Join(dir, "config.xml")
	if err := os.WriteFile(conf, []byte(serverConfig(dir, s.tcpPort, s.httpPort, cfg.Include)), 0o644); err != nil {
		return nil, fmt.Errorf("chlocal: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "users.xml"), []byte(usersConfig), 0o644); err != nil {
		return nil, fmt.Errorf("chlocal: %w", err)
	}
	// The server's own output (start-up errors before its logger is configured) goes to a
	// file next to its logs rather than into the owner's terminal.
	out, err := os.OpenFile(filepath.Join(dir, "log", "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("chlocal: %w", err)
	}
	defer out.Close() // the child has its own descriptor
	s.cmd = exec.Command(bin, append(args, "--config-file="+conf)...)
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = out, out
	// Pdeathsig is delivered when the thread that started the child exits. The Go runtime
	// ends a thread only when a goroutine exits while locked to it, which never happens here,
	// so in practice it fires when the owning process dies. Setpgid keeps a terminal's Ctrl-C
	// away from the server: the owner decides when it stops.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	logger.Info("starting ClickHouse", "binary", bin, "dir", dir, "tcp_port", s.tcpPort, "http_port", s.httpPort)
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("chlocal: start %s: %w", bin, err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(ctx, cfg.StartTimeout); err != nil {
		s.Close()
		return nil, fmt.Errorf("chlocal: %w (server logs in %s%s)", err, filepath.Join(dir, "log"), lastError(filepath.Join(dir, "log", "clickhouse-server.err.log")))
	}
	logger.Info("ClickHouse ready", "addr", s.Addr())
	return s, nil
}

// Addr is the native-protocol address, "127.0.0.1:port", for warehouse.Config.Addr.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.tcpPort)) }

// HTTPAddr is the HTTP interface's address, "127.0.0.1:port".
func (s *Server) HTTPAddr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.httpPort)) }

// Dir is the server's absolute data directory.
func (s *Server) Dir() string { return s.dir }

// Done is closed when the server process has exited.
func (s *Server) Done() <-chan struct{} { return s.exited }

// Close stops the server (SIGTERM, then SIGKILL after Config.StopTimeout) and waits for
// the process to exit. It is safe to call more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		select {
		case <-s.exited:
			return
		default:
		}
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		t := time.NewTimer(s.stopTimeout)
		defer t.Stop()
		select {
		case <-s.exited:
		case <-t.C:
			_ = s.cmd.Process.Kill()
		}
	})
	<-s.exited
	return nil
}

// Kill ends the server with SIGKILL, as a crash would, and waits for the process to exit.
func (s *Server) Kill() {
	s.closeOnce.Do(func() { _ = s.cmd.Process.Kill() })
	<-s.exited
}

// waitReady polls the HTTP /ping endpoint until it answers "Ok.", the process exits, or
// the timeout passes.
func (s *Server) waitReady(ctx context.Context, timeout time.Duration) error {
	return s.waitAnswer(ctx, "/ping", timeout, nil)
}

// waitAnswer polls the HTTP interface at path until it answers 200 OK, the process exits,
// stop is closed (an error), or the timeout passes.
func (s *Server) waitAnswer(ctx context.Context, path string, timeout time.Duration, stop <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	url := "http://" + s.HTTPAddr() + path
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last string
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = strings.TrimSpace(string(body))
		}
		select {
		case <-s.exited:
			return fmt.Errorf("%w: %v", errExitedAtStart, s.waitErr)
		case <-stop:
			return errors.New("stopped waiting")
		case <-ctx.Done():
			if last != "" {
				return fmt.Errorf("server did not answer on %s within %s: %w (last answer: %s)", url, timeout, ctx.Err(), last)
			}
			return fmt.Errorf("server did not answer on %s within %s: %w", url, timeout, ctx.Err())
		case <-tick.C:
		}
	}
}

// findBinary locates the server executable and the arguments that run it as a server.
func findBinary(explicit string, lookPath func(string) (string, error)) (string, []string, error) {
	// Searched after PATH: Debian installs clickhouse-server in /usr/sbin, which is not on an
	// unprivileged user's PATH.
	sbinDirs := []string{"/usr/sbin", "/usr/local/sbin"}
	args := func(path string) []string {
		if filepath.Base(path) == "clickhouse" {
			return []string{"server"}
		}
		return nil
	}
	if explicit != "" {
		p, err := lookPath(explicit)
		if err != nil {
			return "", nil, fmt.Errorf("chlocal: server binary %q: %w", explicit, err)
		}
		return p, args(p), nil
	}
	for _, name := range []string{"clickhouse-server", "clickhouse"} {
		if p, err := lookPath(name); err == nil {
			return p, args(p), nil
		}
		for _, d := range sbinDirs {
			if p, err := lookPath(filepath.Join(d, name)); err == nil {
				return p, args(p), nil
			}
		}
	}
	return "", nil, ErrNotInstalled
}

// lastError is the last line of a server's error log, to quote in an error (the folder
// holding the log may be gone by the time someone reads it).
func lastError(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if last := lines[len(lines)-1]; last != "" {
		return "; its last error: " + last
	}
	return ""
}

// errExitedAtStart is wrapped by the error of a server that exited before it answered.
var errExitedAtStart = errors.New("server exited during start-up")

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("chlocal: find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// serverConfig is a minimal server configuration: loopback only, every path inside dir,
// caches sized for a laptop rather than the defaults' several gigabytes. A short HTTP
// keep-alive and shutdown wait let SIGTERM stop the server in about a second even while
// clients still hold idle connections (the defaults make it linger ten).
func serverConfig(dir string, tcpPort, httpPort int, include string) string {
	return fmt.Sprintf(`<?xml version="1.0"?>
<yandex>
  <logger>
    <level>warning</level>
    <log>%[1]s/log/clickhouse-server.log</log>
    <errorlog>%[1]s/log/clickhouse-server.err.log</errorlog>
    <size>100M</size>
    <count>3</count>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>%[2]d</tcp_port>
  <http_port>%[3]d</http_port>
  <max_connections>1024</max_connections>
  <keep_alive_timeout>1</keep_alive_timeout>
  <shutdown_wait_unfinished>2</shutdown_wait_unfinished>
  <max_concurrent_queries>100</max_concurrent_queries>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <mark_cache_size>134217728</mark_cache_size>
  <path>%[1]s/data/</path>
  <tmp_path>%[1]s/tmp/</tmp_path>
  <user_files_path>%[1]s/user_files/</user_files_path>
  <format_schema_path>%[1]s/format_schemas/</format_schema_path>
  <users_config>%[1]s/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
  <!-- Parts a merge replaced are deleted at the next cleanup, a second or two later, not
       after 8 minutes. While a table is small, ClickHouse 18.16 merges each new part into its
       one big part, so a steady stream of INSERTs leaves a replaced copy of the table every
       few hundred milliseconds: kept 8 minutes (or even 30 s) they made the folder 80 times
       its data, and a restart opened them all. A part still read by a query is kept until
       the query ends. What the 8 minutes guard against is a power cut losing a merged part
       the system had not yet written to disk (a killed process loses nothing); the broker,
       which keeps every acknowledged tweet, is the copy to reload from then. -->
  <merge_tree>
    <old_parts_lifetime>0</old_parts_lifetime>
  </merge_tree>
%[4]s
</yandex>
`, dir, tcpPort, httpPort, include)
}

// ConsoleUser is the read-only user of the dashboard's SQL console on the local server:
// no password, loopback only, profile ConsoleUser. Its profile is readonly = 1, so
// ClickHouse itself refuses every write, every table function (file, url, remote, ...) and
// every change of a setting, the profile's limits included: a query runs at most 10 s, within
// 1 GB of memory, and stops returning rows past 10,000 (result_overflow_mode = break, checked
// between blocks, so up to a block more arrive). readonly = 2 would let a query lift those limits with SETTINGS and call url()
// and remote() (ClickHouse 18.16 allows both at 2); the console adds its own checks above
// either.
const ConsoleUser = "starling_console"

// usersConfig has two users reachable from loopback only: "default" without a password,
// which owns everything, and ConsoleUser.
const usersConfig = `<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_memory_usage>2000000000</max_memory_usage>
      <load_balancing>random</load_balancing>
      <poll_interval>1</poll_interval>
      <enable_optimize_predicate_expression>1</enable_optimize_predicate_expression>
    </default>
    <starling_console>
      <readonly>1</readonly>
      <enable_optimize_predicate_expression>1</enable_optimize_predicate_expression>
      <max_execution_time>10</max_execution_time>
      <max_result_rows>10000</max_result_rows>
      <max_result_bytes>67108864</max_result_bytes>
      <result_overflow_mode>break</result_overflow_mode>
      <max_memory_usage>1000000000</max_memory_usage>
    </starling_console>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>::1</ip><ip>127.0.0.1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
    <starling_console>
      <password></password>
      <networks><ip>::1</ip><ip>127.0.0.1</ip></networks>
      <profile>starling_console</profile>
      <quota>default</quota>
    </starling_console>
  </users>
  <quotas>
    <default>
      <interval>
        <duration>3600</duration>
        <queries>0</queries>
        <errors>0</errors>
        <result_rows>0</result_rows>
        <read_rows>0</read_rows>
        <execution_time>0</execution_time>
      </interval>
    </default>
  </quotas>
</yandex>
`
