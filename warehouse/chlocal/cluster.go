package chlocal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrZooKeeperNotInstalled is returned by StartCluster when ZooKeeper cannot be run.
var ErrZooKeeperNotInstalled = errors.New(`no ZooKeeper found (looked for java and /usr/share/java/zookeeper.jar).
Install it:
  Debian/Ubuntu:  sudo apt-get install zookeeper`)

// ClusterConfig says how to run a replicated, sharded ClickHouse cluster on this machine.
type ClusterConfig struct {
	// Dir holds ZooKeeper's and every server's folder. Required.
	Dir string
	// Name is the cluster's name in remote_servers (ON CLUSTER, Distributed). Default
	// "starling".
	Name string
	// Shards and Replicas per shard. Default 2 and 2.
	Shards, Replicas int
	// Logger receives progress messages; nil discards them.
	Logger *slog.Logger
}

// Cluster is a running ZooKeeper and Shards × Replicas ClickHouse servers, each server
// knowing the whole topology (remote_servers), its place in it (macros {shard} and
// {replica}) and ZooKeeper (replication and ON CLUSTER DDL).
type Cluster struct {
	Name string
	// Servers[shard][replica].
	Servers   [][]*Server
	configs   [][]Config
	zookeeper *exec.Cmd
	zkExited  chan struct{}
	zkAddr    string
}

// StartCluster starts ZooKeeper, then every server, and waits until each answers.
func StartCluster(ctx context.Context, cfg ClusterConfig) (*Cluster, error) {
	if cfg.Dir == "" {
		return nil, errors.New("chlocal: a cluster directory is required")
	}
	if cfg.Name == "" {
		cfg.Name = "starling"
	}
	if cfg.Shards <= 0 {
		cfg.Shards = 2
	}
	if cfg.Replicas <= 0 {
		cfg.Replicas = 2
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("chlocal: %w", err)
	}
	// The ports are chosen free before the servers start, since every server's
	// configuration names all of them; another process may take one meanwhile, and the
	// server that wanted it exits. Then the whole cluster starts again on new ports.
	for attempt := 1; ; attempt++ {
		c, err := startCluster(ctx, cfg, dir)
		if err == nil || attempt == 3 || !errors.Is(err, errExitedAtStart) || ctx.Err() != nil {
			return c, err
		}
		if cfg.Logger != nil {
			cfg.Logger.Warn("a ClickHouse server of the cluster exited while starting; starting the cluster again on other ports", "err", err)
		}
		if err := os.RemoveAll(dir); err != nil {
			return nil, fmt.Errorf("chlocal: %w", err)
		}
	}
}

// startCluster makes one attempt of StartCluster, in dir.
func startCluster(ctx context.Context, cfg ClusterConfig, dir string) (*Cluster, error) {
	var err error
	c := &Cluster{Name: cfg.Name}
	if err := c.startZooKeeper(ctx, filepath.Join(dir, "zookeeper")); err != nil {
		return nil, err
	}
	type ports struct{ tcp, http, interserver int }
	all := make([][]ports, cfg.Shards)
	for s := range all {
		all[s] = make([]ports, cfg.Replicas)
		for r := range all[s] {
			for _, p := range []*int{&all[s][r].tcp, &all[s][r].http, &all[s][r].interserver} {
				if *p, err = freePort(); err != nil {
					c.Close()
					return nil, err
				}
			}
		}
	}
	var topology strings.Builder
	for s := range all {
		topology.WriteString("      <shard>\n        <internal_replication>true</internal_replication>\n")
		for r := range all[s] {
			fmt.Fprintf(&topology, "        <replica><host>127.0.0.1</host><port>%d</port></replica>\n", all[s][r].tcp)
		}
		topology.WriteString("      </shard>\n")
	}
	_, zkPort, _ := net.SplitHostPort(c.zkAddr)
	c.Servers = make([][]*Server, cfg.Shards)
	c.configs = make([][]Config, cfg.Shards)
	for s := range all {
		for r := range all[s] {
			include := fmt.Sprintf(`  <interserver_http_host>127.0.0.1</interserver_http_host>
  <interserver_http_port>%[1]d</interserver_http_port>
  <remote_servers>
    <%[2]s>
%[3]s    </%[2]s>
  </remote_servers>
  <zookeeper>
    <node><host>127.0.0.1</host><port>%[4]s</port></node>
    <session_timeout_ms>10000</session_timeout_ms>
  </zookeeper>
  <distributed_ddl>
    <path>/clickhouse/task_queue/ddl</path>
  </distributed_ddl>
  <macros>
    <shard>%[5]d</shard>
    <replica>s%[5]d-r%[6]d</replica>
  </macros>`, all[s][r].interserver, cfg.Name, topology.String(), zkPort, s+1, r+1)
			sc := Config{Dir: filepath.Join(dir, fmt.Sprintf("s%d-r%d", s+1, r+1)), TCPPort: all[s][r].tcp, HTTPPort: all[s][r].http,
				Logger: cfg.Logger, Include: include}
			srv, err := Start(ctx, sc)
			if err != nil {
				c.Close()
				return nil, fmt.Errorf("chlocal: shard %d replica %d: %w", s+1, r+1, err)
			}
			c.Servers[s] = append(c.Servers[s], srv)
			c.configs[s] = append(c.configs[s], sc)
		}
	}
	// Every server holds a ZooKeeper session before the cluster is handed out.
	for s, shard := range c.Servers {
		for r, srv := range shard {
			if err := srv.waitZooKeeper(ctx, c.zkExited); err != nil {
				c.Close()
				return nil, fmt.Errorf("chlocal: shard %d replica %d: %w", s+1, r+1, err)
			}
		}
	}
	return c, nil
}

