// Package chlocal runs a ClickHouse server process for Starling on one machine: `starling up`
// uses it when no ClickHouse address is given, and tests use it through warehousetest. The
// server listens on loopback only and keeps everything (data, logs, configuration) in one
// directory.
package chlocal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// ErrNotInstalled is returned when no ClickHouse server binary is on PATH.
var ErrNotInstalled = errors.New(`no ClickHouse server found on PATH (looked for "clickhouse-server" and "clickhouse").
Install one:
  Debian/Ubuntu:  sudo apt-get install clickhouse-server clickhouse-client
  other systems:  see https://clickhouse.com/docs/install (a single "clickhouse" binary works)
or point Starling at a running server with --clickhouse-addr / STARLING_CLICKHOUSE_ADDR,
or run everything in containers with: docker compose up --build`)

// Config says where and how to run the server.
type Config struct {
	// Dir holds the server's data, logs and generated configuration. Required.
	Dir string
	// TCPPort and HTTPPort are the native-protocol and HTTP ports; 0 picks free ones.
	TCPPort, HTTPPort int
	// Binary is the server executable; empty looks up "clickhouse-server" on PATH (also in
	// /usr/sbin, where Debian puts it), then "clickhouse" (run as "clickhouse server").
	Binary string
	// StartTimeout bounds the wait for the server to answer. Default 60s.
	StartTimeout time.Duration
	// Logger receives progress messages; nil discards them.
	Logger *slog.Logger
}

// Server is a running ClickHouse server process.
type Server struct {
	cmd      *exec.Cmd
	tcpPort  int
	httpPort int
	exited   chan struct{}
	waitErr  error
}

// Start writes a configuration into cfg.Dir, starts the server and waits until it answers.
// The process is killed if the calling process dies (Linux), so it never outlives its owner.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Dir == "" {
		return nil, errors.New("chlocal: a directory is required")
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 60 * time.Second
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	bin, args, err := findBinary(cfg.Binary)
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
	s := &Server{tcpPort: cfg.TCPPort, httpPort: cfg.HTTPPort, exited: make(chan struct{})}
	if s.tcpPort == 0 {
		if s.tcpPort, err = freePort(); err != nil {
			return nil, err
		}
	}
	if s.httpPort == 0 {
		if s.httpPort, err = freePort(); err != nil {
			return nil, err
		}
	}
	conf := filepath.Join(dir, "config.xml")
	if err := os.WriteFile(conf, []byte(serverConfig(dir, s.tcpPort, s.httpPort)), 0o644); err != nil {
		return nil, fmt.Errorf("chlocal: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "users.xml"), []byte(usersConfig), 0o644); err != nil {
		return nil, fmt.Errorf("chlocal: %w", err)
	}
	args = append(args, "--config-file="+conf)
	s.cmd = exec.Command(bin, args...)
	s.cmd.Dir = dir
	stderr, err := os.Create(filepath.Join(dir, "log", "stderr.log"))
	if err != nil {
		return nil, fmt.Errorf("chlocal: %w", err)
	}
	defer stderr.Close()
	s.cmd.Stdout, s.cmd.Stderr = stderr, stderr
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	logger.Info("starting local ClickHouse", "binary", bin, "dir", dir, "tcp_port", s.tcpPort)
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("chlocal: start %s: %w", bin, err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(ctx, cfg.StartTimeout); err != nil {
		s.Close()
		return nil, fmt.Errorf("chlocal: %w (server log in %s)", err, filepath.Join(dir, "log"))
	}
	logger.Info("local ClickHouse ready", "addr", s.Addr())
	return s, nil
}

// Addr is the native-protocol address, host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.tcpPort)) }

// HTTPAddr is the HTTP interface's address, host:port.
func (s *Server) HTTPAddr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.httpPort)) }

// Close stops the server (SIGTERM, then SIGKILL after 10 s) and waits for it to exit.
func (s *Server) Close() error {
	select {
	case <-s.exited:
		return nil
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	return nil
}

// Done is closed when the server process has exited.
func (s *Server) Done() <-chan struct{} { return s.exited }

func (s *Server) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	url := "http://" + s.HTTPAddr() + "/ping"
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("server exited during start-up: %v", s.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("server did not answer within %s", timeout)
		case <-tick.C:
		}
	}
}

// findBinary locates the server executable and the arguments that run it as a server.
func findBinary(explicit string) (string, []string, error) {
	if explicit != "" {
		if filepath.Base(explicit) == "clickhouse" {
			return explicit, []string{"server"}, nil
		}
		return explicit, nil, nil
	}
	if p, err := exec.LookPath("clickhouse-server"); err == nil {
		return p, nil, nil
	}
	if _, err := os.Stat("/usr/sbin/clickhouse-server"); err == nil {
		return "/usr/sbin/clickhouse-server", nil, nil
	}
	if p, err := exec.LookPath("clickhouse"); err == nil {
		return p, []string{"server"}, nil
	}
	return "", nil, ErrNotInstalled
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("chlocal: find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// serverConfig is a minimal configuration that every ClickHouse release from 18.x on reads
// (the <yandex> root is still accepted by current releases).
func serverConfig(dir string, tcpPort, httpPort int) string {
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
  <max_concurrent_queries>100</max_concurrent_queries>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <mark_cache_size>268435456</mark_cache_size>
  <path>%[1]s/data/</path>
  <tmp_path>%[1]s/tmp/</tmp_path>
  <user_files_path>%[1]s/user_files/</user_files_path>
  <format_schema_path>%[1]s/format_schemas/</format_schema_path>
  <users_config>%[1]s/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
</yandex>
`, dir, tcpPort, httpPort)
}

const usersConfig = `<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_memory_usage>4000000000</max_memory_usage>
      <load_balancing>random</load_balancing>
    </default>
    <readonly>
      <readonly>1</readonly>
    </readonly>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>::1</ip><ip>127.0.0.1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
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