// waitZooKeeper waits until the server reads ZooKeeper's root.
func (s *Server) waitZooKeeper(ctx context.Context, zkExited <-chan struct{}) error {
	q := "/?query=" + neturl.QueryEscape("SELECT count() FROM system.zookeeper WHERE path = '/'")
	err := s.waitAnswer(ctx, q, time.Minute, zkExited)
	select {
	case <-zkExited:
		return errors.New("ZooKeeper exited")
	default:
	}
	if err != nil {
		return fmt.Errorf("no ZooKeeper session: %w", err)
	}
	return nil
}

// Addrs are every server's native-protocol address, shard by shard.
func (c *Cluster) Addrs() []string {
	var out []string
	for _, shard := range c.Servers {
		for _, s := range shard {
			out = append(out, s.Addr())
		}
	}
	return out
}

// ZooKeeper is ZooKeeper's client address.
func (c *Cluster) ZooKeeper() string { return c.zkAddr }

// ZooKeeperPID is ZooKeeper's process id.
func (c *Cluster) ZooKeeperPID() int { return c.zookeeper.Process.Pid }

// Restart starts the server of shard and replica (numbered from 0) again, with its data,
// ports and configuration, after Close or Kill.
func (c *Cluster) Restart(ctx context.Context, shard, replica int) error {
	old := c.Servers[shard][replica]
	<-old.Done()
	srv, err := Start(ctx, c.configs[shard][replica])
	if err != nil {
		return err
	}
	c.Servers[shard][replica] = srv
	return nil
}

// Close stops every server, then ZooKeeper.
func (c *Cluster) Close() error {
	for _, shard := range c.Servers {
		for _, s := range shard {
			s.Close()
		}
	}
	if c.zookeeper != nil {
		_ = c.zookeeper.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.zkExited:
		case <-time.After(10 * time.Second):
			_ = c.zookeeper.Process.Kill()
			<-c.zkExited
		}
	}
	return nil
}

// startZooKeeper runs a standalone ZooKeeper (Debian's package) in dir on a free port and
// waits until it answers "imok".
func (c *Cluster) startZooKeeper(ctx context.Context, dir string) error {
	java, err := exec.LookPath("java")
	const jar = "/usr/share/java/zookeeper.jar"
	if _, statErr := os.Stat(jar); err != nil || statErr != nil {
		return ErrZooKeeperNotInstalled
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return fmt.Errorf("chlocal: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(filepath.Join(dir, "zookeeper.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("chlocal: %w", err)
	}
	defer out.Close()
	classpath := jar
	if _, err := os.Stat("/etc/zookeeper/conf"); err == nil {
		classpath = "/etc/zookeeper/conf:" + jar // its log4j configuration
	}
	cmd := exec.Command(java, "-Xmx256m", "-cp", classpath,
		"-Dzookeeper.admin.enableServer=false", "-Dzookeeper.4lw.commands.whitelist=srvr",
		"org.apache.zookeeper.server.ZooKeeperServerMain", strconv.Itoa(port), filepath.Join(dir, "data"))
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("chlocal: start ZooKeeper: %w", err)
	}
	c.zookeeper, c.zkExited = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(c.zkExited) }()
	c.zkAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(60 * time.Second)
	for {
		if serving(c.zkAddr) {
			return nil
		}
		select {
		case <-c.zkExited:
			return fmt.Errorf("chlocal: ZooKeeper exited during start-up (log in %s)", dir)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("chlocal: ZooKeeper did not answer on %s within a minute (log in %s)", c.zkAddr, dir)
		}
	}
}

// serving asks ZooKeeper whether it serves clients. It answers "ruok" as soon as it
// listens, but closes client sessions until it has loaded its data ("This ZooKeeper instance
// is not currently serving requests" to "srvr"); a ClickHouse 18.16 server whose first
// session is refused then crashes at its first ON CLUSTER statement.
func serving(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("srvr")); err != nil {
		return false
	}
	out, _ := io.ReadAll(conn)
	return strings.HasPrefix(string(out), "Zookeeper version:")
}
